"""One curl loop: one long exec in a client pod, answers parsed as they arrive.

``CurlLoop(source, context, target, ...)`` runs the framed ``while`` loop of
:mod:`tui.curl.script` in a client pod of ``context`` — the pod the caller named, else a ready
pod of the client deployment (``curltest`` by default) in the target's namespace — and
``async for answer in loop`` yields a :class:`CurlAnswer` per request. There is never an exec
per request: the pod's shell loops, the stream carries the answers.

Lifecycle, each for a reason:

* :meth:`CurlLoop.stop` closes the exec stream: closing the WebSocket ends the shell in the pod
  (nothing is left looping there), then iteration ends. Always call it (a ``finally``), also
  after breaking out of ``async for``: an abandoned async generator is closed only when the
  garbage collector gets to it.
* A stream that ends while the loop should run (the pod restarted or was deleted, the API
  server dropped the connection, the idle timeout fired) is reattached: a ready pod of the
  client deployment is found again (after a short back-off) and the loop goes on; the events
  (:attr:`CurlLoop.events`) say "reattached to <pod>". :meth:`CurlLoop.client_gone` does the
  same at once when a snapshot shows the client pod deleted or terminating.
* A loop ends only when it is stopped (or its ``count`` is reached): while no client pod can
  be found it is ``waiting`` and says so (an event), asking the API server again after each
  back-off — never only the snapshot, whose pod watch of a namespace stops with the
  namespace's last global service. The API server's list of the deployment's pods is the
  truth: a pod it lists ready is used even if a snapshot once made it look gone.
* Count-bounded loops (``count``) finish after ``count`` answers, reattaching for the rest.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tui.curl.fingerprints import Fingerprints, Identity, short_label
from tui.curl.frames import FrameParser, RawAnswer
from tui.curl.script import loop_script, new_nonce
from tui.curl.target import (
    CurlTarget,
    InvalidInput,
    check_count,
    check_interval,
    check_label,
    check_subdomain,
    check_timeout,
)
from tui.source import PodExec

DEFAULT_CLIENT = "curltest"
SEGMENT = 60.0
"""Seconds one exec's loop runs before it ends by itself and the next one starts (see
:func:`tui.curl.script.loop_script`): the longest a loop can outlive its client on a runtime
that does not end a command when its exec stream closes."""
BACKOFF = (0.2, 0.5, 1.0, 2.0, 5.0)
"""Seconds before the n-th consecutive attempt to (re)attach."""
MAX_EVENTS = 50


@dataclass(frozen=True, slots=True)
class CurlAnswer:
    """One request of a loop: who asked, who answered, what, how fast, or what went wrong."""

    at: float
    """``time.time()`` when the answer arrived."""
    from_cluster: str
    to_cluster: str | None
    """The answering backend's cluster; ``None`` when unknown (no probe answered like this) or
    when no backend answered at all (see ``error_kind``)."""
    pod: str
    """The answering pod when the answer identifies it (``""`` otherwise)."""
    body: str
    code: int
    """HTTP status; 0 when no HTTP answer came."""
    ms: float
    error_kind: str | None
    """``None`` for a good answer; else ``timeout``, ``resolve``, ``refused``, ``http 503``, ..."""
    seq: int = 0
    context: str = ""
    client_pod: str = ""
    label: str = ""
    """Short text of the body for logs (a user's name, rebel-base's cluster)."""
    error: str = ""
    """curl's error message."""

    @property
    def answered(self) -> bool:
        """A backend answered over HTTP (counted in the split, even with an error status)."""
        return self.code > 0

    @property
    def identified(self) -> bool:
        return self.to_cluster is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "at": round(self.at, 3),
            "seq": self.seq,
            "context": self.context,
            "from": self.from_cluster,
            "client_pod": self.client_pod,
            "to": self.to_cluster if self.answered else None,
            "pod": self.pod or None,
            "code": self.code,
            "ms": round(self.ms, 2),
            "error": self.error_kind,
            "message": self.error or None,
            "body": self.label if self.identified else self.body,
        }


@dataclass(frozen=True, slots=True)
class LoopEvent:
    """Something the operator should read beside the answers (attach, reattach, failure)."""

    at: float
    context: str
    kind: str
    """``attached``, ``reattached``, ``ended``, ``waiting``, ``error``, ``stopped``, ``done``."""
    text: str


def identify(
    raw: RawAnswer,
    fingerprints: Fingerprints | None,
    *,
    from_cluster: str,
    context: str,
    client_pod: str,
) -> CurlAnswer:
    """A parsed request → an answer, identified through the learned map."""
    kind = raw.error_kind
    if raw.code > 0:
        who = fingerprints.identify(raw.body) if fingerprints is not None else Identity(None, "", "")
        label = who.label or short_label(raw.body)
    else:
        who = Identity(None, "", "")
        label = ""
    return CurlAnswer(
        at=raw.at,
        from_cluster=from_cluster,
        to_cluster=who.cluster,
        pod=who.pod,
        body=raw.body,
        code=raw.code,
        ms=raw.seconds * 1000.0,
        error_kind=kind,
        seq=raw.seq,
        context=context,
        client_pod=client_pod,
        label=label,
        error=raw.message if kind else "",
    )


class CurlLoop:
    """A curl loop from one client pod of one context (see the module docstring)."""

    def __init__(
        self,
        source: PodExec,
        context: str,
        target: CurlTarget,
        *,
        interval: float = 1.0,
        timeout: float = 2.0,
        count: int | None = None,
        client: str | None = None,
        client_deployment: str | None = None,
        client_namespace: str | None = None,
        container: str | None = None,
        fingerprints: Fingerprints | None = None,
        from_cluster: str | None = None,
        on_event: Callable[[LoopEvent], None] | None = None,
        backoff: Sequence[float] = BACKOFF,
        segment: float | None = SEGMENT,
    ) -> None:
        if not isinstance(target, CurlTarget):
            raise InvalidInput("target must be a CurlTarget")
        self.source = source
        self.context = context
        self.target = target
        self.interval = check_interval(interval)
        self.timeout = check_timeout(timeout)
        self.count = check_count(count)
        self.client = check_subdomain(client, "client pod") if client else None
        self.client_deployment = check_subdomain(client_deployment or DEFAULT_CLIENT, "client deployment")
        self.client_namespace = check_label(client_namespace or target.namespace, "client namespace")
        self.container = check_label(container, "container") if container else None
        self.fingerprints = fingerprints
        self.from_cluster = from_cluster or self._cluster_name()
        self.on_event = on_event
        self.backoff = tuple(backoff) or BACKOFF
        self.segment = segment
        self.pod: str | None = None
        """The client pod the loop runs in now (``None`` while attaching)."""
        self.state = "idle"
        """``idle`` → ``attaching`` → ``running`` (→ ``reattaching`` / ``waiting`` …) → ``stopped`` /
        ``done``. ``waiting``: no client pod found at the last try; the next one is on its way."""
        self.delivered = 0
        self.attaches = 0
        """Execs started (segments included)."""
        self.segments = 0
        """Segments that ended by themselves and were followed by the next one."""
        self.reaped = 0
        """Kills sent for a loop whose stream closed without the command saying it ended."""
        self.dropped_lines = 0
        self.events: collections.deque[LoopEvent] = collections.deque(maxlen=MAX_EVENTS)
        self._stream: Any = None
        self._stopping = False
        self._wake = asyncio.Event()
        self._gone: dict[str, str] = {}
        self._iterating = False
        self._pid: int | None = None

    # -- control ---------------------------------------------------------------------------------

    async def stop(self) -> None:
        """End the loop in the pod (the exec is closed) and end iteration. Idempotent."""
        self._stopping = True
        self._wake.set()
        stream = self._stream
        if stream is not None:
            with contextlib.suppress(Exception):
                await stream.close()
            await self._reap(stream)
        if not self._iterating and self.state not in ("stopped", "done"):
            self.state = "stopped"

    @property
    def stopping(self) -> bool:
        return self._stopping

    def client_gone(self, pod: str, reason: str) -> None:
        """The client pod is going away (a snapshot says so): reattach now, not at the idle timeout."""
        if pod in self._gone or self._stopping:
            return
        if len(self._gone) >= MAX_EVENTS:
            self._gone.pop(next(iter(self._gone)))
        self._gone[pod] = reason
        if pod == self.pod and self._stream is not None:
            stream = self._stream
            task = asyncio.get_running_loop().create_task(stream.close())
            task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)
        self._wake.set()

    # -- iteration -------------------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[CurlAnswer]:
        return self._run()

    async def _run(self) -> AsyncIterator[CurlAnswer]:
        if self._iterating:
            raise RuntimeError("a CurlLoop runs once")
        self._iterating = True
        failures = 0
        next_pod: str | None = None
        rollover = False
        try:
            while not self._stopping:
                if self.count is not None and self.delivered >= self.count:
                    break
                self.state = "attaching" if self.pod is None else "reattaching"
                pod = next_pod or await self._pick_pod()
                next_pod = None
                if pod is None:
                    await self._pause(failures)
                    failures += 1
                    continue
                opened = await self._open(pod, rollover=rollover)
                rollover = False
                if opened is None:
                    await self._pause(failures)
                    failures += 1
                    continue
                stream, nonce = opened
                got = 0
                try:
                    async for answer in self._answers(stream, nonce, pod):
                        got += 1
                        yield answer
                except Exception as exc:  # a broken stream ends this attach, never the loop
                    self._event("error", f"loop in {pod} failed: {exc!r}")
                if self._stopping or (self.count is not None and self.delivered >= self.count):
                    break
                if stream.exit_code == 0 and got and pod not in self._gone and self.segment is not None:
                    self.segments += 1  # the segment ended by itself: the next one, at once
                    next_pod, rollover, failures = pod, True, 0
                    continue
                await self._reap(stream)
                why = self._gone.get(pod) or stream.error or f"exit code {stream.exit_code}"
                self._event("ended", f"loop in {pod} ended: {why}")
                if got:
                    failures = 0
                if pod not in self._gone:  # gone: a new pod is looked for at once
                    await self._pause(failures)
                    failures += 1
        finally:
            stream = self._stream
            self._stream = None
            if stream is not None:
                with contextlib.suppress(Exception):
                    await asyncio.shield(stream.close())
            done = self.count is not None and self.delivered >= self.count
            self.state = "done" if done and not self._stopping else "stopped"
            self._event(self.state, f"{self.delivered} answers" if done else "loop stopped")
            self._iterating = False

    async def _answers(self, stream: Any, nonce: str, pod: str) -> AsyncIterator[CurlAnswer]:
        parser = FrameParser(nonce)
        self._pid = None
        try:
            async for line in stream:
                if self._stopping:
                    break  # lines still buffered after stop() are not answers anyone waits for
                if line.channel != "stdout":
                    continue
                raw = parser.feed(line.text, line.at)
                if raw is None:
                    if self._pid is None and parser.pid is not None:
                        self._pid = parser.pid
                    continue
                answer = self._answer(raw, pod)
                if answer is not None:
                    yield answer
            if not self._stopping and pod not in self._gone:
                raw = parser.finish(time.time())
                if raw is not None and (answer := self._answer(raw, pod)) is not None:
                    yield answer
        finally:
            self.dropped_lines += getattr(stream, "dropped", 0)
            if self._stream is stream:
                self._stream = None

    def _answer(self, raw: RawAnswer, pod: str) -> CurlAnswer | None:
        if self.count is not None and self.delivered >= self.count:
            return None
        self.delivered += 1
        return identify(
            raw, self.fingerprints, from_cluster=self.from_cluster, context=self.context, client_pod=pod
        )

    async def _reap(self, stream: Any) -> None:
        """Kill the looping shell when its stream closed without the command having ended.

        On some runtimes closing the exec leaves the command running; the script's segment
        deadline bounds that, and this ends it now. Best effort: one short exec, errors ignored.
        """
        pid, self._pid = self._pid, None
        pod = getattr(stream, "pod", None) or self.pod
        if pid is None or pod is None or pod in self._gone or stream.exit_code is not None:
            return
        run = getattr(self.source, "exec", None)
        if not callable(run):
            return
        self.reaped += 1
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                run(
                    self.context,
                    self.client_namespace,
                    pod,
                    ["sh", "-c", f"kill {int(pid)} 2>/dev/null; true"],
                    container=self.container,
                    timeout=3.0,
                ),
                4.0,
            )

    async def _open(self, pod: str, *, rollover: bool = False) -> tuple[Any, str] | None:
        if self._stopping:
            return None
        remaining = None if self.count is None else self.count - self.delivered
        nonce = new_nonce()
        script = loop_script(
            self.target,
            nonce,
            interval=self.interval,
            timeout=self.timeout,
            count=remaining,
            start=self.delivered,
            segment=self.segment,
        )
        try:
            stream = await self.source.exec_stream(
                self.context,
                self.client_namespace,
                pod,
                ["sh", "-c", script],
                container=self.container,
                idle_timeout=self.interval + self.timeout + 15.0,
            )
        except Exception as exc:
            self._event("error", f"cannot exec into {pod}: {exc} (retrying)")
            self.state = "waiting"
            return None
        if self._stopping:
            with contextlib.suppress(Exception):
                await stream.close()
            return None
        self._stream = stream
        previous, self.pod = self.pod, pod
        self.attaches += 1
        self.state = "running"
        if rollover:
            return stream, nonce
        if previous is None:
            self._event("attached", f"curl loop running in {pod}")
        elif previous != pod:
            self._event("reattached", f"reattached to {pod}")
        else:
            self._event("reattached", f"loop restarted in {pod}")
        return stream, nonce

    async def _pick_pod(self) -> str | None:
        """The pinned client pod while it is not gone, else a ready pod of the client deployment."""
        if self.client is not None and self.client not in self._gone:
            return self.client
        try:
            pods = await self.source.pods_of_deployment(
                self.context, self.client_namespace, self.client_deployment
            )
        except Exception as exc:
            self._event(
                "waiting",
                f"waiting: no client: deployment {self.client_namespace}/{self.client_deployment}: "
                f"{exc} (retrying)",
            )
            self.state = "waiting"
            return None
        alive = [p.name for p in pods if p.ready and p.phase == "Running" and not p.deleting]
        for name in sorted(alive, key=lambda name: name in self._gone):
            # A pod the API server lists ready is alive, whatever a snapshot made of it before.
            self._gone.pop(name, None)
            return name
        self._event(
            "waiting",
            f"waiting: {self.client_deployment} pod not seen in {self.client_namespace} "
            "(asked the API server; retrying)",
        )
        self.state = "waiting"
        return None

    async def _pause(self, failures: int) -> None:
        delay = self.backoff[min(max(failures, 0), len(self.backoff) - 1)]
        self._wake.clear()
        if self._stopping:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), delay)

    def _event(self, kind: str, text: str) -> None:
        event = LoopEvent(time.time(), self.context, kind, text)
        if self.events and self.events[-1].kind == kind and self.events[-1].text == text:
            return  # a retry saying the same again
        self.events.append(event)
        if self.on_event is not None:
            with contextlib.suppress(Exception):  # a listener's bug must not stop the loop
                self.on_event(event)

    def _cluster_name(self) -> str:
        snapshot = getattr(self.source, "snapshot", None)
        if callable(snapshot):
            with contextlib.suppress(Exception):
                state = snapshot().by_context(self.context)
                if state is not None:
                    return state.cluster
        return self.context
