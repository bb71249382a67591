"""ARCHITECTURE.md Cilium §2: what ``cilium clustermesh status`` reads and prints."""

from __future__ import annotations

from dataclasses import replace

import pytest
from meshmodels import agent, deployment, remote, unreadable

from tui.mesh.model import CiliumInfo, Container, Node, Service, ServicePort
from tui.mesh.status import (
    NODEPORT_WARNING,
    access_info,
    cluster_mesh_status,
    clustermesh_status,
    deployment_not_ready_reason,
    deployment_ready,
    kvstoremesh_enabled,
    remote_cluster_error,
)

# --- aggregation and lines -------------------------------------------------------------------


def test_enabled_but_no_cluster_connected() -> None:
    """Workflow step 3: one agent, nothing connected yet."""
    status = clustermesh_status([agent("cilium-a")])
    assert status.lines == ("No cluster connected", "Global services: [ min:0 / avg:0.0 / max:0 ]")
    assert status.summary_line is None


def test_all_nodes_connected() -> None:
    """Workflow step 4: the field guide's output after connecting."""
    status = clustermesh_status([agent("cilium-a", remote("cluster2"))], expected_remotes=["cluster2"])
    assert status.lines == (
        "All 1 nodes are connected to all clusters [min:1 / avg:1.0 / max:1]",
        "Cluster Connections:",
        "  - cluster2: 1/1 configured, 1/1 connected",
        "Global services: [ min:0 / avg:0.0 / max:0 ]",
    )
    assert status.clusters[0].text == "cluster2: 1/1 configured, 1/1 connected"
    assert status.clusters[0].ok
    assert status.connected_remotes == {"cluster2"}


def test_not_all_nodes_connected() -> None:
    """Rule: configured++ per listed remote, connected++ only when ready; min/avg/max of ready."""
    agents = [
        agent("cilium-a", remote("cluster2"), remote("cluster3")),
        agent("cilium-b", remote("cluster2", ready=False), remote("cluster3")),
    ]
    status = clustermesh_status(agents)
    assert status.summary_line == "1/2 nodes are not connected to all clusters [min:1 / avg:1.5 / max:2]"
    assert [s.text for s in status.clusters] == [
        "cluster2: 2/2 configured, 1/2 connected",
        "cluster3: 2/2 configured, 2/2 connected",
    ]
    assert status.lines[-2:] == (
        "1 Errors:",
        "  cilium-b is not connected to cluster cluster2: Waiting for initial connection to be established",
    )
    assert status.remote("cluster2").first_error == "Waiting for initial connection to be established"
    assert status.connected_remotes == {"cluster2", "cluster3"}


def test_clusters_sorted_by_name() -> None:
    status = clustermesh_status([agent("cilium-a", remote("zeta"), remote("alpha"))])
    assert [s.name for s in status.clusters] == ["alpha", "zeta"]


def test_unreadable_agents_count_as_listed_pods() -> None:
    """Rule: avg divides by all listed pods, including agents whose status was not read."""
    status = clustermesh_status([agent("cilium-a", remote("cluster2")), unreadable("cilium-b")])
    assert status.listed == 2
    assert status.total == 1
    assert status.summary_line == "All 1 nodes are connected to all clusters [min:1 / avg:0.5 / max:1]"
    assert status.clusters[0].text == "cluster2: 1/1 configured, 1/1 connected"
    assert [(u.pod, u.reason) for u in status.unreadable] == [("cilium-b", "exec timed out")]


def test_agent_without_clustermesh_section_is_skipped_when_nothing_expected() -> None:
    """cilium-cli skips ErrClusterMeshStatusNotAvailable when no remote is expected."""
    status = clustermesh_status([agent("cilium-a", remote("cluster2")), agent("cilium-b", mesh=False)])
    assert (status.listed, status.total, status.unreadable) == (2, 1, ())
    assert status.connected.avg == pytest.approx(0.5)


def test_agent_without_clustermesh_section_is_unreadable_when_remotes_expected() -> None:
    status = clustermesh_status([agent("cilium-b", mesh=False)], expected_remotes=["cluster2"])
    assert [(u.pod, u.reason) for u in status.unreadable] == [
        ("cilium-b", "ClusterMesh status is not available")
    ]


def test_expected_remote_missing_from_agent() -> None:
    """Rule: each key of cilium-clustermesh with endpoints: is an expected remote."""
    status = clustermesh_status(
        [agent("cilium-a", remote("cluster2"))], expected_remotes=["cluster2", "cluster3"]
    )
    assert status.not_ready == 1
    assert [s.text for s in status.clusters] == [
        "cluster2: 1/1 configured, 1/1 connected",
        "cluster3: 0/1 configured, 0/1 connected",
    ]
    assert [(e.pod, e.cluster, e.error, e.listed) for e in status.errors] == [
        ("cilium-a", "cluster3", "unknown status", False)
    ]
    assert status.summary_line == "1/1 nodes are not connected to all clusters [min:1 / avg:1.0 / max:1]"


def test_expected_remote_before_any_agent_reports() -> None:
    status = clustermesh_status([], expected_remotes=["cluster2"])
    assert status.clusters[0].text == "cluster2: 0/0 configured, 0/0 connected"
    assert status.summary_line == "All 0 nodes are connected to all clusters [min:-1 / avg:0.0 / max:0]"


def test_no_agents_keeps_cilium_cli_initial_min() -> None:
    """cilium-cli starts min at -1 and prints it when no agent was read."""
    status = clustermesh_status([])
    assert status.lines == ("No cluster connected", "Global services: [ min:-1 / avg:0.0 / max:0 ]")


def test_global_services_min_avg_max() -> None:
    """Rule: Global services from num-global-services (absent = 0), avg over listed pods."""
    agents = [agent("a", global_services=3), agent("b", global_services=5), agent("c")]
    status = clustermesh_status(agents)
    assert status.global_services_line == "Global services: [ min:0 / avg:2.7 / max:5 ]"


@pytest.mark.parametrize(
    ("version", "global_services", "line"),
    [
        ("1.14.1", None, "Global services: [ min:0 / avg:0.0 / max:0 ]"),
        ("1.18.2", None, "Global services: [ min:0 / avg:0.0 / max:0 ]"),
        (None, None, "Global services: [ min:0 / avg:0.0 / max:0 ]"),
        ("1.19.0", None, None),
        ("1.19.0", 2, "Global services: [ min:2 / avg:2.0 / max:2 ]"),
    ],
    ids=["114-absent-is-zero", "118-absent-is-zero", "unknown-absent-is-zero", "119-removed", "119-present"],
)
def test_global_services_removed_in_119(
    version: str | None, global_services: int | None, line: str | None
) -> None:
    status = clustermesh_status([agent("a", global_services=global_services)], cilium_version=version)
    assert status.global_services_line == line


# --- per-remote error text, first that applies ----------------------------------------------

ALL_SYNCED = {"nodes": True, "endpoints": True, "identities": True, "services": True}

ERROR_CASES = [
    (
        "not-connected-gives-status",
        remote("c", ready=False, status="etcd: 0/1 connected: dial timeout"),
        "etcd: 0/1 connected: dial timeout",
    ),
    (
        "waiting-for-initial-connection",
        remote("c", ready=False),
        "Waiting for initial connection to be established",
    ),
    (
        "config-missing",
        remote("c", ready=False, connected=True, omit=("config",)),
        "remote cluster configuration retrieval status unknown",
    ),
    (
        "config-required-not-retrieved",
        remote("c", ready=False, connected=True, config={"required": True}),
        "remote cluster configuration required but not found",
    ),
    (
        "config-not-required-then-synced-missing",
        remote("c", ready=False, connected=True, config={}, omit=("synced",)),
        "synchronization status unknown",
    ),
    (
        "synced-missing",
        remote("c", ready=False, connected=True, omit=("synced",)),
        "synchronization status unknown",
    ),
    (
        "synchronization-in-progress-ordered",
        remote("c", ready=False, connected=True, synced={"nodes": True}),
        "synchronization in progress for endpoints, identities, services",
    ),
    (
        "synchronization-in-progress-one",
        remote("c", ready=False, connected=True, synced={**ALL_SYNCED, "identities": False}),
        "synchronization in progress for identities",
    ),
    ("otherwise-not-ready", remote("c", ready=False, connected=True), "not ready"),
]


@pytest.mark.parametrize(("entry", "text"), [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES])
def test_error_precedence(entry: dict, text: str) -> None:
    """§2: not connected → status; config missing; required not retrieved; synced missing; ..."""
    assert remote_cluster_error(entry) == text
    status = clustermesh_status([agent("cilium-a", entry)])
    assert status.errors[0].error == text


def test_error_for_missing_entry() -> None:
    assert remote_cluster_error(None) == "unknown status"


def test_ready_remote_has_no_error_even_if_fields_odd() -> None:
    """``ready`` is what counts; the agent computes it."""
    status = clustermesh_status([agent("cilium-a", remote("c", synced={}))])
    assert status.errors == ()
    assert status.clusters[0].connected == 1


def test_link_keeps_each_field_separately() -> None:
    """cilium/cilium#29161: connected, config, synced, status, failures shown separately."""
    entry = remote("cluster2", ready=False, status="etcd: 0/1 connected")
    entry.update({"num-failures": 3, "last-failure": "2026-11-24T10:00:00Z", "num-nodes": 1})
    link = clustermesh_status([agent("cilium-a", entry)]).links[0]
    assert (link.connected, link.ready, link.config_present, link.config_required, link.config_retrieved) == (
        False,
        False,
        True,
        True,
        True,
    )
    assert link.synced == ALL_SYNCED
    assert (link.num_failures, link.last_failure, link.num_nodes) == (3, "2026-11-24T10:00:00Z", 1)
    assert link.status == "etcd: 0/1 connected"


@pytest.mark.parametrize(
    ("kvstoremesh", "hint"),
    [
        (False, "Double check if the cluster name matches the one configured in the remote cluster"),
        (True, "This is likely caused by KVStoreMesh not being connected to the given cluster"),
    ],
)
def test_hints(kvstoremesh: bool, hint: str) -> None:
    entry = remote("cluster2", ready=False, connected=True, config={"required": True})
    status = clustermesh_status([agent("cilium-a", entry)], kvstoremesh=kvstoremesh)
    assert status.errors[0].hint == hint
    down = clustermesh_status([agent("cilium-a", remote("cluster2", ready=False))]).errors[0]
    assert "cilium-dbg troubleshoot clustermesh cluster2" in down.hint
    assert "kubectl exec -it -n kube-system cilium-a -c cilium-agent" in down.hint


def test_cluster_mesh_status_reads_cilium_info() -> None:
    info = CiliumInfo(
        agents=(agent("cilium-a"),),
        clustermesh_secret_remotes=("cluster2",),
        clustermesh_deployment=deployment(containers=(Container("kvstoremesh"),)),
    )
    status = cluster_mesh_status(info)
    assert status.clusters[0].name == "cluster2"
    assert status.errors[0].error == "unknown status"


# --- access information ----------------------------------------------------------------------


def apiserver(kind: str, **changes: object) -> Service:
    svc = Service(
        namespace="kube-system",
        name="clustermesh-apiserver",
        type=kind,
        cluster_ip="10.96.0.10",
        ports=(ServicePort(port=2379, node_port=32379),),
        load_balancer_ips=("172.18.0.50", "172.18.0.51"),
    )
    return replace(svc, **changes)  # type: ignore[arg-type]


def info(svc: Service | None, mode: str | None = "crd") -> CiliumInfo:
    return CiliumInfo(clustermesh_service=svc, identity_allocation_mode=mode)


NODES = (
    Node("n0"),
    Node("n1", internal_ip="172.30.1.89"),
    Node("n2", internal_ip="172.30.1.90", external_ip="203.0.113.9"),
)


def test_access_clusterip() -> None:
    access = access_info(info(apiserver("ClusterIP")), NODES)
    assert access.addresses == ("10.96.0.10:2379",)
    assert access.warnings == ()
    assert access.lines == (
        'Service "clustermesh-apiserver" of type "ClusterIP" found',
        "Cluster access information is available:",
        "  - 10.96.0.10:2379",
    )


def test_access_nodeport_first_node_with_address() -> None:
    """Rule: NodePort → the first node with an address, its nodePort, plus the warning."""
    access = access_info(info(apiserver("NodePort")), NODES)
    assert access.addresses == ("172.30.1.89:32379",)
    assert access.warnings == (NODEPORT_WARNING,)
    assert access.lines[0] == NODEPORT_WARNING


def test_access_nodeport_external_before_internal() -> None:
    access = access_info(info(apiserver("NodePort")), NODES[2:])
    assert access.addresses == ("203.0.113.9:32379",)


def test_access_nodeport_without_node_addresses() -> None:
    access = access_info(info(apiserver("NodePort")), (Node("n0"),))
    assert access.error == "unable to derive service IPs automatically"
    assert access.warnings == (NODEPORT_WARNING,)


def test_access_nodeport_without_nodeport() -> None:
    access = access_info(info(apiserver("NodePort", ports=(ServicePort(port=2379),))), NODES)
    assert access.error == "nodeport is not set in service"


def test_access_loadbalancer_each_ingress_ip() -> None:
    access = access_info(info(apiserver("LoadBalancer")), NODES)
    assert access.addresses == ("172.18.0.50:2379", "172.18.0.51:2379")


def test_access_loadbalancer_without_ips() -> None:
    access = access_info(info(apiserver("LoadBalancer", load_balancer_ips=())), NODES)
    assert access.error == "unable to derive service IPs automatically"
    assert access.addresses == ()


def test_access_ipv6_address_is_bracketed() -> None:
    access = access_info(info(apiserver("ClusterIP", cluster_ip="fd00::10")), NODES)
    assert access.addresses == ("[fd00::10]:2379",)


@pytest.mark.parametrize(
    ("svc", "error"),
    [
        (None, "clustermesh-apiserver service not found"),
        (apiserver("ClusterIP", ports=()), "port of service could not be derived, service has no ports"),
        (
            apiserver("ClusterIP", cluster_ip=""),
            "IP of service could not be derived, service has no ClusterIP",
        ),
        (apiserver("ClusterIP", ports=(ServicePort(port=0),)), "port is not set in service"),
        (apiserver("ExternalName"), "unable to derive service IPs automatically"),
    ],
    ids=["no-service", "no-ports", "no-clusterip", "port-zero", "other-type"],
)
def test_access_errors(svc: Service | None, error: str) -> None:
    assert access_info(info(svc), NODES).error == error


def test_external_kvstore_skips_service_checks() -> None:
    """Rule: identity-allocation-mode other than crd means an external kvstore."""
    access = access_info(info(None, mode="kvstore"), NODES)
    assert access.external_kvstore
    assert access.error is None
    assert access.lines == ("Cilium is configured with an external kvstore",)
    assert not access_info(info(apiserver("ClusterIP"), mode=None), NODES).external_kvstore


# --- deployment ------------------------------------------------------------------------------

DEPLOYMENT_CASES = [
    ("ready", {}, None),
    (
        "observed-generation-behind",
        {"observed_generation": 1},
        "observed generation (1) is older than generation of the desired state (2)",
    ),
    (
        "zero-replicas",
        {"replicas": 0, "ready_replicas": 0, "available_replicas": 0, "updated_replicas": 0},
        "replicas count is zero",
    ),
    ("not-available", {"available_replicas": 0}, "only 0 of 1 replicas are available"),
    ("not-ready", {"ready_replicas": 0}, "only 0 of 1 replicas are ready"),
    ("not-updated", {"updated_replicas": 0}, "only 0 of 1 replicas are up-to-date"),
]


@pytest.mark.parametrize(
    ("changes", "reason"), [c[1:] for c in DEPLOYMENT_CASES], ids=[c[0] for c in DEPLOYMENT_CASES]
)
def test_deployment_ready_rule(changes: dict, reason: str | None) -> None:
    """Rule: observedGeneration == generation, replicas > 0, available == ready == updated == replicas."""
    d = deployment(**changes)
    assert deployment_not_ready_reason(d) == reason
    assert deployment_ready(d) == (reason is None)


def test_kvstoremesh_detected_from_containers() -> None:
    assert not kvstoremesh_enabled(deployment())
    assert kvstoremesh_enabled(deployment(containers=(Container("apiserver"), Container("kvstoremesh"))))
