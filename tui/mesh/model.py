"""Plain, immutable data read from each cluster: the contract between every layer.

The cluster-access layer (``tui.kube``) builds these from API JSON; the rules (``tui.mesh``)
consume them; the views and widgets display what the rules derive. Nothing here does I/O or
imports Textual or kubernetes, so the rules can be tested on hand-written values and the
simulator can reuse them.

Conventions:
* ``cluster`` always means the Cilium cluster name (``cluster-name`` of ``cilium-config``),
  ``context`` the kubeconfig context. They differ (``bastion02`` is ``cluster1``).
* Mappings are stored as read-only ``MappingProxyType`` via :func:`frozen_map`; tuples
  everywhere else, so a snapshot handed to another thread cannot change under it.
* Times are epoch seconds (``time.time()``), ``None`` when unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

Affinity = Literal["local", "remote", "none"]
ServiceKey = tuple[str, str]
"""(namespace, name): how Cilium matches a global service across clusters."""

_EMPTY: Mapping[str, str] = MappingProxyType({})


def frozen_map(data: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """A read-only copy of ``data`` (or the shared empty mapping)."""
    if not data:
        return _EMPTY
    return MappingProxyType(dict(data))


@dataclass(frozen=True, slots=True)
class ServicePort:
    """One port of a Service (``targetPort`` may be a number or a named port)."""

    port: int
    target_port: int | str | None = None
    name: str = ""
    protocol: str = "TCP"
    node_port: int | None = None


@dataclass(frozen=True, slots=True)
class Backend:
    """One endpoint of a service in one cluster, from that cluster's EndpointSlices.

    ``ready``/``serving``/``terminating`` are the EndpointSlice conditions. Cilium treats a
    backend as *active* when it is ready and not terminating (see :attr:`active`).
    """

    cluster: str
    ip: str
    port: int
    pod: str = ""
    node: str = ""
    ready: bool = True
    serving: bool = True
    terminating: bool = False

    @property
    def active(self) -> bool:
        """Usable for new connections: ready and not terminating."""
        return self.ready and not self.terminating

    @property
    def address(self) -> str:
        """``ip:port`` as operators read it."""
        return f"{self.ip}:{self.port}"


@dataclass(frozen=True, slots=True)
class Service:
    """A Service of one cluster with its backends (that cluster's EndpointSlices, merged)."""

    namespace: str
    name: str
    annotations: Mapping[str, str] = field(default_factory=frozen_map)
    labels: Mapping[str, str] = field(default_factory=frozen_map)
    type: str = "ClusterIP"
    cluster_ip: str = ""
    ports: tuple[ServicePort, ...] = ()
    selector: Mapping[str, str] = field(default_factory=frozen_map)
    backends: tuple[Backend, ...] = ()
    load_balancer_ips: tuple[str, ...] = ()
    """``status.loadBalancer.ingress[].ip`` (or resolved hostname) for LoadBalancer services."""

    @property
    def key(self) -> ServiceKey:
        return (self.namespace, self.name)

    @property
    def ready_endpoints(self) -> int:
        """Backends Cilium would use: ready and not terminating (:attr:`Backend.active`, inlined:
        a 64-cluster services table asks 128,000 services)."""
        return len([b for b in self.backends if b.ready and not b.terminating])


@dataclass(frozen=True, slots=True)
class Container:
    name: str
    image: str = ""


@dataclass(frozen=True, slots=True)
class Pod:
    """The pods the app needs: Cilium agents, curl clients and service backends."""

    namespace: str
    name: str
    labels: Mapping[str, str] = field(default_factory=frozen_map)
    node: str = ""
    ip: str = ""
    phase: str = "Pending"
    ready: bool = False
    deleting: bool = False
    """``metadata.deletionTimestamp`` is set: the pod is terminating."""
    containers: tuple[Container, ...] = ()
    owner: str = ""
    """Name of the owning Deployment when known (else the ReplicaSet / DaemonSet name)."""
    started_at: float | None = None

    @property
    def key(self) -> ServiceKey:
        return (self.namespace, self.name)


@dataclass(frozen=True, slots=True)
class Deployment:
    """A Deployment with the status fields cilium-cli and ``kubectl scale`` look at."""

    namespace: str
    name: str
    replicas: int = 0
    ready_replicas: int = 0
    available_replicas: int = 0
    updated_replicas: int = 0
    generation: int = 0
    observed_generation: int = 0
    selector: Mapping[str, str] = field(default_factory=frozen_map)
    """``spec.selector.matchLabels``."""
    labels: Mapping[str, str] = field(default_factory=frozen_map)
    annotations: Mapping[str, str] = field(default_factory=frozen_map)
    containers: tuple[Container, ...] = ()
    """The pod template's containers (``kvstoremesh`` there means KVStoreMesh is on)."""

    @property
    def key(self) -> ServiceKey:
        return (self.namespace, self.name)


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    internal_ip: str = ""
    external_ip: str = ""
    pod_cidrs: tuple[str, ...] = ()
    ready: bool = True


@dataclass(frozen=True, slots=True)
class AgentStatus:
    """One Cilium agent pod and what its ``cilium status -o json`` said (if read).

    ``status`` is the whole parsed JSON document, unmodified: the rules read its
    ``cluster-mesh`` part with the omitempty semantics of the agent (absent = false / 0).
    """

    pod: str
    node: str = ""
    pod_ready: bool = False
    status: Mapping[str, Any] | None = None
    error: str | None = None
    """Why the status could not be read (exec failed, timed out, bad JSON)."""
    read_at: float | None = None


@dataclass(frozen=True, slots=True)
class KVStoreMeshRead:
    """One clustermesh-apiserver pod's ``kvstoremesh-dbg status -o json`` (container
    ``kvstoremesh``): KVStoreMesh's own links to the remote clusters (ARCHITECTURE.md Cilium §2).

    ``remotes`` is the parsed list of ``RemoteCluster`` documents as KVStoreMesh wrote them
    (omitempty: absent = false / 0), ``None`` when it could not be read.
    """

    pod: str
    pod_ready: bool = False
    remotes: tuple[Mapping[str, Any], ...] | None = None
    error: str | None = None
    not_supported: bool = False
    """The pod's version has no ``kvstoremesh-dbg status`` (cilium-cli skips it then)."""
    read_at: float | None = None


@dataclass(frozen=True, slots=True)
class CiliumInfo:
    """What one cluster's kube-system says about Cilium and its ClusterMesh.

    Every field may be unknown (``None`` / empty) while syncing or when RBAC forbids reading
    it; the rules then say "unknown" rather than guess.
    """

    cluster_name: str | None = None
    """``cilium-config`` ``cluster-name``; ``""`` in the ConfigMap means ``default``."""
    cluster_id: int | None = None
    cluster_id_raw: str | None = None
    """The raw ``cluster-id`` string, kept so a non-numeric value can be reported."""
    max_connected_clusters: int | None = None
    identity_allocation_mode: str | None = None
    version: str | None = None
    """Cilium version, e.g. ``1.14.1`` (from the agent image tag or the status document)."""
    config_present: bool = False
    """``kube-system/cilium-config`` exists."""
    ca_ski: str | None = None
    """Hex SubjectKeyId of ``cilium-ca`` ``ca.crt`` (never the certificate or key itself)."""
    clustermesh_service: Service | None = None
    """``kube-system/clustermesh-apiserver``."""
    clustermesh_deployment: Deployment | None = None
    clustermesh_secret_remotes: tuple[str, ...] = ()
    """Keys of ``cilium-clustermesh`` (other than the local name) whose value has ``endpoints:``."""
    agents: tuple[AgentStatus, ...] = ()
    version_source: str = ""
    """Where :attr:`version` came from: ``image`` (agent image tag) or ``agent`` (``cilium
    version``, when the image carries only a digest); ``""`` when unknown."""
    ipam_mode: str | None = None
    """``cilium-config`` ``ipam`` (``cluster-pool`` when absent: Cilium's default)."""
    pool_cidrs: tuple[str, ...] = ()
    """``cluster-pool-ipv4-cidr`` / ``cluster-pool-ipv6-cidr`` (space or comma separated) and
    the older ``cluster-pool-ipv4-cidr``-style keys, as written."""
    kvstoremesh_secret_remotes: tuple[str, ...] = ()
    """Keys of ``cilium-kvstoremesh`` (other than the local name) whose value has ``endpoints:``:
    the remotes KVStoreMesh is configured for."""
    kvstoremesh: tuple[KVStoreMeshRead, ...] = ()
    """``kvstoremesh-dbg status`` of each running clustermesh-apiserver pod (KVStoreMesh on)."""


ClusterPhase = Literal["syncing", "ok", "stale", "unreachable", "forbidden", "error"]

USABLE_PHASES: frozenset[str] = frozenset({"ok", "stale"})
"""Phases whose data the rules may trust (:attr:`ClusterState.usable`); a cluster in any other
phase is *unknown*, never "no service"."""


@dataclass(frozen=True, slots=True)
class ClusterState:
    """Everything known about one kubeconfig context at one moment.

    ``phase`` is the access state the operator sees: ``syncing`` until the first full list,
    ``ok`` while watches are healthy, ``stale`` when they broke after data was read (the data
    is kept, ``since`` says from when), ``unreachable`` (``reason`` says why), ``forbidden``
    (``reason`` names the verb and resource), ``error`` for a broken context in the kubeconfig.
    """

    context: str
    phase: ClusterPhase = "syncing"
    since: float | None = None
    reason: str = ""
    server: str = ""
    """API server URL of the context (never credentials)."""
    cilium: CiliumInfo = field(default_factory=CiliumInfo)
    nodes: tuple[Node, ...] = ()
    services: Mapping[ServiceKey, Service] = field(default_factory=frozen_map)
    deployments: Mapping[ServiceKey, Deployment] = field(default_factory=frozen_map)
    pods: Mapping[ServiceKey, Pod] = field(default_factory=frozen_map)
    allowed: Mapping[str, bool] = field(default_factory=frozen_map)
    """Access review results by action id (``"patch services"``, ``"patch deployments/scale"``...)."""
    denied_reasons: Mapping[str, str] = field(default_factory=frozen_map)

    @property
    def cluster(self) -> str:
        """The Cilium cluster name, falling back to the context while unknown."""
        return self.cilium.cluster_name or self.context

    @property
    def usable(self) -> bool:
        """Its data may be shown and judged: ``ok``, or ``stale`` (read, then the watches
        broke: the last data is kept and said to be old). Reads, views and curl loops use it."""
        return self.phase in USABLE_PHASES

    @property
    def writable(self) -> bool:
        """A write may be planned and sent: ``ok`` only. A ``stale`` cluster's data may be out
        of date (the old value a confirmation shows, an "already so" that skips a write) and its
        broken watch could never show the change landing; its API may not answer at all.
        The app, the headless write commands and the sample apps all follow this one rule
        (:mod:`tui.writeplan`)."""
        return self.phase == "ok"


@dataclass(frozen=True, slots=True)
class MeshSnapshot:
    """All contexts at one moment, in kubeconfig order. ``generation`` grows with every change."""

    clusters: tuple[ClusterState, ...] = ()
    generation: int = 0
    taken_at: float = 0.0
    config_errors: tuple[str, ...] = ()
    """Problems with the kubeconfig itself (unreadable file, unknown --context, ...)."""

    def by_context(self, context: str) -> ClusterState | None:
        for state in self.clusters:
            if state.context == context:
                return state
        return None

    def by_cluster(self, cluster: str) -> ClusterState | None:
        for state in self.clusters:
            if state.cluster == cluster:
                return state
        return None
