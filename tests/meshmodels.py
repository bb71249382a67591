"""The one set of hand-written mesh data for tests, benchmarks and screenshots (no I/O).

Small builders for the rules tests (:func:`backend`, :func:`service`, :func:`remote`,
:func:`agent`, :func:`cluster`, :func:`deployment`), and whole snapshots: the seed scenario
(:func:`seed_snapshot`, the field guide's names: contexts ``bastion02``/``bastion03`` =
``cluster1``/``cluster2``, namespace ``song``, ``userlist-svc``) and its variants (syncing,
unreachable, findings, forbidden, a large generated mesh), with agent status documents shaped
as ARCHITECTURE.md Cilium §2 describes them. Product code never imports this module (it lives
under ``tests/``; tools add ``tests`` to their path).

:func:`apply_write` changes a snapshot the way a cluster would answer a write (annotation set or
removed, deployment scaled with pods and endpoints following), so the fixture source
(:class:`staticsource.StaticSource`) can play writes back without a cluster.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from tui.mesh.actions import Scale, SetAnnotation, WriteAction
from tui.mesh.annotations import ANNOTATION_GLOBAL, ANNOTATION_SHARED
from tui.mesh.model import (
    AgentStatus,
    Backend,
    CiliumInfo,
    ClusterState,
    Container,
    Deployment,
    MeshSnapshot,
    Node,
    Pod,
    Service,
    ServiceKey,
    ServicePort,
    frozen_map,
)

# --- small builders (the rules tests) ----------------------------------------------------

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


# --- the seed mesh and its variants (the app, headless and screenshot tests) ---------------

SEED_TIME = 1_764_000_000.0
"""A fixed clock (2025-11-24 16:00 UTC) so fixtures and snapshots are reproducible."""

CILIUM_VERSION = "1.14.1"

ALL_ALLOWED: Mapping[str, bool] = frozen_map(
    {
        "patch services": True,
        "patch deployments/scale": True,
        "create pods/exec": True,
        "list services": True,
    }
)


def _ski(seed: str) -> str:
    """A stable fake SubjectKeyId (hex pairs) derived from ``seed``."""
    digest = hashlib.sha1(seed.encode()).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, 40, 2))


SHARED_CA = _ski("seed-ca")
_EMPTY_ANN: Mapping[str, str] = frozen_map()


def _pod_suffix(seed: str) -> str:
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    digest = hashlib.sha1(seed.encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest[:5])


# --- agent status documents -------------------------------------------------------------


def remote_status(
    remote: str,
    remote_id: int,
    *,
    connected: bool = True,
    address: str = "172.30.1.85:32379",
    num_global_services: int = 1,
) -> dict[str, Any]:
    """One entry of ``cluster-mesh.clusters`` as the 1.14 agent writes it (omitempty: no false/0)."""
    if not connected:
        return {
            "name": remote,
            "status": "Waiting for initial connection to be established",
            "num-failures": 3,
            "last-failure": "2025-11-24T15:59:40Z",
        }
    return {
        "name": remote,
        "connected": True,
        "ready": True,
        "status": (
            "etcd: 1/1 connected, leases=0, lock leases=0, has-quorum=true: "
            f"https://{address} - 3.5.4 (Leader)"
        ),
        "num-nodes": 1,
        "num-endpoints": 4,
        "num-identities": 7,
        "num-shared-services": num_global_services,
        "config": {"required": True, "retrieved": True, "cluster-id": remote_id, "sync-canaries": True},
        "synced": {"nodes": True, "endpoints": True, "identities": True, "services": True},
    }


def agent_document(remotes: Iterable[dict[str, Any]], *, num_global_services: int = 1) -> dict[str, Any]:
    """A ``cilium status -o json`` document with the parts meshtui reads."""
    clusters = list(remotes)
    mesh: dict[str, Any] = {"clusters": clusters} if clusters else {}
    if num_global_services:
        mesh["num-global-services"] = num_global_services
    return {
        "cilium": {"state": "Ok", "msg": "Cilium: Ok"},
        "kvstore": {"state": "Disabled"},
        "cluster-mesh": mesh,
        "stale": {},
    }


# --- building blocks --------------------------------------------------------------------


def _userlist_service(cluster: str, backends: tuple[Backend, ...], **annotations: str) -> Service:
    ann = {ANNOTATION_GLOBAL: "true", ANNOTATION_SHARED: "true"}
    ann.update({k.replace("_", "."): v for k, v in annotations.items()})
    return Service(
        namespace="song",
        name="userlist-svc",
        annotations=frozen_map(ann),
        labels=frozen_map({"app": "userlist"}),
        type="ClusterIP",
        cluster_ip="10.96.12.34" if cluster == "cluster1" else "10.96.40.7",
        ports=(ServicePort(port=80, target_port=8181, name="http"),),
        selector=frozen_map({"app": "userlist"}),
        backends=backends,
    )


def _backend_pod(name: str, ip: str, node: str, owner: str, app: str, image: str) -> Pod:
    return Pod(
        namespace="song",
        name=name,
        labels=frozen_map({"app": app}),
        node=node,
        ip=ip,
        phase="Running",
        ready=True,
        containers=(Container(app, image),),
        owner=owner,
        started_at=SEED_TIME - 3600,
    )


def _deployment(namespace: str, name: str, replicas: int, app: str, image: str) -> Deployment:
    return Deployment(
        namespace=namespace,
        name=name,
        replicas=replicas,
        ready_replicas=replicas,
        available_replicas=replicas,
        updated_replicas=replicas,
        generation=1,
        observed_generation=1,
        selector=frozen_map({"app": app}),
        labels=frozen_map({"app": app}),
        containers=(Container(app, image),),
    )


def _clustermesh_objects(node_ip: str) -> tuple[Service, Deployment]:
    service = Service(
        namespace="kube-system",
        name="clustermesh-apiserver",
        type="NodePort",
        cluster_ip="10.96.200.10",
        ports=(ServicePort(port=2379, target_port=2379, node_port=32379, name="etcd"),),
        selector=frozen_map({"k8s-app": "clustermesh-apiserver"}),
        backends=(),
    )
    deployment = Deployment(
        namespace="kube-system",
        name="clustermesh-apiserver",
        replicas=1,
        ready_replicas=1,
        available_replicas=1,
        updated_replicas=1,
        generation=1,
        observed_generation=1,
        selector=frozen_map({"k8s-app": "clustermesh-apiserver"}),
        containers=(Container("etcd"), Container("apiserver")),
    )
    return service, deployment


def seed_cluster(
    context: str,
    cluster: str,
    cluster_id: int,
    *,
    node_name: str,
    node_ip: str,
    pod_prefix: str,
    userlist_ip: str,
    userlist_pod: str,
    remotes: Iterable[dict[str, Any]],
    ca_ski: str = SHARED_CA,
    secret_remotes: tuple[str, ...] = (),
) -> ClusterState:
    """One cluster of the seed scenario: Cilium, clustermesh-apiserver, userlist and curltest."""
    agent_pod = f"cilium-{_pod_suffix(context + '-agent')}"
    curl_pod = f"curltest-7d9c5b6f4-{_pod_suffix(context + '-curl')}"
    backends = (Backend(cluster, userlist_ip, 8181, pod=userlist_pod, node=node_name),)
    cm_service, cm_deployment = _clustermesh_objects(node_ip)
    services = {
        ("song", "userlist-svc"): _userlist_service(cluster, backends),
        ("default", "kubernetes"): Service(
            namespace="default",
            name="kubernetes",
            cluster_ip="10.96.0.1",
            ports=(ServicePort(port=443, target_port=6443, name="https"),),
            backends=(Backend(cluster, node_ip, 6443, node=node_name),),
        ),
        ("kube-system", "clustermesh-apiserver"): cm_service,
        ("kube-system", "kube-dns"): Service(
            namespace="kube-system",
            name="kube-dns",
            cluster_ip="10.96.0.10",
            ports=(ServicePort(port=53, target_port=53, name="dns", protocol="UDP"),),
            selector=frozen_map({"k8s-app": "kube-dns"}),
            backends=(Backend(cluster, f"{pod_prefix}.0.3", 53, pod="coredns-5d78c9869d-4xk2p"),),
        ),
    }
    deployments = {
        ("song", "userlist"): _deployment("song", "userlist", 1, "userlist", "ssongman/userlist:v1"),
        ("song", "curltest"): _deployment("song", "curltest", 1, "curltest", "curlimages/curl"),
        ("kube-system", "clustermesh-apiserver"): cm_deployment,
    }
    pods = {
        ("song", userlist_pod): _backend_pod(
            userlist_pod, userlist_ip, node_name, "userlist", "userlist", "ssongman/userlist:v1"
        ),
        ("song", curl_pod): _backend_pod(
            curl_pod, f"{pod_prefix}.0.21", node_name, "curltest", "curltest", "curlimages/curl"
        ),
        ("kube-system", agent_pod): Pod(
            namespace="kube-system",
            name=agent_pod,
            labels=frozen_map({"k8s-app": "cilium"}),
            node=node_name,
            ip=node_ip,
            phase="Running",
            ready=True,
            containers=(Container("cilium-agent", f"quay.io/cilium/cilium:v{CILIUM_VERSION}"),),
            owner="cilium",
        ),
    }
    remotes = list(remotes)
    agent = AgentStatus(
        pod=agent_pod,
        node=node_name,
        pod_ready=True,
        status=agent_document(remotes, num_global_services=1),
        read_at=SEED_TIME,
    )
    return ClusterState(
        context=context,
        phase="ok",
        since=SEED_TIME - 60,
        server=f"https://{node_ip}:6443",
        cilium=CiliumInfo(
            cluster_name=cluster,
            cluster_id=cluster_id,
            cluster_id_raw=str(cluster_id),
            max_connected_clusters=255,
            identity_allocation_mode="crd",
            version=CILIUM_VERSION,
            config_present=True,
            ca_ski=ca_ski,
            clustermesh_service=cm_service,
            clustermesh_deployment=cm_deployment,
            clustermesh_secret_remotes=secret_remotes or tuple(r["name"] for r in remotes),
            agents=(agent,),
        ),
        nodes=(Node(node_name, internal_ip=node_ip, pod_cidrs=(f"{pod_prefix}.0.0/24",)),),
        services=frozen_map(services),
        deployments=frozen_map(deployments),
        pods=frozen_map(pods),
        allowed=ALL_ALLOWED,
    )


def _cluster1(**kw: Any) -> ClusterState:
    return seed_cluster(
        "bastion02",
        "cluster1",
        1,
        node_name="bastion02",
        node_ip="172.30.1.89",
        pod_prefix="10.1",
        userlist_ip="10.1.0.12",
        userlist_pod="userlist-6c9f7d8b5-x2x8q",
        remotes=kw.pop("remotes", [remote_status("cluster2", 2, address="172.30.1.85:32379")]),
        **kw,
    )


def _cluster2(**kw: Any) -> ClusterState:
    return seed_cluster(
        "bastion03",
        "cluster2",
        2,
        node_name="bastion03",
        node_ip="172.30.1.85",
        pod_prefix="10.2",
        userlist_ip="10.2.0.33",
        userlist_pod="userlist-6c9f7d8b5-9kq2z",
        remotes=kw.pop("remotes", [remote_status("cluster1", 1, address="172.30.1.89:32379")]),
        **kw,
    )


# --- the scenarios ----------------------------------------------------------------------


def seed_snapshot(generation: int = 1) -> MeshSnapshot:
    """The field guide's mesh after step 6: two connected clusters, userlist-svc global + shared."""
    return MeshSnapshot(clusters=(_cluster1(), _cluster2()), generation=generation, taken_at=SEED_TIME)


def syncing_snapshot() -> MeshSnapshot:
    """Right after start: no cluster has answered yet."""
    return MeshSnapshot(
        clusters=(
            ClusterState(context="bastion02", server="https://172.30.1.89:6443"),
            ClusterState(context="bastion03", server="https://172.30.1.85:6443"),
        ),
        generation=1,
        taken_at=SEED_TIME,
    )


def unreachable_snapshot(base: MeshSnapshot | None = None) -> MeshSnapshot:
    """``bastion03`` stopped answering: its data is kept but marked, cluster1 lost its remote."""
    base = base or seed_snapshot()
    c1, c2 = base.clusters[0], base.clusters[1]
    lost = remote_status("cluster2", 2, connected=False)
    lost["status"] = "etcd: 0/1 connected: https://172.30.1.85:32379 - context deadline exceeded"
    c1 = _with_agent_remotes(c1, [lost])
    c2 = dataclasses.replace(
        c2,
        phase="unreachable",
        since=SEED_TIME - 42,
        reason="dial tcp 172.30.1.85:6443: connect: connection refused",
    )
    return MeshSnapshot(
        clusters=(c1, c2, *base.clusters[2:]), generation=base.generation + 1, taken_at=SEED_TIME
    )


def findings_snapshot() -> MeshSnapshot:
    """A third cluster joined badly: same cluster id as cluster2 and a CA of its own."""
    c1 = _cluster1(
        remotes=[
            remote_status("cluster2", 2, address="172.30.1.85:32379"),
            {
                "name": "cluster3",
                "status": "tls: failed to verify certificate: x509: certificate signed by unknown authority",
                "num-failures": 12,
                "last-failure": "2025-11-24T15:59:58Z",
                "config": {"required": True},
            },
        ]
    )
    c2 = _cluster2()
    c3 = seed_cluster(
        "bastion04",
        "cluster3",
        2,
        node_name="bastion04",
        node_ip="172.30.1.91",
        pod_prefix="10.3",
        userlist_ip="10.3.0.7",
        userlist_pod="userlist-6c9f7d8b5-q7wmz",
        remotes=[],
        ca_ski=_ski("other-ca"),
    )
    # cluster3 runs the app but never marked its service shared.
    svc3 = c3.services[("song", "userlist-svc")]
    svc3 = dataclasses.replace(
        svc3, annotations=frozen_map({ANNOTATION_GLOBAL: "true", ANNOTATION_SHARED: "false"})
    )
    c3 = _with_service(c3, svc3)
    return MeshSnapshot(clusters=(c1, c2, c3), generation=1, taken_at=SEED_TIME)


def forbidden_snapshot() -> MeshSnapshot:
    """The operator's token in ``bastion03`` may read but not patch services or scale."""
    base = seed_snapshot()
    c2 = dataclasses.replace(
        base.clusters[1],
        allowed=frozen_map({**ALL_ALLOWED, "patch services": False, "patch deployments/scale": False}),
        denied_reasons=frozen_map(
            {
                "patch services": 'User "viewer" cannot patch resource "services" in namespace "song"',
                "patch deployments/scale": (
                    'User "viewer" cannot patch resource "deployments/scale" in namespace "song"'
                ),
            }
        ),
    )
    return dataclasses.replace(base, clusters=(base.clusters[0], c2))


def large_snapshot(clusters: int = 64, services: int = 2000) -> MeshSnapshot:
    """A big mesh for performance: ``clusters`` × ``services``, a quarter of the services global.

    Objects that are the same in every cluster (annotation maps, ports) are shared, as the
    cluster-access layer's snapshots share unchanged objects.
    """
    names = [f"cluster{i}" for i in range(1, clusters + 1)]
    ports = (ServicePort(port=80, target_port=8080, name="http"),)
    ann_global = frozen_map({ANNOTATION_GLOBAL: "true"})
    ann_not_shared = frozen_map({ANNOTATION_GLOBAL: "true", ANNOTATION_SHARED: "false"})
    states = []
    for index, cluster in enumerate(names, start=1):
        remotes = [
            remote_status(other, j, num_global_services=services // 4)
            for j, other in enumerate(names, start=1)
            if other != cluster
        ]
        svc_map: dict[ServiceKey, Service] = {}
        for s in range(services):
            ns = f"team-{s % 20:02d}"
            name = f"svc-{s:04d}"
            ann = _EMPTY_ANN
            if s % 4 == 0:
                ann = ann_not_shared if (s + index) % 97 == 0 else ann_global
            ip = f"10.{index}.{(s // 250) % 256}.{s % 250 + 2}"
            svc_map[(ns, name)] = Service(
                namespace=ns,
                name=name,
                annotations=ann,
                ports=ports,
                backends=(Backend(cluster, ip, 8080, pod=f"{name}-{index}"),),
            )
        agent = AgentStatus(
            pod=f"cilium-{index:03d}",
            node=f"node-{index}",
            pod_ready=True,
            status=agent_document(remotes, num_global_services=services // 4),
            read_at=SEED_TIME,
        )
        states.append(
            ClusterState(
                context=f"ctx-{index:02d}",
                phase="ok",
                since=SEED_TIME,
                server=f"https://10.0.{index}.1:6443",
                cilium=CiliumInfo(
                    cluster_name=cluster,
                    cluster_id=index,
                    cluster_id_raw=str(index),
                    max_connected_clusters=255,
                    identity_allocation_mode="crd",
                    version=CILIUM_VERSION,
                    config_present=True,
                    ca_ski=SHARED_CA,
                    agents=(agent,),
                    clustermesh_secret_remotes=tuple(n for n in names if n != cluster),
                ),
                nodes=(Node(f"node-{index}", internal_ip=f"10.0.{index}.1"),),
                services=frozen_map(svc_map),
                allowed=ALL_ALLOWED,
            )
        )
    return MeshSnapshot(clusters=tuple(states), generation=1, taken_at=SEED_TIME)


SCENARIOS = {
    "seed": seed_snapshot,
    "syncing": syncing_snapshot,
    "unreachable": unreachable_snapshot,
    "findings": findings_snapshot,
    "forbidden": forbidden_snapshot,
    "large": large_snapshot,
}


# --- the agent's own service list ----------------------------------------------------


def agent_service_list(snapshot: MeshSnapshot, context: str) -> list[dict[str, Any]] | None:
    """What ``cilium service list -o json`` would print in ``context``, derived from the rules.

    A 1.14–1.17 agent lists every backend of the merged clusters and marks the preferred ones
    (1.18+ lists only the selected ones); ClusterIP frontends only. Used by tests and
    screenshots so the AGENT column has something to compare with.
    """
    from tui.mesh.selection import select_backends
    from tui.views.backends import service_map
    from tui.views.meshcache import MeshStatusCache

    state = snapshot.by_context(context)
    if state is None or not state.usable:
        return None
    entries: list[dict[str, Any]] = []
    links = MeshStatusCache().connected_remotes(state)
    for ident, (key, service) in enumerate(sorted(state.services.items()), start=1):
        selection = select_backends(
            key, state.cluster, service_map(snapshot, key), state.cilium.version, links
        )
        modern = selection.family == "1.18+"
        backends = [
            {
                "ip": c.backend.ip,
                "port": c.backend.port,
                "nodeName": c.backend.node,
                "state": "active" if c.backend.active else "terminating",
                "preferred": True if modern else c.preferred,
            }
            for c in selection.choices
            if c.merged and (c.selected or not modern)
        ]
        port = service.ports[0].port if service.ports else 0
        spec = {
            "id": ident,
            "frontend-address": {
                "ip": service.cluster_ip,
                "port": port,
                "protocol": "TCP",
                "scope": "external",
            },
            "backend-addresses": backends,
            "flags": {"type": "ClusterIP", "name": service.name, "namespace": service.namespace},
        }
        entries.append({"spec": spec, "status": {"realized": spec}})
    return entries


# --- snapshot edits ---------------------------------------------------------------------


def _with_service(state: ClusterState, service: Service) -> ClusterState:
    services = dict(state.services)
    services[service.key] = service
    return dataclasses.replace(state, services=frozen_map(services))


def _with_agent_remotes(state: ClusterState, remotes: list[dict[str, Any]]) -> ClusterState:
    agents = tuple(
        dataclasses.replace(a, status=agent_document(remotes, num_global_services=1))
        for a in state.cilium.agents
    )
    return dataclasses.replace(state, cilium=dataclasses.replace(state.cilium, agents=agents))


def replace_cluster(snapshot: MeshSnapshot, state: ClusterState) -> MeshSnapshot:
    """A new snapshot with ``state`` in place of the cluster with the same context."""
    clusters = tuple(state if c.context == state.context else c for c in snapshot.clusters)
    return dataclasses.replace(snapshot, clusters=clusters, generation=snapshot.generation + 1)


class WriteRejected(Exception):
    """The write cannot apply to this snapshot (object missing): carries an HTTP-like status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def apply_write(snapshot: MeshSnapshot, action: WriteAction) -> MeshSnapshot:
    """The snapshot a watch would deliver after ``action`` succeeded."""
    state = snapshot.by_context(action.context)
    if state is None:
        raise WriteRejected(404, f"context {action.context!r} not found")
    if isinstance(action, SetAnnotation):
        service = state.services.get((action.namespace, action.service))
        if service is None:
            raise WriteRejected(404, f'services "{action.service}" not found')
        annotations = dict(service.annotations)
        for key, value in action.patch().items():
            if value is None:
                annotations.pop(key, None)
            else:
                annotations[key] = value
        new_state = _with_service(state, dataclasses.replace(service, annotations=frozen_map(annotations)))
        return replace_cluster(snapshot, new_state)
    if isinstance(action, Scale):
        return replace_cluster(snapshot, _scaled(state, action))
    raise TypeError(f"unknown write {action!r}")


def _scaled(state: ClusterState, action: Scale) -> ClusterState:
    """Scale a deployment: pods and the matching services' endpoints follow at once."""
    key = (action.namespace, action.deployment)
    deployment = state.deployments.get(key)
    if deployment is None:
        raise WriteRejected(404, f'deployments.apps "{action.deployment}" not found')
    n = action.replicas
    deployments = dict(state.deployments)
    deployments[key] = dataclasses.replace(
        deployment,
        replicas=n,
        ready_replicas=n,
        available_replicas=n,
        updated_replicas=n,
        generation=deployment.generation + 1,
        observed_generation=deployment.generation + 1,
    )
    pods = dict(state.pods)
    mine = sorted(
        (p for p in state.pods.values() if p.namespace == action.namespace and p.owner == action.deployment),
        key=lambda p: p.name,
    )
    template = mine[0] if mine else None
    for pod in mine[n:]:
        del pods[pod.key]
    kept = mine[:n]
    prefix = _ip_prefix(state, template)
    for i in range(len(kept), n):
        name = f"{action.deployment}-6c9f7d8b5-{_pod_suffix(f'{state.context}-{action.deployment}-{i}')}"
        ip = f"{prefix}.{40 + i}"
        pod = (
            dataclasses.replace(template, name=name, ip=ip)
            if template
            else _backend_pod(
                name,
                ip,
                state.nodes[0].name if state.nodes else "",
                action.deployment,
                deployment.selector.get("app", action.deployment),
                "",
            )
        )
        pods[pod.key] = pod
        kept.append(pod)
    services = dict(state.services)
    selector = dict(deployment.selector)
    for skey, service in state.services.items():
        if service.namespace != action.namespace or not service.selector:
            continue
        if any(selector.get(k) != v for k, v in service.selector.items()):
            continue
        port = service.backends[0].port if service.backends else _target_port(service)
        others = tuple(b for b in service.backends if b.pod and not _owned(b.pod, mine))
        new = tuple(Backend(state.cluster, p.ip, port, pod=p.name, node=p.node) for p in kept)
        services[skey] = dataclasses.replace(service, backends=others + new)
    return dataclasses.replace(
        state, deployments=frozen_map(deployments), pods=frozen_map(pods), services=frozen_map(services)
    )


def _owned(pod_name: str, pods: list[Pod]) -> bool:
    return any(p.name == pod_name for p in pods)


def _target_port(service: Service) -> int:
    for port in service.ports:
        if isinstance(port.target_port, int):
            return port.target_port
    return service.ports[0].port if service.ports else 80


def _ip_prefix(state: ClusterState, template: Pod | None) -> str:
    if template and template.ip.count(".") == 3:
        return template.ip.rsplit(".", 1)[0]
    for node in state.nodes:
        if node.pod_cidrs:
            return node.pod_cidrs[0].rsplit(".", 2)[0] + ".0"
    return "10.0.0"
