"""Pure pieces of the simulator: patches, selectors, names, durations, scenarios, RBAC rules."""

from __future__ import annotations

import pytest

from tui.sim.auth import Rule, User, read_only, readers_except
from tui.sim.kubectl import human_duration, json_patch, strategic_merge
from tui.sim.mergepatch import merge_patch
from tui.sim.names import SAFE_ALPHABET, fnv32a, pod_template_hash, safe_encode
from tui.sim.scenario import ScenarioError, builtin_names, from_dict, generated, load
from tui.sim.selectors import parse_field_selector, parse_label_selector, selector_matcher, selector_string


def test_merge_patch_sets_and_removes() -> None:
    doc = {"metadata": {"annotations": {"a": "1", "b": "2"}}, "spec": {"replicas": 1}}
    patched = merge_patch(doc, {"metadata": {"annotations": {"a": None, "c": "3"}}, "spec": {"replicas": 4}})
    assert patched == {"metadata": {"annotations": {"b": "2", "c": "3"}}, "spec": {"replicas": 4}}
    assert doc["metadata"]["annotations"] == {"a": "1", "b": "2"}, "input unchanged"


def test_strategic_merge_lists_by_key_and_order() -> None:
    doc = {
        "containers": [
            {
                "name": "a",
                "image": "x:1",
                "env": [{"name": "E", "value": "1"}],
                "ports": [{"containerPort": 80, "protocol": "TCP"}],
            },
            {"name": "b", "image": "y:1"},
        ]
    }
    patch = {
        "$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
        "containers": [
            {
                "name": "a",
                "image": "x:2",
                "env": [{"name": "F", "value": "2"}],
                "ports": [{"containerPort": 81}],
            }
        ],
    }
    result = strategic_merge(doc, patch)
    assert [c["name"] for c in result["containers"]] == ["b", "a"]
    a = result["containers"][1]
    assert a["image"] == "x:2"
    assert a["env"] == [{"name": "E", "value": "1"}, {"name": "F", "value": "2"}]
    assert [p["containerPort"] for p in a["ports"]] == [80, 81]
    deleted = strategic_merge(doc, {"containers": [{"name": "b", "$patch": "delete"}]})
    assert [c["name"] for c in deleted["containers"]] == ["a"]
    replaced = strategic_merge({"spec": {"a": 1, "b": 2}}, {"spec": {"$patch": "replace", "c": 3}})
    assert replaced == {"spec": {"c": 3}}


def test_json_patch_operations() -> None:
    doc = {"metadata": {"labels": {"a": "1"}}, "spec": {"ports": [{"port": 80}]}}
    result = json_patch(
        doc,
        [
            {"op": "add", "path": "/metadata/labels/b~1c", "value": "2"},
            {"op": "replace", "path": "/spec/ports/0/port", "value": 81},
            {"op": "add", "path": "/spec/ports/-", "value": {"port": 82}},
            {"op": "test", "path": "/metadata/labels/a", "value": "1"},
            {"op": "remove", "path": "/metadata/labels/a"},
        ],
    )
    assert result == {"metadata": {"labels": {"b/c": "2"}}, "spec": {"ports": [{"port": 81}, {"port": 82}]}}
    with pytest.raises(Exception, match="missing"):
        json_patch(doc, [{"op": "remove", "path": "/spec/nothing"}])


def test_label_and_field_selectors() -> None:
    match = parse_label_selector("app=web,tier!=db,env in (prod, stage),!legacy,team")
    assert match is not None
    assert match({"app": "web", "env": "prod", "team": "x"})
    assert not match({"app": "web", "env": "dev", "team": "x"})
    assert not match({"app": "web", "env": "prod", "team": "x", "legacy": "1"})
    assert not match({"app": "web", "env": "prod"})
    assert parse_label_selector("") is None
    fields = parse_field_selector("metadata.name=x,status.phase!=Failed")
    assert fields is not None
    assert fields({"metadata": {"name": "x"}, "status": {"phase": "Running"}})
    assert not fields({"metadata": {"name": "y"}, "status": {"phase": "Running"}})
    selector = {
        "matchLabels": {"app": "a"},
        "matchExpressions": [{"key": "t", "operator": "NotIn", "values": ["x"]}],
    }
    m = selector_matcher(selector)
    assert m is not None and m({"app": "a", "t": "y"}) and not m({"app": "a", "t": "x"})
    assert selector_string(selector) == "app=a,t notin (x)"


def test_names_look_like_kubernetes() -> None:
    assert fnv32a(b"") == 0x811C9DC5
    assert safe_encode("0123456789") == "456789bcdf"
    hashed = pod_template_hash({"metadata": {"labels": {"app": "x"}}})
    assert 6 <= len(hashed) <= 10 and set(hashed) <= set(SAFE_ALPHABET)
    assert hashed == pod_template_hash({"metadata": {"labels": {"app": "x"}}})


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (5, "5s"),
        (119, "119s"),
        (150, "2m30s"),
        (600, "10m"),
        (3 * 3600 + 60, "3h1m"),
        (30 * 3600, "30h"),
        (3 * 86400, "3d"),
        (400 * 86400, "400d"),
        (3 * 365 * 86400, "3y0d"),
    ],
)
def test_human_duration(seconds: int, text: str) -> None:
    assert human_duration(seconds) == text


def test_seed_scenario() -> None:
    assert "seed" in builtin_names()
    seed = load("seed")
    assert [(c.context, c.name, c.id) for c in seed.clusters] == [
        ("bastion02", "cluster1", 1),
        ("bastion03", "cluster2", 2),
    ]
    assert [n.internal_ip for c in seed.clusters for n in c.nodes] == ["172.30.1.89", "172.30.1.85"]
    assert seed.clusters[0].nodes[0].pod_cidr == "10.1.0.0/24"
    assert {o["kind"] for o in seed.objects} == {"Namespace", "Deployment", "Service"}


def test_scenario_keeps_unknown_fields_and_rejects_nonsense(tmp_path) -> None:
    scenario = from_dict(
        {"cilium": {"version": "1.14.1"}, "clusters": [{"name": "c1", "cilium": {"serviceType": "NodePort"}}]}
    )
    assert scenario.extra == {"cilium": {"version": "1.14.1"}}
    assert scenario.clusters[0].extra == {"cilium": {"serviceType": "NodePort"}}
    with pytest.raises(ScenarioError):
        from_dict({"clusters": []})
    with pytest.raises(ScenarioError, match="no scenario"):
        load(str(tmp_path / "missing.yaml"))
    big = generated(3, 10)
    assert [c.context for c in big.clusters] == ["mesh01", "mesh02", "mesh03"]
    assert len({c.pod_cidr for c in big.clusters}) == 3 and len({c.service_cidr for c in big.clusters}) == 3


def test_rbac_rules() -> None:
    assert read_only().allows("list", "", "services", "song")
    assert not read_only().allows("patch", "", "services", "song")
    limited = User("u", (Rule(("patch",), ("deployments/scale",), ("apps",), ("song",)),))
    assert limited.allows("patch", "apps", "deployments/scale", "song")
    assert not limited.allows("patch", "apps", "deployments/scale", "other")
    assert not limited.allows("patch", "apps", "deployments", "song")
    no_secrets = readers_except("n", ["secrets"])
    assert no_secrets.allows("get", "", "configmaps", "x") and not no_secrets.allows(
        "get", "", "secrets", "x"
    )
