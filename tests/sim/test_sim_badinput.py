"""Bad requests get the real API's status code and message, and change nothing."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from typing import Any

import pytest

from tui.sim.cluster import SimCluster
from tui.sim.mesh import SimThread


def call(
    cluster: SimCluster,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str | None = "admin",
    content_type: str = "application/json",
) -> tuple[int, dict[str, Any]]:
    """One HTTPS request, verified against the cluster's CA; returns (status, parsed JSON body)."""
    context = ssl.create_default_context(cadata=cluster.tls.ca_pem.decode())
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    request = urllib.request.Request(cluster.url + path, data=data, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {cluster.admin_token if token == 'admin' else token}")
    if data is not None:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw)
        except ValueError:
            return error.code, {"text": raw.decode()}


@pytest.fixture
def c1(sim: SimThread) -> SimCluster:
    return sim.mesh.cluster("cluster1")


SVC = "/api/v1/namespaces/song/services"


def _rv(c1: SimCluster) -> str:
    return call(c1, "GET", SVC)[1]["metadata"]["resourceVersion"]


def test_malformed_json_body(c1: SimCluster) -> None:
    before = _rv(c1)
    code, status = call(c1, "POST", SVC, b'{"kind": "Service", ')
    assert code == 400 and status["kind"] == "Status" and status["reason"] == "BadRequest"
    assert status["message"].startswith("the object provided is unrecognized (must be of type Service)")
    code, status = call(
        c1, "PATCH", f"{SVC}/userlist-svc", b"{nope", content_type="application/merge-patch+json"
    )
    assert code == 400 and status["reason"] == "BadRequest"
    assert _rv(c1) == before


def test_invalid_names_and_values(c1: SimCluster) -> None:
    before = _rv(c1)
    code, status = call(
        c1, "POST", SVC, {"metadata": {"name": "Bad_Name"}, "spec": {"ports": [{"port": 80}]}}
    )
    assert code == 422 and status["reason"] == "Invalid"
    assert status["message"].startswith(
        'Service "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": '
        "a DNS-1035 label must consist of lower case alphanumeric characters"
    )
    assert status["details"]["causes"][0]["field"] == "metadata.name"
    code, status = call(c1, "POST", SVC, {"metadata": {"name": "ok"}, "spec": {"ports": [{"port": 70000}]}})
    assert code == 422
    assert (
        "spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive"
        in status["message"]
    )
    code, status = call(
        c1,
        "PATCH",
        f"{SVC}/userlist-svc",
        {"metadata": {"annotations": {"bad key!": "x"}}},
        content_type="application/merge-patch+json",
    )
    assert code == 422 and 'metadata.annotations: Invalid value: "bad key!"' in status["message"]
    code, status = call(c1, "POST", "/api/v1/namespaces", {"metadata": {"name": "a.b"}})
    assert code == 422 and "a lowercase RFC 1123 label must consist of" in status["message"]
    code, status = call(
        c1,
        "PATCH",
        "/apis/apps/v1/namespaces/song/deployments/userlist",
        {"spec": {"replicas": -2}},
        content_type="application/merge-patch+json",
    )
    assert code == 422
    assert status["message"] == (
        'Deployment.apps "userlist" is invalid: '
        "spec.replicas: Invalid value: -2: must be greater than or equal to 0"
    )
    assert _rv(c1) == before


def test_unknown_resources_and_objects(c1: SimCluster) -> None:
    code, status = call(c1, "GET", "/api/v1/namespaces/song/widgets")
    assert code == 404 and status["message"] == "the server could not find the requested resource"
    code, status = call(c1, "GET", "/apis/example.com/v1/things")
    assert code == 404
    code, status = call(c1, "GET", f"{SVC}/nope")
    assert code == 404 and status == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'services "nope" not found',
        "reason": "NotFound",
        "details": {"name": "nope", "kind": "services"},
        "code": 404,
    }
    code, status = call(c1, "POST", "/api/v1/namespaces/nowhere/configmaps", {"metadata": {"name": "x"}})
    assert code == 404 and status["message"] == 'namespaces "nowhere" not found'


def test_missing_or_wrong_token(c1: SimCluster) -> None:
    for token in (None, "wrong"):
        code, status = call(c1, "GET", SVC, token=token)
        assert code == 401 and status["reason"] == "Unauthorized" and status["message"] == "Unauthorized"
    before = _rv(c1)
    code, _ = call(c1, "DELETE", f"{SVC}/userlist-svc", token=None)
    assert code == 401 and _rv(c1) == before
    code, version = call(c1, "GET", "/version", token=None)
    assert code == 200 and version["gitVersion"].startswith("v1.32.")


def test_read_only_token_cannot_write(c1: SimCluster) -> None:
    before = _rv(c1)
    code, status = call(c1, "DELETE", f"{SVC}/userlist-svc", token=c1.readonly_token)
    assert code == 403 and status["reason"] == "Forbidden"
    assert status["message"] == (
        'services "userlist-svc" is forbidden: User "meshtui-readonly" cannot delete resource "services" '
        'in API group "" in the namespace "song"'
    )
    code, status = call(c1, "GET", "/api/v1/nodes", token=c1.readonly_token)
    assert code == 200 and status["items"][0]["metadata"]["name"] == "cluster1-node1"
    assert _rv(c1) == before


def test_stale_resource_version_on_update(c1: SimCluster) -> None:
    code, svc = call(c1, "GET", f"{SVC}/userlist-svc")
    svc["metadata"]["resourceVersion"] = str(int(svc["metadata"]["resourceVersion"]) - 1)
    svc["metadata"]["labels"] = {"changed": "yes"}
    code, status = call(c1, "PUT", f"{SVC}/userlist-svc", svc)
    assert code == 409 and status["reason"] == "Conflict"
    assert status["message"].startswith('Operation cannot be fulfilled on services "userlist-svc"')
    assert "labels" not in call(c1, "GET", f"{SVC}/userlist-svc")[1]["metadata"]


def test_duplicate_create_and_bad_patch_type(c1: SimCluster) -> None:
    body = {"metadata": {"name": "userlist-svc"}, "spec": {"ports": [{"port": 80}]}}
    code, status = call(c1, "POST", SVC, body)
    assert code == 409 and status["reason"] == "AlreadyExists"
    assert status["message"] == 'services "userlist-svc" already exists'
    code, status = call(c1, "PATCH", f"{SVC}/userlist-svc", {"a": 1}, content_type="text/plain")
    assert code == 415 and status["reason"] == "UnsupportedMediaType"
