"""``pods/{name}/exec`` over WebSocket (``v5.channel.k8s.io`` / ``v4.channel.k8s.io``).

Frames are binary with the channel in the first byte: 0 stdin, 1 stdout, 2 stderr, 3 the final
``Status`` (exit code), 4 terminal resize (ignored); v5 adds ``\\xff<channel>`` from the client to
close its stdin. What runs is a simulated *program* (:mod:`tui.sim.execrun`), never a host
process; it is cancelled when the client goes away. kubectl 1.27-1.29 upgrade to SPDY/3.1
instead (:func:`tui.sim.kubectl.handle_spdy_exec`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from tui.sim.errors import ApiError
from tui.sim.execrun import exec_request, run_exec
from tui.sim.programs import ERROR, STDIN

if TYPE_CHECKING:
    from tui.sim.cluster import SimCluster

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
RESIZE, CLOSE = 4, 255


class WebSocketExecIO:
    """:class:`tui.sim.programs.ExecIO` over an aiohttp WebSocket."""

    def __init__(self, ws: web.WebSocketResponse, stdin: bool) -> None:
        self._ws = ws
        self._stdin_enabled = stdin
        self._stdin: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._stdin_done = not stdin
        self._closed = False

    async def read_stdin(self) -> bytes | None:
        if self._stdin_done:
            return None
        chunk = await self._stdin.get()
        if chunk is None:
            self._stdin_done = True
        return chunk

    async def write(self, channel: int, data: bytes) -> None:
        if self.closed or not data:
            return
        try:
            await self._ws.send_bytes(bytes([channel]) + data)
        except (ConnectionError, RuntimeError):
            self._closed = True

    @property
    def closed(self) -> bool:
        return self._closed or self._ws.closed

    def feed(self, chunk: bytes | None) -> None:
        if self._stdin_enabled:
            self._stdin.put_nowait(chunk)

    def mark_closed(self) -> None:
        self._closed = True
        self.feed(None)


async def handle_exec(
    request: web.Request, cluster: SimCluster, namespace: str, name: str
) -> web.StreamResponse:
    run = exec_request(request, cluster, namespace, name)
    if request.headers.get("Upgrade", "").lower() != "websocket":
        raise ApiError(400, "Upgrade request required", "BadRequest")
    ws = web.WebSocketResponse(protocols=PROTOCOLS, autoping=True, max_msg_size=16 * 1024 * 1024)
    await ws.prepare(request)
    io = WebSocketExecIO(ws, run.stdin)

    async def finish(status: dict[str, Any]) -> None:
        if not io.closed:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_bytes(bytes([ERROR]) + json.dumps(status).encode())
                await ws.close()

    try:
        await run_exec(run, io, _read_frames(ws, io), finish)
    finally:
        io.mark_closed()
    return ws


async def _read_frames(ws: web.WebSocketResponse, io: WebSocketExecIO) -> None:
    """Client -> server: stdin data, v5 close of stdin, resize; ends when the client goes away."""
    async for message in ws:
        if message.type == WSMsgType.BINARY:
            data: bytes = message.data
        elif message.type == WSMsgType.TEXT:
            data = message.data.encode()
        else:
            break
        if not data:
            continue
        channel, payload = data[0], data[1:]
        if channel == STDIN:
            if payload:
                io.feed(payload)
        elif channel == CLOSE and payload[:1] == bytes([STDIN]):
            io.feed(None)
        # RESIZE and anything else: ignored
    io.mark_closed()
