"""Sample apps for the curl loops: the field guide's userlist and Cilium's rebel-base demo.

``meshtui sample deploy|delete [--app userlist|rebel-base] [--namespace NS] [--context C ...]``
creates (or removes) in every chosen cluster what the workflow's step 6 creates by hand: the
namespace, the backend Deployment, a Service annotated ``service.cilium.io/global`` and
``shared`` (so the clusters share it), and a client Deployment with curl for the loops. The
palette offers the same (``Sample: deploy userlist`` ...).

* userlist (field guide): Deployment ``userlist`` (``ssongman/userlist:v1``, port 8181),
  Service ``userlist-svc`` 80 → 8181, client ``curltest`` (``curlimages/curl``, ``sleep 365d``).
* rebel-base (Cilium's demo): Deployment ``rebel-base`` (nginx ×2) serving
  ``{"Galaxy": "Alderaan", "Cluster": "Cluster-N"}`` from a per-cluster ConfigMap (N = the
  cluster's Cilium id, else its position), Service ``rebel-base``, client ``x-wing``. Cilium's
  own x-wing runs ``cilium/json-mock``; here it runs ``curlimages/curl`` like curltest, the
  image the curl loops are known to work with (POSIX ``sh`` and a recent curl).

Deploying is idempotent: existing objects are left unchanged and reported so. Deleting removes
the objects in reverse order; the namespace only with ``--with-namespace`` (it may hold other
things), never ``default`` or ``kube-*``. Manifests are built here in Python from validated
names, never from text the user typed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from tui.curl.target import InvalidInput, check_label
from tui.mesh.annotations import ANNOTATION_GLOBAL, ANNOTATION_SHARED

APPS = ("userlist", "rebel-base")
DEFAULT_NAMESPACE = "song"
PROTECTED_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
PART_OF = {"app.kubernetes.io/part-of": "meshtui-sample"}
USERLIST_IMAGE = "ssongman/userlist:v1"
CURL_IMAGE = "curlimages/curl"
NGINX_IMAGE = "docker.io/nginx:1.15.8"


def rebel_label(cluster_id: int | None, position: int) -> str:
    """``Cluster-1``: what rebel-base answers in a cluster (its Cilium id, else its position)."""
    return f"Cluster-{cluster_id if cluster_id is not None else position}"


def _meta(name: str, namespace: str, labels: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "labels": {**PART_OF, **(labels or {})}}
    meta.update(extra)
    return meta


def _deployment(
    name: str,
    namespace: str,
    selector: dict[str, str],
    container: dict[str, Any],
    *,
    replicas: int = 1,
    volumes: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [container]}
    if volumes:
        spec["volumes"] = volumes
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(name, namespace, dict(selector)),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(selector)},
            "template": {"metadata": {"labels": {**PART_OF, **selector}}, "spec": spec},
        },
    }


def _service(name: str, namespace: str, selector: dict[str, str], port: int, target: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(
            name, namespace, annotations={ANNOTATION_GLOBAL: "true", ANNOTATION_SHARED: "true"}
        ),
        "spec": {
            "type": "ClusterIP",
            "selector": dict(selector),
            "ports": [{"port": port, "targetPort": target, "protocol": "TCP"}],
        },
    }


def _client(name: str, namespace: str, selector: dict[str, str]) -> dict[str, Any]:
    container = {"name": "curl", "image": CURL_IMAGE, "command": ["sleep", "365d"]}
    return _deployment(name, namespace, selector, container)


def namespace_manifest(namespace: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": dict(PART_OF)}}


def manifests(
    app: str,
    namespace: str = DEFAULT_NAMESPACE,
    *,
    cluster_label: str = "Cluster-1",
    with_namespace: bool = True,
) -> list[dict[str, Any]]:
    """The sample's objects for one cluster, in creation order (names validated first)."""
    check_label(namespace, "namespace")
    if app not in APPS:
        raise InvalidInput(f"unknown sample app {app!r} (have: {', '.join(APPS)})")
    out: list[dict[str, Any]] = []
    if with_namespace and namespace not in PROTECTED_NAMESPACES:
        out.append(namespace_manifest(namespace))
    if app == "userlist":
        container = {
            "name": "userlist",
            "image": USERLIST_IMAGE,
            "ports": [{"containerPort": 8181, "protocol": "TCP"}],
        }
        out.append(_deployment("userlist", namespace, {"app": "userlist"}, container))
        out.append(_service("userlist-svc", namespace, {"app": "userlist"}, 80, 8181))
        out.append(_client("curltest", namespace, {"app": "curltest"}))
        return out
    message = json.dumps({"Galaxy": "Alderaan", "Cluster": cluster_label}) + "\n"
    out.append(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": _meta("rebel-base-response", namespace),
            "data": {"message": message},
        }
    )
    container = {
        "name": "rebel-base",
        "image": NGINX_IMAGE,
        "ports": [{"containerPort": 80, "protocol": "TCP"}],
        "env": [{"name": "CLUSTER_LABEL", "value": cluster_label}],
        "volumeMounts": [
            {"name": "html", "mountPath": "/usr/share/nginx/html/index.html", "subPath": "message"}
        ],
        "readinessProbe": {"httpGet": {"path": "/", "port": 80}, "periodSeconds": 1},
    }
    volumes = [{"name": "html", "configMap": {"name": "rebel-base-response"}}]
    out.append(
        _deployment("rebel-base", namespace, {"name": "rebel-base"}, container, replicas=2, volumes=volumes)
    )
    out.append(_service("rebel-base", namespace, {"name": "rebel-base"}, 80, 80))
    out.append(_client("x-wing", namespace, {"name": "x-wing"}))
    return out


def cluster_labels(snapshot: Any, contexts: Sequence[str]) -> dict[str, str]:
    """rebel-base's ``Cluster-N`` per context: the Cilium id when known, else the position."""
    labels = {}
    for position, context in enumerate(contexts, start=1):
        state = snapshot.by_context(context) if snapshot is not None else None
        cluster_id = state.cilium.cluster_id if state is not None else None
        labels[context] = rebel_label(cluster_id, position)
    return labels


async def apply_sample(
    source: Any,
    contexts: Sequence[str],
    *,
    app: str = "userlist",
    namespace: str = DEFAULT_NAMESPACE,
    delete: bool = False,
    with_namespace: bool = False,
) -> dict[str, list[Any]]:
    """Create (or delete) the sample in each context through the source; results per context.

    Creating always includes the namespace (unless protected); deleting includes it only with
    ``with_namespace``. The source refuses everything in read-only mode (each result says so).
    """
    labels = cluster_labels(source.snapshot(), contexts)
    results: dict[str, list[Any]] = {}
    for context in contexts:
        docs = manifests(
            app, namespace, cluster_label=labels[context], with_namespace=not delete or with_namespace
        )
        if delete:
            results[context] = await source.delete_manifests(context, docs)
        else:
            results[context] = await source.create_manifests(context, docs)
    return results


def result_counts(results: Sequence[Any]) -> dict[str, int]:
    """``{"created": 3, "already exists (left unchanged)": 1, "failed": 0}`` for a summary line."""
    counts: dict[str, int] = {}
    for result in results:
        key = result.message if result.ok else ("refused" if result.refused else "failed")
        counts[key] = counts.get(key, 0) + 1
    return counts


def summary_text(results: Sequence[Any]) -> str:
    return ", ".join(f"{n} {what}" for what, n in result_counts(results).items()) or "nothing to do"
