"""Exec in a pod over WebSocket (``v5.channel.k8s.io``, falling back to ``v4``), two ways.

* :func:`run_exec` collects a short command's output (``cilium status -o json``), bounded in
  size and time.
* :class:`ExecStream` streams a long-running command (a curl loop) line by line. kubernetes'
  own ``stream()`` reads the whole output and is not thread-safe on a shared client, hence this.
  Closing the stream closes the socket, which ends the command in the pod. Lines wait in a
  bounded buffer: when the consumer falls behind the oldest are dropped and counted, never
  buffered without limit. A stream that sends nothing for ``idle_timeout`` seconds is ended.

The reader runs on the hub's loop; the consumer may iterate on another loop (the app's): lines
cross over through a lock-protected deque and a wake-up posted to the consumer's loop.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import aiohttp

from tui.kube.client import Action, KubeClient
from tui.kube.errors import KubeError, from_exception, size_text
from tui.kube.redact import log, scrub
from tui.kube.tasks import cancel_and_wait

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDIN, STDOUT, STDERR, ERROR, RESIZE = 0, 1, 2, 3, 4
MAX_LINE = 64 * 1024
MAX_BUFFERED = 8 * 2**20
"""Bytes of unread lines an :class:`ExecStream` keeps at most (the oldest are dropped first)."""
CLOSE_GRACE = 1.0
"""Seconds a peer gets to answer our CLOSE before the socket is dropped. aiohttp's close reads
until the peer's CLOSE arrives, and a peer that keeps sending and never answers would keep it
reading forever (a core at 100 % and the exec semaphores held)."""


def _transport(ws: aiohttp.ClientWebSocketResponse) -> asyncio.BaseTransport | None:
    """The socket's transport (aiohttp offers no public handle on it for a WebSocket)."""
    response = getattr(ws, "_response", None)
    connection = getattr(response, "connection", None)
    return getattr(connection, "transport", None)


async def close_exec(ws: aiohttp.ClientWebSocketResponse, grace: float = CLOSE_GRACE) -> None:
    """Close an exec WebSocket, bounded: the peer has ``grace`` seconds to answer the CLOSE,
    then the connection is aborted (no TLS close handshake either: that would read on)."""
    if ws.closed:
        return
    transport = _transport(ws)
    try:
        await asyncio.wait_for(ws.close(), grace)
        return
    except asyncio.CancelledError:
        _abort(transport)
        raise
    except Exception:  # TimeoutError (no CLOSE came back), or a broken socket
        log.debug("exec: the peer did not answer CLOSE within %g s: connection dropped", grace)
    _abort(transport)


def _abort(transport: asyncio.BaseTransport | None) -> None:
    if transport is not None and not transport.is_closing():
        abort = getattr(transport, "abort", None)
        if callable(abort):
            abort()


def exec_query(
    command: Sequence[str], container: str | None, *, stdin: bool = False
) -> list[tuple[str, str]]:
    query = [("command", part) for part in command]
    if container:
        query.append(("container", container))
    query += [("stdout", "true"), ("stderr", "true")]
    if stdin:
        query.append(("stdin", "true"))
    return query


def exit_code_of(status_doc: bytes) -> tuple[int | None, str]:
    """(exit code, message) from the channel-3 ``Status``: 0 on Success, the ExitCode cause else."""
    try:
        doc = json.loads(status_doc)
    except ValueError:
        return None, "unreadable exec status"
    if not isinstance(doc, dict):
        return None, "unreadable exec status"
    if doc.get("status") == "Success":
        return 0, ""
    message = str(doc.get("message") or "")
    for cause in ((doc.get("details") or {}).get("causes")) or ():
        if cause.get("reason") == "ExitCode":
            try:
                return int(cause.get("message")), message
            except (TypeError, ValueError):
                break
    return None, message or "exec failed"


async def open_exec(
    client: KubeClient, namespace: str, pod: str, command: Sequence[str], container: str | None
) -> aiohttp.ClientWebSocketResponse:
    path = f"/api/v1/namespaces/{namespace}/pods/{pod}/exec"
    return await client.ws_connect(
        path,
        exec_query(command, container),
        protocols=PROTOCOLS,
        action=Action("create", "pods/exec", namespace, pod),
    )


@dataclass(frozen=True, slots=True)
class ExecResult:
    stdout: bytes
    stderr: bytes
    exit_code: int | None
    error: str | None = None
    """Why the command could not be run or finished abnormally (already redacted)."""
    truncated: bool = False


async def run_exec(
    client: KubeClient,
    namespace: str,
    pod: str,
    command: Sequence[str],
    *,
    container: str | None = None,
    timeout: float = 5.0,
    max_bytes: int = 8 * 2**20,
) -> ExecResult:
    """Run a short command and collect its output; never raises for a failed command."""
    out = bytearray()
    err = bytearray()
    exit_code: int | None = None
    message = ""
    truncated = False
    ws: aiohttp.ClientWebSocketResponse | None = None
    try:
        async with asyncio.timeout(timeout):
            ws = await open_exec(client, namespace, pod, command, container)
            async for msg in ws:
                if msg.type not in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT):
                    break
                data = msg.data if isinstance(msg.data, bytes) else msg.data.encode()
                if not data:
                    continue
                channel, payload = data[0], data[1:]
                if channel == STDOUT:
                    if len(out) + len(payload) > max_bytes:
                        truncated = True
                        break
                    out += payload
                elif channel == STDERR:
                    if len(err) < max_bytes:
                        err += payload[: max_bytes - len(err)]
                elif channel == ERROR:
                    exit_code, message = exit_code_of(payload)
    except TimeoutError:
        return ExecResult(bytes(out), bytes(err), exit_code, f"timeout after {timeout:g} s", truncated)
    except KubeError as exc:
        return ExecResult(bytes(out), bytes(err), exit_code, str(exc), truncated)
    except Exception as exc:
        t = client.timeouts
        error = from_exception(exc, connect_timeout=t.connect, read_timeout=t.read)
        return ExecResult(bytes(out), bytes(err), exit_code, str(error), truncated)
    finally:
        if ws is not None:
            # A peer that flooded past the cap is not waited for: it would only flood on.
            await close_exec(ws, 0.05 if truncated else CLOSE_GRACE)
    if exit_code is None and not truncated:
        # The socket closed without a status: the command may have been cut short.
        return ExecResult(bytes(out), bytes(err), None, scrub(message or "no exit status"), truncated)
    error = scrub(message) if exit_code not in (0, None) else None
    if truncated:
        error = f"output larger than {size_text(max_bytes)}"
    return ExecResult(bytes(out), bytes(err), exit_code, error, truncated)


# -- streaming --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExecLine:
    """One line of output (without its newline)."""

    channel: Literal["stdout", "stderr"]
    text: str
    at: float
    """``time.time()`` when it arrived."""


class ExecStream:
    """A command running in a pod: ``async for line in stream``, then ``exit_code``.

    Create with :meth:`MeshHub.exec_stream` (or :meth:`KubeSource.exec_stream`). Iteration
    ends when the command ends, the stream is closed, or it stays idle too long; ``error`` then
    says why when it was not a normal exit. ``dropped`` counts lines lost to a slow consumer.
    """

    def __init__(
        self,
        *,
        context: str,
        namespace: str,
        pod: str,
        command: Sequence[str],
        max_lines: int,
        idle_timeout: float | None,
        hub_loop: asyncio.AbstractEventLoop,
        consumer_loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.context = context
        self.namespace = namespace
        self.pod = pod
        self.command = tuple(command)
        self.max_lines = max(1, max_lines)
        self.idle_timeout = idle_timeout
        self.exit_code: int | None = None
        self.error: str | None = None
        self.dropped = 0
        self.started_at = time.time()
        self._hub_loop = hub_loop
        self._consumer_loop = consumer_loop
        self._lock = threading.Lock()
        self._lines: collections.deque[ExecLine] = collections.deque()
        self._buffered = 0
        """Characters held in ``_lines`` (bounded by :data:`MAX_BUFFERED` as well as by lines)."""
        self._done = False
        self._event = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._partial = {STDOUT: bytearray(), STDERR: bytearray()}
        self._finished = threading.Event()

    # -- consumer side (any loop) ---------------------------------------------------------------

    @property
    def done(self) -> bool:
        return self._done

    def __aiter__(self) -> ExecStream:
        return self

    async def __anext__(self) -> ExecLine:
        while True:
            self._event.clear()
            with self._lock:
                if self._lines:
                    line = self._lines.popleft()
                    self._buffered -= len(line.text)
                    return line
                if self._done:
                    raise StopAsyncIteration
            await self._event.wait()

    def pending(self) -> int:
        with self._lock:
            return len(self._lines)

    @property
    def buffered(self) -> int:
        """Characters of unread lines held now (at most :data:`MAX_BUFFERED`)."""
        with self._lock:
            return self._buffered

    async def close(self) -> None:
        """Stop the command (closing the socket ends it in the pod) and wait for the reader."""
        if self._task is None:
            return
        if asyncio.get_running_loop() is self._hub_loop:
            await self._stop()
        elif self._hub_loop.is_closed() or not self._hub_loop.is_running():
            return  # the hub is gone, and its stop() ended every stream
        else:
            future = asyncio.run_coroutine_threadsafe(self._stop(), self._hub_loop)
            await asyncio.wrap_future(future)

    async def wait(self) -> int | None:
        """Wait for the command to end (draining nothing); returns the exit code."""
        while not self._done:
            self._event.clear()
            if self._done:
                break
            await self._event.wait()
        return self.exit_code

    # -- reader side (hub loop) -----------------------------------------------------------------

    def _start(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._task = asyncio.create_task(self._pump(ws), name=f"exec {self.context}/{self.pod}")

    async def _stop(self) -> None:
        task = self._task
        if task is not None and not task.done():
            await cancel_and_wait([task])

    async def _pump(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        try:
            while True:
                try:
                    msg = await ws.receive(timeout=self.idle_timeout)
                except TimeoutError:
                    self.error = f"no output for {self.idle_timeout:g} s: stopped"
                    break
                if msg.type not in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT):
                    if msg.type == aiohttp.WSMsgType.ERROR and self.exit_code is None:
                        self.error = "the exec connection failed"
                    break
                data = msg.data if isinstance(msg.data, bytes) else msg.data.encode()
                if not data:
                    continue
                channel, payload = data[0], data[1:]
                if channel in (STDOUT, STDERR):
                    self._feed(channel, payload)
                elif channel == ERROR:
                    self.exit_code, message = exit_code_of(payload)
                    if self.exit_code not in (0,) and message:
                        self.error = scrub(message)
        except asyncio.CancelledError:
            if self.error is None and self.exit_code is None:
                self.error = "stopped"
            raise
        except Exception as exc:
            self.error = str(from_exception(exc, connect_timeout=0, read_timeout=self.idle_timeout or 0))
        finally:
            try:
                await asyncio.shield(close_exec(ws))
            except Exception:  # closing a broken socket: nothing more to do
                log.debug("exec %s/%s: close failed", self.context, self.pod)
            for channel in (STDOUT, STDERR):
                if self._partial[channel]:
                    self._push(channel, bytes(self._partial[channel]))
                    self._partial[channel].clear()
            if self.exit_code is None and self.error is None:
                self.error = "the stream ended without an exit status"
            self._done = True
            self._finished.set()
            self._signal()

    def _feed(self, channel: int, payload: bytes) -> None:
        partial = self._partial[channel]
        partial += payload
        if b"\n" not in payload:
            if len(partial) > MAX_LINE:
                self._push(channel, bytes(partial))
                partial.clear()
                self._signal()
            return
        lines = partial.split(b"\n")
        rest = lines.pop()
        for line in lines:
            self._push(channel, bytes(line))
        partial.clear()
        partial += rest
        self._signal()

    def _push(self, channel: int, raw: bytes) -> None:
        text = raw.decode("utf-8", "replace").rstrip("\r")
        line = ExecLine("stdout" if channel == STDOUT else "stderr", text, time.time())
        with self._lock:
            while self._lines and (
                len(self._lines) >= self.max_lines or self._buffered + len(text) > MAX_BUFFERED
            ):
                self._buffered -= len(self._lines.popleft().text)
                self.dropped += 1
            self._lines.append(line)
            self._buffered += len(text)

    def _signal(self) -> None:
        loop = self._consumer_loop
        try:
            if loop is asyncio.get_running_loop():
                self._event.set()
                return
        except RuntimeError:
            pass
        with contextlib.suppress(RuntimeError):  # the consumer's loop is closed: nobody listens
            loop.call_soon_threadsafe(self._event.set)


async def start_stream(
    client: KubeClient,
    namespace: str,
    pod: str,
    command: Sequence[str],
    *,
    container: str | None,
    max_lines: int,
    idle_timeout: float | None,
    consumer_loop: asyncio.AbstractEventLoop,
) -> ExecStream:
    """Open the socket (raising :class:`KubeError` when the exec is refused) and start reading."""
    ws = await open_exec(client, namespace, pod, command, container)
    stream = ExecStream(
        context=client.context,
        namespace=namespace,
        pod=pod,
        command=command,
        max_lines=max_lines,
        idle_timeout=idle_timeout,
        hub_loop=asyncio.get_running_loop(),
        consumer_loop=consumer_loop,
    )
    stream._start(ws)
    return stream
