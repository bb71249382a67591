"""The hub: every context of the kubeconfig, live, on one asyncio loop → ``MeshSnapshot``s.

``MeshHub`` runs on whatever loop calls :meth:`MeshHub.start` (headless commands use
``asyncio.run``); :class:`tui.kube.source.KubeSource` gives it its own loop in a daemon thread
for the TUI, so parsing a big list never blocks Textual's loop.

Notifications are coalesced: the first change after a quiet period is published at once, then
at most one snapshot per ``settings.coalesce`` seconds while changes keep coming, and the last
change of a burst is always published (trailing edge). Listeners are called on the hub's loop
thread with the newest snapshot; they must hand it over to their own thread themselves.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from tui.kube import writes
from tui.kube.access import AccessCheck, AccessDecision, review
from tui.kube.cilium import AgentServiceList
from tui.kube.client import Action, limit_tls_read_buffer
from tui.kube.cluster import ClusterWatcher
from tui.kube.config import read_kubeconfig
from tui.kube.errors import KubeError
from tui.kube.exec import ExecResult, ExecStream, run_exec, start_stream
from tui.kube.parse import pod as parse_pod
from tui.kube.redact import log, scrub
from tui.kube.settings import HubSettings
from tui.kube.tasks import cancel_and_wait
from tui.kube.watch import GC_PAUSE
from tui.mesh.actions import WriteAction, WriteResult
from tui.mesh.model import MeshSnapshot, Pod

Listener = Callable[[MeshSnapshot], None]

GC_END_DELAY = 1.0
"""Seconds between the first complete snapshot and the end of the start-up GC pause."""


class MeshHub:
    """All contexts at once. Every coroutine method must run on the hub's loop.

    ``exec``, ``exec_stream`` and ``pods_of_deployment`` are :class:`tui.source.PodExec` (the
    one exec protocol; ``exec_stream`` also takes the loop its lines go to)."""

    def __init__(
        self,
        kubeconfig: str | None = None,
        contexts: Sequence[str] | None = None,
        *,
        read_only: bool = False,
        settings: HubSettings | None = None,
    ) -> None:
        self.kubeconfig = kubeconfig
        self.contexts = list(contexts) if contexts else None
        self.read_only = read_only
        self.settings = settings or HubSettings()
        self.clusters: dict[str, ClusterWatcher] = {}
        self.config_errors: tuple[str, ...] = ()
        self.loop: asyncio.AbstractEventLoop | None = None
        self._listeners: list[Listener] = []
        self._snapshot = MeshSnapshot()
        self._generation = 0
        self._dirty = asyncio.Event()
        self._published = asyncio.Event()
        self._changed = asyncio.Event()
        """Set (and replaced) on every change of any cluster while :meth:`wait_synced` waits."""
        self._sync_waiters = 0
        self._notifier: asyncio.Task[None] | None = None
        self._streams: set[ExecStream] = set()
        self._started = False
        self._stopped = False
        self._gc_hold: asyncio.TimerHandle | None = None
        self._ready = asyncio.Event()
        """Set by the first snapshot in which no context is syncing."""

    # -- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Read the kubeconfig and start every context; returns at once (clusters sync on their own)."""
        if self._started:
            return
        self._started = True
        self.loop = asyncio.get_running_loop()
        if self.settings.tls_read_buffer:
            limit_tls_read_buffer(self.settings.tls_read_buffer)
        if self.settings.startup_gc_pause > 0:
            GC_PAUSE.acquire()  # released by the first snapshot without a syncing cluster
            self._gc_hold = self.loop.call_later(self.settings.startup_gc_pause, self._end_gc_pause)
        kubeconfig = read_kubeconfig(self.kubeconfig, self.contexts)
        self.config_errors = tuple(kubeconfig.errors)
        for message in self.config_errors:
            log.warning("kubeconfig: %s", message)
        overall = asyncio.Semaphore(self.settings.cilium_total)
        for entry in kubeconfig.contexts:
            self.clusters[entry.name] = ClusterWatcher(
                kubeconfig,
                entry,
                self.settings,
                on_dirty=self._cluster_dirty,
                exec_overall=overall,
                hub_ready=self._ready,
            )
        for cluster in self.clusters.values():
            cluster.start()
        self._publish()
        self._notifier = asyncio.create_task(self._notify_loop(), name="hub notifier")

    async def stop(self) -> None:
        """Cancel every watch, probe, exec and stream; close every client session."""
        if self._stopped:
            return
        self._stopped = True
        # A one-shot hub's load is frozen rather than walked by the next collection just
        # before it is dropped (~0.2 s of a headless answer at 64 clusters).
        self._end_gc_pause(stopping=True)
        if self._notifier is not None:
            await cancel_and_wait([self._notifier])
        streams = list(self._streams)
        await asyncio.gather(*(s._stop() for s in streams), return_exceptions=True)
        # Each client lets its exec sockets closed gracefully finish their TLS close handshake
        # (a millisecond or two with a live peer) before the caller may close the loop.
        await asyncio.gather(*(c.stop() for c in self.clusters.values()), return_exceptions=True)

    # -- snapshots --------------------------------------------------------------------------------

    def snapshot(self) -> MeshSnapshot:
        """The newest published snapshot (safe from any thread: it is immutable)."""
        return self._snapshot

    def listen(self, callback: Listener) -> None:
        self._listeners.append(callback)

    def unlisten(self, callback: Listener) -> None:
        if callback in self._listeners:
            self._listeners.remove(callback)

    def _cluster_dirty(self, cluster: ClusterWatcher) -> None:
        self._dirty.set()
        if self._sync_waiters:
            event, self._changed = self._changed, asyncio.Event()
            event.set()

    def _end_gc_pause(self, *, stopping: bool = False) -> None:
        """Start-up is over: let the collector run again; freeze a big initial load first.

        ``gc.freeze()`` moves every object alive now out of the collector's sight, so the
        hundreds of thousands of objects of a big mesh are never walked again (they hold no
        cycles; reference counting frees them). Small loads skip it.

        No full collection before the freeze: it walked every tracked object of the process
        (1.1 million in the app at 64 × 2,000) holding the GIL for 0.45–0.8 s, right when the
        app draws the first complete snapshot and reads the agents, to find 6,600 unreachable
        objects (0.75 MB, Textual's caches of the first frames; the layer alone: none). Those
        stay frozen: a one-off 0.75 MB against a stall of every thread.

        ``stopping`` (the hub stops): a hub that listed once (a headless answer) still
        freezes a big load, or the first collection after the pause would walk every object it
        allocated (~0.2 s at 64 clusters) just before they are freed anyway; a watching hub's
        load goes back to the collector.
        """
        handle, self._gc_hold = self._gc_hold, None
        if handle is None:
            return
        handle.cancel()
        loaded = sum(len(r.items) for c in self.clusters.values() for r in c.reflectors.values())
        big = loaded >= self.settings.gc_freeze_above
        if stopping:
            if big and not self.settings.watch.follow:
                gc.freeze()  # before the release: no collection may walk them first
            GC_PAUSE.release()
            return
        GC_PAUSE.release()
        if big and gc.isenabled():
            gc.freeze()

    async def _notify_loop(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            self._publish()
            await asyncio.sleep(self.settings.coalesce)

    def _publish(self) -> MeshSnapshot:
        clusters = tuple(c.state() for c in self.clusters.values())
        previous = self._snapshot
        if (
            previous.generation
            and len(previous.clusters) == len(clusters)
            and all(a is b for a, b in zip(previous.clusters, clusters, strict=True))
        ):
            return previous
        self._generation += 1
        snapshot = MeshSnapshot(
            clusters=clusters,
            generation=self._generation,
            taken_at=time.time(),
            config_errors=self.config_errors,
        )
        self._snapshot = snapshot
        if not self._ready.is_set() and all(c.phase != "syncing" for c in clusters):
            self._ready.set()
            if self._gc_hold is not None and self.settings.watch.follow:
                # not at once: the app's thread should draw this first snapshot before the
                # collector runs again (its first young collection after the pause). A hub
                # that lists once (a headless answer) keeps the pause until it stops (bounded
                # by ``startup_gc_pause`` all the same): its load lives until then, and a
                # collection would land in the middle of its answer.
                self._gc_hold.cancel()
                self._gc_hold = asyncio.get_running_loop().call_later(GC_END_DELAY, self._end_gc_pause)
        for listener in list(self._listeners):
            try:
                listener(snapshot)
            except Exception:
                log.exception("snapshot listener failed")
        event, self._published = self._published, asyncio.Event()
        event.set()
        return snapshot

    def publish_now(self) -> MeshSnapshot:
        """Publish pending changes immediately (after a write, so the caller sees its effect)."""
        self._dirty.clear()
        return self._publish()

    async def wait_for(self, predicate: Callable[[MeshSnapshot], bool], timeout: float) -> MeshSnapshot:
        """The first published snapshot that satisfies ``predicate`` (TimeoutError after ``timeout``)."""
        async with asyncio.timeout(timeout):
            while True:
                snapshot = self._snapshot
                if predicate(snapshot):
                    return snapshot
                await self._published.wait()

    async def wait_synced(self, timeout: float = 30.0) -> MeshSnapshot:
        """Wait until no context is still syncing (ok, stale, forbidden, unreachable or error);
        that snapshot, published now.

        Judged on the clusters' live state at every change, not on published snapshots: those
        are coalesced (``settings.coalesce``), and a headless command would otherwise wait up
        to that long for the last list's snapshot before it could answer.
        """
        self._sync_waiters += 1
        try:
            async with asyncio.timeout(timeout):
                while any(c.syncing for c in self.clusters.values()):
                    await self._changed.wait()
        finally:
            self._sync_waiters -= 1
        return self.publish_now()

    # -- reads on demand --------------------------------------------------------------------------

    def _cluster(self, context: str) -> ClusterWatcher:
        cluster = self.clusters.get(context)
        if cluster is None:
            raise KubeError(f"no context {context!r} in the kubeconfig", kind="invalid")
        if cluster.client is None:
            why = cluster.config_error or "still loading"
            raise KubeError(f"context {context!r} is not usable: {why}", kind="invalid")
        return cluster

    async def refresh_cilium(self, context: str | None = None) -> None:
        """Read every agent's ``cilium status`` now (one context or all) and publish."""
        names = [context] if context else list(self.clusters)
        futures = [self.clusters[n].request_cilium_read() for n in names if n in self.clusters]
        if futures:
            await asyncio.gather(*futures)
        self.publish_now()

    async def agent_service_list(self, context: str, pod: str | None = None) -> AgentServiceList:
        """``cilium service list -o json`` from one agent (the first running one by default)."""
        cluster = self.clusters.get(context)
        if cluster is None:
            return AgentServiceList(context, pod or "", error=f"no context {context!r} in the kubeconfig")
        return await cluster.service_list(pod)

    async def check_access(
        self,
        context: str,
        verb: str,
        resource: str,
        *,
        group: str = "",
        subresource: str = "",
        namespace: str = "",
    ) -> AccessDecision:
        """One ``SelfSubjectAccessReview`` (raises :class:`KubeError` if it cannot be asked)."""
        cluster = self._cluster(context)
        assert cluster.client is not None
        return await review(cluster.client, AccessCheck(verb, resource, group, subresource, namespace))

    async def pods_for(self, context: str, namespace: str, selector: Mapping[str, str]) -> list[Pod]:
        """Pods matching a label selector, read now (e.g. a client deployment's pods for curl)."""
        cluster = self._cluster(context)
        assert cluster.client is not None
        label_selector = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
        doc = await cluster.client.request_json(
            "GET",
            f"/api/v1/namespaces/{namespace}/pods",
            action=Action("list", "pods", namespace),
            query=[("labelSelector", label_selector)] if label_selector else [],
        )
        pods = [parse_pod(item) for item in doc.get("items") or ()]
        return sorted(pods, key=lambda p: (not p.ready, p.deleting, p.name))

    async def pods_of_deployment(self, context: str, namespace: str, deployment: str) -> list[Pod]:
        """The pods of a deployment (by its selector), ready ones first."""
        cluster = self._cluster(context)
        assert cluster.client is not None
        doc = await cluster.client.request_json(
            "GET",
            f"/apis/apps/v1/namespaces/{namespace}/deployments/{deployment}",
            action=Action("get", "deployments", namespace, deployment),
        )
        selector = ((doc.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        if not selector:
            return []
        return await self.pods_for(context, namespace, selector)

    # -- exec -------------------------------------------------------------------------------------

    async def exec_stream(
        self,
        context: str,
        namespace: str,
        pod: str,
        command: Sequence[str],
        *,
        container: str | None = None,
        idle_timeout: float | None = None,
        max_lines: int | None = None,
        consumer_loop: asyncio.AbstractEventLoop | None = None,
    ) -> ExecStream:
        """Start ``command`` in a pod and stream its output lines (see :class:`ExecStream`).

        Allowed in read-only mode: the app execs only read-only commands (curl, cilium status);
        read-only refuses writes to the API (annotate, scale, manifests).
        """
        cluster = self._cluster(context)
        assert cluster.client is not None
        stream = await start_stream(
            cluster.client,
            namespace,
            pod,
            command,
            container=container,
            max_lines=max_lines or self.settings.exec_max_lines,
            idle_timeout=idle_timeout if idle_timeout is not None else self.settings.exec_idle_timeout,
            consumer_loop=consumer_loop or asyncio.get_running_loop(),
        )
        self._streams.add(stream)
        task = stream._task
        if task is not None:
            task.add_done_callback(lambda _t, s=stream: self._streams.discard(s))
        return stream

    async def exec(
        self,
        context: str,
        namespace: str,
        pod: str,
        command: Sequence[str],
        *,
        container: str | None = None,
        timeout: float = 10.0,
    ) -> ExecResult:
        """Run a short command and collect its output (bounded in size and time)."""
        cluster = self._cluster(context)
        assert cluster.client is not None
        return await run_exec(cluster.client, namespace, pod, command, container=container, timeout=timeout)

    # -- writes -----------------------------------------------------------------------------------

    async def write(self, action: WriteAction) -> WriteResult:
        """Perform one write (or refuse it before sending); the new state is published on return."""
        cluster = self.clusters.get(action.context)
        refusal = writes.check_before_sending(action, cluster, self.read_only)
        if refusal is not None:
            log.info("write refused: %s", refusal.message)
            return refusal
        assert cluster is not None
        try:
            result = await writes.perform(cluster, action)
        except Exception as exc:  # never let a write's bug escape as a raw traceback with secrets
            log.exception("write failed unexpectedly")
            result = WriteResult(action=action, ok=False, message=scrub(f"{action.target}: {exc}"))
        self.publish_now()
        log.info("write %s: %s", "ok" if result.ok else "failed", result.message)
        return result

    async def create_manifests(
        self, context: str, manifests: Sequence[Mapping[str, Any]]
    ) -> list[writes.ManifestResult]:
        return await self._manifests(writes.create_manifests, context, manifests)

    async def delete_manifests(
        self, context: str, manifests: Sequence[Mapping[str, Any]]
    ) -> list[writes.ManifestResult]:
        return await self._manifests(writes.delete_manifests, context, manifests)

    async def _manifests(
        self,
        write: Callable[..., Awaitable[list[writes.ManifestResult]]],
        context: str,
        manifests: Sequence[Mapping[str, Any]],
    ) -> list[writes.ManifestResult]:
        """Create or delete, then publish at once so the caller's next snapshot shows the result."""
        results = await write(self.clusters.get(context), manifests, read_only=self.read_only)
        self.publish_now()
        return results
