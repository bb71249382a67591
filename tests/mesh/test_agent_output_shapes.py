"""Real agent output, per version, fed to meshtui's parsers.

The documents are built from Cilium's own model structs as cilium-cli vendors them
(``vendor/github.com/cilium/cilium/api/v1/models`` in cilium/cilium-cli, read at the releases
vendoring each Cilium version) with Go's ``encoding/json`` omitempty rules — a false / 0 / ""
field is absent, a ``*bool`` / ``*uint16`` pointer is present whenever set, a field without
omitempty (``clusters``, ``backend-addresses``, ``ip``) is always present:

* 1.14 (cilium-cli v0.15.10 vendors cilium v1.14.2): ``RemoteCluster`` {config, connected,
  last-failure, name, num-endpoints, num-failures, num-identities, num-nodes,
  num-shared-services, ready, status, synced}; ``RemoteClusterConfig`` {cluster-id,
  kvstoremesh, required, retrieved, sync-canaries}; ``ClusterMeshStatus`` {clusters,
  num-global-services}; ``BackendAddress`` {ip, nodeName, port, preferred, state, weight}
  filled by ``GetBackendModel`` (weight always: a pointer); ``FrontendAddress`` from
  ``L3n4Addr.GetModel`` {ip, port, scope} (no protocol).
* 1.16 (v0.16.14 vendors v1.16.0): ``BackendAddress`` gains ``zone``.
* 1.18 (v0.18.6 vendors v1.18.0-pre.3): ``pkg/loadbalancer/frontend.go`` fills ip, protocol,
  port, nodeName, zone, state, ``preferred: true`` on every backend, weight; the frontend has
  a protocol; ``num-global-services`` still there (removed in 1.19).
* 1.20 (v0.19.7 vendors v1.20.0-pre.4): ``RemoteCluster`` adds num-endpoint-slices,
  num-service-exports; ``RemoteClusterSynced`` adds ``*bool`` service-exports /
  endpoint-slices; ``RemoteClusterConfig`` adds service-exports-enabled.
* KVStoreMesh: cilium-cli ``KVStoreMeshStatus`` unmarshals ``kvstoremesh-dbg status -o json``
  as ``[]*models.RemoteCluster``.
"""

from __future__ import annotations

from typing import Any

import pytest
from agentoutput import parse_service_list_text
from meshmodels import GLOBAL, KEY, service

from tui.mesh.agentlist import parse_service_list_json
from tui.mesh.model import (
    AgentStatus,
    Backend,
    CiliumInfo,
    ClusterState,
    Container,
    Deployment,
    KVStoreMeshRead,
    MeshSnapshot,
    ServicePort,
    frozen_map,
)
from tui.mesh.status import clustermesh_status, kvstoremesh_status, remote_cluster_error

CONNECTED_114 = {
    "name": "cluster2",
    "connected": True,
    "ready": True,
    "status": (
        "etcd: 1/1 connected, leases=0, lock leases=0, has-quorum=true: https://172.30.1.85:32379 - "
        "3.5.4 (Leader)"
    ),
    "num-nodes": 1,
    "num-endpoints": 4,
    "num-identities": 7,
    "num-shared-services": 2,
    "config": {"cluster-id": 2, "required": True, "retrieved": True, "sync-canaries": True},
    "synced": {"endpoints": True, "identities": True, "nodes": True, "services": True},
}
LOST_114 = {  # the link dropped: not connected, the caches' counts left (remote_cluster.go Status)
    "name": "cluster2",
    "status": (
        "etcd: 0/1 connected, leases=0, lock leases=0, has-quorum=false: https://172.30.1.85:32379 - "
        "context deadline exceeded"
    ),
    "num-nodes": 1,
    "num-shared-services": 2,
    "num-failures": 4,
    "last-failure": "2026-11-24T10:00:00.123456789Z",
    "config": {"cluster-id": 2, "required": True, "retrieved": True},
    "synced": {"identities": True},
}
NEVER_114 = {"name": "cluster3", "status": "Waiting for initial connection to be established"}
CONNECTED_120 = {
    **CONNECTED_114,
    "num-service-exports": 1,
    "config": {**CONNECTED_114["config"], "service-exports-enabled": True},
    "synced": {**CONNECTED_114["synced"], "service-exports": True, "endpoint-slices": True},
}
EXPORTS_PENDING_120 = {
    **CONNECTED_120,
    "ready": False,
    "synced": {**CONNECTED_120["synced"], "service-exports": False},
}
EXPORTS_PENDING_120.pop("ready")

STATUS = {
    "1.14": {"cluster-mesh": {"clusters": [CONNECTED_114, NEVER_114], "num-global-services": 2}},
    "1.16": {"cluster-mesh": {"clusters": [CONNECTED_114], "num-global-services": 1}},
    "1.18": {"cluster-mesh": {"clusters": [LOST_114], "num-global-services": 1}},
    "1.20": {"cluster-mesh": {"clusters": [CONNECTED_120, EXPORTS_PENDING_120 | {"name": "cluster3"}]}},
}


@pytest.mark.parametrize(
    ("version", "lines", "lost"),
    [
        (
            "1.14",
            ["cluster2: 1/1 configured, 1/1 connected", "cluster3: 1/1 configured, 0/1 connected"],
            {"cluster3": False},
        ),
        ("1.16", ["cluster2: 1/1 configured, 1/1 connected"], {}),
        ("1.18", ["cluster2: 1/1 configured, 0/1 connected"], {"cluster2": True}),
        (
            "1.20",
            ["cluster2: 1/1 configured, 1/1 connected", "cluster3: 1/1 configured, 0/1 connected"],
            {"cluster3": True},
        ),
    ],
)
def test_status_documents_per_version(version: str, lines: list[str], lost: dict[str, bool]) -> None:
    status = clustermesh_status([AgentStatus("cilium-a", status=STATUS[version])], (), f"{version}.0")
    assert [stats.text for stats in status.clusters] == lines
    assert {r.cluster: r.cached for r in status.lost_remotes()} == lost
    if version == "1.20":  # cilium-cli names the optional sync flags when false (v0.19.x)
        (link,) = status.errors
        assert link.error == "synchronization in progress for service-exports"
        (syncing,) = status.lost_remotes()
        assert syncing.connected  # not lost: still synchronizing
        assert status.global_services is None  # num-global-services is gone from 1.19 on
    if version == "1.18":
        (gone,) = status.lost_remotes()
        assert gone.last_failure.startswith("2026-11-24T10:00:00") and gone.shared_services == 2


def test_never_connected_remote_has_nothing_cached() -> None:
    assert remote_cluster_error(NEVER_114) == "Waiting for initial connection to be established"
    status = clustermesh_status([AgentStatus("a", status=STATUS["1.14"])], ())
    assert [(r.cluster, r.cached) for r in status.lost_remotes()] == [("cluster3", False)]


def kvstoremesh_cluster(reads: tuple[KVStoreMeshRead, ...], remotes: tuple[str, ...]) -> CiliumInfo:
    deployment = Deployment(
        "kube-system",
        "clustermesh-apiserver",
        replicas=1,
        containers=(Container("etcd"), Container("apiserver"), Container("kvstoremesh")),
    )
    return CiliumInfo(
        cluster_name="cluster1",
        version="1.16.5",
        clustermesh_deployment=deployment,
        kvstoremesh_secret_remotes=remotes,
        kvstoremesh=reads,
    )


def test_kvstoremesh_status_is_aggregated_like_the_agents() -> None:
    """cilium-cli statusConnectivity(KVStoreMeshConnectivity): one pod per replica, expected
    remotes from cilium-kvstoremesh, a remote not listed is 'unknown status'."""
    reads = (
        KVStoreMeshRead("clustermesh-apiserver-a", True, (CONNECTED_114,)),
        KVStoreMeshRead("clustermesh-apiserver-b", True, (LOST_114,)),
    )
    status = kvstoremesh_status(kvstoremesh_cluster(reads, ("cluster2", "cluster3")))
    assert status is not None
    assert [s.text for s in status.clusters] == [
        "cluster2: 2/2 configured, 1/2 connected",
        "cluster3: 0/2 configured, 0/2 connected",
    ]
    assert {(e.pod, e.cluster, e.error) for e in status.errors if e.cluster == "cluster3"} == {
        ("clustermesh-apiserver-a", "cluster3", "unknown status"),
        ("clustermesh-apiserver-b", "cluster3", "unknown status"),
    }
    unsupported = (KVStoreMeshRead("clustermesh-apiserver-a", True, None, None, not_supported=True),)
    assert kvstoremesh_status(kvstoremesh_cluster(unsupported, ("cluster2",))) is None


def _entry(frontend: dict[str, Any], backends: list[dict[str, Any]], **flags: str) -> dict[str, Any]:
    spec = {
        "backend-addresses": backends,
        "flags": {"name": KEY[1], "namespace": KEY[0], "type": "ClusterIP", **flags},
        "frontend-address": frontend,
        "id": 7,
    }
    return {"spec": spec, "status": {"realized": spec}}


LIST = {
    "1.14": [
        _entry(
            {"ip": "10.96.0.20", "port": 80, "scope": "external"},
            [
                {
                    "ip": "10.1.0.1",
                    "nodeName": "cluster1-node1",
                    "port": 8181,
                    "preferred": True,
                    "state": "active",
                    "weight": 100,
                },
                {"ip": "10.2.0.1", "port": 8181, "state": "active", "weight": 100},
                {
                    "ip": "10.1.0.9",
                    "nodeName": "cluster1-node1",
                    "port": 8181,
                    "preferred": True,
                    "state": "terminating",
                    "weight": 100,
                },
            ],
        )
    ],
    "1.16": [
        _entry(
            {"ip": "10.96.0.20", "port": 80, "scope": "external"},
            [
                {
                    "ip": "10.1.0.1",
                    "port": 8181,
                    "preferred": True,
                    "state": "active",
                    "weight": 100,
                    "zone": "a",
                },
                {"ip": "10.2.0.1", "port": 8181, "state": "active", "weight": 100},
                {"ip": "10.1.0.9", "port": 8181, "preferred": True, "state": "terminating", "weight": 100},
            ],
        )
    ],
    "1.18": [
        _entry(
            {"ip": "10.96.0.20", "port": 80, "protocol": "TCP", "scope": "external"},
            [
                {
                    "ip": "10.1.0.1",
                    "protocol": "TCP",
                    "port": 8181,
                    "state": "active",
                    "preferred": True,
                    "weight": 100,
                },
                {
                    "ip": "10.1.0.9",
                    "protocol": "TCP",
                    "port": 8181,
                    "state": "terminating",
                    "preferred": True,
                    "weight": 100,
                },
            ],
        )
    ],
}
TEXT = {
    "1.14": (
        "ID   Frontend          Service Type   Backend\n"
        "7    10.96.0.20:80     ClusterIP      1 => 10.1.0.1:8181 (active) (preferred)\n"
        "                                      2 => 10.2.0.1:8181 (active)\n"
        "                                      3 => 10.1.0.9:8181 (terminating) (preferred)\n"
    ),
    "1.18": (
        "ID   Frontend              Service Type   Backend\n"
        "7    10.96.0.20:80/TCP     ClusterIP      1 => 10.1.0.1:8181/TCP (active) (preferred)\n"
        "                                          2 => 10.1.0.9:8181/TCP (terminating) (preferred)\n"
    ),
}


@pytest.mark.parametrize("version", ["1.14", "1.16", "1.18"])
def test_service_list_json_per_version(version: str) -> None:
    (frontend,) = parse_service_list_json(LIST[version])
    assert (frontend.ip, frontend.port, frontend.name, frontend.namespace) == (
        "10.96.0.20",
        80,
        KEY[1],
        KEY[0],
    )
    assert frontend.protocol == ("TCP" if version == "1.18" else "")
    assert all(b.weight == 100 for b in frontend.backends)
    states = {b.ip: (b.state, b.preferred) for b in frontend.backends}
    assert states["10.1.0.9"] == ("terminating", True)


@pytest.mark.parametrize("version", ["1.14", "1.18"])
def test_service_list_text_per_version(version: str) -> None:
    (frontend,) = parse_service_list_text(TEXT[version])
    json_form = parse_service_list_json(LIST[version])[0]
    assert [(b.ip, b.port, b.state, b.preferred) for b in frontend.backends] == [
        (b.ip, b.port, b.state, b.preferred) for b in json_form.backends
    ]


@pytest.mark.parametrize(("version", "agent"), [("1.14.1", "1.14"), ("1.16.3", "1.16"), ("1.18.3", "1.18")])
def test_agent_list_agrees_with_the_prediction(version: str, agent: str) -> None:
    """The views compare the agent's own list with the rules: with affinity local, every listed
    backend is where the rule family puts it (1.14–1.17: all merged, local preferred; 1.18: the
    local side only, all preferred), so nothing differs."""
    from tui.views.backends import backends_perspective

    local = (
        Backend("cluster1", "10.1.0.1", 8181, "p1"),
        Backend("cluster1", "10.1.0.9", 8181, "p9", ready=False, serving=True, terminating=True),
    )
    svc1 = service("cluster1", {**GLOBAL, "service.cilium.io/affinity": "local"}, *local)
    svc1 = svc1.__class__(
        **{**{f: getattr(svc1, f) for f in svc1.__slots__}, "ports": (ServicePort(80, 8181),)}
    )
    svc2 = service("cluster2", GLOBAL, Backend("cluster2", "10.2.0.1", 8181, "q1"))
    states = tuple(
        ClusterState(
            context=ctx,
            phase="ok",
            cilium=CiliumInfo(cluster_name=name, version=version, config_present=True),
            services=frozen_map({KEY: svc}),
        )
        for ctx, name, svc in (("bastion02", "cluster1", svc1), ("bastion03", "cluster2", svc2))
    )
    snapshot = MeshSnapshot(clusters=states)
    view = backends_perspective(snapshot, KEY, states[0], agent_entries=LIST[agent])
    assert view.differences == 0, [(b.address, b.agent, b.selected) for b in view.backends]
    assert dict(view.expected_share) == {"cluster1": 1.0}
