"""``pods/{name}/exec`` over WebSocket (``v5.channel.k8s.io`` / ``v4.channel.k8s.io``).

Frames are binary with the channel in the first byte: 0 stdin, 1 stdout, 2 stderr, 3 the final
``Status`` (exit code), 4 terminal resize (ignored); v5 adds ``\\xff<channel>`` from the client to
close its stdin. What runs is a simulated *program* (:func:`tui.sim.programs.program_for`),
never a host process; it is cancelled when the client goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from tui.sim.errors import ApiError, bad_request, not_found
from tui.sim.programs import ERROR, STDIN, ExecRequest, ExecStartFailed, program_for

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


def exit_status(code: int, command: list[str]) -> dict[str, Any]:
    """The channel-3 Status kubectl and the Python client read the exit code from."""
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"command terminated with non-zero exit code: error executing command "
        f"[{' '.join(command)}], exit code {code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


def start_failed_status(message: str) -> dict[str, Any]:
    """The channel-3 Status of a command the runtime could not start: no ExitCode cause."""
    return {
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": "InternalError",
        "details": {"causes": [{"message": message}]},
        "code": 500,
    }


def _bool(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("true", "1")


async def handle_exec(
    request: web.Request, cluster: SimCluster, namespace: str, name: str
) -> web.StreamResponse:
    entry = cluster.store.get("pods", namespace, name)
    if entry is None:
        raise not_found(cluster.registry.by_key("pods"), name)
    pod = entry.obj
    containers = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
    container = request.query.get("container") or (containers[0] if containers else "")
    if container not in containers:
        raise bad_request(f"container {container} is not valid for pod {name}")
    phase = (pod.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed"):
        raise bad_request(f"cannot exec into a container in a completed pod; current phase is {phase}")
    if phase != "Running":
        raise bad_request(f'unable to upgrade connection: container not found ("{container}")')
    command = request.query.getall("command", [])
    if not command:
        raise bad_request("you must specify at least 1 command")
    upgrade = request.headers.get("Upgrade", "").lower()
    if upgrade.startswith("spdy"):
        raise ApiError(
            400,
            "Upgrade request required: this simulated API server runs exec over WebSocket only "
            "(v5.channel.k8s.io); kubectl 1.30+ uses it, kubectl 1.29 with "
            "KUBECTL_REMOTE_COMMAND_WEBSOCKETS=true; kubectl 1.27-1.28 only speak SPDY/3.1",
            "BadRequest",
        )
    if upgrade != "websocket":
        raise ApiError(400, "Upgrade request required", "BadRequest")
    ws = web.WebSocketResponse(protocols=PROTOCOLS, autoping=True, max_msg_size=16 * 1024 * 1024)
    await ws.prepare(request)
    stdin = _bool(request, "stdin")
    io = WebSocketExecIO(ws, stdin)
    exec_request = ExecRequest(
        cluster=cluster.name,
        pod=pod,
        container=container,
        command=list(command),
        tty=_bool(request, "tty"),
        stdin=stdin,
        network=cluster.mesh.network_for(cluster, pod) if cluster.mesh is not None else None,
        extras={"mesh": cluster.mesh, "sim_cluster": cluster},
    )
    import tui.sim.shell  # noqa: F401  (registers the shell program; ~0.1 s, so with the first exec)

    program = program_for(exec_request)
    program_task = asyncio.create_task(program(exec_request, io))
    reader_task = asyncio.create_task(_read_frames(ws, io))
    try:
        await asyncio.wait({program_task, reader_task}, return_when=asyncio.FIRST_COMPLETED)
        if program_task.done():
            status: dict[str, Any]
            try:
                code = program_task.result()
                status = exit_status(int(code), exec_request.command)
            except ExecStartFailed as exc:
                status = start_failed_status(str(exc))
            except Exception as exc:
                await io.write(2, f"{type(exc).__name__}: {exc}\n".encode())
                status = exit_status(126, exec_request.command)
            if not io.closed:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await ws.send_bytes(bytes([ERROR]) + json.dumps(status).encode())
                    await ws.close()
    finally:
        for task in (program_task, reader_task):
            if not task.done():
                task.cancel()
        for task in (program_task, reader_task):
            with contextlib.suppress(BaseException):
                await task
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
