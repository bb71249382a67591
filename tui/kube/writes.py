"""Writes: annotate a service, scale a deployment, create / delete a set of manifests.

Each write changes exactly what it names: an annotation is one key of a JSON merge patch
(``{"metadata":{"annotations":{k: v|null}}}``, what ``kubectl annotate`` sends), a scale is a
merge patch of the ``scale`` subresource (what ``kubectl scale`` sends). The answer is applied to
the cluster's live store at once, so the snapshot published when the write returns already shows
the new state. Failures come back precise: 403 names the verb and resource, 404 / 422 carry the
server's message, a 409 conflict is retried once after reading the object again. In read-only
mode, or when the action does not validate, nothing is sent at all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tui.kube.client import Action
from tui.kube.errors import KubeError
from tui.kube.redact import scrub
from tui.mesh.actions import InvalidAction, Scale, SetAnnotation, WriteAction, WriteResult

if TYPE_CHECKING:
    from tui.kube.cluster import ClusterWatcher

FIELD_MANAGER = "meshtui"
MERGE_PATCH = "application/merge-patch+json"


def refused(action: WriteAction, message: str) -> WriteResult:
    return WriteResult(action=action, ok=False, message=scrub(message), refused=True)


def check_before_sending(
    action: WriteAction, cluster: ClusterWatcher | None, read_only: bool
) -> WriteResult | None:
    """The refusal, if the action must not be sent (read-only, invalid, unusable context)."""
    if read_only:
        return refused(action, f"read-only mode: not sent ({action.kubectl()})")
    try:
        action.validate()
    except InvalidAction as exc:
        return refused(action, str(exc))
    if cluster is None:
        return refused(action, f"no context {action.context!r} in the kubeconfig")
    if cluster.client is None:
        why = cluster.config_error or "loading"
        return refused(action, f"context {action.context!r} is not usable: {why}")
    return None


def failed(action: WriteAction, error: KubeError, *, retried: bool = False) -> WriteResult:
    if error.status == 409:
        message = "conflict (HTTP 409)" + (" after one retry with fresh state" if retried else "")
        if error.server_message:
            message += f": {error.server_message}"
    elif error.status == 422:
        message = f"invalid (HTTP 422): {error.server_message or error.message}"
    else:
        message = str(error)
    text = scrub(f"{action.target}: {message}")
    return WriteResult(action=action, ok=False, message=text, status=error.status)


async def perform(cluster: ClusterWatcher, action: WriteAction) -> WriteResult:
    """Send one already-checked action (see :func:`check_before_sending`)."""
    if isinstance(action, SetAnnotation):
        return await _annotate(cluster, action)
    if isinstance(action, Scale):
        return await _scale(cluster, action)
    return refused(action, f"unknown action {type(action).__name__}")


async def _patch_with_retry(
    cluster: ClusterWatcher,
    action: WriteAction,
    path: str,
    body: Mapping[str, Any],
    patch_action: Action,
    fresh_path: str,
    fresh_action: Action,
    store: str,
) -> dict[str, Any] | WriteResult:
    client = cluster.client
    assert client is not None
    query = [("fieldManager", FIELD_MANAGER)]
    for attempt in (1, 2):
        try:
            return await client.request_json(
                "PATCH", path, action=patch_action, query=query, body=dict(body), content_type=MERGE_PATCH
            )
        except KubeError as exc:
            if exc.status != 409 or attempt == 2:
                return failed(action, exc, retried=attempt == 2)
        try:  # 409: read the object again, then retry once
            fresh = await client.request_json("GET", fresh_path, action=fresh_action)
        except KubeError as exc:
            return failed(action, exc)
        cluster.apply(store, fresh)
    raise AssertionError("unreachable")


async def _annotate(cluster: ClusterWatcher, action: SetAnnotation) -> WriteResult:
    path = f"/api/v1/namespaces/{action.namespace}/services/{action.service}"
    body = {"metadata": {"annotations": action.patch()}}
    outcome = await _patch_with_retry(
        cluster,
        action,
        path,
        body,
        Action("patch", "services", action.namespace, action.service),
        path,
        Action("get", "services", action.namespace, action.service),
        "services",
    )
    if isinstance(outcome, WriteResult):
        return outcome
    cluster.apply("services", outcome)
    now = ((outcome.get("metadata") or {}).get("annotations") or {}).get(action.key)
    shown = "(removed)" if now is None else now
    return WriteResult(action=action, ok=True, message=scrub(f"{action.target}: {action.key} is now {shown}"))


async def _scale(cluster: ClusterWatcher, action: Scale) -> WriteResult:
    base = f"/apis/apps/v1/namespaces/{action.namespace}/deployments/{action.deployment}"
    outcome = await _patch_with_retry(
        cluster,
        action,
        f"{base}/scale",
        {"spec": {"replicas": action.replicas}},
        Action("patch", "deployments/scale", action.namespace, action.deployment),
        f"{base}/scale",
        Action("get", "deployments/scale", action.namespace, action.deployment),
        "",
    )
    if isinstance(outcome, WriteResult):
        return outcome
    replicas = (outcome.get("spec") or {}).get("replicas", action.replicas)
    client = cluster.client
    assert client is not None
    try:  # the deployment itself, so the snapshot shows the new spec at once
        deployment = await client.request_json(
            "GET", base, action=Action("get", "deployments", action.namespace, action.deployment)
        )
        cluster.apply("deployments", deployment)
    except KubeError:
        pass  # the watch will bring it; the scale itself succeeded
    return WriteResult(action=action, ok=True, message=f"{action.target}: replicas set to {replicas}")


# -- manifests --------------------------------------------------------------------------------

KINDS: dict[tuple[str, str], tuple[str, str, bool, str]] = {
    # (apiVersion, kind) -> (API prefix, plural, namespaced, live store to update)
    ("v1", "Namespace"): ("/api/v1", "namespaces", False, ""),
    ("v1", "Service"): ("/api/v1", "services", True, "services"),
    ("v1", "ConfigMap"): ("/api/v1", "configmaps", True, ""),
    ("v1", "ServiceAccount"): ("/api/v1", "serviceaccounts", True, ""),
    ("v1", "Pod"): ("/api/v1", "pods", True, ""),
    ("apps/v1", "Deployment"): ("/apis/apps/v1", "deployments", True, "deployments"),
    ("apps/v1", "DaemonSet"): ("/apis/apps/v1", "daemonsets", True, ""),
    ("apps/v1", "StatefulSet"): ("/apis/apps/v1", "statefulsets", True, ""),
}


@dataclass(frozen=True, slots=True)
class ManifestResult:
    """What happened to one manifest of a create / delete."""

    kind: str
    namespace: str
    name: str
    ok: bool
    message: str = ""
    status: int | None = None
    refused: bool = False

    @property
    def target(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind.lower()} {where}{self.name}"


Located = tuple[str, str, str, str, str, str]
"""(kind, namespace, name, collection path, object path, store): see :func:`_locate`."""


def _locate(manifest: Mapping[str, Any]) -> Located | str:
    """(kind, namespace, name, collection path, object path, store) or an error message."""
    api_version = str(manifest.get("apiVersion") or "")
    kind = str(manifest.get("kind") or "")
    metadata = manifest.get("metadata") or {}
    name = str(metadata.get("name") or "")
    if (api_version, kind) not in KINDS:
        return f"unsupported kind {api_version}/{kind}"
    if not name:
        return f"{kind} without metadata.name"
    prefix, plural, namespaced, store = KINDS[(api_version, kind)]
    namespace = str(metadata.get("namespace") or "default") if namespaced else ""
    collection = f"{prefix}/namespaces/{namespace}/{plural}" if namespaced else f"{prefix}/{plural}"
    return kind, namespace, name, collection, f"{collection}/{name}", store


async def create_manifests(
    cluster: ClusterWatcher | None, manifests: Sequence[Mapping[str, Any]], *, read_only: bool
) -> list[ManifestResult]:
    """Create each manifest in order; one that already exists is reported and left unchanged."""
    return await _each_manifest(cluster, manifests, read_only, "create", _create)


async def delete_manifests(
    cluster: ClusterWatcher | None, manifests: Sequence[Mapping[str, Any]], *, read_only: bool
) -> list[ManifestResult]:
    """Delete each manifest's object, in reverse order; one already gone counts as done."""
    return await _each_manifest(cluster, list(reversed(list(manifests))), read_only, "delete", _delete)


async def _each_manifest(
    cluster: ClusterWatcher | None,
    manifests: Sequence[Mapping[str, Any]],
    read_only: bool,
    verb: str,
    send: Callable[[ClusterWatcher, Mapping[str, Any], Located], Awaitable[ManifestResult]],
) -> list[ManifestResult]:
    """One result per manifest, in order: unlocatable and refused ones are never sent."""
    results: list[ManifestResult] = []
    for manifest in manifests:
        located = _locate(manifest)
        if isinstance(located, str):
            results.append(_unlocated(manifest, located))
            continue
        kind, namespace, name = located[:3]
        refusal = _manifest_refusal(cluster, read_only, f"{verb} {kind.lower()} {name}")
        if refusal:
            results.append(ManifestResult(kind, namespace, name, False, refusal, refused=True))
            continue
        assert cluster is not None and cluster.client is not None
        results.append(await send(cluster, manifest, located))
    return results


async def _create(cluster: ClusterWatcher, manifest: Mapping[str, Any], located: Located) -> ManifestResult:
    kind, namespace, name, collection, _path, store = located
    assert cluster.client is not None
    body = dict(manifest)
    if namespace:
        body["metadata"] = {**(manifest.get("metadata") or {}), "namespace": namespace}
    plural = collection.rsplit("/", 1)[-1]
    try:
        created = await cluster.client.request_json(
            "POST",
            collection,
            action=Action("create", plural, namespace or None, name),
            query=[("fieldManager", FIELD_MANAGER)],
            body=body,
        )
    except KubeError as exc:
        if exc.status == 409 and exc.reason == "AlreadyExists":
            return ManifestResult(kind, namespace, name, True, "already exists (left unchanged)")
        return ManifestResult(kind, namespace, name, False, str(exc), exc.status)
    if store:
        cluster.apply(store, created)
    return ManifestResult(kind, namespace, name, True, "created")


async def _delete(cluster: ClusterWatcher, manifest: Mapping[str, Any], located: Located) -> ManifestResult:
    kind, namespace, name, collection, path, _store = located
    assert cluster.client is not None
    plural = collection.rsplit("/", 1)[-1]
    try:
        await cluster.client.request(
            "DELETE",
            path,
            action=Action("delete", plural, namespace or None, name),
            query=[("propagationPolicy", "Background")],
        )
    except KubeError as exc:
        if exc.status == 404:
            return ManifestResult(kind, namespace, name, True, "already absent")
        return ManifestResult(kind, namespace, name, False, str(exc), exc.status)
    return ManifestResult(kind, namespace, name, True, "deleted")


def _manifest_refusal(cluster: ClusterWatcher | None, read_only: bool, what: str) -> str:
    if read_only:
        return f"read-only mode: not sent ({what})"
    if cluster is None:
        return "no such context in the kubeconfig"
    if cluster.client is None:
        return f"context {cluster.context!r} is not usable: {cluster.config_error or 'loading'}"
    return ""


def _unlocated(manifest: Mapping[str, Any], message: str) -> ManifestResult:
    metadata = manifest.get("metadata") or {}
    kind = str(manifest.get("kind") or "?")
    return ManifestResult(kind, str(metadata.get("namespace") or ""), str(metadata.get("name") or ""), False,
                          message, refused=True)  # fmt: skip
