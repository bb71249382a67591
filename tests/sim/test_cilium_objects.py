"""Cilium's kube-system objects as the API serves them, per scenario (cilium-semantics.md §1–2)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tui.mesh.x509 import ca_subject_key_id
from tui.sim.cilium import endpoint_of, settings_of
from tui.sim.meshtesting import Http, mesh_sim
from tui.sim.scenario import ScenarioError, builtin_names, from_dict, load

KS = "/api/v1/namespaces/kube-system"
APPS = "/apis/apps/v1/namespaces/kube-system"


def decoded(secret: dict[str, Any]) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}


async def test_seed_has_cilium_and_a_connected_clustermesh_in_both_clusters() -> None:
    sim = mesh_sim("seed")
    try:
        async with Http(sim) as http:
            skis = {}
            for context, name, cluster_id, node_ip, peer, peer_ip in (
                ("bastion02", "cluster1", 1, "172.30.1.89", "cluster2", "172.30.1.85"),
                ("bastion03", "cluster2", 2, "172.30.1.85", "cluster1", "172.30.1.89"),
            ):
                config = await http.get(context, f"{KS}/configmaps/cilium-config")
                data = config["data"]
                assert (data["cluster-name"], data["cluster-id"]) == (name, str(cluster_id))
                assert data["max-connected-clusters"] == "255"
                assert config["data"]["identity-allocation-mode"] == "crd"
                ds = await http.get(context, f"{APPS}/daemonsets/cilium")
                container = ds["spec"]["template"]["spec"]["containers"][0]
                assert (container["name"], container["image"]) == (
                    "cilium-agent",
                    "quay.io/cilium/cilium:v1.14.1",
                )
                agents = await http.get(context, f"{KS}/pods", labelSelector="k8s-app=cilium")
                (agent,) = agents["items"]  # one per node
                assert agent["status"]["phase"] == "Running" and agent["status"]["podIP"] == node_ip
                assert agent["spec"]["nodeName"] == f"{name}-node1"
                for deploy in ("cilium-operator", "clustermesh-apiserver"):
                    status = (await http.get(context, f"{APPS}/deployments/{deploy}"))["status"]
                    assert status["readyReplicas"] == status["replicas"] == 1
                svc = await http.get(context, f"{KS}/services/clustermesh-apiserver")
                assert svc["spec"]["type"] == "NodePort"
                assert (svc["spec"]["ports"][0]["port"], svc["spec"]["ports"][0]["nodePort"]) == (2379, 32379)
                ca = decoded(await http.get(context, f"{KS}/secrets/cilium-ca"))
                assert set(ca) == {"ca.crt", "ca.key"} and "BEGIN CERTIFICATE" in ca["ca.crt"]
                skis[context] = ca_subject_key_id(ca["ca.crt"])
                remotes = decoded(await http.get(context, f"{KS}/secrets/cilium-clustermesh"))
                assert set(remotes) == {peer}
                assert endpoint_of(remotes[peer]) == f"{peer_ip}:32379"
            assert skis["bastion02"] == skis["bastion03"] and skis["bastion02"]
    finally:
        sim.stop()


@pytest.mark.parametrize(
    ("scenario", "context", "check"),
    [
        ("ca-mismatch", None, "different-ca"),
        ("mixed-versions", "bastion03", "v1.18.3"),
        ("loadbalancer", "bastion02", "LoadBalancer"),
        ("unmeshed", "bastion02", "no-remotes"),
    ],
)
async def test_scenario_variants(scenario: str, context: str | None, check: str) -> None:
    sim = mesh_sim(scenario)
    try:
        async with Http(sim) as http:
            if check == "different-ca":
                skis = {
                    ctx: ca_subject_key_id(decoded(await http.get(ctx, f"{KS}/secrets/cilium-ca"))["ca.crt"])
                    for ctx in ("bastion02", "bastion03")
                }
                assert skis["bastion02"] != skis["bastion03"]
            elif check.startswith("v"):
                ds = await http.get(context, f"{APPS}/daemonsets/cilium")
                assert ds["spec"]["template"]["spec"]["containers"][0]["image"].endswith(f":{check}")
            elif check == "LoadBalancer":
                svc = await http.get("bastion03", f"{KS}/services/clustermesh-apiserver")
                ip = svc["status"]["loadBalancer"]["ingress"][0]["ip"]
                remotes = decoded(await http.get(context, f"{KS}/secrets/cilium-clustermesh"))
                assert endpoint_of(remotes["cluster2"]) == f"{ip}:2379"
            else:
                secret = await http.get(context, f"{KS}/secrets/cilium-clustermesh")
                assert not secret.get("data")
    finally:
        sim.stop()


def test_builtin_scenarios_load_with_their_cilium_settings() -> None:
    assert {
        "seed",
        "unmeshed",
        "ca-mismatch",
        "dup-id",
        "mixed-versions",
        "three-clusters",
        "rebel-base",
    } <= set(builtin_names())
    for name in builtin_names():
        settings = settings_of(load(name))
        assert settings.enabled, name
    seed = settings_of(load("seed"))
    assert seed.connect == [("cluster1", "cluster2")] and seed.cluster("cluster1").node_port == 32379
    assert settings_of(load("unmeshed")).connect == []
    assert settings_of(load("mixed-versions")).cluster("cluster2").version == "1.18.3"
    assert len(settings_of(load("three-clusters")).connect) == 3
    dup = load("dup-id")
    assert [c.id for c in dup.clusters] == [1, 2, 2]
    overlap = load("overlapping-cidrs")
    assert overlap.clusters[0].pod_cidr == overlap.clusters[1].pod_cidr == "10.1.0.0/16"


@pytest.mark.parametrize(
    ("cilium", "message"),
    [
        ({"version": "banana"}, "is not a Cilium version"),
        ({"clustermeshService": "ExternalName"}, "clustermeshService must be one of"),
        ({"connect": [["cluster1", "nope"]]}, "is not a pair of cluster names"),
        ({"connect": 3}, "connect must be"),
        ({"syncDelay": -1}, "must not be negative"),
    ],
)
def test_bad_cilium_settings_are_refused(cilium: dict[str, Any], message: str) -> None:
    scenario = from_dict({"clusters": [{"name": "cluster1"}, {"name": "cluster2"}], "cilium": cilium})
    with pytest.raises(ScenarioError, match=message):
        settings_of(scenario)


def test_extends_needs_a_builtin_base(tmp_path: Any) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("extends: nope\n")
    with pytest.raises(ScenarioError, match="extends 'nope'"):
        load(str(path))
    path.write_text("extends: seed\nclusterOverrides:\n  cluster9: {id: 9}\n")
    with pytest.raises(ScenarioError, match="unknown clusters"):
        load(str(path))
    path.write_text("extends: seed\nclusterOverrides:\n  cluster2:\n    cilium: {version: 1.16.0}\n")
    mine = load(str(path))
    assert mine.name == "mine" and settings_of(mine).cluster("cluster2").version == "1.16.0"
    assert mine.clusters[1].nodes[0].internal_ip == "172.30.1.85"  # the rest comes from seed
