"""Streams, pipes, files and the CPU budget of one simulated exec.

Everything a simulated command reads or writes goes through these small objects so that output
reaches the exec's WebSocket the moment it is produced, pipes apply back-pressure and end like
real ones (``| head -n 1`` stops the writer), and a runaway loop cannot starve the event loop
that also serves the API.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

MAX_FILE = 8 * 1024 * 1024
"""Largest in-memory file (curl -o of a huge body must not eat the simulator's memory)."""
MAX_FILES = 256


class ExecClosed(Exception):
    """The client went away: unwind everything without writing more."""


class BrokenPipe(Exception):
    """The reading side of a pipe is gone (SIGPIPE): the writer stops with status 141."""


class BudgetExceeded(Exception):
    """The exec used up its CPU budget: it is killed (status 137)."""


class Output(Protocol):
    async def write(self, data: bytes) -> None: ...


class NullOutput:
    """``/dev/null``."""

    async def write(self, data: bytes) -> None:
        return None


class CaptureOutput:
    """Collects ``$(...)`` output, bounded so a substitution cannot grow without limit."""

    def __init__(self, limit: int = 1024 * 1024) -> None:
        self.chunks: list[bytes] = []
        self.size = 0
        self.limit = limit

    async def write(self, data: bytes) -> None:
        room = self.limit - self.size
        if room <= 0:
            return
        data = data[:room]
        self.chunks.append(data)
        self.size += len(data)

    def value(self) -> bytes:
        return b"".join(self.chunks)


class ChannelOutput:
    """One channel (stdout or stderr) of the exec stream, written through at once.

    With a TTY the terminal's ``onlcr`` turns ``\\n`` into ``\\r\\n``, as kubectl users expect.
    """

    def __init__(
        self,
        write: Callable[[bytes], Awaitable[None]],
        closed: Callable[[], bool],
        *,
        tty: bool = False,
        budget: CpuBudget | None = None,
    ) -> None:
        self._write = write
        self._closed = closed
        self.tty = tty
        self.budget = budget

    async def write(self, data: bytes) -> None:
        if self._closed():
            raise ExecClosed
        if not data:
            return
        if self.tty:
            data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        if self.budget is not None:
            await self.budget.wait(self._write(data))
        else:
            await self._write(data)
        if self._closed():
            raise ExecClosed


class Reader:
    """Buffered input over any chunk source (exec stdin, a pipe, a file, a here-document)."""

    def __init__(
        self, source: Callable[[], Awaitable[bytes | None]] | None = None, data: bytes = b""
    ) -> None:
        self._source = source
        self._buf = bytearray(data)
        self._eof = source is None

    @classmethod
    def empty(cls) -> Reader:
        return cls()

    @classmethod
    def of(cls, data: bytes) -> Reader:
        return cls(data=data)

    async def _fill(self) -> bool:
        if self._eof or self._source is None:
            self._eof = True
            return False
        chunk = await self._source()
        if chunk is None:
            self._eof = True
            return False
        self._buf += chunk
        return True

    async def read(self) -> bytes | None:
        """The next chunk, ``None`` at end of input."""
        while not self._buf:
            if not await self._fill():
                return None
        data = bytes(self._buf)
        self._buf.clear()
        return data

    async def readline(self) -> bytes | None:
        """One line including its ``\\n`` (the last line may lack it), ``None`` at end of input."""
        while b"\n" not in self._buf:
            if len(self._buf) > MAX_FILE or not await self._fill():
                if not self._buf:
                    return None
                data = bytes(self._buf)
                self._buf.clear()
                return data
        idx = self._buf.index(b"\n") + 1
        data = bytes(self._buf[:idx])
        del self._buf[:idx]
        return data

    async def read_all(self, limit: int = MAX_FILE) -> bytes:
        chunks = bytearray()
        while (chunk := await self.read()) is not None:
            chunks += chunk
            if len(chunks) > limit:
                break
        return bytes(chunks[:limit])


class Pipe:
    """``a | b``: bounded, with end-of-file for the reader and SIGPIPE for the writer."""

    def __init__(self, limit: int = 64 * 1024) -> None:
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self._limit = limit
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()
        self.write_closed = False
        self.read_closed = False

    async def write(self, data: bytes) -> None:
        if self.read_closed:
            raise BrokenPipe
        while self._size >= self._limit:
            self._writable.clear()
            await self._writable.wait()
            if self.read_closed:
                raise BrokenPipe
        self._chunks.append(data)
        self._size += len(data)
        self._readable.set()

    async def read(self) -> bytes | None:
        while not self._chunks:
            if self.write_closed:
                return None
            self._readable.clear()
            await self._readable.wait()
        data = self._chunks.popleft()
        self._size -= len(data)
        self._writable.set()
        return data

    def close_write(self) -> None:
        self.write_closed = True
        self._readable.set()

    def close_read(self) -> None:
        self.read_closed = True
        self._chunks.clear()
        self._size = 0
        self._writable.set()


class PipeWriter:
    """The writing end of a :class:`Pipe` as an :class:`Output` (waiting for room is not CPU)."""

    def __init__(self, pipe: Pipe, budget: CpuBudget) -> None:
        self.pipe = pipe
        self.budget = budget

    async def write(self, data: bytes) -> None:
        if data:
            await self.budget.wait(self.pipe.write(data))


class FileSystem:
    """A per-exec scratch filesystem: enough for ``curl -o /tmp/x`` then ``cat /tmp/x``.

    Directories are implicit except the few a curl image has; paths are normalised so
    ``/tmp/../tmp/x`` and ``/tmp/x`` are the same file.
    """

    DIRS = frozenset(
        {"/", "/tmp", "/home", "/home/curl_user", "/dev", "/etc", "/bin", "/usr", "/usr/bin", "/var"}
    )

    def __init__(self, files: dict[str, bytes] | None = None) -> None:
        self.files: dict[str, bytes] = dict(files or {})
        self.dirs: set[str] = set(self.DIRS)

    @staticmethod
    def normalize(path: str, cwd: str = "/") -> str:
        if not path.startswith("/"):
            path = cwd.rstrip("/") + "/" + path
        parts: list[str] = []
        for piece in path.split("/"):
            if piece in ("", "."):
                continue
            if piece == "..":
                if parts:
                    parts.pop()
                continue
            parts.append(piece)
        return "/" + "/".join(parts)

    def parent_exists(self, path: str) -> bool:
        return (path.rsplit("/", 1)[0] or "/") in self.dirs

    def read(self, path: str) -> bytes | None:
        return self.files.get(path)

    def write(self, path: str, data: bytes, *, append: bool = False) -> None:
        if path not in self.files and len(self.files) >= MAX_FILES:
            raise OSError("No space left on device")
        old = self.files.get(path, b"") if append else b""
        if len(old) + len(data) > MAX_FILE:
            raise OSError("File too large")
        self.files[path] = old + data


class FileOutput:
    """``> file`` / ``>> file`` into :class:`FileSystem`, written as produced."""

    def __init__(self, fs: FileSystem, path: str, *, append: bool = False) -> None:
        self.fs = fs
        self.path = path
        if not append or path not in fs.files:
            fs.write(path, b"")

    async def write(self, data: bytes) -> None:
        self.fs.write(self.path, data, append=True)


YIELD_EVERY = 0.002
"""Longest stretch a script runs without letting the event loop serve others (seconds)."""


class CpuBudget:
    """Charges the interpreter's own running time to the exec that caused it.

    Time is measured per asyncio task between :meth:`start` and :meth:`stop`; every real wait
    (a sleep, the network, the client, a pipe) goes through :meth:`wait`, which stops the meter.
    A script yields to the event loop at least every :data:`YIELD_EVERY` seconds; beyond
    ``share`` of the wall clock it is slowed down; and once it has run ``limit`` seconds of
    CPU without waiting for anything real (``while true; do :; done``) it is killed. Loops
    that wait — for curl answers, sleeps, or the client reading their output — are only ever
    throttled, because that is what they would do in a real container too.
    """

    def __init__(self, limit: float = 20.0, share: float = 0.25, window: float = 0.5) -> None:
        self.limit = limit
        self.share = share
        self.window = window
        self.used = 0.0
        """CPU seconds charged in total (for reports)."""
        self.streak = 0.0
        """CPU seconds charged since the last real wait."""
        self._since: weakref.WeakKeyDictionary[asyncio.Task[Any], float] = weakref.WeakKeyDictionary()
        self._since_outside: float | None = None
        self._window_start = time.perf_counter()
        self._window_used = 0.0
        self._last_yield = 0.0

    def start(self) -> None:
        task = _current_task()
        now = time.perf_counter()
        if task is None:
            self._since_outside = now
        else:
            self._since[task] = now

    def stop(self) -> None:
        """Stop charging the current task (it is about to wait)."""
        task = _current_task()
        since = self._since_outside if task is None else self._since.pop(task, None)
        if task is None:
            self._since_outside = None
        if since is not None:
            spent = time.perf_counter() - since
            self.used += spent
            self.streak += spent
            self._window_used += spent

    async def checkpoint(self) -> None:
        """Yield to the loop now and then; throttle or kill a CPU burner.

        Yielding at every command would cost an event-loop turn each (tens of microseconds);
        yielding every couple of milliseconds keeps other clients' latency as low while letting
        loops run at a useful speed.
        """
        now = time.perf_counter()
        if now - self._last_yield < YIELD_EVERY:
            return
        self.stop()
        if self.streak > self.limit:
            raise BudgetExceeded
        elapsed = now - self._window_start
        delay = 0.0
        if elapsed >= self.window:
            self._window_start = now
            self._window_used = 0.0
        elif self._window_used > self.share * self.window:
            delay = self.window - elapsed
            self._window_start = now + delay
            self._window_used = 0.0
        await asyncio.sleep(delay)
        self._last_yield = time.perf_counter()
        self.start()

    async def wait(self, awaitable: Awaitable[T]) -> T:
        """Await something real (a sleep, the network, the client) without charging its time."""
        self.stop()
        try:
            return await awaitable
        finally:
            self.streak = 0.0
            self.start()


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None
