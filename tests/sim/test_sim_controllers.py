"""Controllers seen through the API: deployments -> pods, readiness, termination, slices, daemonsets."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client, config
from testkit import until_blocking

from tui.sim.scenario import from_dict
from tui.sim.testing import fast_sim

SAFE = "[bcdfghjklmnpqrstvwxz2456789]"


def wait_for(check: Callable[[], Any], timeout: float = 5.0) -> Any:
    """``check()``'s first true value (:func:`testkit.until_blocking`)."""
    return until_blocking(check, timeout)


@pytest.fixture
def slow_sim() -> Iterator[Any]:
    """Three nodes, pods Ready after 0.25 s and Terminating for 0.25 s: slow enough to observe."""
    scenario = from_dict(
        {
            "clusters": [
                {
                    "context": "ctx-a",
                    "name": "alpha",
                    "id": 7,
                    "podCIDR": "10.7.0.0/16",
                    "serviceCIDR": "10.107.0.0/16",
                    "nodes": [{"name": f"alpha-node{i}", "internalIP": f"192.168.7.{i}"} for i in (1, 2, 3)],
                }
            ],
            "objects": [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "app"}}],
        }
    )
    sim = fast_sim(scenario, ready_delay=0.25, termination_grace=0.25)
    api_client = config.new_client_from_config(str(sim.kubeconfig_path), context="ctx-a")
    try:
        yield sim, api_client
    finally:
        api_client.close()
        sim.stop()


DEPLOY = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web"},
    "spec": {
        "replicas": 3,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [
                    {"name": "web", "image": "nginx:1.27", "ports": [{"name": "http", "containerPort": 8080}]}
                ]
            },
        },
    },
}
SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "web"},
    "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "http"}]},
}


def test_deployment_makes_named_pods_that_become_ready(slow_sim: Any) -> None:
    _sim, api_client = slow_sim
    core, apps = client.CoreV1Api(api_client), client.AppsV1Api(api_client)
    apps.create_namespaced_deployment("app", DEPLOY)
    rs = wait_for(lambda: apps.list_namespaced_replica_set("app").items)
    assert re.fullmatch(f"web-{SAFE}{{6,10}}", rs[0].metadata.name)
    assert rs[0].metadata.owner_references[0].name == "web"
    pods = wait_for(lambda: [p for p in core.list_namespaced_pod("app").items if p.status.pod_ip])
    assert len(pods) == 3
    assert all(re.fullmatch(f"{rs[0].metadata.name}-{SAFE}{{5}}", p.metadata.name) for p in pods)
    assert all(p.status.phase == "Pending" for p in pods), "Ready only after the delay"
    assert {p.spec.node_name for p in pods} == {"alpha-node1", "alpha-node2", "alpha-node3"}
    for pod in pods:
        node = core.read_node(pod.spec.node_name)
        assert ipaddress.ip_address(pod.status.pod_ip) in ipaddress.ip_network(node.spec.pod_cidr)
        assert ipaddress.ip_address(pod.status.pod_ip) in ipaddress.ip_network("10.7.0.0/16")
    deploy = wait_for(
        lambda: (d := apps.read_namespaced_deployment("web", "app")).status.ready_replicas == 3 and d
    )
    assert deploy.status.available_replicas == 3 and deploy.status.observed_generation == 1
    assert {c.type: c.status for c in deploy.status.conditions} == {
        "Available": "True",
        "Progressing": "True",
    }


def test_endpoint_slice_follows_readiness_and_termination(slow_sim: Any) -> None:
    _sim, api_client = slow_sim
    core, apps = client.CoreV1Api(api_client), client.AppsV1Api(api_client)
    discovery = client.DiscoveryV1Api(api_client)
    apps.create_namespaced_deployment("app", DEPLOY)
    core.create_namespaced_service("app", SERVICE)

    def slice_() -> Any:
        items = discovery.list_namespaced_endpoint_slice(
            "app", label_selector="kubernetes.io/service-name=web"
        ).items
        return items[0] if items else None

    ready = wait_for(
        lambda: (s := slice_()) and len([e for e in s.endpoints if e.conditions.ready]) == 3 and s
    )
    assert ready.ports[0].port == 8080, "named targetPort resolved from the pods"
    assert (
        ready.metadata.labels["endpointslice.kubernetes.io/managed-by"] == "endpointslice-controller.k8s.io"
    )
    victim = ready.endpoints[0].target_ref.name
    core.delete_namespaced_pod(victim, "app")
    pod = core.read_namespaced_pod(victim, "app")
    assert pod.metadata.deletion_timestamp is not None
    terminating = wait_for(
        lambda: [
            e
            for e in slice_().endpoints
            if e.target_ref.name == victim and e.conditions.terminating and not e.conditions.ready
        ]
    )
    assert terminating
    gone = wait_for(lambda: victim not in {p.metadata.name for p in core.list_namespaced_pod("app").items})
    assert gone
    back = wait_for(lambda: len([e for e in slice_().endpoints if e.conditions.ready]) == 3)
    assert back, "the ReplicaSet replaced the deleted pod"
    core.patch_namespaced_service("web", "app", {"spec": {"selector": {"app": "other"}}})
    assert wait_for(lambda: slice_().endpoints == [])


def test_scale_down_terminates_then_removes(slow_sim: Any) -> None:
    _sim, api_client = slow_sim
    core, apps = client.CoreV1Api(api_client), client.AppsV1Api(api_client)
    apps.create_namespaced_deployment("app", DEPLOY)
    wait_for(lambda: apps.read_namespaced_deployment("web", "app").status.ready_replicas == 3)
    apps.patch_namespaced_deployment_scale("web", "app", {"spec": {"replicas": 1}})
    terminating = wait_for(
        lambda: [p for p in core.list_namespaced_pod("app").items if p.metadata.deletion_timestamp]
    )
    assert len(terminating) == 2
    assert wait_for(lambda: len(core.list_namespaced_pod("app").items) == 1)


def test_daemonset_runs_one_pod_per_node(slow_sim: Any) -> None:
    _sim, api_client = slow_sim
    core, apps = client.CoreV1Api(api_client), client.AppsV1Api(api_client)
    ds = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent"},
        "spec": {
            "selector": {"matchLabels": {"k8s-app": "agent"}},
            "template": {
                "metadata": {"labels": {"k8s-app": "agent"}},
                "spec": {"containers": [{"name": "agent", "image": "busybox:1.36"}]},
            },
        },
    }
    apps.create_namespaced_daemon_set("app", ds)
    status = wait_for(
        lambda: (d := apps.read_namespaced_daemon_set("agent", "app").status).number_ready == 3 and d
    )
    assert status.desired_number_scheduled == 3
    pods = core.list_namespaced_pod("app", label_selector="k8s-app=agent").items
    assert sorted(p.spec.node_name for p in pods) == ["alpha-node1", "alpha-node2", "alpha-node3"]
    apps.delete_namespaced_daemon_set("agent", "app")
    assert wait_for(lambda: not core.list_namespaced_pod("app", label_selector="k8s-app=agent").items)


def test_deleting_a_namespace_removes_its_objects(slow_sim: Any) -> None:
    _sim, api_client = slow_sim
    core, apps = client.CoreV1Api(api_client), client.AppsV1Api(api_client)
    apps.create_namespaced_deployment("app", DEPLOY)
    core.create_namespaced_service("app", SERVICE)
    wait_for(lambda: len(core.list_namespaced_pod("app").items) == 3)
    core.delete_namespace("app")
    assert core.read_namespace("app").status.phase == "Terminating"
    assert wait_for(lambda: "app" not in {n.metadata.name for n in core.list_namespace().items})
    assert core.list_namespaced_pod("app").items == []
    assert core.list_namespaced_service("app").items == []


def test_template_change_rolls_to_a_new_replica_set(slow_sim: Any) -> None:
    _sim, api_client = slow_sim
    apps = client.AppsV1Api(api_client)
    apps.create_namespaced_deployment("app", DEPLOY)
    wait_for(lambda: apps.read_namespaced_deployment("web", "app").status.ready_replicas == 3)
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.28"}]}}}}
    apps.patch_namespaced_deployment("web", "app", patch)
    deploy = wait_for(
        lambda: (
            (d := apps.read_namespaced_deployment("web", "app")).status.updated_replicas == 3
            and d.status.ready_replicas == 3
            and d
        )
    )
    assert deploy.metadata.generation == 2 and deploy.status.observed_generation == 2
    sets = {rs.metadata.name: rs.spec.replicas for rs in apps.list_namespaced_replica_set("app").items}
    assert sorted(sets.values()) == [0, 3]


def test_same_seed_same_names_and_addresses() -> None:
    def snapshot(seed: int) -> list[tuple[str, str]]:
        sim = fast_sim("seed", seed=seed)
        try:
            api_client = config.new_client_from_config(str(sim.kubeconfig_path), context="bastion03")
            try:
                pods = client.CoreV1Api(api_client).list_namespaced_pod("song").items
                return sorted((p.metadata.name, p.status.pod_ip) for p in pods)
            finally:
                api_client.close()
        finally:
            sim.stop()

    first = snapshot(42)
    assert first == snapshot(42)
    assert first != snapshot(43)
    assert all(ip.startswith("10.2.0.") for _, ip in first)


def test_generated_mesh_services_follow_their_backends() -> None:
    from tui.sim.scenario import generated

    sim = fast_sim(generated(2, 20))
    api_client = config.new_client_from_config(str(sim.kubeconfig_path), context="mesh02")
    try:
        core, apps = client.CoreV1Api(api_client), client.AppsV1Api(api_client)
        discovery = client.DiscoveryV1Api(api_client)
        services = core.list_namespaced_service("bench").items
        assert len(services) == 20
        assert all(s.metadata.annotations["service.cilium.io/global"] == "true" for s in services)
        assert all(
            ipaddress.ip_address(s.spec.cluster_ip) in ipaddress.ip_network("172.16.16.0/20")
            for s in services
        )
        assert len(core.list_namespaced_pod("song").items) == 2, "the seed's objects are there too"

        def endpoints(service: str) -> list[str]:
            slices = discovery.list_namespaced_endpoint_slice(
                "bench", label_selector=f"kubernetes.io/service-name={service}"
            )
            return sorted(
                a for s in slices.items for e in s.endpoints for a in e.addresses if e.conditions.ready
            )

        assert len(endpoints("svc-0000")) == 1 and endpoints("svc-0000") == endpoints("svc-0008")
        apps.patch_namespaced_deployment_scale("backend-0", "bench", {"spec": {"replicas": 2}})
        assert wait_for(lambda: len(endpoints("svc-0008")) == 2)
        assert len(endpoints("svc-0001")) == 1
    finally:
        api_client.close()
        sim.stop()
