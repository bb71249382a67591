"""View models: what the panes draw and the headless commands print, derived from a snapshot.

Pure functions and frozen dataclasses, no Textual: ``MeshSnapshot`` + the rules core
(``tui.mesh``) in, rows out. Each view has ``to_json()`` with the shapes the headless commands
(``meshtui status|services|backends -o json``) print, so the TUI and the scripts say the same.

Cost: the services view must stay cheap at 64 clusters × 2,000 services. Rows are computed once
per service per *change*: :class:`ServicesViewBuilder` keeps each row with the Service objects it
came from and reuses it while every cluster still holds the very same objects (snapshots reuse
unchanged objects), so a snapshot that changed one service recomputes one row.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import compress
from operator import is_not
from typing import Any

from tui.mesh.annotations import (
    ANNOTATION_AFFINITY,
    ANNOTATION_GLOBAL,
    ANNOTATION_SHARED,
    LEGACY_GLOBAL,
    flags_of,
)
from tui.mesh.checks import Finding, connect_checks, service_findings, sort_findings
from tui.mesh.merge import key_text, merge_global_service
from tui.mesh.model import CiliumInfo, ClusterState, Deployment, MeshSnapshot, Service, ServiceKey
from tui.mesh.rules import CiliumRule, affinity_mode, cilium_rule
from tui.mesh.selection import Selection, StaleRemote, is_headless, select_backends
from tui.mesh.status import (
    AccessInfo,
    ClusterMeshStatus,
    access_info,
    cluster_mesh_status,
    deployment_not_ready_reason,
    failure_time,
    kvstoremesh_enabled,
    kvstoremesh_status,
)

USABLE_PHASES = ("ok", "stale")
"""Phases whose data the rules may trust; other clusters are *unknown*, never "no service"."""


def parse_key(text: str) -> ServiceKey:
    """``song/userlist-svc`` → ``("song", "userlist-svc")`` (``default`` when no namespace)."""
    namespace, _, name = text.rpartition("/")
    return (namespace or "default", name)


def phase_text(state: ClusterState, now: float | None = None) -> str:
    """The state column: ``ok``, ``syncing``, ``stale since 12:00:01``, ``unreachable: why``..."""
    if state.phase == "stale":
        since = time.strftime("%H:%M:%S", time.localtime(state.since)) if state.since else "?"
        return f"stale since {since}"
    if state.phase in ("unreachable", "forbidden", "error") and state.reason:
        return f"{state.phase}: {state.reason}"
    return state.phase


def stale_text(state: ClusterState) -> str:
    """``stale since 12:00:01: connection refused`` (the reason the data stopped coming)."""
    text = phase_text(state)
    return f"{text}: {state.reason}" if state.reason else text


def cluster_label(state: ClusterState) -> str:
    """The Cilium cluster name once known, else the context in brackets (``(bastion02)``)."""
    return state.cilium.cluster_name or f"({state.context})"


# --- mesh connectivity ------------------------------------------------------------------


_status_cache: dict[int, tuple[CiliumInfo, ClusterMeshStatus]] = {}
_status_by_cluster: dict[tuple[str | None, int | None], tuple[CiliumInfo, ClusterMeshStatus]] = {}
"""The newest status per cluster, found again for a CiliumInfo that :func:`same_cilium` says is
the same (an agent re-read with the same answer: a new object, the same status)."""
_status_lock = threading.Lock()


def mesh_status(state: ClusterState) -> ClusterMeshStatus:
    """``cilium clustermesh status`` of one cluster, computed once per CiliumInfo content."""
    return cilium_mesh_status(state.cilium)


def cilium_mesh_status(cilium: CiliumInfo) -> ClusterMeshStatus:
    """:func:`cluster_mesh_status` once per CiliumInfo content (the connect checks and the
    services' "why" use it too)."""
    name = (cilium.cluster_name, cilium.cluster_id)
    with _status_lock:
        entry = _status_cache.get(id(cilium))
        if entry is not None and entry[0] is cilium:
            return entry[1]
        entry = _status_by_cluster.get(name)
    # an agent re-read with the same answer finds the status computed already
    status = entry[1] if entry is not None and same_cilium(entry[0], cilium) else cluster_mesh_status(cilium)
    with _status_lock:
        if len(_status_cache) > 4096:
            _status_cache.clear()
        if len(_status_by_cluster) > 4096:
            _status_by_cluster.clear()
        _status_cache[id(cilium)] = (cilium, status)
        _status_by_cluster[name] = (cilium, status)
    return status


def prune_status_cache(live: Iterable[CiliumInfo]) -> None:
    """Forget the statuses of CiliumInfo objects no longer in use (``live``: the newest
    snapshot's). An agent re-read replaces a cluster's CiliumInfo every few seconds at 64
    clusters; kept until a size cap, the old statuses (63 remotes each) piled up in the
    heap that every full garbage collection walks, pausing the UI for 100-200 ms."""
    keep = {id(c): c for c in live}
    names = {(c.cluster_name, c.cluster_id) for c in keep.values()}
    with _status_lock:
        for ident in [i for i, (c, _) in _status_cache.items() if keep.get(i) is not c]:
            del _status_cache[ident]
        for name in [n for n in _status_by_cluster if n not in names]:
            del _status_by_cluster[name]


def connected_remotes(state: ClusterState) -> frozenset[str] | None:
    """Remote clusters at least one agent of ``state`` is ready for; ``None`` when none was read.

    ``None`` (unknown) excludes nobody: before the agents answer, the merge is judged on
    annotations and endpoints alone.
    """
    status = mesh_status(state)
    if status.total == 0:
        return None
    return status.connected_remotes


_kvm_cache: dict[int, tuple[CiliumInfo, ClusterMeshStatus | None]] = {}
_lost_since: dict[tuple[str, str, str], float] = {}
"""(context, remote, cause) → when the loss was first seen: the agents' ``last-failure`` moves
with every retry, the operator wants to know since when the remote is gone."""
_lost_lock = threading.Lock()


def kvstoremesh_view(cilium: CiliumInfo) -> ClusterMeshStatus | None:
    """:func:`kvstoremesh_status` once per CiliumInfo object."""
    with _lost_lock:
        entry = _kvm_cache.get(id(cilium))
        if entry is not None and entry[0] is cilium:
            return entry[1]
    status = kvstoremesh_status(cilium)
    with _lost_lock:
        if len(_kvm_cache) > 4096:
            _kvm_cache.clear()
        _kvm_cache[id(cilium)] = (cilium, status)
    return status


def stale_remotes(state: ClusterState, now: float | None = None) -> tuple[StaleRemote, ...]:
    """Remotes whose link is down but whose backends the agents of ``state`` still use.

    Two ways (cilium-semantics.md §2–3): the agents lost the remote but still hold its data
    (:meth:`ClusterMeshStatus.lost_remotes`: counts left in their caches), or — KVStoreMesh on
    — the agents are fine but KVStoreMesh lost the remote, so the copy they read from the local
    clustermesh-apiserver is frozen. ``since`` is when meshtui first saw the loss (or the
    agents' last failure, if older news than that).
    """
    status = mesh_status(state)
    if status.total == 0:
        return ()
    now = time.time() if now is None else now
    found: list[tuple[str, str, float | None]] = []
    for lost in status.lost_remotes():
        if lost.cached:
            cause = "not ready (synchronizing)" if lost.connected else "unreachable"
            found.append((lost.cluster, cause, failure_time(lost.last_failure)))
    kvm = kvstoremesh_view(state.cilium)
    if kvm is not None:
        ready = status.connected_remotes
        for lost in kvm.lost_remotes():
            if lost.cluster in ready:
                cause = f"not connected to {state.cluster}'s KVStoreMesh"
                found.append((lost.cluster, cause, failure_time(lost.last_failure)))
    out = []
    keep = set()
    with _lost_lock:
        for remote, cause, failed in found:
            key = (state.context, remote, cause)
            keep.add(key)
            since = _lost_since.get(key)
            if since is None:
                since = _lost_since[key] = min(now, failed) if failed is not None else now
            out.append(StaleRemote(remote, since, cause))
        for key in [k for k in _lost_since if k[0] == state.context and k not in keep]:
            del _lost_since[key]
    return tuple(out)


# --- status -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RemoteView:
    """One remote cluster as one cluster's agents see it (``cluster2: 1/1 configured, 1/1 connected``)."""

    cluster: str
    configured: int
    connected: int
    agents: int
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.agents > 0 and self.connected == self.agents and self.configured == self.agents

    def to_json(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "configured": self.configured,
            "connected": self.connected,
            "agents": self.agents,
            "error": self.error or None,
        }


@dataclass(frozen=True, slots=True)
class ClusterView:
    """One context: identity, access state, Cilium and its ClusterMesh as the operator reads it."""

    context: str
    cluster: str
    cluster_id: int | None
    cilium_version: str | None
    phase: str
    state: str
    """``ok`` / ``syncing`` / ``stale since 12:00:01`` / ``unreachable: reason`` / ``forbidden: ...``."""
    server: str = ""
    reason: str = ""
    """Why the cluster is not ``ok`` (``connection refused``...), ``""`` when it is."""
    nodes: int = 0
    agents_ready: int = 0
    agents_total: int = 0
    remotes: tuple[RemoteView, ...] = ()
    min: int = -1
    avg: float = 0.0
    max: int = 0
    summary: str = ""
    """``All 1 nodes are connected to all clusters [min:1 / avg:1.0 / max:1]`` (or ``""``)."""
    access_type: str | None = None
    access_addresses: tuple[str, ...] = ()
    access_error: str | None = None
    apiserver_ready: bool | None = None
    apiserver_reason: str = ""
    global_services: str | None = None
    unreadable_agents: tuple[str, ...] = ()
    kvstoremesh: bool | None = None
    """KVStoreMesh runs in the clustermesh-apiserver (``None``: unknown)."""
    kvstoremesh_remotes: tuple[RemoteView, ...] = ()
    """KVStoreMesh's own links (``kvstoremesh-dbg status``), the agents' being to the local one."""
    kvstoremesh_note: str = ""
    """Why KVStoreMesh's links are not shown (not read yet, unreadable, not supported)."""

    @property
    def known(self) -> bool:
        return self.phase in USABLE_PHASES

    @property
    def cluster_known(self) -> bool:
        """The Cilium cluster name was read (else :attr:`cluster` is ``(context)``)."""
        return not self.cluster.startswith("(")

    @property
    def mesh_text(self) -> str:
        """``mesh 1/1 connected`` / ``mesh 0/1 connected`` / ``no mesh`` / ``mesh ?``."""
        if not self.known:
            return "mesh ?"
        if not self.remotes:
            return "no remote configured" if self.agents_total else "mesh ?"
        good = sum(1 for r in self.remotes if r.ok)
        return f"mesh {good}/{len(self.remotes)} connected"

    def remote(self, cluster: str) -> RemoteView | None:
        for item in self.remotes:
            if item.cluster == cluster:
                return item
        return None

    def kvstoremesh_remote(self, cluster: str) -> RemoteView | None:
        for item in self.kvstoremesh_remotes:
            if item.cluster == cluster:
                return item
        return None

    def link_lines(self) -> tuple[tuple[str, bool], ...]:
        """cilium-cli's ``Cluster Connections`` lines (``cluster2: 1/1 configured, 1/1 connected
        - KVStoreMesh: 1/1 configured, 1/1 connected``) with whether the link is fine."""
        out = []
        for remote in self.remotes:
            line = (
                f"{remote.cluster}: {remote.configured}/{remote.agents} configured, "
                f"{remote.connected}/{remote.agents} connected"
            )
            ok = remote.ok
            if self.kvstoremesh:
                kvm = self.kvstoremesh_remote(remote.cluster)
                if kvm is None:
                    line += " - KVStoreMesh: status not available"
                else:
                    line += (
                        f" - KVStoreMesh: {kvm.configured}/{kvm.agents} configured, "
                        f"{kvm.connected}/{kvm.agents} connected"
                    )
                    ok = ok and kvm.ok
            out.append((line, ok))
        return tuple(out)

    def to_json(self) -> dict[str, Any]:
        return {
            "context": self.context,
            "cluster": self.cluster if self.cluster_known else None,
            "id": self.cluster_id,
            "cilium_version": self.cilium_version,
            "state": self.state,
            "nodes": self.nodes,
            "agents": {"ready": self.agents_ready, "total": self.agents_total},
            "access": {
                "service_type": self.access_type,
                "addresses": list(self.access_addresses),
                "error": self.access_error,
                "apiserver_ready": self.apiserver_ready,
            },
            "mesh": {
                "remotes": [r.to_json() for r in self.remotes],
                "min": self.min,
                "avg": self.avg,
                "max": self.max,
            },
            "kvstoremesh": {
                "enabled": self.kvstoremesh,
                "remotes": [r.to_json() for r in self.kvstoremesh_remotes],
                "note": self.kvstoremesh_note or None,
            },
        }


@dataclass(frozen=True, slots=True)
class FindingView:
    severity: str
    check: str
    clusters: tuple[str, ...]
    message: str
    fix: str
    contexts: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "check": self.check,
            "clusters": list(self.clusters),
            "message": self.message,
            "fix": self.fix,
        }


@dataclass(frozen=True, slots=True)
class StatusView:
    """Every context's state and mesh picture plus the connect-check findings."""

    clusters: tuple[ClusterView, ...]
    findings: tuple[FindingView, ...] = ()
    config_errors: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "clusters": [c.to_json() for c in self.clusters],
            "findings": [f.to_json() for f in self.findings],
        }
        if self.config_errors:
            out["config_errors"] = list(self.config_errors)
        return out

    def by_context(self, context: str) -> ClusterView | None:
        for view in self.clusters:
            if view.context == context:
                return view
        return None


def cluster_view(state: ClusterState) -> ClusterView:
    """The :class:`ClusterView` of one context (pure; cached by :class:`StatusViewBuilder`)."""
    cilium = state.cilium
    base = {
        "context": state.context,
        "cluster": cluster_label(state),
        "cluster_id": cilium.cluster_id,
        "cilium_version": cilium.version,
        "phase": state.phase,
        "state": phase_text(state),
        "server": state.server,
        "reason": state.reason if state.phase != "ok" else "",
    }
    if state.phase not in USABLE_PHASES and not cilium.agents:
        return ClusterView(**base)
    status = mesh_status(state)
    if cilium.clustermesh_service is None and not cilium.config_present and state.phase != "ok":
        # kube-system was never read (the cluster failed first): unknown, not "not found".
        access = AccessInfo(error=f"not read yet ({phase_text(state)})")
    else:
        access = access_info(cilium, state.nodes)
    deployment = cilium.clustermesh_deployment
    reason = deployment_not_ready_reason(deployment) if deployment is not None else None
    errors: dict[str, str] = {}
    for stats in status.clusters:
        if stats.first_error:
            errors[stats.name] = stats.first_error
    remotes = tuple(
        RemoteView(
            cluster=stats.name,
            configured=stats.configured,
            connected=stats.connected,
            agents=stats.total,
            error=errors.get(stats.name, ""),
        )
        for stats in status.clusters
    )
    kvm_on = kvstoremesh_enabled(deployment) if deployment is not None else None
    kvm = kvstoremesh_view(cilium) if kvm_on else None
    kvm_remotes: tuple[RemoteView, ...] = ()
    kvm_note = ""
    if kvm is not None:
        kvm_remotes = tuple(
            RemoteView(
                cluster=stats.name,
                configured=stats.configured,
                connected=stats.connected,
                agents=stats.total,
                error=stats.first_error,
            )
            for stats in kvm.clusters
        )
        if kvm.unreadable:
            kvm_note = f"{len(kvm.unreadable)}/{kvm.listed} replicas unreadable: {kvm.unreadable[0].reason}"
    elif kvm_on:
        reads = cilium.kvstoremesh
        if reads and all(r.not_supported for r in reads):
            kvm_note = "kvstoremesh-dbg status is not available in this version"
        else:
            kvm_note = "not read yet"
    return ClusterView(
        **base,
        kvstoremesh=kvm_on,
        kvstoremesh_remotes=kvm_remotes,
        kvstoremesh_note=kvm_note,
        nodes=len(state.nodes),
        agents_ready=sum(1 for a in cilium.agents if a.pod_ready),
        agents_total=len(cilium.agents),
        remotes=remotes,
        min=status.connected.min,
        avg=status.connected.avg,
        max=status.connected.max,
        summary=status.summary_line or "",
        access_type=access.service_type,
        access_addresses=access.addresses,
        access_error=access.error,
        apiserver_ready=None if deployment is None else reason is None,
        apiserver_reason=reason or ("" if deployment is not None else "clustermesh-apiserver not found"),
        global_services=status.global_services_line,
        unreadable_agents=tuple(f"{u.pod}: {u.reason}" for u in status.unreadable),
    )


def _finding_view(finding: Finding) -> FindingView:
    return FindingView(
        severity=finding.severity,
        check=finding.check,
        clusters=tuple(finding.clusters),
        message=finding.message,
        fix=finding.fix,
        contexts=tuple(finding.contexts),
    )


class StatusViewBuilder:
    """Builds :class:`StatusView`s; a cluster's row and the findings are recomputed only when a
    ClusterState object changed (phase, Cilium objects or agents)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[str, tuple[tuple[Any, ...], ClusterView]] = {}
        self._findings: tuple[tuple[Any, ...], tuple[FindingView, ...], tuple[Any, ...]] | None = None
        self._view: StatusView | None = None
        self._by_services: dict[str, tuple[tuple[Any, ...], tuple[Finding, ...]]] = {}

    def _service_findings(self, snapshot: MeshSnapshot) -> tuple[tuple[Finding, ...], ...]:
        """:func:`service_findings` per cluster, recomputed only when its services mapping,
        phase or Cilium version changed (most clusters are on an unaffected release: nothing)."""
        out = []
        fresh: dict[str, tuple[tuple[Any, ...], tuple[Finding, ...]]] = {}
        for state in snapshot.clusters:
            key = (state.phase, state.cilium.version, state.cluster, state.services)
            entry = self._by_services.get(state.context)
            same = entry is not None and entry[0][:3] == key[:3] and entry[0][3] is key[3]
            items = entry[1] if same and entry is not None else tuple(service_findings(state))
            fresh[state.context] = (key, items)
            out.append(items)
        self._by_services = fresh
        return tuple(out)

    def build(self, snapshot: MeshSnapshot) -> StatusView:
        with self._lock:
            rows = []
            fresh: dict[str, tuple[tuple[Any, ...], ClusterView]] = {}
            for state in snapshot.clusters:
                inputs = _cluster_inputs(state)
                entry = self._rows.get(state.context)
                if entry is not None and _same_inputs(entry[0], inputs):
                    view = entry[1]
                else:
                    view = cluster_view(state)
                fresh[state.context] = (inputs, view)
                rows.append(view)
            self._rows = fresh
            prune_status_cache(state.cilium for state in snapshot.clusters)
            # Findings only read phases and kube-system objects: key them on those; the
            # services' findings (version matrix) are kept per cluster and services mapping.
            inputs = tuple((s.context, s.phase, s.cilium, s.nodes) for s in snapshot.clusters)
            per_service = self._service_findings(snapshot)
            if (
                self._findings is not None
                and _same(self._findings[0], inputs)
                and self._findings[2] == per_service
            ):
                findings = self._findings[1]
            else:
                found = connect_checks(
                    snapshot.clusters,
                    mesh_status=cilium_mesh_status,
                    kvm_status=kvstoremesh_view,
                    services=False,
                )
                for items in per_service:
                    found += items
                findings = tuple(_finding_view(f) for f in sort_findings(found))
                self._findings = (inputs, findings, per_service)
            view = StatusView(tuple(rows), findings, tuple(snapshot.config_errors))
            before = self._view
            if (
                before is not None
                and before.findings is findings
                and before.config_errors == view.config_errors
                and len(before.clusters) == len(rows)
                and all(a is b for a, b in zip(before.clusters, rows, strict=True))
            ):
                return before  # same object: panes skip redrawing by identity
            self._view = view
            return view


def _cluster_inputs(state: ClusterState) -> tuple[Any, ...]:
    """What :func:`cluster_view` reads of a cluster. Not its services, pods or deployments:
    a watch event on a service gives the ClusterState a new identity, and recomputing the
    row (63 remotes at 64 clusters) for every changed cluster cost more than the services."""
    return (state.cilium, state.nodes, state.phase, state.since, state.server, state.reason)


def _same_inputs(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    """Cilium info by :func:`same_cilium`, nodes by identity (snapshots reuse unchanged ones),
    the rest by value."""
    return same_cilium(a[0], b[0]) and a[1] is b[1] and a[2:] == b[2:]


def _same(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    return len(a) == len(b) and all(
        x[0] == y[0] and x[1] == y[1] and same_cilium(x[2], y[2]) and x[3] is y[3]
        for x, y in zip(a, b, strict=True)
    )


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


def status_view(snapshot: MeshSnapshot) -> StatusView:
    """One-shot :class:`StatusView` (headless use; the app keeps a builder)."""
    return StatusViewBuilder().build(snapshot)


# --- services -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServiceCell:
    """One service in one cluster as the services table shows it."""

    present: bool
    is_global: bool = False
    shared: bool = False
    affinity: str = "none"
    ready_endpoints: int = 0
    known: bool = True
    """``False`` while the cluster is syncing or unreachable: the values mean nothing yet."""
    state: str = ""
    """The cluster's phase when not known (``syncing``, ``unreachable``...)."""
    affinity_unknown: bool = False

    def to_json(self) -> dict[str, Any]:
        if not self.known:
            return {
                "present": None,
                "global": None,
                "shared": None,
                "affinity": None,
                "ready_endpoints": None,
                "state": self.state,
            }
        return {
            "present": self.present,
            "global": self.is_global,
            "shared": self.shared,
            "affinity": self.affinity if self.present else None,
            "ready_endpoints": self.ready_endpoints if self.present else None,
        }

    def text(self) -> str:
        """``global shared none  1 rdy`` / ``not global  1 rdy`` / ``—`` / ``syncing…``."""
        if not self.known:
            return "syncing…" if self.state == "syncing" else self.state
        if not self.present:
            return "—"
        if not self.is_global:
            return f"not global  {self.ready_endpoints} rdy"
        shared = "shared" if self.shared else "unshared"
        return f"global {shared} {self.affinity}  {self.ready_endpoints} rdy"

    def glyph(self) -> str:
        """One character for the compact (many clusters) layout; see :data:`GLYPH_LEGEND`."""
        if not self.known:
            return "?"
        if not self.present:
            return "·"
        if not self.is_global:
            return "n"
        if self.ready_endpoints == 0:
            return "0"
        if not self.shared:
            return "u"
        return {"local": "L", "remote": "R"}.get(self.affinity, "●")


GLYPH_LEGEND = (
    "● global+shared  L/R affinity local/remote  u unshared  0 no ready endpoint  "
    "n not global  · absent  ? unknown"
)


@dataclass(frozen=True, slots=True)
class ServiceRow:
    """One service across every cluster."""

    namespace: str
    name: str
    cells: tuple[ServiceCell, ...]
    """Aligned with :attr:`ServicesView.clusters`."""
    warnings: tuple[str, ...] = ()
    """Why some cluster gets no remote backends (``cluster2: shared=false``...)."""
    is_global: bool = False
    """Global in at least one cluster."""

    @property
    def key(self) -> ServiceKey:
        return (self.namespace, self.name)

    @property
    def key_text(self) -> str:
        return f"{self.namespace}/{self.name}"

    def summary(self) -> str:
        """``2/2 global 2 shared 2 rdy`` for the compact layout."""
        known = [c for c in self.cells if c.known]
        present = sum(1 for c in known if c.present)
        glob = sum(1 for c in known if c.is_global)
        shared = sum(1 for c in known if c.is_global and c.shared)
        ready = sum(c.ready_endpoints for c in known if c.present)
        return f"{glob}/{present} global {shared} shared {ready} rdy"

    def to_json(self, clusters: Sequence[str]) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "name": self.name,
            "clusters": {c: cell.to_json() for c, cell in zip(clusters, self.cells, strict=True)},
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True, slots=True)
class ServicesView:
    """The global services table: one row per service global in any cluster (or all of them)."""

    clusters: tuple[str, ...]
    contexts: tuple[str, ...]
    rows: tuple[ServiceRow, ...]
    pending: tuple[str, ...] = ()
    """Clusters not synced yet (their cells say so)."""
    show_all: bool = False
    stale: tuple[str, ...] = ()
    """``cluster2 (bastion03) stale since 12:00:01: connection refused``: cells of those
    clusters show the last known state."""

    @property
    def synced(self) -> bool:
        """At least one cluster answered: an empty table now means "no services"."""
        return len(self.pending) < len(self.clusters)

    def to_json(self) -> dict[str, Any]:
        return {"services": [row.to_json(self.clusters) for row in self.rows]}

    def row(self, key: ServiceKey) -> ServiceRow | None:
        for row in self.rows:
            if row.key == key:
                return row
        return None


def filter_rows(rows: Iterable[ServiceRow], text: str) -> list[ServiceRow]:
    """Rows whose ``ns/name`` (or a warning) contains every word of ``text``, case-insensitive."""
    words = text.lower().split()
    if not words:
        return list(rows)
    out = []
    for row in rows:
        hay = f"{row.key_text} {' '.join(row.warnings)}".lower()
        if all(w in hay for w in words):
            out.append(row)
    return out


_PLAIN_CELLS: dict[int, ServiceCell] = {}
"""Non-global cells differ only in their ready count: one shared object per count."""


def _cell(service: Service | None) -> ServiceCell:
    if service is None:
        return ServiceCell(present=False)
    if not _maybe_global(service):
        ready = service.ready_endpoints
        cell = _PLAIN_CELLS.get(ready)
        if cell is None:
            cell = _PLAIN_CELLS[ready] = ServiceCell(present=True, ready_endpoints=ready)
        return cell
    flags = flags_of(service)
    return ServiceCell(
        present=True,
        is_global=flags.is_global,
        shared=flags.shared,
        affinity=flags.affinity,
        ready_endpoints=service.ready_endpoints,
        affinity_unknown=flags.affinity_unknown,
    )


def _maybe_global(service: Service) -> bool:
    """Global in this cluster; services without any global annotation skip the flag parser."""
    annotations = service.annotations
    if not annotations or (ANNOTATION_GLOBAL not in annotations and LEGACY_GLOBAL not in annotations):
        return False
    return flags_of(service).is_global


def _exports(cell: ServiceCell) -> bool:
    """The cluster's backends reach the other clusters (global, shared, ready endpoints)."""
    return cell.present and cell.is_global and cell.shared and cell.ready_endpoints > 0


def _warnings(
    key: ServiceKey,
    services: Mapping[str, Service | None],
    cells: Mapping[str, ServiceCell],
    missing: Mapping[str, frozenset[str]],
    unknown: Sequence[tuple[str, str]],
    lost: Mapping[str, Mapping[str, StaleRemote]] | None = None,
    buggy: Mapping[str, CiliumRule] | None = None,
) -> tuple[str, ...]:
    """Why some cluster gets no (or fewer) remote backends, one short text per cause.

    Also what the version matrix says about the row: a cluster on a Cilium release with
    cilium/cilium#46623 (``buggy``) whose affinity word keeps only local backends, a remote
    that is gone but whose cached backends are still used (``lost``), a headless service.

    Remote-side reasons (no service, not global, shared=false, 0 ready) are the same for every
    client, so the merge seen from one global cluster names every other cluster's problem and
    a second merge (only when needed) names the first one's. When every cluster exports, no
    merge is needed at all: that keeps 64-cluster rows cheap. Connectivity is client-specific
    and only checked where a link is down (``missing`` maps a client cluster to the usable
    clusters its agents are not connected to).
    """
    global_clusters = [c for c, cell in cells.items() if cell.is_global]
    lead: list[str] = []  # the version matrix's warnings come first: they explain a dead service
    for cluster, rule in (buggy or {}).items():
        service = services.get(cluster)
        if service is None or cells.get(cluster) is None or not cells[cluster].is_global:
            continue
        flags = flags_of(service)
        if affinity_mode(rule, flags.affinity, flags.affinity_raw, True) != "local-only":
            continue
        word = repr(flags.affinity_raw)
        if service.ready_endpoints == 0:
            lead.append(
                f"{cluster}: affinity {word} on {rule.version_text}: connections from {cluster} fail "
                "(cilium/cilium#46623)"
            )
        else:
            lead.append(
                f"{cluster}: affinity {word} on {rule.version_text} uses local backends only "
                "(cilium/cilium#46623)"
            )
    out: list[str] = lead
    seen: set[str] = set()
    problems = [c for c, cell in cells.items() if not _exports(cell)]
    if global_clusters and len(services) > 1 and problems:
        first = global_clusters[0]
        clients = [first]
        if first in problems:
            clients.append(next(c for c in services if c != first))
        for client in clients:
            merge = merge_global_service(key, client, services)
            for item in merge.excluded:
                if item.cluster in seen or item.code.startswith("client-"):
                    continue
                seen.add(item.cluster)
                out.append(item.text)
    for client in global_clusters:
        for remote in sorted(missing.get(client, ())):
            cell = cells.get(remote)
            if remote not in seen and cell is not None and _exports(cell):
                cached = (lost or {}).get(client, {}).get(remote)
                if cached is not None:
                    gone = f"{remote} {cached.cause}{cached.since_text()}"
                    out.append(f"{client}: {gone}, its cached backends are still used")
                else:
                    out.append(f"{client}: not connected to {remote}")
        for remote, cached in sorted((lost or {}).get(client, {}).items()):
            cell = cells.get(remote)
            if remote in missing.get(client, ()) or remote in seen or cell is None or not _exports(cell):
                continue
            gone = f"{remote} {cached.cause}{cached.since_text()}"
            out.append(f"{client}: {gone}, its cached backends are still used")
    if any(is_headless(svc) for svc in services.values()):
        out.append("headless (clusterIP: None): no load-balancing, affinity and shares do not apply")
    for cluster, state in unknown:
        out.append(f"{cluster}: {state}")
    if len(global_clusters) == 1 and len(services) == 1 and not unknown:
        out.append(f"only in {global_clusters[0]}: no other cluster to merge with")
    return tuple(out)


ServiceMap = Mapping[ServiceKey, Service]


def _changed_keys(before: ServiceMap, now: ServiceMap) -> list[ServiceKey]:
    """Keys whose Service object differs between two mappings of one cluster (by identity).

    The common case — same keys in the same order, a few values replaced — runs at C speed
    (list compare, ``map(is_not)``): 2,000 services per changed cluster, 25 changed clusters
    per repaint at 100 events/s, must not cost a Python loop each.
    """
    keys = list(now)
    if len(keys) == len(before) and keys == list(before):
        return list(compress(keys, map(is_not, before.values(), now.values())))
    return [k for k in before.keys() | now.keys() if before.get(k) is not now.get(k)]


class ServicesViewBuilder:
    """Builds :class:`ServicesView`s, recomputing only the rows whose services changed.

    Snapshots reuse unchanged objects, so change detection is by identity: a cluster whose
    ``services`` mapping is the same object changed nothing; for one that did change, the keys
    whose Service object differs are the only rows recomputed. A change of the clusters, their
    phases or the mesh links (which every row's "why" depends on) recomputes everything.

    Thread-safe (the app computes views in a worker thread). One builder per consumer.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._context_sig: tuple[Any, ...] | None = None
        self._rows: dict[ServiceKey, ServiceRow] = {}
        self._maps: dict[str, ServiceMap] = {}
        self._cells: dict[int, tuple[Service, ServiceCell]] = {}
        self._keysets: dict[str, tuple[ServiceMap, frozenset[ServiceKey], frozenset[ServiceKey]]] = {}
        """cluster → (its services mapping, its global keys, all its keys)."""
        self._sorted: tuple[tuple[Any, ...], list[ServiceKey]] | None = None
        """The sorted row keys and the key sets they were made from (by identity)."""
        self._last: tuple[bool, tuple[ServiceRow, ...]] | None = None
        self._view: ServicesView | None = None
        self._lost: Mapping[str, Mapping[str, StaleRemote]] = {}
        self._buggy: Mapping[str, CiliumRule] = {}
        self.recomputed = 0
        """Rows computed (not reused) by the last :meth:`build`; for tests and measurements."""

    def build(self, snapshot: MeshSnapshot, *, show_all: bool = False) -> ServicesView:
        with self._lock:
            return self._build(snapshot, show_all)

    def _build(self, snapshot: MeshSnapshot, show_all: bool) -> ServicesView:
        states = snapshot.clusters
        usable = [s for s in states if s.phase in USABLE_PHASES]
        clusters = tuple(s.cluster for s in states)
        connected = {s.cluster: connected_remotes(s) for s in usable}
        names = frozenset(s.cluster for s in usable)
        missing = {}
        for cluster, links in connected.items():
            if links is not None and (gone := names - links - {cluster}):
                missing[cluster] = gone
        unknown = tuple((s.cluster, s.phase) for s in states if s.phase not in USABLE_PHASES)
        lost = {s.cluster: found for s in usable if (found := {r.cluster: r for r in stale_remotes(s)})}
        rules = {s.cluster: cilium_rule(s.cilium.version) for s in usable}
        buggy = {c: r for c, r in rules.items() if r.affinity_word_local_only}
        signature = (
            clusters,
            tuple(s.phase for s in states),
            tuple(sorted(missing.items(), key=str)),
            tuple(sorted((c, tuple(sorted(v.values(), key=str))) for c, v in lost.items())),
            tuple(sorted((c, r.version) for c, r in buggy.items())),
        )
        self._lost, self._buggy = lost, buggy
        if signature != self._context_sig:
            self._rows.clear()
            self._maps.clear()
            self._last = None
            self._context_sig = signature

        changed: set[ServiceKey] = set()
        any_change = False
        for state in usable:
            before = self._maps.get(state.cluster)
            now = state.services
            if before is now:
                continue
            any_change = True
            if before is None:
                continue  # first sight of this cluster: every row is new (the signature changed)
            diff = _changed_keys(before, now)
            changed.update(diff)
            self._forget_cells(before, diff)
            self._update_keyset(state.cluster, before, now, diff)
            self._maps[state.cluster] = now
        for state in usable:
            self._maps.setdefault(state.cluster, state.services)

        if self._last is not None and self._last[0] == show_all and not any_change:
            rows = self._last[1]  # only pods, agents or nodes changed: same rows
            self.recomputed = 0
        else:
            rows = self._rows_for(states, usable, show_all, changed, missing, unknown)
            self._last = (show_all, rows)
        view = ServicesView(
            clusters=clusters,
            contexts=tuple(s.context for s in states),
            rows=rows,
            pending=tuple(s.cluster for s in states if s.phase == "syncing"),
            show_all=show_all,
            stale=tuple(f"{s.cluster} ({s.context}) {stale_text(s)}" for s in states if s.phase == "stale"),
        )
        before = self._view
        if before is not None and before.rows is rows and before == view:
            return before  # same object: consumers can skip redrawing by identity
        self._view = view
        return view

    def _keys_of(
        self, cluster: str, services: ServiceMap
    ) -> tuple[frozenset[ServiceKey], frozenset[ServiceKey]]:
        """(global keys, all keys) of one cluster, cached while its services mapping is the same."""
        entry = self._keysets.get(cluster)
        if entry is not None and entry[0] is services:
            return entry[1], entry[2]
        global_keys = frozenset(k for k, svc in services.items() if _maybe_global(svc))
        all_keys = frozenset(services)
        self._keysets[cluster] = (services, global_keys, all_keys)
        return global_keys, all_keys

    def _forget_cells(self, before: ServiceMap, diff: Sequence[ServiceKey]) -> None:
        """Drop the cells of replaced Service objects: the cache would otherwise keep every
        old version alive (100 events/s) until its size cap, for the collector to walk."""
        cells = self._cells
        for key in diff:
            old = before.get(key)
            entry = cells.get(id(old)) if old is not None else None
            if entry is not None and entry[0] is old:
                del cells[id(old)]

    def _update_keyset(
        self, cluster: str, before: ServiceMap, now: ServiceMap, diff: Sequence[ServiceKey]
    ) -> None:
        """Carry a cluster's key sets over to its new services mapping from the changed keys
        only (a watch event changes one service of 2,000); the sets stay the same objects
        while no key came, went or turned global, so the sorted row keys are reused too."""
        entry = self._keysets.get(cluster)
        if entry is None or entry[0] is not before or len(diff) > 64:
            return  # _keys_of recomputes it from the whole mapping
        global_keys, all_keys = entry[1], entry[2]
        add = [k for k in diff if k in now and k not in all_keys]
        gone = [k for k in diff if k not in now]
        if add or gone:
            all_keys = (all_keys | frozenset(add)) - frozenset(gone)
        flips = [k for k in diff if (k in now and _maybe_global(now[k])) != (k in global_keys)]
        if flips:
            global_keys = global_keys ^ frozenset(flips)
        self._keysets[cluster] = (now, global_keys, all_keys)

    def _rows_for(
        self,
        states: Sequence[ClusterState],
        usable: Sequence[ClusterState],
        show_all: bool,
        changed: set[ServiceKey],
        missing: Mapping[str, frozenset[str]],
        unknown: Sequence[tuple[str, str]],
    ) -> tuple[ServiceRow, ...]:
        sets = []
        for state in usable:
            global_keys, all_keys = self._keys_of(state.cluster, state.services)
            sets.append(all_keys if show_all else global_keys)
        for gone in self._keysets.keys() - {s.cluster for s in usable}:
            del self._keysets[gone]
        signature = (show_all, *(id(k) for k in sets))
        if self._sorted is not None and self._sorted[0] == signature:
            ordered = self._sorted[1]
        else:
            keys: set[ServiceKey] = set().union(*sets)
            ordered = sorted(keys)
            self._sorted = (signature, ordered)
        keys = set(ordered)
        cache = self._rows
        previous = {key: row for key in changed if (row := cache.pop(key, None)) is not None}
        rows: list[ServiceRow] = []
        recomputed = 0
        same = True  # every recomputed row equals the one before (a change no cell shows)
        for key in ordered:
            row = cache.get(key)
            if row is None:
                inputs = tuple(s.services.get(key) for s in usable)
                row = self._row(key, states, usable, inputs, missing, unknown)
                old = previous.get(key)
                if old is not None and old == row:
                    row = old  # keep the object: consumers skip unchanged rows by identity
                else:
                    same = False
                cache[key] = row
                recomputed += 1
            rows.append(row)
        if len(cache) > 2 * len(keys) + 1024:  # services deleted long ago
            for key in [k for k in cache if k not in keys]:
                del cache[key]
        self.recomputed = recomputed
        if len(self._cells) > 4 * sum(len(st.services) for st in usable) + 1024:
            self._cells.clear()
        last = self._last
        if (
            same
            and last is not None
            and last[0] == show_all
            and len(last[1]) == len(rows)
            and all(a is b for a, b in zip(last[1], rows, strict=True))
        ):
            # A label or an unrelated field changed: the same rows, the same view object,
            # so the panes skip redrawing (and the app counts no visible change).
            return last[1]
        return tuple(rows)

    def _cell(self, service: Service | None) -> ServiceCell:
        """:func:`_cell` once per Service object (a cluster's unchanged services keep theirs)."""
        if service is None:
            return _ABSENT
        entry = self._cells.get(id(service))
        if entry is not None and entry[0] is service:
            return entry[1]
        cell = _cell(service)
        self._cells[id(service)] = (service, cell)
        return cell

    def _row(
        self,
        key: ServiceKey,
        states: Sequence[ClusterState],
        usable: Sequence[ClusterState],
        inputs: tuple[Service | None, ...],
        missing: Mapping[str, frozenset[str]],
        unknown: Sequence[tuple[str, str]],
    ) -> ServiceRow:
        by_cluster = {s.cluster: svc for s, svc in zip(usable, inputs, strict=True)}
        known = {s.cluster: self._cell(svc) for s, svc in zip(usable, inputs, strict=True)}
        cells = tuple(
            known[s.cluster] if s.phase in USABLE_PHASES else _unknown_cell(s.phase) for s in states
        )
        is_global = any(c.is_global for c in cells)
        warnings = (
            _warnings(key, by_cluster, known, missing, unknown, self._lost, self._buggy) if is_global else ()
        )
        return ServiceRow(key[0], key[1], cells, warnings, is_global)


_ABSENT = ServiceCell(present=False)
_UNKNOWN_CELLS: dict[str, ServiceCell] = {}


def _unknown_cell(phase: str) -> ServiceCell:
    cell = _UNKNOWN_CELLS.get(phase)
    if cell is None:
        cell = _UNKNOWN_CELLS[phase] = ServiceCell(present=False, known=False, state=phase)
    return cell


def services_view(snapshot: MeshSnapshot, *, show_all: bool = False) -> ServicesView:
    """One-shot :class:`ServicesView` (headless use; the app keeps a builder)."""
    return ServicesViewBuilder().build(snapshot, show_all=show_all)


# --- backends -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgentBackend:
    """One backend of the service in the agent's own ``cilium service list``."""

    ip: str
    port: int
    state: str
    preferred: bool = False
    cluster: str = ""
    """Mapped from the IP (the agent's list carries no cluster)."""
    expected: bool = True
    """The computed selection agrees (selected ⇔ the agent uses it)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "ip": self.ip,
            "port": self.port,
            "cluster": self.cluster or None,
            "state": self.state,
            "preferred": self.preferred,
            "matches": self.expected,
        }


@dataclass(frozen=True, slots=True)
class BackendRow:
    ip: str
    port: int
    cluster: str
    pod: str
    ready: bool
    selected: bool
    why: str
    agent: str | None = None
    """The agent's state for this backend (``active``, ``active preferred``, ``missing``)."""
    agent_differs: bool = False

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"

    def to_json(self) -> dict[str, Any]:
        return {
            "ip": self.ip,
            "port": self.port,
            "cluster": self.cluster,
            "pod": self.pod or None,
            "ready": self.ready,
            "selected": self.selected,
            "why": self.why,
        }


@dataclass(frozen=True, slots=True)
class BackendsPerspective:
    """The service's backends seen from one cluster (its agents' choice)."""

    context: str
    cluster: str
    cilium_version: str | None
    affinity: str
    family_label: str
    expected_share: Mapping[str, float]
    excluded: tuple[tuple[str, str], ...]
    backends: tuple[BackendRow, ...]
    agent_backends: tuple[AgentBackend, ...] | None = None
    note: str = ""
    """Why nothing is selected, or why this cluster cannot be judged (syncing, unreachable)."""
    known: bool = True
    fallback: bool = False
    unknown: tuple[tuple[str, str], ...] = ()
    """Clusters whose data is not usable (syncing, unreachable...): their backends are not
    counted, so the shares hold only if those clusters would add nothing."""
    stale: tuple[tuple[str, str], ...] = ()
    """(cluster, ``stale since 12:00:01: connection refused``): counted from their last known
    state, which may have changed since."""
    rule: CiliumRule | None = None
    """The Cilium behaviour the prediction follows (version matrix, known bugs)."""
    bug: str = ""
    """The known Cilium bug that decided this selection (``cilium/cilium#46623``), or ``""``."""
    headless: bool = False
    terminating_fallback: bool = False
    lost_remotes: tuple[str, ...] = ()
    """``cluster2 unreachable since 14:02: its backends are still used (cached); …``."""

    @property
    def footer(self) -> str:
        """``affinity none · Cilium 1.18.3 · rules 1.18+ · bug #46623`` (the pane's subtitle)."""
        if self.rule is None:
            return f"affinity {self.affinity} · {self.family_label}" if self.family_label else ""
        text = f"affinity {self.affinity} · {self.rule.version_text} · {self.rule.family_label}"
        if self.bug:
            text += f" · bug #{self.bug.rsplit('#', 1)[-1]} applies"
        return text

    @property
    def differences(self) -> int:
        """Backends where the agent's list and the computed selection disagree."""
        rows = sum(1 for b in self.backends if b.agent_differs)
        extra = sum(1 for b in self.agent_backends or () if not b.expected)
        return rows + extra

    def to_json(self) -> dict[str, Any]:
        return {
            "context": self.context,
            "cluster": self.cluster,
            "cilium_version": self.cilium_version,
            "affinity": self.affinity,
            "rules": self.family_label,
            "expected_share": dict(self.expected_share),
            "excluded": [{"cluster": c, "reason": r} for c, r in self.excluded],
            "backends": [b.to_json() for b in self.backends],
            "agent_backends": (
                None if self.agent_backends is None else [b.to_json() for b in self.agent_backends]
            ),
            "note": self.note or None,
            "unknown": [{"cluster": c, "state": p} for c, p in self.unknown],
            "rule": self.rule.to_json() if self.rule is not None else None,
            "bug_applied": self.bug or None,
            "headless": self.headless,
            "terminating_fallback": self.terminating_fallback,
            "lost_remotes": list(self.lost_remotes),
        }


@dataclass(frozen=True, slots=True)
class BackendsView:
    key: ServiceKey
    views: tuple[BackendsPerspective, ...]

    @property
    def service(self) -> str:
        return key_text(self.key)

    def to_json(self) -> dict[str, Any]:
        return {"service": self.service, "views": [v.to_json() for v in self.views]}

    def view_for(self, context: str) -> BackendsPerspective | None:
        for view in self.views:
            if view.context == context:
                return view
        return None


def service_map(snapshot: MeshSnapshot, key: ServiceKey) -> dict[str, Service | None]:
    """``{cluster: Service | None}`` over the clusters whose data is usable (see merge docs)."""
    return {s.cluster: s.services.get(key) for s in snapshot.clusters if s.phase in USABLE_PHASES}


def parse_agent_services(
    entries: Sequence[Mapping[str, Any]] | None, key: ServiceKey
) -> list[dict[str, Any]] | None:
    """Backends of service ``key`` in a ``cilium service list -o json`` document.

    Every frontend of the service (one per port, ClusterIP and others) is read; backends are
    de-duplicated by ``ip:port``. ``None`` when the document is missing.
    """
    if entries is None:
        return None
    seen: dict[tuple[str, int], dict[str, Any]] = {}
    for entry in entries:
        spec = entry.get("spec") or {}
        flags = spec.get("flags") or {}
        if flags.get("name") != key[1] or flags.get("namespace") != key[0]:
            continue
        for backend in spec.get("backend-addresses") or ():
            ip, port = backend.get("ip", ""), int(backend.get("port") or 0)
            seen.setdefault((ip, port), backend)
    return list(seen.values())


def _agent_uses(agent: Sequence[Mapping[str, Any]], family: str) -> set[tuple[str, int]]:
    """The backends an agent would send new connections to, from its own list.

    1.14–1.17 lists every backend and marks the preferred ones: the preferred active ones are
    used when there are any, else all active ones. 1.18+ lists only the selected ones. In both,
    when no listed backend is active the terminating ones are used (segregateBackends /
    bpf_reconciler).
    """
    active = [b for b in agent if (b.get("state") or "active") == "active"]
    if family == "1.14-1.17":
        preferred = [b for b in active if b.get("preferred")]
        active = preferred or active
    if not active:
        active = [b for b in agent if b.get("state") == "terminating"]
    return {(b.get("ip", ""), int(b.get("port") or 0)) for b in active}


def backends_perspective(
    snapshot: MeshSnapshot,
    key: ServiceKey,
    state: ClusterState,
    *,
    services: Mapping[str, Service | None] | None = None,
    agent_entries: Sequence[Mapping[str, Any]] | None = None,
) -> BackendsPerspective:
    """The backends of ``key`` seen from ``state``'s cluster, with the agent's list when given."""
    version = state.cilium.version
    if state.phase not in USABLE_PHASES:
        return BackendsPerspective(
            context=state.context,
            cluster=state.cluster,
            cilium_version=version,
            affinity="none",
            family_label="",
            expected_share={},
            excluded=(),
            backends=(),
            note=f"{state.context}: {phase_text(state)}",
            known=False,
        )
    services = services if services is not None else service_map(snapshot, key)
    selection = select_backends(
        key, state.cluster, services, version, connected_remotes(state), stale_remotes(state)
    )
    agent = parse_agent_services(agent_entries, key)
    unknown = tuple((s.cluster, s.phase) for s in snapshot.clusters if s.phase not in USABLE_PHASES)
    stale = tuple((s.cluster, stale_text(s)) for s in snapshot.clusters if s.phase == "stale")
    return dataclasses.replace(_perspective(state, selection, agent), unknown=unknown, stale=stale)


def _perspective(
    state: ClusterState, selection: Selection, agent: list[dict[str, Any]] | None
) -> BackendsPerspective:
    agent_by_addr = {(b.get("ip", ""), int(b.get("port") or 0)): b for b in agent or ()}
    agent_used = _agent_uses(agent, selection.family) if agent is not None else set()
    rows: list[BackendRow] = []
    known_addrs: dict[tuple[str, int], str] = {}
    for choice in selection.choices:
        b = choice.backend
        addr = (b.ip, b.port)
        known_addrs[addr] = b.cluster
        agent_text: str | None = None
        differs = False
        if agent is not None:
            entry = agent_by_addr.get(addr)
            if entry is None:
                agent_text = "missing" if choice.selected else "—"
                differs = choice.selected
            else:
                agent_text = entry.get("state") or "active"
                if entry.get("preferred") and selection.family == "1.14-1.17":
                    agent_text += " preferred"
                differs = (addr in agent_used) != choice.selected
        rows.append(
            BackendRow(
                ip=b.ip,
                port=b.port,
                cluster=b.cluster,
                pod=b.pod,
                ready=b.active,
                selected=choice.selected,
                why=choice.why,
                agent=agent_text,
                agent_differs=differs,
            )
        )
    agent_rows: tuple[AgentBackend, ...] | None = None
    if agent is not None:
        selected = {(c.backend.ip, c.backend.port) for c in selection.choices if c.selected}
        agent_rows = tuple(
            AgentBackend(
                ip=addr[0],
                port=addr[1],
                state=entry.get("state") or "active",
                preferred=bool(entry.get("preferred")),
                cluster=known_addrs.get(addr, ""),
                expected=(addr in agent_used) == (addr in selected),
            )
            for addr, entry in agent_by_addr.items()
        )
    return BackendsPerspective(
        context=state.context,
        cluster=state.cluster,
        cilium_version=state.cilium.version,
        affinity=selection.affinity,
        family_label=selection.family_label,
        expected_share=dict(selection.expected_share),
        excluded=tuple(
            (e.cluster, e.reason) for e in selection.merge.excluded if not e.code.startswith("client-")
        ),
        backends=tuple(rows),
        agent_backends=agent_rows,
        note=selection.reason,
        fallback=selection.fallback,
        rule=selection.rule,
        bug=selection.bug.id if selection.bug is not None else "",
        headless=selection.headless,
        terminating_fallback=selection.terminating_fallback,
        lost_remotes=tuple(s.text() for s in selection.stale),
    )


def backends_view(
    snapshot: MeshSnapshot,
    key: ServiceKey,
    *,
    contexts: Sequence[str] | None = None,
    agent_lists: Mapping[str, Sequence[Mapping[str, Any]] | None] | None = None,
) -> BackendsView:
    """The service's backends from every (or the given) context's point of view."""
    services = service_map(snapshot, key)
    views = []
    for state in snapshot.clusters:
        if contexts is not None and state.context not in contexts:
            continue
        entries = (agent_lists or {}).get(state.context)
        views.append(backends_perspective(snapshot, key, state, services=services, agent_entries=entries))
    return BackendsView(key, tuple(views))


# --- write targets ------------------------------------------------------------------------


def find_deployment(state: ClusterState, service: Service) -> Deployment | None:
    """The Deployment behind a service's backends in one cluster (for "scale").

    First the owners of the backend pods, then (no backends, e.g. scaled to 0) the deployment
    whose selector agrees with the service's selector. ``None`` when it is ambiguous or absent.
    """
    owners = []
    for backend in service.backends:
        pod = state.pods.get((service.namespace, backend.pod)) if backend.pod else None
        if pod is not None and pod.owner and pod.owner not in owners:
            owners.append(pod.owner)
    for owner in owners:
        found = state.deployments.get((service.namespace, owner))
        if found is not None:
            return found
    if not service.selector:
        return None
    wanted = dict(service.selector)
    matches = [
        d
        for d in state.deployments.values()
        if d.namespace == service.namespace
        and d.selector
        and all(wanted.get(k) == v for k, v in d.selector.items())
    ]
    return matches[0] if len(matches) == 1 else None


@dataclass(frozen=True, slots=True)
class AnnotationState:
    """The current value of one flag's annotation on a service (what a toggle would change)."""

    key: str
    value: str | None
    effective: bool | str


def annotation_state(service: Service, which: str) -> AnnotationState:
    """The annotation key in force for ``which`` (global/shared/affinity) and its value.

    When the service uses the legacy alias, the new name is written (it wins over the alias),
    and ``value`` is the alias's current value so the dialog shows the real old value.
    """
    flags = flags_of(service)
    new_key = {"global": ANNOTATION_GLOBAL, "shared": ANNOTATION_SHARED, "affinity": ANNOTATION_AFFINITY}[
        which
    ]
    used = {"global": flags.global_key, "shared": flags.shared_key, "affinity": flags.affinity_key}[which]
    effective: bool | str = {"global": flags.is_global, "shared": flags.shared, "affinity": flags.affinity}[
        which
    ]
    if used == new_key:
        return AnnotationState(new_key, service.annotations.get(new_key), effective)
    return AnnotationState(new_key, None, effective)


__all__ = [
    "GLYPH_LEGEND",
    "AgentBackend",
    "AnnotationState",
    "BackendRow",
    "BackendsPerspective",
    "BackendsView",
    "ClusterView",
    "FindingView",
    "RemoteView",
    "ServiceCell",
    "ServiceRow",
    "ServicesView",
    "ServicesViewBuilder",
    "StatusView",
    "StatusViewBuilder",
    "annotation_state",
    "backends_perspective",
    "backends_view",
    "cluster_label",
    "cluster_view",
    "connected_remotes",
    "filter_rows",
    "find_deployment",
    "mesh_status",
    "parse_agent_services",
    "parse_key",
    "phase_text",
    "prune_status_cache",
    "service_map",
    "services_view",
    "stale_text",
    "status_view",
]
