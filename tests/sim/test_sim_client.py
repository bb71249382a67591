"""The `kubernetes` Python client against the simulator: list, watch (resume, 410), patch, scale, exec."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException
from kubernetes.stream import stream

from tui.sim.mesh import SimThread
from tui.sim.programs import STDOUT, ExecIO, ExecRequest, register_program
from tui.sim.testing import fast_sim


@pytest.fixture
def api(sim: SimThread) -> Iterator[client.ApiClient]:
    api_client = config.new_client_from_config(str(sim.kubeconfig_path), context="bastion02")
    try:
        yield api_client
    finally:
        api_client.close()


def test_list_with_selectors_and_pages(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    pods = core.list_namespaced_pod("song")
    assert sorted(p.metadata.labels["app"] for p in pods.items) == ["curltest", "userlist"]
    assert all(p.status.phase == "Running" and p.status.pod_ip.startswith("10.1.") for p in pods.items)
    only = core.list_namespaced_pod("song", label_selector="app in (userlist),pod-template-hash")
    assert [p.metadata.labels["app"] for p in only.items] == ["userlist"]
    by_field = core.list_pod_for_all_namespaces(
        field_selector="spec.nodeName=cluster1-node1,status.phase=Running"
    )
    # song's two pods plus Cilium's (agent, operator, clustermesh-apiserver) on that node.
    assert sorted(p.metadata.namespace for p in by_field.items).count("song") == 2
    assert len(by_field.items) == 5
    first = core.list_namespace(limit=2)
    assert len(first.items) == 2 and first.metadata._continue and first.metadata.remaining_item_count == 3
    rest = core.list_namespace(limit=10, _continue=first.metadata._continue)
    names = [n.metadata.name for n in first.items + rest.items]
    assert names == ["default", "kube-node-lease", "kube-public", "kube-system", "song"]
    assert rest.metadata._continue is None


@pytest.mark.smoke
def test_watch_resumes_from_resource_version(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    listed = core.list_namespaced_service("song")
    rv = listed.metadata.resource_version
    core.patch_namespaced_service(
        "userlist-svc", "song", {"metadata": {"annotations": {"service.cilium.io/affinity": "remote"}}}
    )
    core.patch_namespaced_service("userlist-svc", "song", {"metadata": {"labels": {"tier": "web"}}})
    events = []
    for event in watch.Watch().stream(
        core.list_namespaced_service, "song", resource_version=rv, timeout_seconds=1
    ):
        events.append(
            (
                event["type"],
                event["object"].metadata.annotations.get("service.cilium.io/affinity"),
                (event["object"].metadata.labels or {}).get("tier"),
            )
        )
    assert events == [("MODIFIED", "remote", None), ("MODIFIED", "remote", "web")]


def test_watch_without_version_starts_with_current_objects(api: client.ApiClient) -> None:
    apps = client.AppsV1Api(api)
    seen = [
        (e["type"], e["object"].metadata.name)
        for e in watch.Watch().stream(apps.list_namespaced_deployment, "song", timeout_seconds=1)
    ]
    assert seen == [("ADDED", "curltest"), ("ADDED", "userlist")]


def test_watch_from_a_compacted_version_is_gone() -> None:
    sim = fast_sim("seed", watch_history=5)
    api_client = config.new_client_from_config(str(sim.kubeconfig_path), context="bastion03")
    try:
        core = client.CoreV1Api(api_client)
        rv = core.list_namespaced_service("song").metadata.resource_version
        for n in range(8):
            core.patch_namespaced_service("userlist-svc", "song", {"metadata": {"labels": {"n": str(n)}}})
        with pytest.raises(ApiException) as caught:
            list(
                watch.Watch().stream(
                    core.list_namespaced_service, "song", resource_version=rv, timeout_seconds=1
                )
            )
        assert caught.value.status == 410
        assert re.search(r"too old resource version: \d+ \(\d+\)", caught.value.body)
    finally:
        api_client.close()
        sim.stop()


def test_watch_sends_bookmarks_when_asked(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    rv = core.list_namespaced_pod("song").metadata.resource_version
    response = core.list_namespaced_pod(
        "song",
        watch=True,
        resource_version=rv,
        allow_watch_bookmarks=True,
        timeout_seconds=1,
        _preload_content=False,
    )
    lines = [line for line in response.read().decode().splitlines() if line]
    assert lines and all('"type":"BOOKMARK"' in line for line in lines)


def test_patch_kinds_and_conflict(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    svc = core.patch_namespaced_service(
        "userlist-svc", "song", [{"op": "add", "path": "/metadata/labels", "value": {"a": "b"}}]
    )
    assert svc.metadata.labels == {"a": "b"}
    before = svc.metadata.resource_version
    svc.metadata.resource_version = str(int(before) - 1)
    with pytest.raises(ApiException) as caught:
        core.replace_namespaced_service("userlist-svc", "song", svc)
    assert caught.value.status == 409 and '"reason":"Conflict"' in caught.value.body
    assert core.read_namespaced_service("userlist-svc", "song").metadata.resource_version == before


def test_scale_subresource(api: client.ApiClient, sim: SimThread) -> None:
    apps = client.AppsV1Api(api)
    scale = apps.read_namespaced_deployment_scale("userlist", "song")
    assert scale.spec.replicas == 1 and scale.status.selector == "app=userlist"
    apps.patch_namespaced_deployment_scale("userlist", "song", {"spec": {"replicas": 2}})
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        deploy = apps.read_namespaced_deployment("userlist", "song")
        if deploy.status.ready_replicas == 2:
            break
        time.sleep(0.05)
    assert deploy.status.ready_replicas == 2 and deploy.metadata.generation == 2
    assert deploy.status.observed_generation == 2
    with pytest.raises(ApiException) as caught:
        apps.patch_namespaced_deployment_scale("userlist", "song", {"spec": {"replicas": -1}})
    assert caught.value.status == 422
    assert "spec.replicas: Invalid value: -1: must be greater than or equal to 0" in caught.value.body


@pytest.mark.smoke
def test_exec_returns_exit_code_and_stderr(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    pod = core.list_namespaced_pod("song", label_selector="app=userlist").items[0].metadata.name
    resp = stream(
        core.connect_get_namespaced_pod_exec,
        pod,
        "song",
        command=["whoami"],
        stderr=True,
        stdout=True,
        stdin=False,
        tty=False,
        _preload_content=False,
    )
    resp.run_forever(timeout=5)
    assert resp.returncode == 127
    assert resp.read_stderr() == "sh: whoami: not found\n"


async def _echo_program(request: ExecRequest, io: ExecIO) -> int:
    """Upper-cases stdin until the client closes it (v5 close frame)."""
    while (chunk := await io.read_stdin()) is not None:
        await io.write(STDOUT, chunk.upper())
    await io.write(STDOUT, f"bye from {request.cluster}/{request.pod_name}\n".encode())
    return 0


def test_exec_stdin_and_close_frame(api: client.ApiClient) -> None:
    register_program(
        "test-echo", lambda r: _echo_program if r.command == ["echo-upper"] else None, first=True
    )
    try:
        core = client.CoreV1Api(api)
        pod = core.list_namespaced_pod("song", label_selector="app=userlist").items[0].metadata.name
        resp = stream(
            core.connect_get_namespaced_pod_exec,
            pod,
            "song",
            command=["echo-upper"],
            stderr=True,
            stdout=True,
            stdin=True,
            tty=False,
            _preload_content=False,
        )
        resp.write_stdin("hello ")
        resp.write_stdin("mesh\n")
        resp.close_channel(0)
        resp.run_forever(timeout=5)
        assert resp.returncode == 0
        assert resp.read_stdout() == f"HELLO MESH\nbye from cluster1/{pod}\n"
    finally:
        register_program("test-echo", lambda r: None)


def test_access_review_follows_rules(sim: SimThread, tmp_path: Path) -> None:
    from tui.sim.auth import readers_except

    cluster = sim.mesh.cluster("bastion02")
    token = sim.call(lambda: cluster.add_user(readers_except("no-secrets", ["secrets"])))
    configuration = client.Configuration()
    configuration.host = cluster.url
    (tmp_path / "ca.crt").write_bytes(cluster.tls.ca_pem)
    configuration.ssl_ca_cert = str(tmp_path / "ca.crt")
    configuration.api_key = {"authorization": f"Bearer {token}"}
    with client.ApiClient(configuration) as api_client:
        authz = client.AuthorizationV1Api(api_client)

        def allowed(verb: str, resource: str, sub: str = "") -> bool:
            body = {
                "spec": {
                    "resourceAttributes": {
                        "verb": verb,
                        "resource": resource,
                        "subresource": sub,
                        "namespace": "song",
                        "group": "",
                    }
                }
            }
            return authz.create_self_subject_access_review(body).status.allowed

        assert allowed("list", "services") and allowed("watch", "pods")
        assert not allowed("get", "secrets") and not allowed("patch", "services")
        with pytest.raises(ApiException) as caught:
            client.CoreV1Api(api_client).list_namespaced_secret("song")
        assert caught.value.status == 403
        assert 'User \\"no-secrets\\" cannot list resource \\"secrets\\"' in caught.value.body


def test_api_server_down_and_up_keeps_port_and_objects(sim: SimThread) -> None:
    import urllib3

    cluster = sim.mesh.cluster("bastion02")
    port = cluster.port
    api_client = config.new_client_from_config(str(sim.kubeconfig_path), context="bastion02")
    api_client.rest_client.pool_manager.connection_pool_kw["retries"] = False
    try:
        core = client.CoreV1Api(api_client)
        before = core.list_namespaced_service("song").metadata.resource_version
        sim.call(cluster.stop_listening)
        assert not cluster.listening
        with pytest.raises(urllib3.exceptions.HTTPError):
            core.list_namespaced_service("song", _request_timeout=2)
        sim.call(cluster.listen)
        assert cluster.port == port and cluster.listening
        assert core.list_namespaced_service("song").metadata.resource_version == before
    finally:
        api_client.close()


def test_expired_watch_ends_with_an_in_stream_410(api: client.ApiClient, sim: SimThread) -> None:
    import threading

    core = client.CoreV1Api(api)
    store = sim.mesh.cluster("bastion02").store
    rv = core.list_namespaced_pod("song").metadata.resource_version
    told: list[int] = []

    def expire() -> None:
        deadline = time.monotonic() + 5
        while sim.call(store.watcher_count) == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        core.patch_namespaced_service("userlist-svc", "song", {"metadata": {"labels": {"v": "2"}}})
        sim.call(store.compact)
        told.append(sim.call(store.expire_watches))

    thread = threading.Thread(target=expire)
    thread.start()
    try:
        with pytest.raises(ApiException) as caught:
            list(
                watch.Watch().stream(core.list_namespaced_pod, "song", resource_version=rv, timeout_seconds=5)
            )
    finally:
        thread.join(5)
    assert told == [1] and caught.value.status == 410
    with pytest.raises(ApiException) as again:
        list(watch.Watch().stream(core.list_namespaced_pod, "song", resource_version=rv, timeout_seconds=1))
    assert again.value.status == 410, "compacted: the old version cannot be resumed"
