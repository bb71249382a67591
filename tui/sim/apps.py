"""HTTP answers of simulated backend pods: userlist, rebel-base, and a generic echo.

The data plane picks a backend pod for a connection and asks that pod's app to answer. What
the apps say is what operators read in their curl loops, so it follows the real images:

* ``ssongman/userlist`` (the field guide's app) makes up a user list when the pod starts and
  answers ``GET /users/{id}`` with ``{"id":1,"name":"...","gender":"F","image":"..."}``. Names
  differ per pod — that is how operators tell answering pods apart — and are drawn from
  built-in name lists, deterministic in (seed, pod identity) so tests are reproducible.
* Cilium's ``rebel-base`` demo (nginx) answers ``{"Galaxy": "Alderaan", "Cluster": "Cluster-1"}``.
* Anything else answers its pod name, like ``hashicorp/http-echo`` set up to do so.

Ports: :func:`app_port_matches` says whether a pod listens on a port (its declared container
ports, or any port when it declares none); the data plane refuses connections otherwise.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import formatdate
from typing import Any, Protocol

from tui.sim.curl import HttpRequest, HttpResponse

ANNOTATION_CLUSTER_LABEL = "sim.meshtui.io/cluster-label"
"""Pod annotation overriding rebel-base's ``Cluster`` value (else env ``CLUSTER_LABEL``, else derived)."""
ANNOTATION_RESPONSE = "sim.meshtui.io/response-body"
"""Pod annotation making any pod answer this fixed body (scenario authors' escape hatch)."""
USERLIST_IMAGE = "ssongman/userlist"
USER_COUNT = 10
NGINX_VERSION = "1.27.3"

_FEMALE = (
    "Maria", "Sofia", "Emma", "Olivia", "Ava", "Mia", "Isabella", "Amelia", "Harper", "Evelyn",
    "Abigail", "Emily", "Ella", "Elizabeth", "Camila", "Luna", "Sofía", "Avery", "Scarlett", "Grace",
    "Chloe", "Victoria", "Riley", "Aria", "Lily", "Aurora", "Zoe", "Nora", "Hannah", "Hazel",
    "Ji-woo", "Seo-yeon", "Min-ji", "Ha-eun", "Yuna", "Sakura", "Hana", "Mei", "Aiko", "Priya",
    "Ananya", "Fatima", "Amara", "Zainab", "Leila", "Noor", "Ingrid", "Freya", "Astrid", "Sigrid",
    "Chiara", "Giulia", "Francesca", "Lucía", "Carmen", "Inés", "Beatriz", "Ana", "Marta", "Zofia",
    "Katarzyna", "Olga", "Irina", "Tatiana", "Yara", "Ayesha", "Chioma", "Adaeze", "Wanjiru", "Thandiwe",
    "Lerato", "Nia", "Imani", "Camille", "Margaux",
)  # fmt: skip
_MALE = (
    "James", "Liam", "Noah", "Oliver", "Elijah", "William", "Lucas", "Benjamin", "Henry", "Theodore",
    "Jack", "Levi", "Alexander", "Mateo", "Daniel", "Michael", "Samuel", "Sebastian", "Owen", "David",
    "Joseph", "Carter", "Wyatt", "John", "Julian", "Gabriel", "Isaac", "Anthony", "Dylan", "Leo",
    "Jae-won", "Min-jun", "Seo-jun", "Do-yun", "Ji-ho", "Haruto", "Sota", "Ren", "Wei", "Arjun",
    "Rohan", "Vikram", "Omar", "Yusuf", "Karim", "Tariq", "Bjorn", "Erik", "Lars", "Magnus",
    "Matteo", "Lorenzo", "Giovanni", "Alejandro", "Diego", "Javier", "Pablo", "Tiago", "Joao", "Piotr",
    "Tomasz", "Dmitri", "Sergei", "Nikolai", "Kwame", "Kofi", "Chidi", "Emeka", "Tendai", "Sipho",
    "Thabo", "Malik", "Andre", "Mathis", "Hugo",
)  # fmt: skip
_LAST = (
    "Kim", "Park", "Lee", "Choi", "Jung", "Kang", "Cho", "Yoon", "Jang", "Lim",
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen", "King",
    "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker",
    "Tanaka", "Suzuki", "Takahashi", "Watanabe", "Yamamoto", "Nakamura", "Kobayashi", "Sato", "Ito", "Kato",
    "Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou",
    "Sharma", "Patel", "Singh", "Kumar", "Gupta", "Reddy", "Iyer", "Nair", "Khan", "Hussain",
    "Okafor", "Adeyemi", "Mensah", "Mwangi", "Okonkwo", "Abara", "Diallo", "Nkosi", "Dlamini", "Osei",
    "Lindqvist", "Johansson", "Andersen", "Nielsen", "Hansen", "Berg", "Dahl", "Virtanen", "Korhonen",
    "Laine",
    "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco",
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
    "Dubois", "Moreau", "Laurent", "Lefebvre", "Fontaine", "Rousseau", "Mercier", "Bonnet", "Girard", "Faure",
    "Kowalski", "Nowak", "Wiśniewski", "Novák", "Horvat", "Popescu", "Ivanov", "Petrov", "Silva", "Santos",
    "Oliveira", "Costa", "Pereira", "Almeida", "Carvalho", "Ferreira", "Ramos", "Cruz", "Morales", "Reyes",
)  # fmt: skip
_INITIALS = "ABCDEFGHIJKLMNOPRSTVWZ"


class App(Protocol):
    """What a backend pod answers; the data plane adds addresses and timing."""

    name: str

    def handle(self, req: HttpRequest) -> HttpResponse: ...


def _date_header() -> str:
    return formatdate(usegmt=True)


def _pod_name(pod: Mapping[str, Any]) -> str:
    return str(pod.get("metadata", {}).get("name", ""))


def _images(pod: Mapping[str, Any]) -> list[str]:
    return [str(c.get("image", "")) for c in pod.get("spec", {}).get("containers", []) or []]


def _env(pod: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for container in pod.get("spec", {}).get("containers", []) or []:
        for item in container.get("env", []) or []:
            if isinstance(item, dict) and item.get("name") and "value" in item:
                out[str(item["name"])] = str(item["value"])
    return out


def pod_identity(pod: Mapping[str, Any]) -> str:
    """What makes a pod "this pod": its UID, else namespace/name and creation time."""
    meta = pod.get("metadata", {})
    uid = meta.get("uid")
    if uid:
        return str(uid)
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}@{meta.get('creationTimestamp', '')}"


def make_user_list(rng: random.Random, count: int = USER_COUNT) -> list[dict[str, Any]]:
    """Users ``1..count`` as the userlist app makes them at start.

    Names combine a first name, a middle initial and a double-barrelled surname (~90 million
    combinations), so two pods answering the same name for ``/users/1`` is practically
    impossible even across hundreds of pods.
    """
    users: list[dict[str, Any]] = []
    for index in range(1, count + 1):
        female = rng.random() < 0.5
        first = rng.choice(_FEMALE if female else _MALE)
        initial = rng.choice(_INITIALS)
        last = rng.choice(_LAST)
        second = rng.choice(_LAST)
        while second == last:
            second = rng.choice(_LAST)
        users.append(
            {
                "id": index,
                "name": f"{first} {initial}. {last}-{second}",
                "gender": "F" if female else "M",
                "image": f"/assets/image/cat{rng.randint(1, 9)}.jpg",
            }
        )
    return users


def _json_response(status: int, payload: Any, reason: str = "") -> HttpResponse:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return HttpResponse(
        status,
        reason,
        {"Content-Type": "application/json", "Content-Length": str(len(body)), "Date": _date_header()},
        body,
    )


def _spring_error(status: int, error: str, path: str) -> HttpResponse:
    """Spring Boot's default error body (the userlist app is a Spring Boot service)."""
    from datetime import datetime

    stamp = datetime.now(UTC).isoformat(timespec="milliseconds")
    return _json_response(status, {"timestamp": stamp, "status": status, "error": error, "path": path})


@dataclass
class UserlistApp:
    """``ssongman/userlist``: ``/users/{id}``, ``/users``, and a tiny index page."""

    pod_name: str
    users: list[dict[str, Any]] = field(default_factory=list)
    name: str = "userlist"

    def handle(self, req: HttpRequest) -> HttpResponse:
        path = req.path_only.rstrip("/") or "/"
        if req.method not in ("GET", "HEAD"):
            return _spring_error(405, "Method Not Allowed", path)
        if path in ("/users", "/api/users"):
            return _json_response(200, self.users)
        m = re.fullmatch(r"/(?:api/)?users/([^/]+)", path)
        if m:
            if not re.fullmatch(r"-?\d+", m.group(1)):
                return _spring_error(400, "Bad Request", path)
            user_id = int(m.group(1))
            if 1 <= user_id <= len(self.users):
                return _json_response(200, self.users[user_id - 1])
            return _spring_error(404, "Not Found", path)
        if path == "/":
            rows = "".join(f"<li>{u['id']}: {u['name']}</li>" for u in self.users)
            body = f"<!DOCTYPE html><html><head><title>userlist</title></head><body><ul>{rows}</ul></body></html>"  # noqa: E501
            data = body.encode()
            return HttpResponse(
                200, "", {"Content-Type": "text/html;charset=UTF-8", "Content-Length": str(len(data))}, data
            )
        return _spring_error(404, "Not Found", path)


@dataclass
class RebelBaseApp:
    """Cilium's rebel-base demo: nginx serving one JSON document at ``/``."""

    cluster_label: str
    name: str = "rebel-base"

    def handle(self, req: HttpRequest) -> HttpResponse:
        headers = {"Server": f"nginx/{NGINX_VERSION}", "Date": _date_header()}
        if req.path_only in ("/", "/index.html"):
            body = json.dumps({"Galaxy": "Alderaan", "Cluster": self.cluster_label}).encode() + b"\n"
            headers.update({"Content-Type": "text/html", "Content-Length": str(len(body))})
            return HttpResponse(200, "OK", headers, body)
        body = (
            "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
            f"<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx/{NGINX_VERSION}</center>\r\n"
            "</body>\r\n</html>\r\n"
        ).encode()
        headers.update({"Content-Type": "text/html", "Content-Length": str(len(body))})
        return HttpResponse(404, "Not Found", headers, body)


@dataclass
class EchoApp:
    """Any other backend: answers a fixed body (its pod name and a newline by default)."""

    body: bytes
    name: str = "echo"

    def handle(self, req: HttpRequest) -> HttpResponse:
        headers = {"Content-Type": "text/plain; charset=utf-8", "Content-Length": str(len(self.body))}
        return HttpResponse(200, "OK", headers, self.body)


def cluster_label(cluster: str) -> str:
    """rebel-base's ``Cluster`` value derived from a Cilium cluster name: ``cluster2`` → ``Cluster-2``."""
    m = re.search(r"(\d+)$", cluster)
    if m:
        return f"Cluster-{int(m.group(1))}"
    return cluster[:1].upper() + cluster[1:] if cluster else "Cluster"


def is_userlist(pod: Mapping[str, Any]) -> bool:
    labels = pod.get("metadata", {}).get("labels", {}) or {}
    return any(USERLIST_IMAGE in image for image in _images(pod)) or labels.get("app") == "userlist"


def is_rebel_base(pod: Mapping[str, Any]) -> bool:
    labels = pod.get("metadata", {}).get("labels", {}) or {}
    return labels.get("app") == "rebel-base" or labels.get("name") == "rebel-base"


def make_app(pod: Mapping[str, Any], cluster: str, *, seed: int | None = None) -> App:
    """The app a backend pod runs, chosen by its images and labels.

    Deterministic: the same pod (same UID, or namespace/name/creation time) with the same
    ``seed`` always gets the same users, so callers need not cache; a new pod gets new ones.
    """
    annotations = pod.get("metadata", {}).get("annotations", {}) or {}
    name = _pod_name(pod)
    if ANNOTATION_RESPONSE in annotations:
        return EchoApp(str(annotations[ANNOTATION_RESPONSE]).encode())
    if is_userlist(pod):
        rng = random.Random(f"userlist:{seed}:{pod_identity(pod)}")
        return UserlistApp(name, make_user_list(rng))
    if is_rebel_base(pod):
        label = (
            annotations.get(ANNOTATION_CLUSTER_LABEL)
            or _env(pod).get("CLUSTER_LABEL")
            or cluster_label(cluster)
        )
        return RebelBaseApp(str(label))
    return EchoApp(f"{name}\n".encode())


def app_port_matches(pod: Mapping[str, Any], port: int) -> bool:
    """Whether the pod listens on ``port``: a declared container port, or any port if none is declared."""
    declared = [
        int(p["containerPort"])
        for c in pod.get("spec", {}).get("containers", []) or []
        for p in c.get("ports", []) or []
        if isinstance(p, dict) and str(p.get("containerPort", "")).isdigit()
    ]
    return not declared or port in declared


def named_port(pod: Mapping[str, Any], name: str) -> int | None:
    """The container port called ``name`` (a Service's ``targetPort`` may be a name)."""
    for container in pod.get("spec", {}).get("containers", []) or []:
        for port in container.get("ports", []) or []:
            if isinstance(port, dict) and port.get("name") == name and "containerPort" in port:
                return int(port["containerPort"])
    return None
