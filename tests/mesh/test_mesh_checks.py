"""ARCHITECTURE.md Cilium §1 (identity, CA, pod CIDRs) and §2 (mesh status) as connect checks."""

from __future__ import annotations

import pytest
from meshmodels import agent, cluster, deployment, remote, unreadable

from tui.mesh.checks import Finding, connect_checks


def by_check(findings: list[Finding], check: str) -> list[Finding]:
    return [f for f in findings if f.check == check]


def seed(**changes: object) -> list:
    """The field guide's mesh: bastion02=cluster1 #1, bastion03=cluster2 #2, connected, same CA."""
    one = dict(
        ski="aa11",
        service_type="NodePort",
        remotes=("cluster2",),
        agents=(agent("cilium-a", remote("cluster2")),),
        deployment=deployment(),
    )
    two = dict(
        ski="aa11",
        service_type="NodePort",
        remotes=("cluster1",),
        agents=(agent("cilium-b", remote("cluster1")),),
        deployment=deployment(),
    )
    one.update(changes.pop("one", {}))  # type: ignore[arg-type]
    two.update(changes.pop("two", {}))  # type: ignore[arg-type]
    return [cluster("bastion02", "cluster1", 1, **one), cluster("bastion03", "cluster2", 2, **two)]


def test_seed_mesh_only_warns_about_nodeport() -> None:
    findings = connect_checks(seed())
    assert [(f.severity, f.check, f.clusters) for f in findings] == [
        ("warning", "nodeport", ("cluster1",)),
        ("warning", "nodeport", ("cluster2",)),
    ]
    assert findings[0].fix == "cilium clustermesh enable --context bastion02 --service-type LoadBalancer"
    assert findings[0].contexts == ("bastion02",)


def test_loadbalancer_mesh_is_clean() -> None:
    assert (
        connect_checks(seed(one={"service_type": "LoadBalancer"}, two={"service_type": "LoadBalancer"})) == []
    )


# --- identity ---------------------------------------------------------------------------------

IDENTITY_CASES = [
    (
        "default-name-empty",
        [cluster("bastion02", "", 1), cluster("bastion03", "cluster2", 2)],
        "cluster-name",
        "error",
        ("bastion02",),
        "cilium upgrade --context bastion02 --set cluster.name=bastion02",
    ),
    (
        "default-name-key-missing",
        [cluster("bastion02", None, 1), cluster("bastion03", "cluster2", 2)],
        "cluster-name",
        "error",
        ("bastion02",),
        "cilium upgrade --context bastion02 --set cluster.name=bastion02",
    ),
    (
        "name-invalid-116-warns",
        [cluster("ctx", "Cluster_1", 1, version="1.16.3")],
        "cluster-name",
        "warning",
        ("Cluster_1",),
        "cilium upgrade --context ctx --set cluster.name=cluster-1",
    ),
    (
        "name-invalid-117-rejects",
        [cluster("ctx", "Cluster_1", 1, version="v1.17.0")],
        "cluster-name",
        "error",
        ("Cluster_1",),
        "cilium upgrade --context ctx --set cluster.name=cluster-1",
    ),
    (
        "name-too-long",
        [cluster("ctx", "a" * 33, 1, version="1.17.0")],
        "cluster-name",
        "error",
        ("a" * 33,),
        "cilium upgrade --context ctx --set cluster.name=" + "a" * 32,
    ),
    (
        "name-trailing-dash",
        [cluster("ctx", "cluster-", 1)],
        "cluster-name",
        "warning",
        ("cluster-",),
        "cilium upgrade --context ctx --set cluster.name=cluster",
    ),
    (
        "id-zero",
        [cluster("bastion02", "cluster1", 1), cluster("bastion03", "cluster2", 0)],
        "cluster-id",
        "error",
        ("cluster2",),
        "cilium upgrade --context bastion03 --set cluster.id=2",
    ),
    (
        "id-key-missing-is-zero",
        [cluster("bastion02", "cluster1", None)],
        "cluster-id",
        "error",
        ("cluster1",),
        "cilium upgrade --context bastion02 --set cluster.id=1",
    ),
    (
        "id-empty-string-is-zero",
        [cluster("bastion02", "cluster1", None, id_raw="")],
        "cluster-id",
        "error",
        ("cluster1",),
        "cilium upgrade --context bastion02 --set cluster.id=1",
    ),
    (
        "id-non-numeric",
        [cluster("bastion02", "cluster1", None, id_raw="one")],
        "cluster-id",
        "error",
        ("cluster1",),
        "cilium upgrade --context bastion02 --set cluster.id=1",
    ),
    (
        "id-out-of-range-255",
        [cluster("bastion02", "cluster1", 300)],
        "cluster-id",
        "error",
        ("cluster1",),
        "cilium upgrade --context bastion02 --set cluster.id=1",
    ),
    (
        "duplicate-id",
        [cluster("bastion02", "cluster1", 1), cluster("bastion03", "cluster2", 1)],
        "duplicate-id",
        "error",
        ("cluster1", "cluster2"),
        "cilium upgrade --context bastion03 --set cluster.id=2",
    ),
    (
        "duplicate-name",
        [cluster("bastion02", "cluster1", 1), cluster("bastion03", "cluster1", 2)],
        "duplicate-name",
        "error",
        ("cluster1", "cluster1"),
        "cilium upgrade --context bastion03 --set cluster.name=bastion03",
    ),
    (
        "max-connected-differs",
        [
            cluster("a", "cluster1", 1),
            cluster("b", "cluster2", 2),
            cluster("c", "cluster3", 3, max_connected=511, version="1.16.0"),
        ],
        "max-connected-clusters",
        "error",
        ("cluster1", "cluster2", "cluster3"),
        "cilium uninstall --context c && cilium install --context c --version 1.16.0 "
        "--set cluster.name=cluster3 --set cluster.id=3 --set clustermesh.maxConnectedClusters=255",
    ),
    (
        "max-connected-missing-key-is-255",
        [
            cluster("a", "cluster1", 1, max_connected=None),
            cluster("b", "cluster2", 2, max_connected=511, version=None),
        ],
        "max-connected-clusters",
        "error",
        ("cluster1", "cluster2"),
        "cilium uninstall --context b && cilium install --context b --set cluster.name=cluster2 "
        "--set cluster.id=2 --set clustermesh.maxConnectedClusters=255",
    ),
    (
        "max-connected-invalid",
        [cluster("a", "cluster1", 1, max_connected=300, version=None)],
        "max-connected-clusters",
        "error",
        ("cluster1",),
        "cilium uninstall --context a && cilium install --context a --set cluster.name=cluster1 "
        "--set cluster.id=1 --set clustermesh.maxConnectedClusters=255",
    ),
]


@pytest.mark.parametrize(
    ("states", "check", "severity", "clusters", "fix"),
    [c[1:] for c in IDENTITY_CASES],
    ids=[c[0] for c in IDENTITY_CASES],
)
def test_identity_rules(states: list, check: str, severity: str, clusters: tuple, fix: str) -> None:
    found = by_check(connect_checks(states), check)
    assert len(found) == 1, found
    assert (found[0].severity, found[0].clusters, found[0].fix) == (severity, clusters, fix)


@pytest.mark.parametrize(
    "states",
    [
        [cluster("a", "cluster1", 1), cluster("b", "cluster2", 2)],
        [cluster("a", "c" * 32, 1)],
        [cluster("a", "cluster1", 300, max_connected=511), cluster("b", "cluster2", 511, max_connected=511)],
        [cluster("a", "x", 1)],
    ],
    ids=["two-valid", "name-exactly-32", "id-300-allowed-with-511", "single-char-name"],
)
def test_valid_identities_produce_nothing(states: list) -> None:
    assert connect_checks(states) == []


def test_free_ids_do_not_collide() -> None:
    """Suggested IDs avoid every ID in use and each other."""
    states = [cluster("a", "c1", 1), cluster("b", "c2", 1), cluster("c", "c3", 1), cluster("d", "c4", 2)]
    (finding,) = by_check(connect_checks(states), "duplicate-id")
    assert finding.fixes == (
        "cilium upgrade --context b --set cluster.id=3",
        "cilium upgrade --context c --set cluster.id=4",
    )
    assert finding.fix == "\n".join(finding.fixes)


def test_default_name_and_id_zero_are_both_reported() -> None:
    """cilium-cli: 'local cluster has the default name and/or ID 0'."""
    findings = connect_checks([cluster("kind-a", "", 0)])
    assert {f.check for f in findings} == {"cluster-name", "cluster-id"}
    assert by_check(findings, "cluster-name")[0].fix.endswith("cluster.name=kind-a")


def test_default_names_are_not_also_duplicates() -> None:
    findings = connect_checks([cluster("a", "", 1), cluster("b", "", 2)])
    assert by_check(findings, "duplicate-name") == []
    assert [f.fix for f in by_check(findings, "cluster-name")] == [
        "cilium upgrade --context a --set cluster.name=a",
        "cilium upgrade --context b --set cluster.name=b",
    ]


# --- unknown data produces no findings --------------------------------------------------------


@pytest.mark.parametrize("phase", ["syncing", "unreachable", "forbidden", "error"])
def test_clusters_not_ok_are_ignored(phase: str) -> None:
    states = [
        cluster("a", "cluster1", 1, ski="aa"),
        cluster(
            "b", "cluster1", 1, phase=phase, ski="bb", service_type="NodePort", pod_cidrs=("10.0.0.0/16",)
        ),
    ]
    assert connect_checks(states) == []


def test_stale_clusters_still_count() -> None:
    states = [cluster("a", "cluster1", 1), cluster("b", "cluster2", 1, phase="stale")]
    assert by_check(connect_checks(states), "duplicate-id")


def test_unknown_fields_produce_nothing() -> None:
    """config not read, CA unknown, no nodes, no agents: nothing to say."""
    states = [
        cluster("a", None, None, config_present=False, max_connected=None, ski=None),
        cluster("b", "cluster2", 2, ski="bb"),
    ]
    assert connect_checks(states) == []


# --- CA ---------------------------------------------------------------------------------------


def test_ca_mismatch_copies_majority_ca() -> None:
    states = [
        cluster("a", "c1", 1, ski="AA11"),
        cluster("b", "c2", 2, ski="bb22"),
        cluster("c", "c3", 3, ski="aa11"),
    ]
    (finding,) = connect_checks(states)
    assert (finding.severity, finding.check, finding.clusters) == (
        "warning",
        "ca-mismatch",
        ("c1", "c2", "c3"),
    )
    assert "Cilium CA certificates do not match between clusters" in finding.message
    assert finding.fixes == (
        "kubectl --context b -n kube-system delete secret cilium-ca",
        "kubectl --context a -n kube-system get secret cilium-ca -o yaml | kubectl --context b create -f -",
        "kubectl --context b -n kube-system rollout restart daemonset/cilium "
        "deployment/clustermesh-apiserver",
    )


def test_ca_same_or_unknown_is_fine() -> None:
    assert connect_checks([cluster("a", "c1", 1, ski="aa"), cluster("b", "c2", 2, ski="aa")]) == []
    assert connect_checks([cluster("a", "c1", 1, ski="aa"), cluster("b", "c2", 2, ski=None)]) == []


# --- pod CIDRs -------------------------------------------------------------------------------


def test_pod_cidr_overlap() -> None:
    states = [
        cluster("a", "c1", 1, pod_cidrs=("10.0.0.0/24", "10.0.1.0/24")),
        cluster("b", "c2", 2, pod_cidrs=("10.0.1.0/24",)),
        cluster("c", "c3", 3, pod_cidrs=("10.2.0.0/24",)),
    ]
    (finding,) = connect_checks(states)
    assert (finding.severity, finding.check, finding.clusters) == ("error", "pod-cidr-overlap", ("c1", "c2"))
    assert "10.0.0.0/23 ∩ 10.0.1.0/24" in finding.message
    assert (
        finding.fix == "cilium upgrade --context b --set ipam.operator.clusterPoolIPv4PodCIDRList=10.1.0.0/16"
    )


def test_pod_cidr_ipv6_overlap_and_bad_cidr_ignored() -> None:
    states = [
        cluster("a", "c1", 1, pod_cidrs=("fd00:10::/64", "not-a-cidr")),
        cluster("b", "c2", 2, pod_cidrs=("fd00:10::/96", "10.9.0.0/24")),
    ]
    (finding,) = connect_checks(states)
    assert finding.check == "pod-cidr-overlap"
    assert finding.fixes == ()


def test_pod_cidrs_disjoint() -> None:
    states = [
        cluster("a", "c1", 1, pod_cidrs=("10.1.0.0/16",)),
        cluster("b", "c2", 2, pod_cidrs=("10.2.0.0/16",)),
    ]
    assert connect_checks(states) == []


def test_pod_cidr_overlap_scales_to_64_clusters() -> None:
    """64 clusters × 200 nodes with disjoint /24s, one overlapping pair: exact (its time is a
    figure of benchmarks/rules_bench.py, goal ≤ 2 s)."""
    states = [
        cluster(f"ctx{i}", f"c{i}", i + 1, pod_cidrs=tuple(f"10.{i}.{n}.0/24" for n in range(200)))
        for i in range(64)
    ]
    states.append(cluster("ctx64", "c64", 65, pod_cidrs=("10.5.7.0/24",)))
    findings = connect_checks(states)
    assert [(f.check, f.clusters) for f in findings] == [("pod-cidr-overlap", ("c5", "c64"))]


# --- mesh status -------------------------------------------------------------------------------


def test_remote_not_connected() -> None:
    states = seed(
        one={
            "agents": (agent("cilium-a", remote("cluster2", ready=False, status="etcd: 0/1 connected")),),
            "service_type": "LoadBalancer",
        },
        two={"service_type": "LoadBalancer", "version": "1.16.0"},
    )
    (finding,) = connect_checks(states)
    assert (finding.severity, finding.check, finding.clusters) == (
        "error",
        "remote-not-connected",
        ("cluster1", "cluster2"),
    )
    assert finding.contexts == ("bastion02", "bastion03")
    assert "cilium-a: etcd: 0/1 connected" in finding.message
    assert (
        finding.fix == "kubectl --context bastion02 -n kube-system exec cilium-a -c cilium-agent -- "
        "cilium status --verbose"
    )


def test_remote_not_connected_troubleshoot_on_115_plus() -> None:
    states = seed(
        one={
            "agents": (agent("cilium-a", remote("cluster2", ready=False)),),
            "version": "1.15.0",
            "service_type": "LoadBalancer",
        },
        two={"service_type": "LoadBalancer"},
    )
    (finding,) = connect_checks(states)
    assert finding.fix.endswith("-- cilium-dbg troubleshoot clustermesh cluster2")


def test_unreadable_agent_and_apiserver_not_ready() -> None:
    states = seed(
        one={
            "agents": (agent("cilium-a", remote("cluster2")), unreadable("cilium-c")),
            "service_type": "LoadBalancer",
            "deployment": deployment(ready_replicas=0),
        },
        two={"service_type": "LoadBalancer"},
    )
    findings = connect_checks(states)
    assert [(f.severity, f.check) for f in findings] == [
        ("error", "clustermesh-apiserver-not-ready"),
        ("warning", "agent-status-unreadable"),
    ]
    assert "only 0 of 1 replicas are ready" in findings[0].message
    assert (
        findings[0].fix
        == "kubectl --context bastion02 -n kube-system rollout restart deployment/clustermesh-apiserver"
    )
    assert "1/2 Cilium agents on cluster1 could not be read (cilium-c: exec timed out)" in findings[1].message


def test_enabled_but_not_connected_suggests_connect() -> None:
    """Workflow step 3 → 4: both enabled, no cluster connected."""
    states = seed(
        one={"agents": (agent("cilium-a"),), "remotes": (), "service_type": "LoadBalancer"},
        two={"agents": (agent("cilium-b"),), "remotes": (), "service_type": "LoadBalancer"},
    )
    (finding,) = connect_checks(states)
    assert (finding.severity, finding.check, finding.clusters) == (
        "info",
        "mesh-not-connected",
        ("cluster1", "cluster2"),
    )
    assert finding.fix == "cilium clustermesh connect --context bastion02 --destination-context bastion03"


def test_one_way_connection_warns() -> None:
    states = seed(
        one={"service_type": "LoadBalancer"},
        two={"agents": (agent("cilium-b"),), "remotes": (), "service_type": "LoadBalancer"},
    )
    (finding,) = connect_checks(states)
    assert (finding.severity, finding.check, finding.clusters) == (
        "warning",
        "mesh-not-connected",
        ("cluster2", "cluster1"),
    )


def test_without_agent_data_no_connect_suggestion() -> None:
    states = seed(
        one={"agents": (), "remotes": (), "service_type": "LoadBalancer"},
        two={"agents": (), "remotes": (), "service_type": "LoadBalancer"},
    )
    assert connect_checks(states) == []


def test_errors_come_first() -> None:
    states = [cluster("a", "c1", 1, service_type="NodePort"), cluster("b", "c2", 1)]
    assert [f.severity for f in connect_checks(states)] == ["error", "warning"]


def test_reinstall_uses_the_id_other_fixes_suggest() -> None:
    """A cluster that needs a new ID and a reinstall gets the same new ID in both commands."""
    states = [cluster("a", "c1", 1), cluster("b", "c2", 1, max_connected=511, version=None)]
    findings = connect_checks(states)
    (dup,) = by_check(findings, "duplicate-id")
    (mcc,) = by_check(findings, "max-connected-clusters")
    assert dup.fix == "cilium upgrade --context b --set cluster.id=2"
    assert "--set cluster.id=2 --set clustermesh.maxConnectedClusters=255" in mcc.fix
