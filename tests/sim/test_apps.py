"""Backend apps of simulated pods (tui/sim/apps.py): userlist, rebel-base, echo."""

from __future__ import annotations

import json

from tui.sim.apps import (
    ANNOTATION_CLUSTER_LABEL,
    ANNOTATION_RESPONSE,
    EchoApp,
    RebelBaseApp,
    UserlistApp,
    app_port_matches,
    cluster_label,
    make_app,
    named_port,
)
from tui.sim.curl import HttpRequest


def pod(
    name: str,
    *,
    uid: str | None = None,
    image: str = "ssongman/userlist:v1",
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    ports: list[dict] | None = None,
    env: list[dict] | None = None,
) -> dict:
    container: dict = {"name": "app", "image": image}
    if ports is not None:
        container["ports"] = ports
    if env is not None:
        container["env"] = env
    metadata: dict = {
        "name": name,
        "namespace": "song",
        "labels": labels or {},
        "annotations": annotations or {},
    }
    if uid is not None:
        metadata["uid"] = uid
    return {"metadata": metadata, "spec": {"containers": [container]}}


def get(path: str, method: str = "GET") -> HttpRequest:
    return HttpRequest(method, path, {"Host": "svc"}, b"", "svc")


def user_one(app: object) -> dict:
    response = app.handle(get("/users/1"))  # type: ignore[attr-defined]
    assert response.status == 200
    return json.loads(response.body)


def test_userlist_answers_a_user_json() -> None:
    app = make_app(pod("userlist-6c9f7d-x2x8q", uid="u-1"), "cluster1", seed=7)
    assert isinstance(app, UserlistApp)
    response = app.handle(get("/users/1"))
    assert response.status == 200
    assert response.header("content-type") == "application/json"
    user = json.loads(response.body)
    assert list(user) == ["id", "name", "gender", "image"]
    assert user["id"] == 1 and user["gender"] in ("F", "M")
    assert len(user["name"].split()) >= 3
    assert user["image"].startswith("/assets/image/cat") and user["image"].endswith(".jpg")
    assert response.body.startswith(b'{"id":1,"name":"')  # compact, like the Spring Boot app
    assert not response.body.endswith(b"\n")


def test_userlist_list_and_errors() -> None:
    app = make_app(pod("userlist-a", uid="u-1"), "cluster1", seed=7)
    users = json.loads(app.handle(get("/users")).body)
    assert [u["id"] for u in users] == list(range(1, len(users) + 1))
    assert users[0] == user_one(app)
    assert app.handle(get(f"/users/{len(users) + 1}")).status == 404
    missing = json.loads(app.handle(get("/nothing")).body)
    assert (missing["status"], missing["error"], missing["path"]) == (404, "Not Found", "/nothing")
    assert app.handle(get("/users/abc")).status == 400
    assert app.handle(get("/users/1", "POST")).status == 405
    assert app.handle(get("/users/1?verbose=1")).status == 200


def test_userlist_names_differ_per_pod_and_are_deterministic() -> None:
    names = {
        user_one(make_app(pod(f"userlist-{i}", uid=f"uid-{i}"), "cluster1", seed=3))["name"]
        for i in range(400)
    }
    assert len(names) == 400
    again = make_app(pod("userlist-0", uid="uid-0"), "cluster1", seed=3)
    assert user_one(again)["name"] in names
    assert user_one(again) == user_one(make_app(pod("userlist-0", uid="uid-0"), "cluster2", seed=3))
    assert user_one(again) != user_one(make_app(pod("userlist-0", uid="uid-0"), "cluster1", seed=4))


def test_a_new_pod_with_the_same_name_gets_new_users() -> None:
    first = make_app(pod("userlist-a", uid="uid-old"), "cluster1")
    restarted = make_app(pod("userlist-a", uid="uid-new"), "cluster1")
    assert user_one(first) != user_one(restarted)
    assert user_one(first) == user_one(make_app(pod("userlist-a", uid="uid-old"), "cluster1"))


def test_rebel_base_answers_exactly_the_demo_document() -> None:
    app = make_app(
        pod("rebel-base-1", image="docker.io/nginx:1.15.8", labels={"name": "rebel-base"}), "cluster2"
    )
    assert isinstance(app, RebelBaseApp)
    response = app.handle(get("/"))
    assert response.status == 200
    assert response.body == b'{"Galaxy": "Alderaan", "Cluster": "Cluster-2"}\n'
    assert app.handle(get("/missing")).status == 404
    by_app_label = make_app(pod("rb", image="nginx", labels={"app": "rebel-base"}), "cluster1")
    assert by_app_label.handle(get("/")).body == b'{"Galaxy": "Alderaan", "Cluster": "Cluster-1"}\n'


def test_rebel_base_cluster_label_overrides() -> None:
    labels = {"app": "rebel-base"}
    annotated = make_app(
        pod("rb", image="nginx", labels=labels, annotations={ANNOTATION_CLUSTER_LABEL: "Tatooine"}), "c1"
    )
    assert json.loads(annotated.handle(get("/")).body)["Cluster"] == "Tatooine"
    from_env = make_app(
        pod("rb", image="nginx", labels=labels, env=[{"name": "CLUSTER_LABEL", "value": "Hoth"}]), "c1"
    )
    assert json.loads(from_env.handle(get("/")).body)["Cluster"] == "Hoth"


def test_cluster_label_derivation() -> None:
    assert cluster_label("cluster2") == "Cluster-2"
    assert cluster_label("cluster-1") == "Cluster-1"
    assert cluster_label("bastion03") == "Cluster-3"
    assert cluster_label("east") == "East"


def test_other_pods_echo_their_name() -> None:
    app = make_app(pod("web-5d8f-abc", image="hashicorp/http-echo"), "cluster1")
    assert isinstance(app, EchoApp)
    response = app.handle(get("/anything"))
    assert (response.status, response.body) == (200, b"web-5d8f-abc\n")
    fixed = make_app(pod("x", image="whatever", annotations={ANNOTATION_RESPONSE: "custom"}), "cluster1")
    assert fixed.handle(get("/")).body == b"custom"


def test_ports() -> None:
    declared = pod("u", ports=[{"containerPort": 8181, "name": "http"}])
    assert app_port_matches(declared, 8181)
    assert not app_port_matches(declared, 80)
    assert app_port_matches(pod("free"), 12345)
    assert named_port(declared, "http") == 8181
    assert named_port(declared, "grpc") is None
