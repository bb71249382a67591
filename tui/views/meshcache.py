"""Each cluster's ClusterMesh status, computed once per Cilium answer: :class:`MeshStatusCache`.

``cilium clustermesh status`` of a cluster (63 remotes at 64 clusters) is what the status rows,
the connect checks, every service's "why" and every backends view start from. It only changes
when an agent's answer does, while snapshots come many times a second: one cache, owned by the
view builder that uses it (:class:`tui.views.builder.ViewBuilder`), computes it once per
CiliumInfo content and forgets the objects the newest snapshot no longer holds. It also
remembers since when a remote has been lost, which the agents do not say.

Thread-safe: the app computes the status and services views in a worker thread and the
selected service's backends on the UI thread, from one cache.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterable

from tui.mesh.model import CiliumInfo, ClusterState
from tui.mesh.selection import StaleRemote
from tui.mesh.status import ClusterMeshStatus, cluster_mesh_status, failure_time, kvstoremesh_status

MAX_ENTRIES = 4096
"""A cap for each table, should :meth:`MeshStatusCache.prune` not be called (one-shot use)."""


class MeshStatusCache:
    """ClusterMesh and KVStoreMesh status per CiliumInfo, and since when each remote is lost."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._status: dict[int, tuple[CiliumInfo, ClusterMeshStatus]] = {}
        """id(CiliumInfo) → (the object, its status): the object is kept to check the id."""
        self._by_cluster: dict[tuple[str | None, int | None], tuple[CiliumInfo, ClusterMeshStatus]] = {}
        """The newest status per cluster, found again for a CiliumInfo that :func:`same_cilium`
        says is the same (an agent re-read with the same answer: a new object, the same status)."""
        self._kvm: dict[int, tuple[CiliumInfo, ClusterMeshStatus | None]] = {}
        self._lost_since: dict[tuple[str, str, str], float] = {}
        """(context, remote, cause) → when the loss was first seen: the agents' ``last-failure``
        moves with every retry, the operator wants to know since when the remote is gone."""

    def __contains__(self, cilium: object) -> bool:
        """Whether the status of this very CiliumInfo object is held (tests)."""
        entry = self._status.get(id(cilium))
        return entry is not None and entry[0] is cilium

    def mesh_status(self, state: ClusterState) -> ClusterMeshStatus:
        """``cilium clustermesh status`` of one cluster, computed once per CiliumInfo content."""
        return self.cilium_mesh_status(state.cilium)

    def cilium_mesh_status(self, cilium: CiliumInfo) -> ClusterMeshStatus:
        """:func:`cluster_mesh_status` once per CiliumInfo content (the connect checks and the
        services' "why" use it too)."""
        name = (cilium.cluster_name, cilium.cluster_id)
        with self._lock:
            entry = self._status.get(id(cilium))
            if entry is not None and entry[0] is cilium:
                return entry[1]
            entry = self._by_cluster.get(name)
        # an agent re-read with the same answer finds the status computed already
        same = entry is not None and same_cilium(entry[0], cilium)
        status = entry[1] if same and entry is not None else cluster_mesh_status(cilium)
        with self._lock:
            if len(self._status) > MAX_ENTRIES:
                self._status.clear()
            if len(self._by_cluster) > MAX_ENTRIES:
                self._by_cluster.clear()
            self._status[id(cilium)] = (cilium, status)
            self._by_cluster[name] = (cilium, status)
        return status

    def prune(self, live: Iterable[CiliumInfo]) -> None:
        """Forget the statuses of CiliumInfo objects no longer in use (``live``: the newest
        snapshot's). An agent re-read replaces a cluster's CiliumInfo every few seconds at 64
        clusters; kept until a size cap, the old statuses (63 remotes each) piled up in the
        heap that every full garbage collection walks, pausing the UI for 100-200 ms."""
        keep = {id(c): c for c in live}
        names = {(c.cluster_name, c.cluster_id) for c in keep.values()}
        with self._lock:
            for ident in [i for i, (c, _) in self._status.items() if keep.get(i) is not c]:
                del self._status[ident]
            for name in [n for n in self._by_cluster if n not in names]:
                del self._by_cluster[name]
            for ident in [i for i, (c, _) in self._kvm.items() if keep.get(i) is not c]:
                del self._kvm[ident]

    def connected_remotes(self, state: ClusterState) -> frozenset[str] | None:
        """Remote clusters at least one agent of ``state`` is ready for; ``None`` when none was read.

        ``None`` (unknown) excludes nobody: before the agents answer, the merge is judged on
        annotations and endpoints alone.
        """
        status = self.mesh_status(state)
        if status.total == 0:
            return None
        return status.connected_remotes

    def kvstoremesh_view(self, cilium: CiliumInfo) -> ClusterMeshStatus | None:
        """:func:`kvstoremesh_status` once per CiliumInfo object."""
        with self._lock:
            entry = self._kvm.get(id(cilium))
            if entry is not None and entry[0] is cilium:
                return entry[1]
        status = kvstoremesh_status(cilium)
        with self._lock:
            if len(self._kvm) > MAX_ENTRIES:
                self._kvm.clear()
            self._kvm[id(cilium)] = (cilium, status)
        return status

    def stale_remotes(self, state: ClusterState, now: float | None = None) -> tuple[StaleRemote, ...]:
        """Remotes whose link is down but whose backends the agents of ``state`` still use.

        Two ways (ARCHITECTURE.md Cilium §2–3): the agents lost the remote but still hold its data
        (:meth:`ClusterMeshStatus.lost_remotes`: counts left in their caches), or — KVStoreMesh
        on — the agents are fine but KVStoreMesh lost the remote, so the copy they read from the
        local clustermesh-apiserver is frozen. ``since`` is when this cache first saw the loss
        (or the agents' last failure, if older news than that).
        """
        status = self.mesh_status(state)
        if status.total == 0:
            return ()
        now = time.time() if now is None else now
        found: list[tuple[str, str, float | None]] = []
        for lost in status.lost_remotes():
            if lost.cached:
                cause = "not ready (synchronizing)" if lost.connected else "unreachable"
                found.append((lost.cluster, cause, failure_time(lost.last_failure)))
        kvm = self.kvstoremesh_view(state.cilium)
        if kvm is not None:
            ready = status.connected_remotes
            for lost in kvm.lost_remotes():
                if lost.cluster in ready:
                    cause = f"not connected to {state.cluster}'s KVStoreMesh"
                    found.append((lost.cluster, cause, failure_time(lost.last_failure)))
        out = []
        keep = set()
        with self._lock:
            for remote, cause, failed in found:
                key = (state.context, remote, cause)
                keep.add(key)
                since = self._lost_since.get(key)
                if since is None:
                    since = self._lost_since[key] = min(now, failed) if failed is not None else now
                out.append(StaleRemote(remote, since, cause))
            for key in [k for k in self._lost_since if k[0] == state.context and k not in keep]:
                del self._lost_since[key]
        return tuple(out)


_CILIUM_FIELDS = tuple(f.name for f in dataclasses.fields(CiliumInfo) if f.name != "agents")


def same_cilium(a: CiliumInfo, b: CiliumInfo) -> bool:
    """``a`` and ``b`` say the same to every view: equal but for the agents' read times.

    Why: each agent is read again every few seconds and each read gives the cluster a new
    CiliumInfo, though the answer is almost always the one before (the access layer then
    hands on the very same status document). At 64 clusters, recomputing a cluster's row and
    every connect check for each such re-read was most of the views' work. Status documents
    are compared by identity (the layer keeps an unchanged one), everything else by value.
    """
    if a is b:
        return True
    if len(a.agents) != len(b.agents):
        return False
    for x, y in zip(a.agents, b.agents, strict=True):
        if x is not y and (
            x.status is not y.status
            or x.pod != y.pod
            or x.node != y.node
            or x.pod_ready != y.pod_ready
            or x.error != y.error
        ):
            return False
    for name in _CILIUM_FIELDS:
        x, y = getattr(a, name), getattr(b, name)
        if x is not y and x != y:
            return False
    return True
