"""The Contexts and Mesh panes' model and ``meshtui status``: :class:`StatusView`.

Every context's identity, access state, Cilium and ClusterMesh picture (:class:`ClusterView`),
plus the connect checks' findings. :class:`StatusViewBuilder` recomputes a cluster's row only
when its Cilium objects, nodes or phase changed, and the findings only when their inputs did.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from tui.mesh.checks import Finding, connect_checks, service_findings, sort_findings
from tui.mesh.model import USABLE_PHASES, ClusterState, MeshSnapshot
from tui.mesh.status import AccessInfo, access_info, deployment_not_ready_reason, kvstoremesh_enabled
from tui.views.labels import cluster_label, phase_text
from tui.views.meshcache import MeshStatusCache, same_cilium


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


def cluster_view(state: ClusterState, cache: MeshStatusCache | None = None) -> ClusterView:
    """The :class:`ClusterView` of one context (pure; cached by :class:`StatusViewBuilder`)."""
    cache = cache if cache is not None else MeshStatusCache()
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
    if not state.usable and not cilium.agents:
        return ClusterView(**base)
    status = cache.mesh_status(state)
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
    kvm = cache.kvstoremesh_view(cilium) if kvm_on else None
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
    ClusterState object changed (phase, Cilium objects or agents).

    ``cache``: the ClusterMesh statuses, shared with the other builders of one consumer
    (:class:`tui.views.builder.ViewBuilder`); this builder prunes it to each snapshot's objects.
    """

    def __init__(self, cache: MeshStatusCache | None = None) -> None:
        self.cache = cache if cache is not None else MeshStatusCache()
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
                    view = cluster_view(state, self.cache)
                fresh[state.context] = (inputs, view)
                rows.append(view)
            self._rows = fresh
            self.cache.prune(state.cilium for state in snapshot.clusters)
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
                    mesh_status=self.cache.cilium_mesh_status,
                    kvm_status=self.cache.kvstoremesh_view,
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


def status_view(snapshot: MeshSnapshot) -> StatusView:
    """One-shot :class:`StatusView` (headless use; the app keeps a builder)."""
    return StatusViewBuilder().build(snapshot)


# --- services -----------------------------------------------------------------------------
