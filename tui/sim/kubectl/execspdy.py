"""``pods/{name}/exec`` over SPDY/3.1: kubectl 1.27 and 1.28, and 1.29 unless
``KUBECTL_REMOTE_COMMAND_WEBSOCKETS=true`` (1.30+ use WebSocket, :mod:`tui.sim.execws`).

The client POSTs with ``Upgrade: SPDY/3.1`` and the stream protocols it speaks in
``X-Stream-Protocol-Version``; the answer is 101 naming ``v4.channel.k8s.io``, the one served
(the final ``Status`` as JSON on the error stream; kubectl 1.27+ always offer it). The client
then opens one stream per channel, its ``streamtype`` header saying which: ``error``, ``stdin``
(``-i``), ``stdout``, ``stderr`` (not with ``-t``), ``resize`` (``-t``); each gets a SYN_REPLY,
as kubelet's server answers. Once the streams the query asks for are open, the same program as
over WebSocket runs (:func:`tui.sim.execrun.run_exec`): its output leaves as data frames on
stdout/stderr, its stdin is the stdin stream's data until FIN. At the end stdout and stderr are
closed (FIN), the Status is written on the error stream and closed, and the client, which has
then read everything, hangs up (RST_STREAM, GOAWAY, EOF).

aiohttp only hands over upgraded connections for WebSocket; this one is taken over the way its
``WebSocketResponse`` does it, by installing a frame reader as the connection's payload parser
(:func:`_take_over`, the one place that touches aiohttp's internals).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tui.sim.errors import ApiError
from tui.sim.execrun import exec_request, query_flag, run_exec
from tui.sim.kubectl.spdy import (
    DATA,
    GOAWAY,
    PING,
    REFUSED_STREAM,
    RST_STREAM,
    SYN_STREAM,
    Frame,
    FrameReader,
    FrameWriter,
    SpdyError,
)
from tui.sim.programs import STDERR, STDOUT

if TYPE_CHECKING:
    from tui.sim.cluster import SimCluster

PROTOCOL = "v4.channel.k8s.io"
STREAM_TYPES = ("error", "stdin", "stdout", "stderr", "resize")
STREAMS_TIMEOUT = 10.0
"""Seconds the client has to open the streams its query asks for (kubelet waits 30 s)."""
HANGUP_GRACE = 2.0
"""Seconds the client has, after the Status, to hang up before the server closes."""
CHUNK = 32 * 1024
"""Largest data frame written (what Go's io.Copy writes at once)."""
MAX_PENDING_STDIN = 8 * 1024 * 1024
"""Unread stdin kept for a program; a client that sends more is cut off."""
MAX_QUEUED = 8 * 1024 * 1024
"""Bytes of received frames not yet handled (a client flooding a server that cannot write back,
e.g. PINGs it does not read the answers to); beyond this the client is cut off."""


class _Connection:
    """The upgraded connection: frames in through :meth:`feed_data` (aiohttp calls it with
    every received chunk), frames out through the 101 response."""

    def __init__(self, response: web.StreamResponse) -> None:
        self.response = response
        self.reader = FrameReader()
        self.writer = FrameWriter()
        self._frames: asyncio.Queue[Frame | None] = asyncio.Queue()
        self._queued = 0
        self.closed = False
        self.gone = asyncio.Event()
        """The client hung up (GOAWAY, EOF or broken framing)."""

    # -- the payload parser interface of aiohttp's RequestHandler --------------------------------

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        try:
            frames = self.reader.feed(data)
        except SpdyError:
            frames = []
            self._queued = MAX_QUEUED + 1
        for frame in frames:
            self._queued += 8 + len(frame.data)
            self._frames.put_nowait(frame)
        if self._queued > MAX_QUEUED:
            self._frames.put_nowait(None)
            return True, b""  # aiohttp reads no more and closes once the handler returns
        return False, b""

    def feed_eof(self) -> None:
        self._frames.put_nowait(None)

    async def next_frame(self) -> Frame | None:
        """The next frame received; None once the client is gone or misbehaved."""
        frame = await self._frames.get()
        if frame is not None:
            self._queued -= 8 + len(frame.data)
        return frame

    # -- writing ----------------------------------------------------------------------------------

    async def send(self, frame: bytes) -> None:
        if self.closed:
            return
        try:
            await self.response.write(frame)
        except (ConnectionError, RuntimeError):
            self.closed = True

    async def data(self, stream_id: int, data: bytes, fin: bool = False) -> None:
        for start in range(0, len(data), CHUNK):
            last = start + CHUNK >= len(data)
            await self.send(FrameWriter.data(stream_id, data[start : start + CHUNK], fin and last))
        if not data and fin:
            await self.send(FrameWriter.data(stream_id, b"", True))


class SpdyExecIO:
    """:class:`tui.sim.programs.ExecIO` over the SPDY streams of one exec."""

    def __init__(self, connection: _Connection, tty: bool) -> None:
        self._connection = connection
        self._tty = tty
        self.streams: dict[str, int] = {}
        """Stream type -> the client's stream id."""
        self._stdin: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._pending = 0
        self._stdin_done = False

    async def read_stdin(self) -> bytes | None:
        if self._stdin_done or "stdin" not in self.streams:
            return None
        chunk = await self._stdin.get()
        if chunk is None:
            self._stdin_done = True
        else:
            self._pending -= len(chunk)
        return chunk

    async def write(self, channel: int, data: bytes) -> None:
        kind = "stdout" if channel == STDOUT or (channel == STDERR and self._tty) else "stderr"
        stream = self.streams.get(kind) if channel in (STDOUT, STDERR) else None
        if self.closed or not data or stream is None:
            return
        await self._connection.data(stream, data)

    @property
    def closed(self) -> bool:
        return self._connection.closed or self._connection.gone.is_set()

    def feed(self, chunk: bytes | None) -> bool:
        """Queue stdin for the program; False when the client sent more than is kept."""
        if chunk is not None:
            self._pending += len(chunk)
            if self._pending > MAX_PENDING_STDIN:
                return False
        self._stdin.put_nowait(chunk)
        return True

    def mark_closed(self) -> None:
        self._connection.gone.set()
        self._stdin.put_nowait(None)


async def handle_spdy_exec(
    request: web.Request, cluster: SimCluster, namespace: str, name: str
) -> web.StreamResponse:
    run = exec_request(request, cluster, namespace, name)
    headers = request.headers.getall("X-Stream-Protocol-Version", [])
    offered = [p.strip() for value in headers for p in value.split(",")]
    if PROTOCOL not in offered:
        raise ApiError(
            403,
            f"unable to upgrade: unable to negotiate protocol: client supports {offered}, "
            f"server accepts [{PROTOCOL}]",
            "Forbidden",
        )
    response = web.StreamResponse(
        status=101,
        headers={"Connection": "Upgrade", "Upgrade": "SPDY/3.1", "X-Stream-Protocol-Version": PROTOCOL},
    )
    response.force_close()
    connection = _Connection(response)
    _take_over(request, connection)
    await response.prepare(request)
    io = SpdyExecIO(connection, run.tty)
    wanted = {"error"} | {
        kind
        for kind, wanted in (
            ("stdin", run.stdin),
            ("stdout", query_flag(request, "stdout")),
            ("stderr", query_flag(request, "stderr") and not run.tty),
            ("resize", run.tty),
        )
        if wanted
    }
    deadline = time.monotonic() + STREAMS_TIMEOUT
    while not wanted <= io.streams.keys():
        try:
            frame = await asyncio.wait_for(connection.next_frame(), max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            frame = None
        if not await _handle(connection, io, frame):
            return response

    async def finish(status: dict[str, Any]) -> None:
        for kind in ("stdout", "stderr"):
            if kind in io.streams:
                await connection.data(io.streams[kind], b"", fin=True)
        await connection.data(io.streams["error"], json.dumps(status).encode(), fin=True)
        if "stdin" in io.streams:
            await connection.data(io.streams["stdin"], b"", fin=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(connection.gone.wait(), HANGUP_GRACE)

    try:
        await run_exec(run, io, _read(connection, io), finish)
    finally:
        io.mark_closed()
    return response


def _take_over(request: web.Request, connection: _Connection) -> None:
    """Receive the connection's next bytes in ``connection`` instead of the HTTP parser.

    Done before the 101 is sent, so the client's first frame cannot reach the HTTP parser.
    ``RequestHandler.set_parser`` is what aiohttp's own WebSocketResponse calls (not public
    API: tests/sim/test_sim_spdy.py fails by name if a release moves it).
    """
    handler = request.protocol
    if not callable(getattr(handler, "set_parser", None)):
        raise ApiError(
            400,
            "Upgrade request required: this aiohttp cannot hand an upgraded connection over, so "
            "exec over SPDY/3.1 (kubectl 1.27-1.29) is not served; use kubectl 1.30+, or 1.29 with "
            "KUBECTL_REMOTE_COMMAND_WEBSOCKETS=true",
            "BadRequest",
        )
    handler.set_parser(connection)  # type: ignore[arg-type]


async def _read(connection: _Connection, io: SpdyExecIO) -> None:
    """Client -> server while the program runs; returns when the client hangs up."""
    while await _handle(connection, io, await connection.next_frame()):
        pass


async def _handle(connection: _Connection, io: SpdyExecIO, frame: Frame | None) -> bool:
    """Act on one frame from the client; False once the client is gone (or misbehaved)."""
    if frame is None or frame.type == GOAWAY:
        io.mark_closed()
        return False
    if frame.type == SYN_STREAM:
        kind = (frame.headers.get("streamtype") or [""])[0]
        if kind not in STREAM_TYPES or kind in io.streams:
            await connection.send(FrameWriter.rst_stream(frame.stream_id, REFUSED_STREAM))
        else:
            io.streams[kind] = frame.stream_id
            await connection.send(connection.writer.syn_reply(frame.stream_id))
    elif frame.type == DATA and frame.stream_id == io.streams.get("stdin"):
        if (frame.data and not io.feed(frame.data)) or (frame.fin and not io.feed(None)):
            io.mark_closed()
            return False
    elif frame.type == RST_STREAM:
        if frame.stream_id == io.streams.get("stdin"):
            io.feed(None)
        elif frame.stream_id in io.streams.values():  # stdout, stderr, error: the client is leaving
            io.mark_closed()
            return False
    elif frame.type == PING:
        await connection.send(FrameWriter.ping(frame.value))
    # resize data, SETTINGS, WINDOW_UPDATE, HEADERS: nothing to do
    return True
