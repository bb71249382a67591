"""The layer's pure pieces: JSON → model parsing, backoff, error wording, proxies, exec refresh."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import random
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from kubehelp import Hubs, tokens_of, write_yaml
from kubernetes.aio.client import Configuration

from tui.kube import config as kube_config
from tui.kube import parse
from tui.kube.backoff import Backoff, BackoffPolicy
from tui.kube.client import KubeClient
from tui.kube.errors import from_exception, http_error
from tui.kube.exec import exit_code_of

SERVICE = {
    "metadata": {
        "name": "rebel-base",
        "namespace": "default",
        "resourceVersion": "42",
        "annotations": {"service.cilium.io/global": "true"},
        "labels": {"app": "rebel-base"},
    },
    "spec": {
        "type": "LoadBalancer",
        "clusterIP": "10.96.0.7",
        "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP", "nodePort": 31000}],
        "selector": {"name": "rebel-base"},
    },
    "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}, {"hostname": "lb.example"}]}},
}
SLICE = {
    "metadata": {"name": "rb-x", "namespace": "default", "labels": {parse.SERVICE_NAME_LABEL: "rebel-base"}},
    "addressType": "IPv4",
    "ports": [{"name": "http", "port": 8080}, {"name": "admin", "port": 9090}],
    "endpoints": [
        {"addresses": ["10.1.0.5"], "conditions": {"ready": True}, "nodeName": "n1",
         "targetRef": {"kind": "Pod", "name": "rebel-base-1"}},
        {"addresses": ["10.1.0.6"], "conditions": {"ready": False, "terminating": True}, "nodeName": "n2",
         "targetRef": {"kind": "Pod", "name": "rebel-base-2"}},
        {"addresses": ["10.1.0.7"]},
    ],
}  # fmt: skip


def test_service_parsing_reads_what_the_panes_need() -> None:
    service = parse.service(SERVICE)
    assert service.key == ("default", "rebel-base")
    assert dict(service.annotations) == {"service.cilium.io/global": "true"}
    assert service.type == "LoadBalancer" and service.cluster_ip == "10.96.0.7"
    port = service.ports[0]
    assert (port.port, port.target_port, port.name, port.node_port) == (80, "http", "http", 31000)
    assert service.load_balancer_ips == ("192.0.2.10", "lb.example")
    again = parse.service(copy.deepcopy(SERVICE))
    assert again == service
    assert again.annotations is service.annotations and again.ports is service.ports  # shared


def test_endpoint_slice_conditions_follow_the_api_defaults() -> None:
    info = parse.endpoint_slice(SLICE, "cluster1")
    assert info.service_key == ("default", "rebel-base")
    assert [(b.ip, b.port) for b in info.backends] == [
        ("10.1.0.5", 8080), ("10.1.0.5", 9090), ("10.1.0.6", 8080), ("10.1.0.6", 9090),
        ("10.1.0.7", 8080), ("10.1.0.7", 9090),
    ]  # fmt: skip
    first, _, second, _, third, _ = info.backends
    assert first.active and first.pod == "rebel-base-1" and first.node == "n1" and first.cluster == "cluster1"
    assert not second.ready and not second.serving and second.terminating and not second.active
    assert third.ready and third.serving and not third.terminating  # absent conditions: ready
    renamed = parse.renamed(info, "cluster9")
    assert {b.cluster for b in renamed.backends} == {"cluster9"} and renamed.backends[0].ip == "10.1.0.5"
    fqdn = parse.endpoint_slice({**SLICE, "addressType": "FQDN"}, "c")
    assert fqdn.backends == ()


def test_equal_backends_are_one_shared_object() -> None:
    first = parse.endpoint_slice(SLICE, "cluster1").backends
    again = parse.endpoint_slice(copy.deepcopy(SLICE), "cluster1").backends
    assert again == first and all(a is b for a, b in zip(again, first, strict=True))
    elsewhere = parse.endpoint_slice(SLICE, "cluster2").backends
    assert elsewhere[0].cluster == "cluster2" and elsewhere[0] is not first[0]
    flipped = copy.deepcopy(SLICE)
    flipped["endpoints"][0]["conditions"] = {"ready": False}
    changed = parse.endpoint_slice(flipped, "cluster1").backends
    assert not changed[0].ready and changed[0] is not first[0] and changed[2] is first[2]


def test_with_backends_copies_every_field() -> None:
    service = parse.service(SERVICE)
    backends = parse.endpoint_slice(SLICE, "c1").backends
    joined = parse.with_backends(service, backends)
    assert joined == parse.dataclasses.replace(service, backends=backends)
    assert joined.backends is backends and service.backends == ()


def test_service_keys_and_names_are_shared_across_clusters() -> None:
    """The same service read in two clusters: one key tuple and one name string (memory at 64
    clusters), equal to what a plain tuple would be."""
    first = parse.service(copy.deepcopy(SERVICE))
    second = parse.service(copy.deepcopy(SERVICE))
    assert first.name is second.name
    key = parse.service_key("default", "rebel-base")
    assert key == ("default", "rebel-base") and key is parse.service_key("default", "rebel-base")
    assert key[1] is first.name


def test_slices_of_a_service_join_whether_one_or_several() -> None:
    """The join's bookkeeping keeps one slice's key bare and several as a tuple; adding,
    moving and removing slices gives the same backends either way."""
    from types import SimpleNamespace

    from tui.kube.cluster import ClusterWatcher, slice_keys

    def backends(*ips: str) -> tuple[Any, ...]:
        return tuple(parse.backend_of(("c1", ip, 80, "", "", True, True, False)) for ip in ips)

    service_key = parse.service_key("default", "rebel-base")
    services = {service_key: parse.service(copy.deepcopy(SERVICE))}
    slices: dict[Any, parse.SliceBackends] = {}
    watcher = object.__new__(ClusterWatcher)
    watcher._slice_owner, watcher._slices_of, watcher._dirty_services = {}, {}, set()
    watcher._services_view = None
    watcher.reflectors = {  # type: ignore[assignment]
        "services": SimpleNamespace(items=services),
        "endpointslices": SimpleNamespace(items=slices),
    }

    def change(key: tuple[str, str], value: parse.SliceBackends | None) -> tuple[str, ...]:
        if value is None:
            slices.pop(key, None)
        else:
            slices[key] = value
        watcher._slices_changed({key})
        watcher._flush_services()
        return tuple(b.ip for b in services[service_key].backends)

    a, b = ("default", "rb-a"), ("default", "rb-b")
    assert change(b, parse.SliceBackends("default", "rebel-base", backends("10.0.0.2"))) == ("10.0.0.2",)
    assert watcher._slices_of[service_key] == b and slice_keys(watcher._slices_of[service_key]) == (b,)
    assert change(a, parse.SliceBackends("default", "rebel-base", backends("10.0.0.1"))) == (
        "10.0.0.1",
        "10.0.0.2",
    )  # sorted by slice key
    assert slice_keys(watcher._slices_of[service_key]) == (b, a)
    assert change(b, None) == ("10.0.0.1",)
    assert watcher._slices_of[service_key] == a
    assert change(a, parse.SliceBackends("default", "other", backends("10.0.0.1"))) == ()
    assert service_key not in watcher._slices_of
    assert slice_keys(None) == ()


def test_workloads_nodes_and_cilium_objects() -> None:
    deployment = parse.deployment(
        {
            "metadata": {"name": "x-wing", "namespace": "default", "generation": 3},
            "spec": {
                "selector": {"matchLabels": {"app": "x-wing"}},
                "template": {"spec": {"containers": [{"name": "kvstoremesh", "image": "img:1"}]}},
            },
            "status": {"readyReplicas": 1, "observedGeneration": 3},
        }
    )
    assert (deployment.replicas, deployment.ready_replicas, deployment.generation) == (1, 1, 3)
    assert deployment.containers[0].name == "kvstoremesh"
    pod = parse.pod(
        {
            "metadata": {
                "name": "x-wing-6c9f7d-abcde",
                "namespace": "default",
                "labels": {"pod-template-hash": "6c9f7d"},
                "ownerReferences": [{"kind": "ReplicaSet", "name": "x-wing-6c9f7d"}],
                "deletionTimestamp": "2024-01-01T00:00:00Z",
            },
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "i"}]},
            "status": {"phase": "Running", "podIP": "10.0.0.1", "startTime": "2024-01-01T00:00:00Z",
                       "conditions": [{"type": "Ready", "status": "True"}]},
        }
    )  # fmt: skip
    assert (pod.owner, pod.ready, pod.deleting, pod.started_at) == ("x-wing", True, True, 1704067200.0)
    node = parse.node(
        {
            "metadata": {"name": "n1"},
            "spec": {"podCIDR": "10.1.0.0/24"},
            "status": {"addresses": [{"type": "ExternalIP", "address": "1.2.3.4"},
                                     {"type": "InternalIP", "address": "172.30.1.89"}]},
        }
    )  # fmt: skip
    assert (node.internal_ip, node.external_ip, node.pod_cidrs, node.ready) == (
        "172.30.1.89", "1.2.3.4", ("10.1.0.0/24",), False
    )  # fmt: skip
    config = parse.cilium_config({"data": {"cluster-name": "", "cluster-id": "abc"}})
    assert (config.cluster_name, config.cluster_id, config.cluster_id_raw) == ("default", None, "abc")
    assert config.max_connected_clusters == 255 and config.identity_allocation_mode == "crd"
    assert parse.cilium_config({"data": {}}).cluster_id == 0
    agent = parse.agent_pod(
        {"metadata": {"name": "cilium-x", "namespace": "kube-system"},
         "spec": {"containers": [{"name": "cilium-agent", "image": "quay.io/cilium/cilium:v1.18.2@sha256"}]}}
    )  # fmt: skip
    assert agent.version == "1.18.2"


def test_backoff_grows_with_jitter_caps_and_resets() -> None:
    now = [0.0]
    policy = BackoffPolicy(initial=0.8, maximum=30, jitter=0.5, reset_after=60)
    backoff = Backoff(policy, clock=lambda: now[0], rng=random.Random(1))
    delays = [backoff.next_delay() for _ in range(8)]
    bases = [0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30, 30]
    for delay, base in zip(delays, bases, strict=True):
        assert base <= delay <= min(30, base * 1.5)
    assert delays[0] != delays[1] / 2  # jittered
    now[0] = 100.0  # a healthy period later: back to the start
    assert 0.8 <= backoff.next_delay() <= 1.2


def test_error_wording() -> None:
    forbidden = http_error(
        403, b'{"kind":"Status","message":"secrets is forbidden: User \\"u\\" cannot list"}',
        verb="list", resource="secrets", namespace="kube-system",
    )  # fmt: skip
    assert forbidden.kind == "forbidden"
    assert str(forbidden).startswith(
        "forbidden: cannot list secrets in namespace kube-system (secrets is forbidden"
    )
    assert (
        str(http_error(503, b"", verb="get", resource="version", namespace=None))
        == "HTTP 503 Service Unavailable"
    )
    assert http_error(410, b"{}", verb="watch", resource="pods", namespace="").kind == "gone"
    assert str(http_error(404, b"", verb="get", resource="services", namespace="x", name="y")) == (
        "services 'y' not found"
    )
    refused = aiohttp.ClientConnectorError(aiohttp.client_reqrep.ConnectionKey(  # type: ignore[attr-defined]
        "h", 1, True, True, None, None, None), ConnectionRefusedError(111, "refused"))  # fmt: skip
    assert str(from_exception(refused, connect_timeout=5, read_timeout=15)) == "connection refused"
    assert str(from_exception(aiohttp.ConnectionTimeoutError(), connect_timeout=5, read_timeout=15)) == (
        "timeout after 5 s (connecting)"
    )
    assert exit_code_of(b'{"status":"Success"}') == (0, "")
    code, message = exit_code_of(
        b'{"status":"Failure","message":"command terminated with non-zero exit code: 3",'
        b'"details":{"causes":[{"reason":"ExitCode","message":"3"}]}}'
    )
    assert code == 3 and "exit code" in message


async def test_environment_proxies_are_resolved_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://user:proxy-secret-123@proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "internal.example")
    bypassed = Configuration(host="https://internal.example:6443")
    proxied = Configuration(host="https://api.example:6443")
    clients = [KubeClient("a", bypassed), KubeClient("b", proxied)]
    try:
        assert bypassed.proxy is None
        assert proxied.proxy == "http://user:proxy-secret-123@proxy.example:3128"
        assert all(c.configuration.client_session_kwargs == {"trust_env": False} for c in clients)
        from tui.kube.redact import scrub

        assert "proxy-secret-123" not in scrub("via http://user:proxy-secret-123@proxy.example:3128")
    finally:
        for client in clients:
            await client.close()


async def test_expiring_exec_tokens_are_refreshed_at_a_bounded_rate(
    kubeconfig_doc: dict[str, Any], tmp_path: Path, hubs: Hubs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kube_config, "EXEC_REFRESH_MIN_INTERVAL", 0.3)
    doc = copy.deepcopy(kubeconfig_doc)
    runs = tmp_path / "runs"
    script = tmp_path / "plugin.py"
    script.write_text(
        "import datetime, json, os, pathlib\n"
        f"p = pathlib.Path({str(runs)!r})\n"
        # counted by replacing the file, never truncating it: the test reads it meanwhile
        "n = pathlib.Path(str(p) + '.new')\n"
        "n.write_text(str(int(p.read_text() or 0) + 1) if p.exists() else '1')\n"
        "os.replace(n, p)\n"
        "soon = (datetime.datetime.utcnow() + datetime.timedelta(minutes=1)).strftime('%Y-%m-%dT%H:%M:%SZ')\n"
        "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1', 'kind': 'ExecCredential',\n"
        "  'status': {'token': os.environ['T'], 'expirationTimestamp': soon}}))\n"
    )
    doc["users"][0]["user"] = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": sys.executable,
            "args": [str(script)],
            "env": [{"name": "T", "value": tokens_of(kubeconfig_doc)[0]}],
        }
    }
    hub = await hubs.start(write_yaml(tmp_path / "config", doc))
    started = time.monotonic()
    await asyncio.sleep(1.2)  # probes and polls every 0.25 s: many requests, few plugin runs
    elapsed = time.monotonic() - started
    count = int(runs.read_text())
    assert 2 <= count <= 2 + elapsed / 0.3
    assert hub.snapshot().clusters[0].phase == "ok"


async def test_stopping_outlasts_a_swallowed_cancellation() -> None:
    """A loop that loses a cancellation (a racing timeout on Python 3.11) still gets stopped."""
    from tui.kube.tasks import cancel_and_wait

    async def stubborn() -> None:
        for _ in range(3):
            with contextlib.suppress(asyncio.CancelledError):  # as if a timeout fired at once
                await asyncio.sleep(10)
        await asyncio.sleep(10)

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    await asyncio.wait_for(cancel_and_wait([task]), 2)
    assert task.cancelled()


async def test_watches_open_after_the_first_agent_read_or_its_bound() -> None:
    """Start-up order: once every list answered, the first ``cilium status`` round may start
    at once; the watches wait for its end (the agents are what the panes wait for last), but
    never longer than ``exec_timeout`` + 1 s."""
    import dataclasses

    from tui.kube.cluster import ClusterWatcher
    from tui.kube.settings import HubSettings

    def watcher() -> ClusterWatcher:
        made = object.__new__(ClusterWatcher)
        made.context, made.reflectors, made._tasks, made._gate_task = "c1", {}, [], None
        made._hub_ready = None
        made.settings = dataclasses.replace(HubSettings(), exec_timeout=0.05)
        made._cilium_gate, made._first_read_done = asyncio.Event(), asyncio.Event()
        made._watch_gate = asyncio.Event()
        return made

    read = watcher()
    read._open_watch_gate()
    assert read._cilium_gate.is_set() and not read._watch_gate.is_set()
    await asyncio.sleep(0.1)
    assert not read._watch_gate.is_set()
    read._first_read_done.set()
    await asyncio.wait_for(read._watch_gate.wait(), 0.5)

    silent = watcher()  # the round never ends (agents that do not answer): the bound opens them
    silent._open_watch_gate()
    started = time.monotonic()
    await asyncio.wait_for(silent._watch_gate.wait(), 3)
    assert 1.0 <= time.monotonic() - started < 2.5
