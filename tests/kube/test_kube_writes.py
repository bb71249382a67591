"""Writes through the simulator: annotate, scale, manifests, and each precise error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web
from kubehelp import Hubs, add_hook, sim_cluster

from tui.mesh.actions import Scale, SetAnnotation
from tui.sim.mesh import SimThread

KEY = ("song", "userlist-svc")
AFFINITY = "service.cilium.io/affinity"


@pytest.fixture
def readonly_sim() -> Iterator[SimThread]:
    """The seed mesh with a kubeconfig holding the read-only users' tokens."""
    with SimThread("seed", ready_delay=0.01, termination_grace=0.05, user="readonly") as running:
        yield running


def stored(sim: SimThread, context: str, key: str, namespace: str, name: str) -> dict[str, Any]:
    cluster = sim_cluster(sim, context)
    return sim.call(lambda: json.loads(cluster.store.get(key, namespace, name).raw))


def request_log(sim: SimThread, context: str) -> tuple[list[tuple[str, str]], Any]:
    seen: list[tuple[str, str]] = []

    async def record(request: web.Request) -> None:
        seen.append((request.method, request.path))

    return seen, add_hook(sim, context, record)


async def test_set_and_remove_an_annotation_changes_nothing_else(sim: SimThread, hubs: Hubs) -> None:
    hub = await hubs.start(sim.kubeconfig_path)
    before = stored(sim, "bastion02", "services", "song", "userlist-svc")
    result = await hub.write(SetAnnotation("bastion02", "song", "userlist-svc", AFFINITY, "local", old=None))
    assert result.ok and not result.refused and result.status is None
    assert result.message == f"service song/userlist-svc: {AFFINITY} is now local"
    # the snapshot published when write() returns already shows it
    assert hub.snapshot().clusters[0].services[KEY].annotations[AFFINITY] == "local"
    after = stored(sim, "bastion02", "services", "song", "userlist-svc")
    assert after["metadata"]["annotations"] == {**before["metadata"]["annotations"], AFFINITY: "local"}
    assert after["spec"] == before["spec"]
    assert after["metadata"].get("labels") == before["metadata"].get("labels")

    result = await hub.write(SetAnnotation("bastion02", "song", "userlist-svc", AFFINITY, None, old="local"))
    assert result.ok and result.message.endswith("is now (removed)")
    assert AFFINITY not in hub.snapshot().clusters[0].services[KEY].annotations
    assert (
        stored(sim, "bastion02", "services", "song", "userlist-svc")["metadata"]["annotations"]
        == (before["metadata"]["annotations"])
    )


async def test_scale_through_the_scale_subresource(sim: SimThread, hubs: Hubs) -> None:
    hub = await hubs.start(sim.kubeconfig_path)
    seen, remove = request_log(sim, "bastion03")
    try:
        result = await hub.write(Scale("bastion03", "song", "userlist", 2, old=1))
    finally:
        remove()
    assert result.ok, result.message
    assert result.message == "deployment song/userlist: replicas set to 2"
    assert ("PATCH", "/apis/apps/v1/namespaces/song/deployments/userlist/scale") in seen
    assert hub.snapshot().clusters[1].deployments[("song", "userlist")].replicas == 2
    assert stored(sim, "bastion03", "deployments.apps", "song", "userlist")["spec"]["replicas"] == 2


async def test_forbidden_names_the_verb_and_resource(readonly_sim: SimThread, hubs: Hubs) -> None:
    hub = await hubs.start(readonly_sim.kubeconfig_path)
    state = hub.snapshot().clusters[0]
    assert state.phase == "ok"
    await hub.wait_for(lambda s: "patch services" in s.clusters[0].allowed, 5)
    state = hub.snapshot().clusters[0]
    assert state.allowed["patch services"] is False
    assert state.allowed["patch deployments/scale"] is False
    assert state.denied_reasons["patch services"]

    result = await hub.write(SetAnnotation("bastion02", "song", "userlist-svc", AFFINITY, "local"))
    assert not result.ok and not result.refused and result.status == 403
    assert "forbidden: cannot patch services in namespace song" in result.message
    result = await hub.write(Scale("bastion02", "song", "userlist", 0))
    assert result.status == 403
    assert "cannot patch deployments/scale in namespace song" in result.message


async def test_not_found_and_invalid(sim: SimThread, hubs: Hubs) -> None:
    hub = await hubs.start(sim.kubeconfig_path)
    result = await hub.write(SetAnnotation("bastion02", "song", "nope", AFFINITY, "local"))
    assert result.status == 404 and not result.ok
    assert result.message == 'service song/nope: services "nope" not found'

    huge = "x" * (300 * 1024)
    result = await hub.write(SetAnnotation("bastion02", "song", "userlist-svc", "example.com/big", huge))
    assert result.status == 422 and not result.ok
    assert result.message.startswith("service song/userlist-svc: invalid (HTTP 422): ")
    assert "metadata.annotations" in result.message
    assert "example.com/big" not in hub.snapshot().clusters[0].services[KEY].annotations


async def test_conflict_is_retried_once_with_fresh_state(sim: SimThread, hubs: Hubs) -> None:
    hub = await hubs.start(sim.kubeconfig_path)
    path = "/api/v1/namespaces/song/services/userlist-svc"
    calls: list[str] = []
    conflicts = {"left": 1}

    async def conflict_once(request: web.Request) -> web.Response | None:
        if request.path != path:
            return None
        calls.append(request.method)
        if request.method == "PATCH" and conflicts["left"] > 0:
            conflicts["left"] -= 1
            message = 'Operation cannot be fulfilled on services "userlist-svc": the object has been modified'
            status = {
                "kind": "Status",
                "status": "Failure",
                "reason": "Conflict",
                "code": 409,
                "message": message,
            }
            return web.json_response(status, status=409)
        return None

    remove = add_hook(sim, "bastion02", conflict_once)
    try:
        result = await hub.write(SetAnnotation("bastion02", "song", "userlist-svc", AFFINITY, "remote"))
        assert result.ok, result.message
        assert calls == ["PATCH", "GET", "PATCH"]
        conflicts["left"] = 2
        calls.clear()
        result = await hub.write(SetAnnotation("bastion02", "song", "userlist-svc", AFFINITY, "local"))
    finally:
        remove()
    assert calls == ["PATCH", "GET", "PATCH"]
    assert not result.ok and result.status == 409
    assert "conflict (HTTP 409) after one retry with fresh state" in result.message
    assert "the object has been modified" in result.message
    assert hub.snapshot().clusters[0].services[KEY].annotations[AFFINITY] == "remote"


async def test_read_only_refuses_before_sending(sim: SimThread, hubs: Hubs) -> None:
    hub = await hubs.start(sim.kubeconfig_path, read_only=True)
    seen, remove = request_log(sim, "bastion02")
    try:
        action = SetAnnotation("bastion02", "song", "userlist-svc", AFFINITY, "local")
        result = await hub.write(action)
        scale = await hub.write(Scale("bastion02", "song", "userlist", 0))
        created = await hub.create_manifests("bastion02", [{"apiVersion": "v1", "kind": "Namespace",
                                                            "metadata": {"name": "ro"}}])  # fmt: skip
    finally:
        remove()
    assert result.refused and not result.ok and result.status is None
    assert result.message == f"read-only mode: not sent ({action.kubectl()})"
    assert scale.refused
    assert created[0].refused and not created[0].ok
    # nothing but reads went out (access reviews are POSTs that change nothing)
    assert not [(m, p) for m, p in seen if m != "GET" and not p.endswith("/selfsubjectaccessreviews")]


async def test_invalid_actions_and_unknown_contexts_are_refused(sim: SimThread, hubs: Hubs) -> None:
    hub = await hubs.start(sim.kubeconfig_path)
    bad = await hub.write(SetAnnotation("bastion02", "song", "userlist-svc", "bad key!", "x"))
    assert bad.refused and "invalid annotation key" in bad.message
    negative = await hub.write(Scale("bastion02", "song", "userlist", -1))
    assert negative.refused
    unknown = await hub.write(Scale("nowhere", "song", "userlist", 1))
    assert unknown.refused and "nowhere" in unknown.message


SAMPLE = [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}},
    {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "echo", "namespace": "demo"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "echo"}},
            "template": {
                "metadata": {"labels": {"app": "echo"}},
                "spec": {"containers": [{"name": "echo", "image": "ealen/echo-server"}]},
            },
        },
    },
    {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "echo",
            "namespace": "demo",
            "annotations": {"service.cilium.io/global": "true"},
        },
        "spec": {"selector": {"app": "echo"}, "ports": [{"port": 80}]},
    },
]


async def test_create_and_delete_manifests(sim: SimThread, hubs: Hubs) -> None:
    hub = await hubs.start(sim.kubeconfig_path)
    results = await hub.create_manifests("bastion03", SAMPLE)
    assert [(r.target, r.ok, r.message) for r in results] == [
        ("namespace demo", True, "created"),
        ("deployment demo/echo", True, "created"),
        ("service demo/echo", True, "created"),
    ]
    assert ("demo", "echo") in hub.snapshot().clusters[1].services
    assert ("demo", "echo") in hub.snapshot().clusters[1].deployments
    again = await hub.create_manifests("bastion03", SAMPLE[1:2])
    assert again[0].ok and again[0].message == "already exists (left unchanged)"
    odd = await hub.create_manifests(
        "bastion03", [{"apiVersion": "v1", "kind": "Widget", "metadata": {"name": "w"}}]
    )
    assert odd[0].refused and "unsupported kind" in odd[0].message

    deleted = await hub.delete_manifests("bastion03", SAMPLE[1:])
    assert [(r.target, r.message) for r in deleted] == [
        ("service demo/echo", "deleted"),
        ("deployment demo/echo", "deleted"),
    ]
    await hub.wait_for(lambda s: ("demo", "echo") not in s.clusters[1].services, 5)
    gone = await hub.delete_manifests("bastion03", SAMPLE[2:])
    assert gone[0].ok and gone[0].message == "already absent"
