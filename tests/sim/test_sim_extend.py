"""Extension points part 2 builds on: extra resource types, request hooks, store subscribers."""

from __future__ import annotations

import json

import pytest
from aiohttp import web

from tui.sim import resources
from tui.sim.resources import ResourceType, register_type
from tui.sim.store import Event
from tui.sim.testing import Kubectl, fast_sim


def test_an_extra_type_is_served_like_a_builtin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resources, "EXTRA_TYPES", [])
    register_type(
        ResourceType("cilium.io", "v2", "ciliumnodes", "ciliumnode", "CiliumNode", False, short_names=("cn",))
    )
    sim = fast_sim("seed")
    kubectl = Kubectl(sim.kubeconfig_path)
    try:
        manifest = {
            "apiVersion": "cilium.io/v2",
            "kind": "CiliumNode",
            "metadata": {"name": "cluster1-node9"},
            "spec": {"ipam": {"podCIDRs": ["10.1.0.0/24"]}},
        }
        created = kubectl("create", "-f", "-", input=json.dumps(manifest))
        assert created.returncode == 0, created.stderr
        listed = kubectl("get", "cn")
        assert listed.returncode == 0 and listed.stdout.split("\n")[0].split() == ["NAME", "AGE"]
        assert "cluster1-node9" in listed.stdout and "cluster1-node1" in listed.stdout  # Cilium's own too
        got = json.loads(kubectl("get", "ciliumnodes.cilium.io", "cluster1-node9", "-o", "json").stdout)
        assert got["spec"]["ipam"]["podCIDRs"] == ["10.1.0.0/24"]
    finally:
        kubectl.cleanup()
        sim.stop()


def test_request_hooks_and_subscribers() -> None:
    sim = fast_sim("seed")
    kubectl = Kubectl(sim.kubeconfig_path)
    cluster = sim.mesh.cluster("bastion03")
    seen: list[str] = []

    async def unavailable(request: web.Request) -> web.StreamResponse | None:
        if request.path.endswith("/services"):
            body = {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": "etcdserver: request timed out",
                "reason": "ServiceUnavailable",
                "code": 503,
            }
            return web.json_response(body, status=503)
        return None

    def on_event(event: Event) -> None:
        seen.append(f"{event.type} {event.key} {event.entry.name}")

    try:
        sim.call(lambda: cluster.request_hooks.append(unavailable))
        unsubscribe = sim.call(lambda: cluster.store.subscribe(on_event))
        failed = kubectl("get", "svc", "-n", "song", context="bastion03")
        assert failed.returncode == 1 and "etcdserver: request timed out" in failed.stderr
        assert (
            kubectl("annotate", "deploy", "userlist", "-n", "song", "a.b/c=d", context="bastion03").returncode
            == 0
        )
        assert "MODIFIED deployments.apps userlist" in seen
        sim.call(unsubscribe)
        sim.call(lambda: cluster.request_hooks.remove(unavailable))
        assert kubectl("get", "svc", "-n", "song", context="bastion03").returncode == 0
    finally:
        kubectl.cleanup()
        sim.stop()
