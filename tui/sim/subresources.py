"""The ``scale`` subresource (autoscaling/v1 Scale) and the self-subject access and rules reviews."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tui.sim import auth as rbac
from tui.sim.errors import FieldError, bad_request, invalid
from tui.sim.httpkit import CLUSTER_KEY, get_entry, json_response, read_json
from tui.sim.kubectl import json_patch, strategic_merge
from tui.sim.mergepatch import merge_patch
from tui.sim.resources import ResourceType
from tui.sim.selectors import selector_string
from tui.sim.store import Entry

if TYPE_CHECKING:
    from tui.sim.cluster import SimCluster


def scale_of(entry: Entry) -> dict[str, Any]:
    obj = entry.obj
    meta = obj["metadata"]
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in meta
        },
        "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
        "status": {
            "replicas": (obj.get("status") or {}).get("replicas", 0),
            "selector": selector_string((obj.get("spec") or {}).get("selector")),
        },
    }


def _set_replicas(
    cluster: SimCluster, rtype: ResourceType, ns: str, name: str, scale: Any, dry_run: bool
) -> dict[str, Any]:
    if not isinstance(scale, dict):
        raise bad_request("the object provided is unrecognized (must be of type Scale)")
    replicas = (scale.get("spec") or {}).get("replicas", 0)  # omitempty: absent means 0
    scale_type = ResourceType("autoscaling", "v1", "scale", "scale", "Scale")
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise invalid(
            scale_type,
            name,
            [
                FieldError(
                    "spec.replicas", "FieldValueInvalid", "must be greater than or equal to 0", replicas
                )
            ],
        )
    entry = get_entry(cluster, rtype, ns, name)
    expect = (scale.get("metadata") or {}).get("resourceVersion")
    if expect and expect != str(entry.rv):
        from tui.sim.errors import conflict

        raise conflict(rtype, name)
    obj = entry.copy()
    obj["spec"]["replicas"] = replicas
    new = cluster.update(rtype, obj, ns, name, dry_run=dry_run)
    return scale_of(new)


def scale_update(
    cluster: SimCluster, rtype: ResourceType, ns: str, name: str, body: Any, dry_run: bool
) -> dict:
    return _set_replicas(cluster, rtype, ns, name, body, dry_run)


def scale_patch(
    cluster: SimCluster, rtype: ResourceType, ns: str, name: str, patch_type: str, body: bytes, dry_run: bool
) -> dict[str, Any]:
    current = scale_of(get_entry(cluster, rtype, ns, name))
    try:
        document = json.loads(body or b"null")
    except ValueError as exc:
        raise bad_request(f"json: {exc}") from exc
    if patch_type == "json":
        scale = json_patch(current, document)
    elif isinstance(document, dict):
        scale = (
            merge_patch(current, document) if patch_type == "merge" else strategic_merge(current, document)
        )
    else:
        raise bad_request("json: cannot unmarshal into Go value of type map[string]interface {}")
    if (scale.get("metadata") or {}).get("resourceVersion") == current["metadata"].get("resourceVersion"):
        scale["metadata"].pop("resourceVersion", None)
    return _set_replicas(cluster, rtype, ns, name, scale, dry_run)


async def access_review(request: web.Request, user: rbac.User) -> web.Response:
    cluster = request.app[CLUSTER_KEY]
    rtype = cluster.registry.by_key("selfsubjectaccessreviews.authorization.k8s.io")
    body = await read_json(request, rtype)
    spec = (body or {}).get("spec") or {}
    attrs = spec.get("resourceAttributes")
    if not isinstance(attrs, dict):
        raise invalid(
            rtype,
            "",
            [
                FieldError(
                    "spec.resourceAttributes",
                    "FieldValueRequired",
                    "exactly one of nonResourceAttributes or resourceAttributes must be specified",
                )
            ],
        )
    resource = str(attrs.get("resource", ""))
    if attrs.get("subresource"):
        resource += f"/{attrs['subresource']}"
    allowed = user.allows(
        str(attrs.get("verb", "")), str(attrs.get("group", "")), resource, str(attrs.get("namespace", ""))
    )
    status: dict[str, Any] = {"allowed": allowed}
    if allowed:
        status["reason"] = f'RBAC: allowed for user "{user.name}"'
    else:
        status["reason"] = ""
    answer = {
        "kind": "SelfSubjectAccessReview",
        "apiVersion": "authorization.k8s.io/v1",
        "metadata": {"creationTimestamp": None},
        "spec": spec,
        "status": status,
    }
    return json_response(answer, 201)


async def rules_review(request: web.Request, user: rbac.User, rtype: ResourceType) -> web.Response:
    """``kubectl auth can-i --list``: the user's rules that apply in a namespace."""
    body = await read_json(request, rtype)
    spec = (body or {}).get("spec") or {}
    namespace = str(spec.get("namespace") or "")
    rules = [
        {"verbs": list(rule.verbs), "apiGroups": list(rule.groups), "resources": list(rule.resources)}
        for rule in user.rules
        if rule.namespaces is None or namespace in rule.namespaces
    ]
    rules.insert(0, {"verbs": ["create"], "apiGroups": ["authorization.k8s.io"],
                     "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]})  # fmt: skip
    status: dict[str, Any] = {"resourceRules": rules, "nonResourceRules": [], "incomplete": bool(user.denies)}
    if user.denies:
        status["evaluationError"] = "exceptions to these rules are not listed: " + ", ".join(
            f"{'/'.join(d.verbs)} {','.join(d.resources)}" for d in user.denies
        )
    answer = {
        "kind": "SelfSubjectRulesReview",
        "apiVersion": "authorization.k8s.io/v1",
        "metadata": {"creationTimestamp": None},
        "spec": spec,
        "status": status,
    }
    return json_response(answer, 201)
