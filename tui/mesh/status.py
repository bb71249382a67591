"""What ``cilium clustermesh status`` would say about one cluster (ARCHITECTURE.md Cilium §2).

Follows cilium-cli's ``clustermesh/clustermesh.go`` (``determineStatusConnectivity``,
``parseAgentStatus``, ``remoteClusterStatusToError``, ``outputConnectivityStatus``,
``extractAccessInformation``) and ``k8s.Client.CheckDeploymentStatus``:

* every agent whose document was read adds 1 to ``total``; for each remote cluster it lists,
  ``configured`` +1, and ``connected`` +1 when the remote is ``ready``; a remote that is not
  ready, or expected (``cilium-clustermesh`` secret) but not listed, is an error of that agent
  and makes the agent "not ready";
* min/avg/max are over agents of the count of ready remotes; the average divides by **all
  listed agent pods**, including those whose status could not be read (cilium-cli divides by
  ``len(pods.Items)``); min starts at -1 and stays -1 when no agent was read, as in cilium-cli;
* lines: ``All N nodes are connected to all clusters [min:a / avg:b / max:c]`` (only when some
  cluster is configured), or ``X/N nodes are not connected to all clusters [...]``; then one
  ``cluster2: 1/1 configured, 1/1 connected`` per remote (sorted), or ``No cluster connected``;
  then ``Global services: [ min:x / avg:y / max:z ]`` (``num-global-services``, absent = 0).

Where meshtui differs from the command, because it is a live view rather than a one-shot check:

* an agent whose status could not be read (``AgentStatus.status is None``), or that has no
  ``cluster-mesh`` section while remotes are expected, makes cilium-cli abort; here it is listed
  in :attr:`ClusterMeshStatus.unreadable` and still counts as a listed pod;
* the global-services line is left out (``global_services is None``) when no agent reports
  ``num-global-services`` and the cluster runs Cilium 1.19+, which removed the field.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tui.mesh.model import AgentStatus, CiliumInfo, Deployment, Node
from tui.mesh.version import parse_version

NODEPORT_WARNING = "Service type NodePort detected! Service may fail when nodes are removed from the cluster!"
CONFIG_REQUIRED_NOT_FOUND = "remote cluster configuration required but not found"
KVSTOREMESH_CONTAINER = "kvstoremesh"
KVSTOREMESH_BINARY = "/usr/bin/clustermesh-apiserver"
"""cilium-cli ``defaults.ClusterMeshBinaryName``: ``… kvstoremesh-dbg status -o json``."""
AGENT_CONTAINER = "cilium-agent"
NAMESPACE = "kube-system"


@dataclass(frozen=True, slots=True)
class MinAvgMax:
    """A cilium-cli ``StatisticalStatus``."""

    min: int = -1
    avg: float = 0.0
    max: int = 0

    def text(self) -> str:
        """``min:1 / avg:1.0 / max:1`` (the brackets around it are the caller's)."""
        return f"min:{self.min} / avg:{self.avg:.1f} / max:{self.max}"


@dataclass(frozen=True, slots=True)
class RemoteLink:
    """One agent's view of one remote cluster, every field separately (cilium/cilium#29161)."""

    pod: str
    cluster: str
    listed: bool = True
    """The agent lists this remote (``False``: expected from the secret, absent in the agent)."""
    connected: bool = False
    ready: bool = False
    status: str = ""
    config_present: bool = False
    config_required: bool = False
    config_retrieved: bool = False
    synced: Mapping[str, bool] | None = None
    """``nodes``/``endpoints``/``identities``/``services`` → synced; ``None`` when absent."""
    num_nodes: int = 0
    num_endpoints: int = 0
    num_identities: int = 0
    num_shared_services: int = 0
    num_failures: int = 0
    last_failure: str = ""
    error: str = ""
    """cilium-cli's error text for a remote that is not ready (``""`` when ready)."""
    hint: str = ""
    """cilium-cli's follow-up hint for that error, if any."""


@dataclass(frozen=True, slots=True)
class RemoteClusterStats:
    """Per remote cluster over the agents of one cluster."""

    name: str
    configured: int
    connected: int
    total: int
    """Agents whose status was read (cilium-cli's denominator)."""
    errors: tuple[RemoteLink, ...] = ()

    @property
    def text(self) -> str:
        """``cluster2: 1/1 configured, 1/1 connected``."""
        return (
            f"{self.name}: {self.configured}/{self.total} configured, {self.connected}/{self.total} connected"
        )

    @property
    def ok(self) -> bool:
        return self.total > 0 and self.connected == self.total and self.configured == self.total

    @property
    def first_error(self) -> str:
        """The first agent's error text (``""`` when none)."""
        return self.errors[0].error if self.errors else ""


@dataclass(frozen=True, slots=True)
class LostRemote:
    """A remote that no agent of a cluster is ready for (see :meth:`ClusterMeshStatus.lost_remotes`)."""

    cluster: str
    cached: bool
    """The agents still hold its nodes/services (it was connected before): its backends are used."""
    last_failure: str = ""
    """The newest ``last-failure`` (RFC 3339) any agent reports, ``""`` when none."""
    error: str = ""
    shared_services: int = 0
    connected: bool = False
    """Connected but not ready (still synchronizing): not lost, its data is partly there."""


@dataclass(frozen=True, slots=True)
class UnreadableAgent:
    pod: str
    node: str
    reason: str


@dataclass(frozen=True, slots=True)
class ClusterMeshStatus:
    """The aggregated ClusterMesh status of one cluster's agents."""

    listed: int
    """Agent pods listed (the average's denominator)."""
    total: int
    """Agents whose status was read and parsed."""
    not_ready: int
    connected: MinAvgMax
    clusters: tuple[RemoteClusterStats, ...]
    global_services: MinAvgMax | None
    links: tuple[RemoteLink, ...] = ()
    unreadable: tuple[UnreadableAgent, ...] = ()

    @property
    def errors(self) -> tuple[RemoteLink, ...]:
        """Every not-ready (agent, remote) pair, sorted by pod then cluster."""
        return tuple(link for link in self.links if link.error)

    @property
    def summary_line(self) -> str | None:
        """The "All N nodes ..." / "X/N nodes are not connected ..." line, or ``None``."""
        if self.not_ready > 0:
            return (
                f"{self.not_ready}/{self.total} nodes are not connected to all clusters "
                f"[{self.connected.text()}]"
            )
        if self.clusters:
            return f"All {self.total} nodes are connected to all clusters [{self.connected.text()}]"
        return None

    @property
    def global_services_line(self) -> str | None:
        if self.global_services is None:
            return None
        return f"Global services: [ {self.global_services.text()} ]"

    @property
    def lines(self) -> tuple[str, ...]:
        """The connectivity part of ``cilium clustermesh status``, without emoji."""
        out: list[str] = []
        summary = self.summary_line
        if summary is not None:
            out.append(summary)
        if self.clusters:
            out.append("Cluster Connections:")
            out.extend(f"  - {stats.text}" for stats in self.clusters)
        else:
            out.append("No cluster connected")
        if self.global_services_line is not None:
            out.append(self.global_services_line)
        errors = self.errors
        if errors:
            out.append(f"{len({link.pod for link in errors})} Errors:")
            for link in errors:
                out.append(f"  {link.pod} is not connected to cluster {link.cluster}: {link.error}")
        return tuple(out)

    @property
    def connected_remotes(self) -> frozenset[str]:
        """Remotes at least one agent is ready for (what :func:`merge_global_service` needs)."""
        return frozenset(stats.name for stats in self.clusters if stats.connected > 0)

    def lost_remotes(self) -> tuple[LostRemote, ...]:
        """Remotes no agent is ready for, and whether the agents still hold their data.

        An agent's ``num-nodes`` / ``num-shared-services`` / ``num-endpoints`` count the
        entries of its caches of that remote (cilium/cilium ``pkg/clustermesh/remote_cluster.go``
        ``Status()``), which are drained only when the remote is removed from the configuration,
        never when the connection drops (``clustermesh-cache-ttl`` 0, cilium/cilium#20729). So a
        remote with counts left was connected and its services are still load-balanced to; one
        without never delivered anything (``Waiting for initial connection``, TLS from the start).
        """
        out = []
        for stats in self.clusters:
            if stats.total == 0 or stats.connected > 0:
                continue
            links = [link for link in self.links if link.cluster == stats.name and link.listed]
            cached = any(link.num_shared_services or link.num_nodes or link.num_endpoints for link in links)
            failures = sorted(link.last_failure for link in links if link.last_failure)
            first = next((link for link in links if link.error), None)
            out.append(
                LostRemote(
                    stats.name,
                    cached,
                    failures[-1] if failures else "",
                    first.error if first is not None else stats.first_error,
                    max((link.num_shared_services for link in links), default=0),
                    any(link.connected for link in links),
                )
            )
        return tuple(out)

    def remote(self, name: str) -> RemoteClusterStats | None:
        for stats in self.clusters:
            if stats.name == name:
                return stats
        return None


def remote_cluster_error(remote: Mapping[str, Any] | None) -> str:
    """cilium-cli's ``remoteClusterStatusToError`` on one ``cluster-mesh.clusters[]`` entry.

    Absent fields are false / 0 (the agent's JSON is omitempty).
    """
    if remote is None:
        return "unknown status"
    if not remote.get("connected"):
        return str(remote.get("status") or "")
    config = remote.get("config")
    if config is None:
        return "remote cluster configuration retrieval status unknown"
    if config.get("required") and not config.get("retrieved"):
        return CONFIG_REQUIRED_NOT_FOUND
    synced = remote.get("synced")
    if synced is None:
        return "synchronization status unknown"
    pending = [name for name in ("endpoints", "identities", "nodes", "services") if not synced.get(name)]
    # cilium-cli (v0.19.x) also names the optional flags when present and false
    pending += [
        name
        for name, key in (("service-exports", "service-exports"), ("endpoint-slices", "endpoint-slices"))
        if key in synced and synced.get(key) is False
    ]
    if pending:
        return f"synchronization in progress for {', '.join(pending)}"
    return "not ready"


def _hint(pod: str, cluster: str, remote: Mapping[str, Any] | None, kvstoremesh: bool) -> str:
    """cilium-cli's 💡 line for the error of one remote."""
    if remote is not None and not remote.get("connected"):
        return (
            f"Run 'kubectl exec -it -n {NAMESPACE} {pod} -c {AGENT_CONTAINER} -- "
            f"cilium-dbg troubleshoot clustermesh {cluster}' to investigate the cause"
        )
    if remote is not None and remote_cluster_error(remote) == CONFIG_REQUIRED_NOT_FOUND:
        if kvstoremesh:
            return "This is likely caused by KVStoreMesh not being connected to the given cluster"
        return "Double check if the cluster name matches the one configured in the remote cluster"
    return ""


def failure_time(text: str | None) -> float | None:
    """``last-failure`` (RFC 3339, Go's ``strfmt.DateTime``) → epoch seconds; ``None`` if absent
    or unreadable."""
    if not text:
        return None
    value = str(text).strip().replace("Z", "+00:00")
    if "." in value:  # Go writes nanoseconds; Python reads at most microseconds
        head, _, rest = value.partition(".")
        digits = "".join(ch for ch in rest if ch.isdigit())
        value = f"{head}.{digits[:6]}{rest[len(digits) :]}"
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.timestamp()


def _int(value: Any) -> int:
    return value if type(value) is int or (isinstance(value, int) and not isinstance(value, bool)) else 0


def _is_mapping(value: Any) -> bool:
    """``isinstance(value, Mapping)``, with the common case (a dict) not going through the ABC
    check: 255 clusters' agents report 64,770 links, each with two such fields."""
    return type(value) is dict or isinstance(value, Mapping)


def _link(pod: str, remote: Mapping[str, Any], kvstoremesh: bool) -> RemoteLink:
    name = str(remote.get("name") or "")
    config = remote.get("config")
    synced = remote.get("synced")
    ready = bool(remote.get("ready"))
    error = "" if ready else remote_cluster_error(remote)
    has_config = _is_mapping(config)
    return RemoteLink(
        pod=pod,
        cluster=name,
        listed=True,
        connected=bool(remote.get("connected")),
        ready=ready,
        status=str(remote.get("status") or ""),
        config_present=has_config,
        config_required=bool(config.get("required")) if has_config else False,
        config_retrieved=bool(config.get("retrieved")) if has_config else False,
        synced=(
            {k: bool(synced.get(k)) for k in ("nodes", "endpoints", "identities", "services")}
            if _is_mapping(synced)
            else None
        ),
        num_nodes=_int(remote.get("num-nodes")),
        num_endpoints=_int(remote.get("num-endpoints")),
        num_identities=_int(remote.get("num-identities")),
        num_shared_services=_int(remote.get("num-shared-services")),
        num_failures=_int(remote.get("num-failures")),
        last_failure=str(remote.get("last-failure") or ""),
        error=error,
        hint="" if ready else _hint(pod, name, remote, kvstoremesh),
    )


def clustermesh_status(
    agents: Sequence[AgentStatus],
    expected_remotes: Collection[str] = (),
    cilium_version: str | None = None,
    kvstoremesh: bool = False,
) -> ClusterMeshStatus:
    """Aggregate the agents' ``cilium status -o json`` documents of one cluster.

    ``expected_remotes`` are the remotes configured in the ``cilium-clustermesh`` secret
    (``CiliumInfo.clustermesh_secret_remotes``): they are listed even before any agent reports
    them. ``kvstoremesh`` only changes the hint for "configuration required but not found".
    """
    expected = sorted(set(expected_remotes))
    configured: dict[str, int] = {name: 0 for name in expected}
    connected_count: dict[str, int] = {name: 0 for name in expected}
    total = not_ready = 0
    conn_min, conn_max, conn_sum = -1, 0, 0
    gs_min, gs_max, gs_sum = -1, 0, 0
    gs_reported = False
    links: list[RemoteLink] = []
    unreadable: list[UnreadableAgent] = []

    for agent in agents:
        document = agent.status
        if document is None:
            unreadable.append(UnreadableAgent(agent.pod, agent.node, agent.error or "status not read"))
            continue
        mesh = document.get("cluster-mesh")
        if not isinstance(mesh, Mapping):
            if expected:
                unreadable.append(
                    UnreadableAgent(agent.pod, agent.node, "ClusterMesh status is not available")
                )
            continue
        total += 1
        if "num-global-services" in mesh:
            gs_reported = True
        services = _int(mesh.get("num-global-services"))
        if gs_min < 0 or gs_min > services:
            gs_min = services
        gs_max = max(gs_max, services)
        gs_sum += services

        remotes: dict[str, Mapping[str, Any]] = {}
        for remote in mesh.get("clusters") or ():
            if isinstance(remote, Mapping):
                remotes[str(remote.get("name") or "")] = remote
        ready = 0
        for name, remote in remotes.items():
            configured[name] = configured.get(name, 0) + 1
            connected_count.setdefault(name, 0)
            link = _link(agent.pod, remote, kvstoremesh)
            links.append(link)
            if link.ready:
                ready += 1
                connected_count[name] += 1
        missing = False
        for name in expected:
            if name not in remotes:
                missing = True
                links.append(RemoteLink(agent.pod, name, listed=False, error="unknown status"))
        if missing or ready != len(remotes):
            not_ready += 1
        if conn_min < 0 or conn_min > ready:
            conn_min = ready
        conn_max = max(conn_max, ready)
        conn_sum += ready

    listed = len(agents)
    divisor = listed if listed else 1
    links.sort(key=lambda link: (link.pod, link.cluster))
    # One pass, not one per remote: 255 clusters' agents list 254 remotes each.
    errors: dict[str, list[RemoteLink]] = {}
    for link in links:
        if link.error:
            errors.setdefault(link.cluster, []).append(link)
    clusters = tuple(
        RemoteClusterStats(
            name=name,
            configured=configured[name],
            connected=connected_count.get(name, 0),
            total=total,
            errors=tuple(errors.get(name, ())),
        )
        for name in sorted(configured)
    )
    global_services: MinAvgMax | None = MinAvgMax(gs_min, gs_sum / divisor if listed else 0.0, gs_max)
    version = parse_version(cilium_version)
    if not gs_reported and version is not None and (version.major, version.minor) >= (1, 19):
        global_services = None
    return ClusterMeshStatus(
        listed=listed,
        total=total,
        not_ready=not_ready,
        connected=MinAvgMax(conn_min, conn_sum / divisor if listed else 0.0, conn_max),
        clusters=clusters,
        global_services=global_services,
        links=tuple(links),
        unreadable=tuple(unreadable),
    )


def cluster_mesh_status(cilium: CiliumInfo) -> ClusterMeshStatus:
    """:func:`clustermesh_status` with everything taken from one cluster's :class:`CiliumInfo`."""
    deployment = cilium.clustermesh_deployment
    return clustermesh_status(
        cilium.agents,
        cilium.clustermesh_secret_remotes,
        cilium.version,
        kvstoremesh_enabled(deployment) if deployment is not None else False,
    )


def kvstoremesh_status(cilium: CiliumInfo) -> ClusterMeshStatus | None:
    """KVStoreMesh's own connectivity (cilium-cli ``statusConnectivity`` with
    ``KVStoreMeshConnectivity``): each clustermesh-apiserver pod's ``kvstoremesh-dbg status``
    aggregated exactly like the agents, expected remotes from ``cilium-kvstoremesh``.

    ``None`` when KVStoreMesh is off (no ``kvstoremesh`` container) or nothing was read yet;
    pods whose version has no status command are skipped, as cilium-cli does.
    """
    deployment = cilium.clustermesh_deployment
    if deployment is None or not kvstoremesh_enabled(deployment) or not cilium.kvstoremesh:
        return None
    documents = []
    for read in cilium.kvstoremesh:
        if read.not_supported:
            continue
        status = None if read.remotes is None else {"cluster-mesh": {"clusters": list(read.remotes)}}
        documents.append(AgentStatus(read.pod, "", read.pod_ready, status, read.error, read.read_at))
    if not documents:
        return None
    return clustermesh_status(documents, cilium.kvstoremesh_secret_remotes, cilium.version, False)


# --- clustermesh-apiserver access and deployment ---------------------------------------------


@dataclass(frozen=True, slots=True)
class AccessInfo:
    """How remote clusters reach this cluster's clustermesh-apiserver (cilium-cli's view)."""

    service_type: str | None = None
    ips: tuple[str, ...] = ()
    port: int | None = None
    warnings: tuple[str, ...] = ()
    error: str | None = None
    """Why no address could be derived (cilium-cli's error text), else ``None``."""
    external_kvstore: bool = False
    """``identity-allocation-mode`` is not ``crd``: cilium-cli skips the service checks."""

    @property
    def addresses(self) -> tuple[str, ...]:
        """``172.30.1.89:32379`` for each IP."""
        if self.port is None:
            return ()
        return tuple(f"[{ip}]:{self.port}" if ":" in ip else f"{ip}:{self.port}" for ip in self.ips)

    @property
    def lines(self) -> tuple[str, ...]:
        """The access part of ``cilium clustermesh status``, without emoji."""
        if self.external_kvstore:
            return ("Cilium is configured with an external kvstore",)
        out = list(self.warnings)
        if self.service_type is not None:
            out.append(f'Service "clustermesh-apiserver" of type "{self.service_type}" found')
        if self.error is not None:
            out.append(f"Cluster access information is not available: {self.error}")
        else:
            out.append("Cluster access information is available:")
            out.extend(f"  - {address}" for address in self.addresses)
        return tuple(out)


def _node_address(node: Node) -> str:
    """ExternalIP wins over InternalIP, whatever their order (cilium-cli's loop)."""
    return node.external_ip or node.internal_ip


def access_info(cilium: CiliumInfo, nodes: Sequence[Node]) -> AccessInfo:
    """cilium-cli's ``extractAccessInformation`` for the cluster's own clustermesh-apiserver.

    ClusterIP → ``clusterIP:ports[0].port``; NodePort → the first node with an address
    (ExternalIP before InternalIP) ``:ports[0].nodePort`` plus the NodePort warning;
    LoadBalancer → each ingress IP ``:ports[0].port``. An unknown
    ``identity-allocation-mode`` (``None``) is not taken as an external kvstore.
    """
    mode = cilium.identity_allocation_mode
    if mode is not None and mode != "crd":
        return AccessInfo(external_kvstore=True)
    svc = cilium.clustermesh_service
    if svc is None:
        return AccessInfo(error="clustermesh-apiserver service not found")
    kind = svc.type
    if kind not in ("ClusterIP", "NodePort", "LoadBalancer"):
        return AccessInfo(service_type=kind, error="unable to derive service IPs automatically")
    if not svc.ports:
        return AccessInfo(
            service_type=kind, error="port of service could not be derived, service has no ports"
        )
    first = svc.ports[0]
    if kind == "ClusterIP":
        if not first.port:
            return AccessInfo(service_type=kind, error="port is not set in service")
        if not svc.cluster_ip:
            return AccessInfo(
                service_type=kind,
                port=first.port,
                error="IP of service could not be derived, service has no ClusterIP",
            )
        return AccessInfo(service_type=kind, ips=(svc.cluster_ip,), port=first.port)
    if kind == "NodePort":
        if not first.node_port:
            return AccessInfo(service_type=kind, error="nodeport is not set in service")
        warnings = (NODEPORT_WARNING,)
        for node in nodes:
            address = _node_address(node)
            if address:
                return AccessInfo(service_type=kind, ips=(address,), port=first.node_port, warnings=warnings)
        return AccessInfo(
            service_type=kind,
            port=first.node_port,
            warnings=warnings,
            error="unable to derive service IPs automatically",
        )
    ips = tuple(ip for ip in svc.load_balancer_ips if ip)
    if not ips:
        return AccessInfo(
            service_type=kind,
            port=first.port,
            warnings=("Service is of type LoadBalancer but has no IPs assigned",),
            error="unable to derive service IPs automatically",
        )
    return AccessInfo(service_type=kind, ips=ips, port=first.port)


def deployment_not_ready_reason(deployment: Deployment) -> str | None:
    """cilium-cli's ``CheckDeploymentStatus`` error text, or ``None`` when ready.

    ``replicas``/``*_replicas`` are the Deployment's status counts.
    """
    if deployment.observed_generation != deployment.generation:
        return (
            f"observed generation ({deployment.observed_generation}) is older than generation "
            f"of the desired state ({deployment.generation})"
        )
    replicas = deployment.replicas
    if replicas == 0:
        return "replicas count is zero"
    if deployment.available_replicas != replicas:
        return f"only {deployment.available_replicas} of {replicas} replicas are available"
    if deployment.ready_replicas != replicas:
        return f"only {deployment.ready_replicas} of {replicas} replicas are ready"
    if deployment.updated_replicas != replicas:
        return f"only {deployment.updated_replicas} of {replicas} replicas are up-to-date"
    return None


def deployment_ready(deployment: Deployment) -> bool:
    """observedGeneration == generation, replicas > 0, available == ready == updated == replicas."""
    return deployment_not_ready_reason(deployment) is None


def kvstoremesh_enabled(deployment: Deployment) -> bool:
    """KVStoreMesh runs when the pod template has a container named ``kvstoremesh``."""
    return any(container.name == KVSTOREMESH_CONTAINER for container in deployment.containers)
