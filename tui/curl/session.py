"""A curl session: one loop per client cluster to one service, who answered, and the figures.

``CurlSession(source, target, ...)`` is what the app's curl loops (:mod:`tui.appcore.curl`) and
``meshtui curl`` drive:
``await session.start(contexts)`` starts a :class:`~tui.curl.loop.CurlLoop` per context (the
client deployment's pod there, or the pod the caller picked), learns the backends' answers
(:mod:`tui.curl.fingerprints`), identifies every answer and keeps per-loop
:class:`~tui.curl.stats.LoopStats` plus a merged log of recent answers; ``await session.stop()``
ends every loop in its pod. All of it runs on the loop that called :meth:`CurlSession.start`.

Snapshots (the source's listener, any thread) are handed over to that loop and drive three
things: the rules' expected share per client cluster (the ``expected`` function it is handed:
:func:`tui.views.backends.expected_share`, the same numbers the Backends pane shows),
relearning the map when the service's backends change, and reattaching a loop whose client pod
was deleted or is terminating.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tui.curl.fingerprints import (
    Fingerprints,
    ProbeClient,
    backend_signature,
    plan_probes,
    probe_backends,
    target_backends,
)
from tui.curl.frames import RawAnswer
from tui.curl.loop import DEFAULT_CLIENT, SEGMENT, CurlAnswer, CurlLoop, LoopEvent, identify
from tui.curl.phases import Phases
from tui.curl.stats import DEFAULT_WINDOW, LoopStats
from tui.curl.target import CurlTarget, check_interval, check_timeout
from tui.mesh.model import ClusterState, MeshSnapshot, ServiceKey
from tui.source import ExecSource

CLIENT_DEPLOYMENTS = (DEFAULT_CLIENT, "x-wing")
"""Client deployments looked for first (the field guide's and Cilium's demo's)."""
LEARN_DEBOUNCE = 0.2
RELEARN_UNKNOWN = 10.0
"""At most one relearning per this many seconds because unknown answers came."""
MAX_LOG = 200
MAX_EVENTS = 100

Expectation = Callable[[MeshSnapshot, ServiceKey, ClusterState], tuple[Mapping[str, float], str]]
"""``(snapshot, service, client cluster's state) → (share per answering cluster, note)``."""


def find_client_deployment(state: ClusterState | None, namespace: str) -> str:
    """The client deployment of a cluster: ``curltest``, ``x-wing``, else one running a curl image."""
    if state is None:
        return DEFAULT_CLIENT
    names = {name for (ns, name) in state.deployments if ns == namespace}
    for name in CLIENT_DEPLOYMENTS:
        if name in names:
            return name
    for (ns, name), deployment in sorted(state.deployments.items()):
        if ns == namespace and any("curl" in c.image for c in deployment.containers):
            return name
    return DEFAULT_CLIENT


class CurlSession:
    """Loops from several client clusters to one target, with identification and figures."""

    def __init__(
        self,
        source: ExecSource,
        target: CurlTarget,
        *,
        interval: float = 1.0,
        timeout: float = 2.0,
        count: int | None = None,
        window: int = DEFAULT_WINDOW,
        log_size: int = MAX_LOG,
        clients: Mapping[str, str | tuple[str, str]] | None = None,
        client_deployment: str | None = None,
        client_namespace: str | None = None,
        container: str | None = None,
        learn: bool = True,
        on_change: Callable[[], None] | None = None,
        on_answer: Callable[[CurlAnswer], None] | None = None,
        on_event: Callable[[LoopEvent], None] | None = None,
        on_identified: Callable[[list[CurlAnswer]], None] | None = None,
        backoff: Sequence[float] | None = None,
        segment: float | None = SEGMENT,
        expected: Expectation | None = None,
    ) -> None:
        self.source = source
        self.expected = expected
        """The rules' share per answering cluster for loops from a cluster, and why there is none
        (the app and ``meshtui curl`` pass :func:`tui.views.backends.expected_share`); ``None``:
        the answers are counted without an expectation."""
        self.target = target
        self.interval = check_interval(interval)
        self.timeout = check_timeout(timeout)
        self.count = count
        self.window = window
        self.clients = dict(clients or {})
        self.client_deployment = client_deployment
        self.client_namespace = client_namespace or target.namespace
        self.container = container
        self.learn_enabled = learn
        self.on_change = on_change
        self.on_answer = on_answer
        self.on_event = on_event
        self.on_identified = on_identified
        """Told the earlier answers a newer map identified (their new versions), so views kept
        outside the session (the app's timelines) can name them too."""
        self.backoff = backoff
        self.segment = segment
        self.fingerprints = Fingerprints()
        self.loops: dict[str, CurlLoop] = {}
        self.stats: dict[str, LoopStats] = {}
        self.phases: dict[str, Phases] = {}
        """Per client context: the stretches between changes of the expected share or backends
        (:mod:`tui.curl.phases`), so a split is compared with the share that held meanwhile."""
        self.log: collections.deque[CurlAnswer] = collections.deque(maxlen=max(1, log_size))
        self.events: collections.deque[LoopEvent] = collections.deque(maxlen=MAX_EVENTS)
        self.started_at: float | None = None
        self.stopped = False
        self.learning = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._learner: asyncio.Task[None] | None = None
        self._learn_wanted = asyncio.Event()
        self._learn_lock = asyncio.Lock()
        self._force_learn = False
        self._last_unknown_learn = 0.0
        self._pending: MeshSnapshot | None = None
        self._pending_lock = threading.Lock()
        self._listener: _Forward | None = None
        self._seen_pods: dict[str, set[str]] = {}
        self._checks: set[asyncio.Task[None]] = set()

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return not self.stopped and any(not t.done() for t in self._tasks.values())

    @property
    def contexts(self) -> list[str]:
        return list(self.loops)

    async def start(self, contexts: Sequence[str] | None = None) -> None:
        """Start a loop in each context (default: every context whose data is usable)."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self.started_at = time.time()
        snapshot = self.source.snapshot()
        if contexts is None:
            contexts = [s.context for s in snapshot.clusters if s.usable]
        if self._listener is None and hasattr(self.source, "listen"):
            self._listener = _Forward(self)
            self.source.listen(self._listener)
        for context in contexts:
            if context in self.loops:
                continue
            self._start_loop(snapshot, context)
        self._apply_snapshot(snapshot)
        if self.learn_enabled and self._learner is None:
            self._learner = asyncio.get_running_loop().create_task(self._learn_forever(), name="curl learn")
        self._changed()

    def _start_loop(self, snapshot: MeshSnapshot, context: str) -> None:
        state = snapshot.by_context(context)
        from_cluster = state.cluster if state is not None else context
        namespace, pinned = self._client_of(context)
        deployment = self.client_deployment
        if pinned and state is not None and deployment is None:
            pod = state.pods.get((namespace, pinned))
            deployment = pod.owner if pod is not None and pod.owner else None
        if deployment is None:
            deployment = find_client_deployment(state, namespace)
        kwargs: dict[str, Any] = {}
        if self.backoff is not None:
            kwargs["backoff"] = self.backoff
        loop = CurlLoop(
            self.source,
            context,
            self.target,
            interval=self.interval,
            timeout=self.timeout,
            count=self.count,
            client=pinned,
            client_deployment=deployment,
            client_namespace=namespace,
            container=self.container,
            fingerprints=self.fingerprints,
            from_cluster=from_cluster,
            on_event=self._loop_event,
            segment=self.segment,
            **kwargs,
        )
        self.loops[context] = loop
        stats = self.stats.get(context)
        if stats is None:
            self.stats[context] = LoopStats(context, from_cluster, window=self.window)
        self._seen_pods[context] = set()
        self._tasks[context] = asyncio.get_running_loop().create_task(
            self._drive(context, loop), name=f"curl loop {context}"
        )

    def _unlisten(self) -> None:
        """Stop hearing snapshots (the source's ``unlisten`` when it has one; otherwise the
        forwarder it keeps is emptied and holds this session only weakly anyway)."""
        listener, self._listener = self._listener, None
        if listener is None:
            return
        listener.session = None
        remove = getattr(self.source, "unlisten", None)
        if callable(remove):
            with contextlib.suppress(Exception):
                remove(listener)

    def _client_of(self, context: str) -> tuple[str, str | None]:
        """(namespace, pinned pod or ``None``) of a context's client."""
        pinned = self.clients.get(context)
        if isinstance(pinned, tuple):
            return pinned[0], pinned[1]
        return self.client_namespace, pinned or None

    async def restart(self, context: str, *, client: tuple[str, str] | None = None) -> None:
        """Restart one context's loop (another client pod, a new interval); its figures stay."""
        if client is not None:
            self.clients[context] = client
        loop = self.loops.get(context)
        if loop is not None:
            await loop.stop()
            task = self._tasks.get(context)
            if task is not None:
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await asyncio.wait_for(asyncio.shield(task), 5.0)
            del self.loops[context]
        if not self.stopped:
            self._start_loop(self.source.snapshot(), context)
            self._changed()

    async def set_interval(self, interval: float) -> None:
        """A new interval for every loop (each restarts in its pod with it)."""
        self.interval = check_interval(interval)
        for context in list(self.loops):
            await self.restart(context)

    async def stop(self) -> None:
        """Stop every loop (each exec closed, so nothing keeps looping in a pod) and the learner."""
        self.stopped = True
        self._unlisten()
        await asyncio.gather(*(loop.stop() for loop in self.loops.values()), return_exceptions=True)
        tasks = [t for t in self._tasks.values() if not t.done()]
        for check in list(self._checks):
            check.cancel()
            tasks.append(check)
        if self._learner is not None and not self._learner.done():
            self._learner.cancel()
            tasks.append(self._learner)
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=5.0)
            for task in pending:  # a close that hangs must not hang the app's exit
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        self._changed()

    async def stop_context(self, context: str) -> None:
        """Stop one client cluster's loop (its figures stay)."""
        loop = self.loops.get(context)
        if loop is None:
            return
        await loop.stop()
        task = self._tasks.get(context)
        if task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(task), 5.0)
        self._changed()

    async def wait(self, timeout: float | None = None) -> bool:
        """Wait until every loop ended (count-bounded loops), then identify what is still unknown
        (the map may not have been learned before a short loop was over); ``False`` on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        tasks = [t for t in self._tasks.values() if not t.done()]
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=timeout)
            if pending:
                return False
        unknown = any(s.unknown for s in self.stats.values())
        if self.learn_enabled and not self.stopped and unknown:
            left = None if deadline is None else max(0.1, deadline - time.monotonic())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._learn_once(force=self.fingerprints.learned_at is None), left)
        return True

    async def _drive(self, context: str, loop: CurlLoop) -> None:
        stats = self.stats[context]
        try:
            async for answer in loop:
                stats.add(answer)
                self.log.append(answer)
                if answer.answered and answer.to_cluster is None:
                    self._unknown_answer()
                if self.on_answer is not None:
                    self.on_answer(answer)
                self._changed()
        except Exception as exc:  # the loop ends; say why instead of dying silently
            self._loop_event(LoopEvent(time.time(), context, "error", f"curl loop failed: {exc!r}"))
        finally:
            await loop.stop()
            self._changed()

    # -- events ---------------------------------------------------------------------------------

    def _loop_event(self, event: LoopEvent) -> None:
        self.events.append(event)
        if event.kind in ("attached", "reattached") and self.learn_enabled:
            self._want_learn(force=not self.fingerprints.rows)
        if self.on_event is not None:
            self.on_event(event)
        self._changed()

    def _changed(self) -> None:
        if self.on_change is not None:
            with contextlib.suppress(Exception):
                self.on_change()

    # -- snapshots ------------------------------------------------------------------------------

    def _snapshot_from_any_thread(self, snapshot: MeshSnapshot) -> None:
        """The source's listener (any thread): keep the newest, wake the session's loop once."""
        loop = self._loop
        if loop is None or self.stopped or loop.is_closed():
            return
        with self._pending_lock:
            first = self._pending is None
            self._pending = snapshot
        if not first:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            loop.call_soon(self._take_pending)
        else:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._take_pending)

    def _take_pending(self) -> None:
        with self._pending_lock:
            snapshot, self._pending = self._pending, None
        if snapshot is not None and not self.stopped:
            self._apply_snapshot(snapshot)

    def _apply_snapshot(self, snapshot: MeshSnapshot) -> None:
        """Expected shares (and the phases they start), client pods gone, backends changed."""
        backends = target_backends(snapshot, self.target)
        per_cluster: dict[str, int] = {}
        for backend in backends:
            per_cluster[backend.cluster] = per_cluster.get(backend.cluster, 0) + 1
        now = time.time()
        for context, stats in self.stats.items():
            state = snapshot.by_context(context)
            if state is None or not state.usable:
                stats.expected_note = "cluster data not usable" if state is not None else "no such context"
                continue
            stats.from_cluster = state.cluster
            if self.expected is not None:
                share, note = self.expected(snapshot, self.target.key, state)
                stats.expected, stats.expected_note = dict(share), note
            phase = self.phases.setdefault(context, Phases()).observe(
                now, stats.expected, stats.expected_note, per_cluster
            )
            if phase is not None and phase.change:
                self._loop_event(LoopEvent(now, context, "change", f"seen: {phase.change}"))
        for context, loop in self.loops.items():
            self._check_client(snapshot, context, loop)
        if self.learn_enabled and self.fingerprints.learned_at is not None:
            signature = backend_signature(backends)
            if signature != self.fingerprints.signature:
                self._want_learn()
        self._changed()

    def _check_client(self, snapshot: MeshSnapshot, context: str, loop: CurlLoop) -> None:
        pod_name = loop.pod
        state = snapshot.by_context(context)
        if pod_name is None or state is None or not state.usable or loop.stopping:
            return
        pod = state.pods.get((loop.client_namespace, pod_name))
        seen = self._seen_pods.setdefault(context, set())
        if pod is not None:
            seen.add(pod_name)
            if pod.deleting:
                loop.client_gone(pod_name, f"client pod {pod_name} is terminating")
            return
        if pod_name in seen:
            # Shown before, absent now: deleted — or no longer watched (the pod watch of a
            # namespace stops with its last global service). Only the API server can tell.
            seen.discard(pod_name)
            self._spawn(self._verify_client(context, loop, pod_name), f"curl check {context}")

    async def _verify_client(self, context: str, loop: CurlLoop, pod_name: str) -> None:
        """Ask the API server whether a client pod the snapshot lost is gone: the loop is moved
        only when the deployment no longer lists it alive (a pinned pod outside the deployment
        is left to its stream, which ends by itself if the pod is gone)."""
        try:
            pods = await self.source.pods_of_deployment(
                context, loop.client_namespace, loop.client_deployment
            )
        except Exception as exc:
            self._loop_event(
                LoopEvent(time.time(), context, "error", f"cannot check client pod {pod_name}: {exc}")
            )
            return
        if self.stopped or loop.stopping or loop.pod != pod_name:
            return
        listed = {p.name: p for p in pods}
        pod = listed.get(pod_name)
        if pod is None and pod_name == loop.client:
            return
        if pod is None:
            loop.client_gone(pod_name, f"client pod {pod_name} was deleted")
        elif pod.deleting:
            loop.client_gone(pod_name, f"client pod {pod_name} is terminating")

    def _spawn(self, coro: Any, name: str) -> None:
        """A short task of the session (kept until done, so it is not garbage-collected)."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._checks.add(task)
        task.add_done_callback(self._checks.discard)

    # -- learning -------------------------------------------------------------------------------

    def _unknown_answer(self) -> None:
        now = time.monotonic()
        if self.learn_enabled and now - self._last_unknown_learn >= RELEARN_UNKNOWN:
            self._last_unknown_learn = now
            self._want_learn(force=True)

    def _want_learn(self, *, force: bool = False) -> None:
        self._force_learn = self._force_learn or force
        self._learn_wanted.set()

    async def relearn(self) -> None:
        """Probe every backend again now (also what the pane's "learn" key does)."""
        await self._learn_once(force=True)

    async def _learn_forever(self) -> None:
        while not self.stopped:
            await self._learn_wanted.wait()
            if self.fingerprints.learned_at is not None:  # the first map is wanted at once
                await asyncio.sleep(LEARN_DEBOUNCE)
            self._learn_wanted.clear()
            force, self._force_learn = self._force_learn, False
            try:
                await self._learn_once(force=force)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.events.append(LoopEvent(time.time(), "", "error", f"learning failed: {exc!r}"))

    def probe_clients(self) -> list[ProbeClient]:
        clients = []
        for context, loop in self.loops.items():
            if loop.pod is None:  # a loop that finished keeps its pod: it can still probe
                continue
            stats = self.stats.get(context)
            cluster = stats.from_cluster if stats is not None else loop.from_cluster
            clients.append(ProbeClient(context, cluster, loop.client_namespace, loop.pod, loop.container))
        return clients

    async def _learn_once(self, *, force: bool) -> None:
        async with self._learn_lock:  # the learner and wait() never probe twice at once
            await self._learn_locked(force=force)

    async def _learn_locked(self, *, force: bool) -> None:
        snapshot = self.source.snapshot()
        backends = target_backends(snapshot, self.target)
        signature = backend_signature(backends)
        if not force and signature == self.fingerprints.signature:
            return
        clients = self.probe_clients()
        if not clients:
            return
        self.learning = True
        self._changed()
        try:
            probed = await probe_backends(
                self.source, plan_probes(backends, clients), self.target.path, timeout=self.timeout
            )
        finally:
            self.learning = False
        if self.stopped:
            return
        self.fingerprints.learn(probed, signature=signature)
        named = self._reidentify()
        rows = self.fingerprints.rows
        good = sum(1 for r in rows if r.identifies in ("pod", "cluster"))
        text = f"learned {good}/{len(rows)} backends' answers"
        if named:
            text += f"; {named} earlier answers identified"
        self.events.append(LoopEvent(time.time(), "", "learned", text))
        self._changed()

    def _reidentify(self) -> int:
        def again(answer: CurlAnswer) -> CurlAnswer:
            raw = RawAnswer(
                seq=answer.seq,
                at=answer.at,
                body=answer.body,
                code=answer.code,
                seconds=answer.ms / 1000.0,
                exit_code=0 if not answer.error_kind else None,
                message=answer.error,
            )
            better = identify(
                raw,
                self.fingerprints,
                from_cluster=answer.from_cluster,
                context=answer.context,
                client_pod=answer.client_pod,
            )
            return answer if better.to_cluster is None else _with_identity(answer, better)

        named = sum(stats.reidentify(again) for stats in self.stats.values())
        better: list[CurlAnswer] = []
        for index, answer in enumerate(self.log):
            if answer.answered and answer.to_cluster is None:
                self.log[index] = again(answer)
                if self.log[index].to_cluster is not None:
                    better.append(self.log[index])
        if better and self.on_identified is not None:
            self.on_identified(better)
        return named

    # -- output ---------------------------------------------------------------------------------

    def summary(self, now: float | None = None) -> dict[str, Any]:
        """Everything a headless command prints at the end (JSON-ready)."""
        now = time.time() if now is None else now
        return {
            "target": self.target.text,
            "service": f"{self.target.namespace}/{self.target.service}",
            "interval": self.interval,
            "timeout": self.timeout,
            "loops": [
                {
                    **self.stats[context].to_json(now),
                    "client_pod": loop.pod,
                    "state": loop.state,
                    "attaches": loop.attaches,
                }
                for context, loop in self.loops.items()
            ],
            "fingerprints": self.fingerprints.to_json(),
            "events": [
                {"at": round(e.at, 3), "context": e.context, "kind": e.kind, "text": e.text}
                for e in self.events
            ],
        }


class _Forward:
    """The snapshot listener handed to the source: forwards to the session while it runs.

    Holds the session weakly, so a source that cannot forget listeners keeps no stopped
    session (and its rings) alive.
    """

    __slots__ = ("__weakref__", "_ref")

    def __init__(self, session: CurlSession) -> None:
        self._ref: weakref.ReferenceType[CurlSession] | None = weakref.ref(session)

    @property
    def session(self) -> CurlSession | None:
        return self._ref() if self._ref is not None else None

    @session.setter
    def session(self, value: None) -> None:
        self._ref = None

    def __call__(self, snapshot: MeshSnapshot) -> None:
        session = self.session
        if session is not None:
            session._snapshot_from_any_thread(snapshot)


def _with_identity(answer: CurlAnswer, better: CurlAnswer) -> CurlAnswer:
    import dataclasses

    return dataclasses.replace(answer, to_cluster=better.to_cluster, pod=better.pod, label=better.label)
