"""Connect-time and mesh health checks across every cluster (ARCHITECTURE.md Cilium §1 and §2).

The identity checks are cilium-cli's ``validateInfoForConnect`` applied to all clusters at
once (default name / ID 0, non-numeric or out-of-range ID, duplicate names or IDs, different
``max-connected-clusters``), plus Cilium's cluster-name rule, the CA comparison by
SubjectKeyId, the NodePort warning of ``cilium clustermesh status``, the documented pod-CIDR
requirement, and what the agents report (remotes not connected, unreadable agents, a
clustermesh-apiserver that is not ready, clusters that are not connected to each other).

Every :class:`Finding` names the clusters involved and the exact command that fixes it, with
the real kubeconfig contexts and concrete values (a free cluster ID, a valid name, a
non-overlapping CIDR).

Only clusters whose data can be trusted take part: phase ``ok`` or ``stale``, and for each
check the fields it needs must be known. ``config_present=True`` means ``cilium-config`` was
read, so a missing key there means Cilium's default (name ``default``, ID 0,
max-connected-clusters 255), exactly as cilium-cli reads it; without it the values are unknown
and produce no finding.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from tui.mesh.actions import affinity_action
from tui.mesh.annotations import ANNOTATION_AFFINITY, LEGACY_AFFINITY, flags_of
from tui.mesh.model import CiliumInfo, ClusterState, Node
from tui.mesh.rules import AFFINITY_NONE_BUG, affinity_mode, cilium_rule
from tui.mesh.status import (
    AGENT_CONTAINER,
    KVSTOREMESH_BINARY,
    KVSTOREMESH_CONTAINER,
    NAMESPACE,
    ClusterMeshStatus,
    cluster_mesh_status,
    deployment_not_ready_reason,
    kvstoremesh_enabled,
    kvstoremesh_status,
)
from tui.mesh.version import CiliumVersion, parse_version

Severity = Literal["error", "warning", "info"]

CLUSTER_NAME_RE = re.compile(r"^([a-z0-9][-a-z0-9]*)?[a-z0-9]$")
CLUSTER_NAME_MAX = 32
DEFAULT_MAX_CONNECTED = 255
VALID_MAX_CONNECTED = (255, 511)
CA_MISMATCH_TEXT = (
    "Cilium CA certificates do not match between clusters. Multicluster features will be limited!"
)

CHECK_ORDER = (
    "cluster-name",
    "cluster-id",
    "duplicate-name",
    "duplicate-id",
    "max-connected-clusters",
    "ca-mismatch",
    "pod-cidr-overlap",
    "affinity-local-only",
    "clustermesh-apiserver-not-ready",
    "kvstoremesh-local",
    "remote-not-connected",
    "kvstoremesh-not-connected",
    "kvstoremesh-status-unreadable",
    "agent-status-unreadable",
    "nodeport",
    "mesh-not-connected",
)
_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem, the clusters it involves, and how to fix it."""

    severity: Severity
    check: str
    """Short stable id (``cluster-id``, ``ca-mismatch``, ...); see :data:`CHECK_ORDER`."""
    clusters: tuple[str, ...]
    message: str
    fix: str
    """The command(s) that fix it, one per line."""
    contexts: tuple[str, ...] = ()
    """The kubeconfig contexts of :attr:`clusters`, in the same order."""
    fixes: tuple[str, ...] = field(default=())
    """:attr:`fix` split into single commands."""


def _finding(
    severity: Severity,
    check: str,
    members: Sequence[_Cluster],
    message: str,
    fixes: Sequence[str],
) -> Finding:
    return Finding(
        severity=severity,
        check=check,
        clusters=tuple(m.label for m in members),
        message=message,
        fix="\n".join(fixes),
        contexts=tuple(m.context for m in members),
        fixes=tuple(fixes),
    )


@dataclass(slots=True)
class _Cluster:
    """What the checks know about one cluster; ``None`` = unknown."""

    state: ClusterState
    index: int
    label: str
    context: str
    name: str | None
    id_raw: str | None
    id: int | None
    max_connected: int | None
    version: CiliumVersion | None


def _effective(state: ClusterState, index: int) -> _Cluster:
    cilium = state.cilium
    name: str | None
    if cilium.cluster_name is not None:
        name = cilium.cluster_name or "default"
    else:
        name = "default" if cilium.config_present else None
    id_raw: str | None
    if cilium.cluster_id is not None:
        id_raw = cilium.cluster_id_raw if cilium.cluster_id_raw else str(cilium.cluster_id)
    elif cilium.cluster_id_raw is not None:
        id_raw = cilium.cluster_id_raw.strip() or "0"
    else:
        id_raw = "0" if cilium.config_present else None
    cluster_id: int | None = cilium.cluster_id
    if cluster_id is None and id_raw is not None:
        try:
            cluster_id = int(id_raw)
        except ValueError:
            cluster_id = None
    max_connected = cilium.max_connected_clusters
    if max_connected is None and cilium.config_present:
        max_connected = DEFAULT_MAX_CONNECTED
    return _Cluster(
        state=state,
        index=index,
        label=state.cluster,
        context=state.context,
        name=name,
        id_raw=id_raw,
        id=cluster_id,
        max_connected=max_connected,
        version=parse_version(cilium.version),
    )


def _cmd(*args: str) -> str:
    return shlex.join(args)


def _upgrade(ctx: str, *settings: str) -> str:
    args = ["cilium", "upgrade", "--context", ctx]
    for setting in settings:
        args += ["--set", setting]
    return _cmd(*args)


class _Allocator:
    """Hands out cluster IDs and names nobody uses yet, so suggested fixes never collide."""

    def __init__(self, clusters: Sequence[_Cluster]) -> None:
        self.ids = {c.id for c in clusters if c.id is not None and c.id > 0}
        self.names = {c.name for c in clusters if c.name is not None}
        known_max = [c.max_connected for c in clusters if c.max_connected in VALID_MAX_CONNECTED]
        self.limit = min(known_max) if known_max else DEFAULT_MAX_CONNECTED
        self.planned_ids: dict[str, int] = {}
        """Context → the ID a fix already suggests for it (a reinstall must use the same)."""
        self.planned_names: dict[str, str] = {}

    def new_id(self, context: str) -> int | None:
        planned = self.planned_ids.get(context)
        if planned is None:
            planned = self.free_id()
            if planned is not None:
                self.planned_ids[context] = planned
        return planned

    def new_name(self, context: str, base: str) -> str:
        planned = self.planned_names.get(context)
        if planned is None:
            planned = self.planned_names[context] = self.free_name(base)
        return planned

    def free_id(self) -> int | None:
        for candidate in range(1, self.limit + 1):
            if candidate not in self.ids:
                self.ids.add(candidate)
                return candidate
        return None

    def free_name(self, context: str) -> str:
        candidate = re.sub(r"[^a-z0-9-]+", "-", context.lower()).strip("-")[:CLUSTER_NAME_MAX].strip("-")
        if not (candidate and CLUSTER_NAME_RE.match(candidate)) or candidate in self.names:
            number = 1
            while f"cluster{number}" in self.names:
                number += 1
            candidate = f"cluster{number}"
        self.names.add(candidate)
        return candidate


def _name_findings(clusters: Sequence[_Cluster], alloc: _Allocator) -> list[Finding]:
    out: list[Finding] = []
    for c in clusters:
        if c.name is None:
            continue
        if c.name == "default":
            new = alloc.new_name(c.context, c.context)
            out.append(
                _finding(
                    "error",
                    "cluster-name",
                    [c],
                    f"{c.label} has the default cluster name (cilium-config cluster-name unset): "
                    "it cannot join a ClusterMesh until it has a unique name",
                    [_upgrade(c.context, f"cluster.name={new}")],
                )
            )
        elif len(c.name) > CLUSTER_NAME_MAX or not CLUSTER_NAME_RE.match(c.name):
            strict = c.version is not None and (c.version.major, c.version.minor) >= (1, 17)
            new = alloc.new_name(c.context, c.name)
            consequence = (
                "Cilium 1.17+ refuses to start with it"
                if strict
                else "Cilium 1.16 warns about it and 1.17+ refuses to start with it"
            )
            out.append(
                _finding(
                    "error" if strict else "warning",
                    "cluster-name",
                    [c],
                    f"cluster name {c.name!r} on {c.label} is invalid (at most 32 lower-case letters, "
                    f"digits or '-', starting and ending with a letter or digit): {consequence}",
                    [_upgrade(c.context, f"cluster.name={new}")],
                )
            )
    return out


def _id_findings(clusters: Sequence[_Cluster], alloc: _Allocator) -> list[Finding]:
    out: list[Finding] = []
    for c in clusters:
        if c.id_raw is None:
            continue
        limit = c.max_connected if c.max_connected in VALID_MAX_CONNECTED else DEFAULT_MAX_CONNECTED
        if c.id is None:
            message = f"cluster ID {c.id_raw!r} on {c.label} is not a number: only 1-{limit} are allowed"
        elif c.id == 0:
            message = (
                f"{c.label} has cluster ID 0 (cilium-config cluster-id unset or 0): "
                "it is not configured for ClusterMesh"
            )
        elif not 1 <= c.id <= limit:
            message = f"cluster ID {c.id} on {c.label} is out of the acceptable range (1-{limit})"
        else:
            continue
        new = alloc.new_id(c.context)
        fix = _upgrade(c.context, f"cluster.id={new}") if new is not None else ""
        out.append(_finding("error", "cluster-id", [c], message, [fix] if fix else []))
    return out


def _duplicate_findings(clusters: Sequence[_Cluster], alloc: _Allocator) -> list[Finding]:
    out: list[Finding] = []
    by_name: dict[str, list[_Cluster]] = {}
    by_id: dict[int, list[_Cluster]] = {}
    for c in clusters:
        if c.name is not None and c.name != "default":
            by_name.setdefault(c.name, []).append(c)
        if c.id is not None and c.id > 0:
            by_id.setdefault(c.id, []).append(c)
    for name, group in by_name.items():
        if len(group) < 2:
            continue
        fixes = [
            _upgrade(c.context, f"cluster.name={alloc.new_name(c.context, c.context)}") for c in group[1:]
        ]
        out.append(
            _finding(
                "error",
                "duplicate-name",
                group,
                f"{len(group)} clusters share the cluster name {name!r} "
                f"(contexts {', '.join(c.context for c in group)}): names must be unique in a mesh",
                fixes,
            )
        )
    for cluster_id, group in by_id.items():
        if len(group) < 2:
            continue
        fixes = []
        for c in group[1:]:
            new = alloc.new_id(c.context)
            if new is not None:
                fixes.append(_upgrade(c.context, f"cluster.id={new}"))
        out.append(
            _finding(
                "error",
                "duplicate-id",
                group,
                f"{', '.join(c.label for c in group)} share cluster ID {cluster_id}: IDs must be unique "
                "in a mesh (changing the ID restarts Cilium and re-creates identities)",
                fixes,
            )
        )
    return out


def _reinstall(c: _Cluster, max_connected: int, alloc: _Allocator) -> str:
    """Uninstall + install with the same identity (or the one other fixes already suggest)."""
    settings = []
    name = alloc.planned_names.get(c.context, c.name)
    if name is not None and name != "default":
        settings += ["--set", f"cluster.name={name}"]
    cluster_id = alloc.planned_ids.get(c.context, c.id)
    if cluster_id is not None and cluster_id > 0:
        settings += ["--set", f"cluster.id={cluster_id}"]
    settings += ["--set", f"clustermesh.maxConnectedClusters={max_connected}"]
    version = ["--version", str(c.version)] if c.version is not None else []
    return (
        _cmd("cilium", "uninstall", "--context", c.context)
        + " && "
        + _cmd("cilium", "install", "--context", c.context, *version, *settings)
    )


def _max_connected_findings(clusters: Sequence[_Cluster], alloc: _Allocator) -> list[Finding]:
    out: list[Finding] = []
    known = [c for c in clusters if c.max_connected is not None]
    for c in known:
        if c.max_connected not in VALID_MAX_CONNECTED:
            out.append(
                _finding(
                    "error",
                    "max-connected-clusters",
                    [c],
                    f"max-connected-clusters is {c.max_connected} on {c.label}: only 255 or 511 are valid",
                    [_reinstall(c, DEFAULT_MAX_CONNECTED, alloc)],
                )
            )
    values = Counter(c.max_connected for c in known)
    if len(values) < 2:
        return out
    # Keep the most common value (ties: the first cluster's); reinstall the others.
    best = max(values.values())
    target = next(int(c.max_connected or 0) for c in known if values[c.max_connected] == best)
    odd = [c for c in known if c.max_connected != target]
    detail = "; ".join(
        f"{value} on {', '.join(c.label for c in known if c.max_connected == value)}" for value in values
    )
    out.append(
        _finding(
            "error",
            "max-connected-clusters",
            known,
            f"max-connected-clusters differs between clusters ({detail}); clusters with different "
            "values cannot connect, and it can only be set at install time (no migration path)",
            [_reinstall(c, target, alloc) for c in odd],
        )
    )
    return out


def _ca_findings(clusters: Sequence[_Cluster]) -> list[Finding]:
    known = [c for c in clusters if c.state.cilium.ca_ski]
    groups: dict[str, list[_Cluster]] = {}
    for c in known:
        groups.setdefault(str(c.state.cilium.ca_ski).lower(), []).append(c)
    if len(groups) < 2:
        return []
    reference = max(groups.values(), key=len)  # ties: dict order = kubeconfig order
    source = reference[0]
    fixes: list[str] = []
    for c in known:
        if c in reference:
            continue
        fixes.append(
            _cmd("kubectl", "--context", c.context, "-n", NAMESPACE, "delete", "secret", "cilium-ca")
        )
        fixes.append(
            _cmd(
                "kubectl",
                "--context",
                source.context,
                "-n",
                NAMESPACE,
                "get",
                "secret",
                "cilium-ca",
                "-o",
                "yaml",
            )
            + " | "
            + _cmd("kubectl", "--context", c.context, "create", "-f", "-")
        )
        fixes.append(
            _cmd(
                "kubectl",
                "--context",
                c.context,
                "-n",
                NAMESPACE,
                "rollout",
                "restart",
                "daemonset/cilium",
                "deployment/clustermesh-apiserver",
            )
        )
    detail = "; ".join(f"{', '.join(c.label for c in group)}: {ski[:8]}…" for ski, group in groups.items())
    return [
        _finding(
            "warning",
            "ca-mismatch",
            known,
            f"{CA_MISMATCH_TEXT} (cilium-ca SubjectKeyId {detail}). cilium-cli after v0.19.2 "
            f"refuses to connect them without --allow-mismatching-ca. Copy {source.label}'s "
            "cilium-ca to the others, then restart Cilium there.",
            fixes,
        )
    ]


def _nodeport_findings(clusters: Sequence[_Cluster]) -> list[Finding]:
    out = []
    for c in clusters:
        svc = c.state.cilium.clustermesh_service
        if svc is not None and svc.type == "NodePort":
            out.append(
                _finding(
                    "warning",
                    "nodeport",
                    [c],
                    f"clustermesh-apiserver is NodePort on {c.label}: "
                    "the service may fail when nodes are removed from the cluster",
                    [
                        _cmd(
                            "cilium",
                            "clustermesh",
                            "enable",
                            "--context",
                            c.context,
                            "--service-type",
                            "LoadBalancer",
                        )
                    ],
                )
            )
    return out


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


POOL_MODES = ("cluster-pool", "cluster-pool-v2beta")
"""IPAM modes whose pod ranges are ``cilium-config`` ``cluster-pool-ipv4-cidr`` (+ v6), handed
out by the operator to CiliumNode ``spec.ipam.podCIDRs`` (Cilium's default)."""


def pod_ranges(cilium: CiliumInfo, nodes: Sequence[Node]) -> tuple[str, tuple[str, ...]]:
    """(where the ranges come from, the ranges) of a cluster's pods, by its IPAM mode.

    ``cluster-pool`` → the pool in ``cilium-config``; ``kubernetes`` → the Nodes'
    ``spec.podCIDR(s)``; other modes (``multi-pool``, ``eni``, ``azure``, ``alibabacloud``,
    ``crd``) keep their ranges in their own objects: ``()``, not checked. Under cluster-pool
    the Nodes' ``podCIDR`` (kubeadm's 10.244.x.0/24 everywhere) is unrelated to Cilium.
    A mode that was not read (``None``) falls back to the Nodes' podCIDRs.
    """
    mode = cilium.ipam_mode
    if mode in POOL_MODES:
        return f"cilium-config {mode} pool", cilium.pool_cidrs
    if mode is None or mode == "kubernetes":
        return "Node podCIDRs", tuple(cidr for node in nodes for cidr in node.pod_cidrs)
    return f"IPAM {mode}", ()


def _pod_networks(c: _Cluster) -> list[Network]:
    networks: list[Network] = []
    for cidr in pod_ranges(c.state.cilium, c.state.nodes)[1]:
        try:
            networks.append(ipaddress.ip_network(cidr, strict=False))
        except ValueError:
            continue
    v4 = list(ipaddress.collapse_addresses(n for n in networks if n.version == 4))
    v6 = list(ipaddress.collapse_addresses(n for n in networks if n.version == 6))
    return [*v4, *v6]


def _free_pod_cidr(used: list[Network]) -> str | None:
    for second in range(0, 256):
        candidate = ipaddress.ip_network(f"10.{second}.0.0/16")
        if not any(candidate.version == n.version and candidate.overlaps(n) for n in used):
            used.append(candidate)
            return str(candidate)
    return None


def _cidr_findings(clusters: Sequence[_Cluster]) -> list[Finding]:
    """Sweep over (start, end) intervals so 64 clusters × thousands of nodes stay fast."""
    per_cluster = [(c, _pod_networks(c)) for c in clusters]
    intervals: list[tuple[int, int, int, int, Network]] = []
    for position, (_c, networks) in enumerate(per_cluster):
        for net in networks:
            intervals.append(
                (net.version, int(net.network_address), int(net.broadcast_address), position, net)
            )
    intervals.sort()
    overlaps: dict[tuple[int, int], list[tuple[Network, Network]]] = {}
    active: list[tuple[int, int, int, int, Network]] = []
    for item in intervals:
        version, start, _end, position, net = item
        active = [a for a in active if a[0] == version and a[2] >= start]
        for other in active:
            if other[3] != position:
                pair = (min(other[3], position), max(other[3], position))
                first, second = (other[4], net) if other[3] < position else (net, other[4])
                overlaps.setdefault(pair, []).append((first, second))
        active.append(item)
    used: list[Network] = [n for _c, nets in per_cluster for n in nets]
    out: list[Finding] = []
    for (i, j), nets in sorted(overlaps.items()):
        a, b = per_cluster[i][0], per_cluster[j][0]
        shown = ", ".join(f"{x} ∩ {y}" for x, y in nets[:3])
        v4 = all(x.version == 4 for x, _ in nets)
        fixes: list[str] = []
        source_a = pod_ranges(a.state.cilium, a.state.nodes)[0]
        source_b = pod_ranges(b.state.cilium, b.state.nodes)[0]
        pool = b.state.cilium.ipam_mode in POOL_MODES
        if v4 and (pool or b.state.cilium.ipam_mode is None):
            free = _free_pod_cidr(used)
            if free is not None:
                fixes.append(_upgrade(b.context, f"ipam.operator.clusterPoolIPv4PodCIDRList={free}"))
        how = (
            "Move it to a free range (cluster-pool IPAM; existing pods keep their IPs until restarted)."
            if pool or b.state.cilium.ipam_mode is None
            else "Its Node podCIDRs come from kube-controller-manager's --cluster-cidr (IPAM kubernetes)."
        )
        sources = source_a if source_a == source_b else f"{a.label}: {source_a}; {b.label}: {source_b}"
        out.append(
            _finding(
                "error",
                "pod-cidr-overlap",
                [a, b],
                f"pod CIDRs of {a.label} and {b.label} overlap ({shown}, from {sources}): pod IPs must "
                f"be unique across the mesh. {b.label}: {how}",
                fixes,
            )
        )
    return out


def _troubleshoot(c: _Cluster, pod: str, remote: str) -> str:
    if c.version is not None and (c.version.major, c.version.minor) < (1, 15):
        command = ["cilium", "status", "--verbose"]
    else:
        command = ["cilium-dbg", "troubleshoot", "clustermesh", remote]
    return _cmd(
        "kubectl", "--context", c.context, "-n", NAMESPACE, "exec", pod, "-c", AGENT_CONTAINER, "--", *command
    )


def _kvstoremesh_findings(
    c: _Cluster, status: ClusterMeshStatus | None, by_name: Mapping[str, _Cluster]
) -> list[Finding]:
    """KVStoreMesh → remote problems, told apart from agent → local ones (cilium-cli
    ``statusConnectivity`` with ``KVStoreMeshConnectivity``)."""
    if status is None:
        return []
    out: list[Finding] = []
    if status.unreadable:
        first = status.unreadable[0]
        out.append(
            _finding(
                "warning",
                "kvstoremesh-status-unreadable",
                [c],
                f"{len(status.unreadable)}/{status.listed} KVStoreMesh replicas of {c.label} could not be "
                f"read ({first.pod}: {first.reason})",
                [_kvstoremesh_exec(c, first.pod, "status", "-o", "json")],
            )
        )
    for stats in status.clusters:
        if not stats.errors:
            continue
        link = stats.errors[0]
        remote = by_name.get(stats.name)
        fix = _kvstoremesh_exec(c, link.pod, "troubleshoot", stats.name)
        out.append(
            Finding(
                severity="error",
                check="kvstoremesh-not-connected",
                clusters=(c.label, stats.name),
                message=(
                    f"KVStoreMesh of {c.label} → {stats.name}: {len({e.pod for e in stats.errors})}/"
                    f"{status.total} replicas not ready for it "
                    f"({link.pod}: {link.error or 'not connected'}). "
                    f"KVStoreMesh → remote, not the agents: {c.label}'s agents keep {stats.name}'s last "
                    "known services (updates stop; connections to gone backends fail)"
                ),
                fix=fix,
                contexts=(c.context, remote.context) if remote is not None else (c.context,),
                fixes=(fix,),
            )
        )
    return out


def _kvstoremesh_exec(c: _Cluster, pod: str, *args: str) -> str:
    """``kubectl exec … -c kvstoremesh -- /usr/bin/clustermesh-apiserver kvstoremesh-dbg …``
    (cilium-cli ``defaults.ClusterMeshBinaryName``)."""
    return _cmd(
        "kubectl", "--context", c.context, "-n", NAMESPACE, "exec", pod, "-c", KVSTOREMESH_CONTAINER,
        "--", KVSTOREMESH_BINARY, "kvstoremesh-dbg", *args,
    )  # fmt: skip


def service_findings(state: ClusterState) -> list[Finding]:
    """What one cluster's services mean under its Cilium version: a global service whose
    affinity word a 1.18.x / 1.19.x agent reads as "local backends only" (cilium/cilium#46623).

    An error when the service has no ready local backend (connections from that cluster fail
    now), a warning otherwise (the other clusters' backends are never used, and it fails as soon
    as the local ones are gone). The fix removes the annotation, which means no preference in
    every version. Only clusters on an affected release are scanned.
    """
    if not state.usable:
        return []
    rule = cilium_rule(state.cilium.version)
    if not rule.affinity_word_local_only:
        return []
    out: list[Finding] = []
    cluster = state.cluster
    for service in state.services.values():
        annotations = service.annotations
        if not annotations or (ANNOTATION_AFFINITY not in annotations and LEGACY_AFFINITY not in annotations):
            continue
        flags = flags_of(service)
        if affinity_mode(rule, flags.affinity, flags.affinity_raw, flags.is_global) != "local-only":
            continue
        action = affinity_action(state.context, service.namespace, service.name, annotations, "none")
        fixes = [action.kubectl()] if action is not None else []
        word = repr(flags.affinity_raw)
        name = f"{service.namespace}/{service.name}"
        if service.ready_endpoints == 0:
            severity: Severity = "error"
            consequence = f"it has no ready local backend: connections from {cluster} fail"
        else:
            severity = "warning"
            consequence = (
                "the other clusters' backends are never used, and connections from "
                f"{cluster} fail once its own backends are gone"
            )
        out.append(
            Finding(
                severity=severity,
                check="affinity-local-only",
                clusters=(cluster,),
                message=(
                    f"{name} on {cluster} has affinity {word}: {rule.version_text} reads it as 'local "
                    f"backends only' (cilium/cilium#46623; {AFFINITY_NONE_BUG.affected}); {consequence}. "
                    "Removing the annotation means no preference in every version"
                ),
                fix="\n".join(fixes),
                contexts=(state.context,),
                fixes=tuple(fixes),
            )
        )
    return out


def _mesh_findings(
    clusters: Sequence[_Cluster],
    mesh_status: Callable[[CiliumInfo], ClusterMeshStatus] = cluster_mesh_status,
    kvm_status: Callable[[CiliumInfo], ClusterMeshStatus | None] = kvstoremesh_status,
) -> list[Finding]:
    out: list[Finding] = []
    by_name = {c.name: c for c in clusters if c.name}
    knows: dict[str, set[str]] = {}
    for c in clusters:
        cilium = c.state.cilium
        deployment = cilium.clustermesh_deployment
        if deployment is not None:
            reason = deployment_not_ready_reason(deployment)
            if reason is not None:
                out.append(
                    _finding(
                        "error",
                        "clustermesh-apiserver-not-ready",
                        [c],
                        f"deployment clustermesh-apiserver on {c.label} is not ready: {reason}",
                        [
                            _cmd(
                                "kubectl",
                                "--context",
                                c.context,
                                "-n",
                                NAMESPACE,
                                "rollout",
                                "restart",
                                "deployment/clustermesh-apiserver",
                            )
                        ],
                    )
                )
        if not cilium.agents:
            continue
        status = mesh_status(cilium)
        readable = status.total > 0 or bool(cilium.clustermesh_secret_remotes)
        if readable and c.name:
            knows[c.name] = set(cilium.clustermesh_secret_remotes) | {s.name for s in status.clusters}
        if status.unreadable:
            first = status.unreadable[0]
            out.append(
                _finding(
                    "warning",
                    "agent-status-unreadable",
                    [c],
                    f"{len(status.unreadable)}/{status.listed} Cilium agents on {c.label} could not be read "
                    f"({first.pod}: {first.reason}); they are left out of the mesh counts "
                    "but lower the average",
                    [
                        _cmd(
                            "kubectl",
                            "--context",
                            c.context,
                            "-n",
                            NAMESPACE,
                            "exec",
                            first.pod,
                            "-c",
                            AGENT_CONTAINER,
                            "--",
                            "cilium",
                            "status",
                            "-o",
                            "json",
                        )
                    ],
                )
            )
        kvm_on = deployment is not None and kvstoremesh_enabled(deployment)
        local_down = [
            stats for stats in status.clusters if kvm_on and stats.errors and not stats.errors[0].connected
        ]
        if local_down:
            link = local_down[0].errors[0]
            pods = len({e.pod for stats in local_down for e in stats.errors})
            names = ", ".join(stats.name for stats in local_down)
            out.append(
                _finding(
                    "error",
                    "kvstoremesh-local",
                    [c],
                    f"{pods}/{status.total} agents of {c.label} cannot reach {c.label}'s own "
                    "clustermesh-apiserver (KVStoreMesh is on: agents read every remote from it), so "
                    f"{names} look disconnected to them ({link.pod}: {link.error or 'not connected'}). "
                    "Agent → local clustermesh-apiserver, not the remote side: the agents keep the "
                    "last state they read",
                    [
                        _cmd(
                            "kubectl",
                            "--context",
                            c.context,
                            "-n",
                            NAMESPACE,
                            "rollout",
                            "status",
                            "deployment/clustermesh-apiserver",
                        ),
                        _troubleshoot(c, link.pod, local_down[0].name),
                    ],
                )
            )
        for stats in status.clusters:
            if not stats.errors or stats in local_down:
                continue
            link = stats.errors[0]
            pods = len({e.pod for e in stats.errors})
            remote = by_name.get(stats.name)
            fix = _troubleshoot(c, link.pod, stats.name)
            hint = f". {link.hint}" if link.hint and "troubleshoot" not in link.hint else ""
            out.append(
                Finding(
                    severity="error",
                    check="remote-not-connected",
                    clusters=(c.label, stats.name),
                    message=(
                        f"{c.label} → {stats.name}: {pods}/{status.total} agents not ready for it "
                        f"({link.pod}: {link.error or 'not connected'}){hint}"
                    ),
                    fix=fix,
                    contexts=(c.context, remote.context) if remote is not None else (c.context,),
                    fixes=(fix,),
                )
            )
        if kvm_on:
            out += _kvstoremesh_findings(c, kvm_status(cilium), by_name)

    # Clusters with ClusterMesh enabled that are not connected to each other.
    enabled = [
        c
        for c in clusters
        if c.name in knows
        and c.name != "default"
        and (
            c.state.cilium.clustermesh_service is not None
            or c.state.cilium.clustermesh_deployment is not None
        )
    ]
    for i, a in enumerate(enabled):
        for b in enabled[i + 1 :]:
            a_to_b = b.name in knows[str(a.name)]
            b_to_a = a.name in knows[str(b.name)]
            if a_to_b and b_to_a:
                continue
            connect = _cmd(
                "cilium", "clustermesh", "connect", "--context", a.context, "--destination-context", b.context
            )
            if not a_to_b and not b_to_a:
                out.append(
                    _finding(
                        "info",
                        "mesh-not-connected",
                        [a, b],
                        f"{a.label} and {b.label} both have ClusterMesh enabled but are not connected",
                        [connect],
                    )
                )
            else:
                src, dst = (b, a) if a_to_b else (a, b)
                out.append(
                    _finding(
                        "warning",
                        "mesh-not-connected",
                        [src, dst],
                        f"{src.label} is not configured to connect to {dst.label} "
                        "(only the other direction is)",
                        [connect],
                    )
                )
    return out


def connect_checks(
    clusters: Sequence[ClusterState],
    *,
    mesh_status: Callable[[CiliumInfo], ClusterMeshStatus] = cluster_mesh_status,
    kvm_status: Callable[[CiliumInfo], ClusterMeshStatus | None] = kvstoremesh_status,
    services: bool = True,
) -> list[Finding]:
    """Every finding across ``clusters`` (kubeconfig order), errors first.

    ``mesh_status`` computes one cluster's ``cilium clustermesh status`` (``kvm_status`` its
    KVStoreMesh status); the app passes ones cached per CiliumInfo object, so 64 clusters whose
    agents did not change are not parsed again on every snapshot. ``services=False`` leaves out
    :func:`service_findings` (the app computes those per changed cluster).
    """
    usable = [_effective(state, index) for index, state in enumerate(clusters) if state.usable]
    alloc = _Allocator(usable)
    findings: list[Finding] = []
    findings += _name_findings(usable, alloc)
    findings += _id_findings(usable, alloc)
    findings += _duplicate_findings(usable, alloc)
    findings += _max_connected_findings(usable, alloc)
    findings += _ca_findings(usable)
    findings += _cidr_findings(usable)
    findings += _nodeport_findings(usable)
    findings += _mesh_findings(usable, mesh_status, kvm_status)
    if services:
        for state in clusters:
            findings += service_findings(state)
    return sort_findings(findings)


def sort_findings(findings: Sequence[Finding]) -> list[Finding]:
    """Errors first, then by :data:`CHECK_ORDER` (stable otherwise)."""
    order = {check: i for i, check in enumerate(CHECK_ORDER)}
    return sorted(findings, key=lambda f: (_SEVERITY_ORDER[f.severity], order.get(f.check, len(order))))
