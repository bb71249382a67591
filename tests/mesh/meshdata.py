"""Small builders for hand-written mesh data used by the rules tests (no I/O)."""

from __future__ import annotations

from typing import Any

from tui.mesh.model import (
    AgentStatus,
    Backend,
    CiliumInfo,
    ClusterState,
    Container,
    Deployment,
    Node,
    Service,
    ServicePort,
    frozen_map,
)

KEY = ("song", "userlist-svc")
GLOBAL = {"service.cilium.io/global": "true"}


def backend(
    cluster: str, n: int = 1, *, ready: bool = True, terminating: bool = False, serving: bool | None = None
) -> Backend:
    """Backend ``n`` of ``cluster`` (cluster1 → 10.1.0.n)."""
    digit = "".join(ch for ch in cluster if ch.isdigit()) or "9"
    return Backend(
        cluster=cluster,
        ip=f"10.{digit}.0.{n}",
        port=8181,
        pod=f"userlist-{cluster}-{n}",
        ready=ready,
        serving=ready if serving is None else serving,
        terminating=terminating,
    )


def service(
    cluster: str, annotations: dict[str, str] | None = None, *backends: Backend, ready: int | None = None
) -> Service:
    """``song/userlist-svc`` in ``cluster``; ``ready=N`` adds N ready backends."""
    bes = list(backends)
    if ready is not None:
        bes += [backend(cluster, i + 1) for i in range(ready)]
    return Service(
        namespace=KEY[0],
        name=KEY[1],
        annotations=frozen_map(GLOBAL if annotations is None else annotations),
        backends=tuple(bes),
    )


def remote(
    name: str,
    *,
    ready: bool = True,
    connected: bool | None = None,
    status: str = "",
    config: dict[str, Any] | None = None,
    synced: dict[str, bool] | None = None,
    omit: tuple[str, ...] = (),
) -> dict[str, Any]:
    """One ``cluster-mesh.clusters[]`` entry, omitempty style (false values left out)."""
    entry: dict[str, Any] = {"name": name}
    is_connected = ready if connected is None else connected
    if is_connected:
        entry["connected"] = True
    if ready:
        entry["ready"] = True
    entry["status"] = status or (
        "etcd: 1/1 connected" if is_connected else "Waiting for initial connection to be established"
    )
    entry["config"] = {"required": True, "retrieved": True, "cluster-id": 2} if config is None else config
    entry["synced"] = (
        {"nodes": True, "endpoints": True, "identities": True, "services": True} if synced is None else synced
    )
    for key in omit:
        entry.pop(key, None)
    return entry


def agent(
    pod: str, *remotes: dict[str, Any], global_services: int | None = None, mesh: bool = True
) -> AgentStatus:
    """An agent pod whose status document lists ``remotes``."""
    document: dict[str, Any] = {}
    if mesh:
        cm: dict[str, Any] = {"clusters": list(remotes)}
        if global_services:
            cm["num-global-services"] = global_services
        document["cluster-mesh"] = cm
    return AgentStatus(pod=pod, node=f"node-{pod}", pod_ready=True, status=frozen_map(document))


def unreadable(pod: str, error: str = "exec timed out") -> AgentStatus:
    return AgentStatus(pod=pod, node=f"node-{pod}", status=None, error=error)


def cluster(
    context: str,
    name: str | None,
    cluster_id: int | None,
    *,
    phase: str = "ok",
    version: str | None = "1.14.1",
    max_connected: int | None = 255,
    ski: str | None = None,
    id_raw: str | None = None,
    service_type: str | None = None,
    pod_cidrs: tuple[str, ...] = (),
    agents: tuple[AgentStatus, ...] = (),
    remotes: tuple[str, ...] = (),
    deployment: Deployment | None = None,
    config_present: bool = True,
) -> ClusterState:
    """A cluster as the kube layer would describe it."""
    svc = None
    if service_type is not None:
        svc = Service(
            namespace="kube-system",
            name="clustermesh-apiserver",
            type=service_type,
            cluster_ip="10.96.0.10",
            ports=(ServicePort(port=2379, node_port=32379 if service_type != "ClusterIP" else None),),
            load_balancer_ips=("172.18.0.50",) if service_type == "LoadBalancer" else (),
        )
    nodes = tuple(
        Node(name=f"{context}-node{i}", internal_ip=f"172.30.1.{i + 80}", pod_cidrs=(cidr,))
        for i, cidr in enumerate(pod_cidrs)
    )
    return ClusterState(
        context=context,
        phase=phase,  # type: ignore[arg-type]
        cilium=CiliumInfo(
            cluster_name=name,
            cluster_id=cluster_id,
            cluster_id_raw=id_raw
            if id_raw is not None
            else (None if cluster_id is None else str(cluster_id)),
            max_connected_clusters=max_connected,
            identity_allocation_mode="crd",
            version=version,
            config_present=config_present,
            ca_ski=ski,
            clustermesh_service=svc,
            clustermesh_deployment=deployment,
            clustermesh_secret_remotes=remotes,
            agents=agents,
        ),
        nodes=nodes,
    )


def deployment(**overrides: Any) -> Deployment:
    """A ready clustermesh-apiserver Deployment (overrides change the status counts)."""
    values: dict[str, Any] = dict(
        namespace="kube-system",
        name="clustermesh-apiserver",
        replicas=1,
        ready_replicas=1,
        available_replicas=1,
        updated_replicas=1,
        generation=2,
        observed_generation=2,
        containers=(Container("etcd"), Container("apiserver")),
    )
    values.update(overrides)
    return Deployment(**values)
