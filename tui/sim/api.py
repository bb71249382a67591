"""The HTTP face of a simulated cluster: the Kubernetes REST API as kubectl and client libraries see it.

Here: the middleware (request hooks, bearer-token authentication, errors as ``Status``), routing of
``/api`` and ``/apis`` paths, discovery (aggregated and legacy), OpenAPI v3, and
list/get/create/update/patch/delete with selectors and pagination. Elsewhere: watches
(:mod:`tui.sim.watch`), ``scale`` and access reviews (:mod:`tui.sim.subresources`), ``pods/exec``
(:mod:`tui.sim.execws`; over SPDY/3.1 for kubectl 1.27-1.29: :mod:`tui.sim.kubectl`), admission
and writes (:class:`tui.sim.cluster.SimCluster`).
"""

from __future__ import annotations

import base64
import contextlib
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from aiohttp import web

from tui.sim import auth as rbac
from tui.sim.errors import ApiError, bad_request, method_not_supported, unknown_resource
from tui.sim.httpkit import (
    CLUSTER_KEY,
    USER_KEY,
    decode_protobuf,
    field_validation_args,
    flag,
    get_entry,
    is_dry_run,
    json_response,
    object_filter,
    read_json,
    status_response,
    wants_table,
    with_warnings,
)
from tui.sim.kubectl import (
    PROTOBUF_CT,
    group_document,
    handle_spdy_exec,
    protobuf_document,
    root_document,
    table,
    v2_document,
)
from tui.sim.resources import ResourceType
from tui.sim.store import dumps
from tui.sim.subresources import access_review, rules_review, scale_of, scale_patch, scale_update
from tui.sim.watch import watch

if TYPE_CHECKING:
    from tui.sim.cluster import SimCluster

AGGREGATED_CT = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
ANONYMOUS_PATHS = {"/version", "/healthz", "/livez", "/readyz"}
PATCH_TYPES = {
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/json-patch+json": "json",
    "application/apply-patch+yaml": "apply",
    "application/apply-patch+cbor": "apply",
}


def make_app(cluster: SimCluster) -> web.Application:
    app = web.Application(middlewares=[_middleware], client_max_size=8 * 1024 * 1024)
    app[CLUSTER_KEY] = cluster
    app.router.add_route("*", "/{tail:.*}", _dispatch)
    return app


@web.middleware
async def _middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    cluster = request.app[CLUSTER_KEY]
    try:
        for hook in cluster.request_hooks:
            answer = await hook(request)
            if answer is not None:
                return answer
        if request.path not in ANONYMOUS_PATHS:
            if cluster.plain_http:
                request[USER_KEY] = rbac.admin("system:anonymous-admin")
            else:
                request[USER_KEY] = cluster.auth.authenticate(request.headers.get("Authorization"))
        return await handler(request)
    except ApiError as error:
        return status_response(error)


# -- routing ----------------------------------------------------------------------------------


async def _dispatch(request: web.Request) -> web.StreamResponse:
    cluster = request.app[CLUSTER_KEY]
    path = request.path.rstrip("/") or "/"
    parts = [unquote(p) for p in path.split("/") if p]
    if path == "/version":
        return json_response(_version(cluster))
    if path in ("/healthz", "/livez", "/readyz"):
        return web.Response(text="ok")
    if path == "/api":
        if _wants_aggregated(request):
            return json_response(cluster.registry.aggregated(core=True), content_type=AGGREGATED_CT)
        return json_response(
            {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{cluster.port}"}
                ],
            }
        )
    if path == "/apis":
        if _wants_aggregated(request):
            return json_response(cluster.registry.aggregated(core=False), content_type=AGGREGATED_CT)
        return json_response(cluster.registry.api_group_list())
    if path == "/openapi/v3":
        return json_response(root_document(cluster.registry))
    if path == "/openapi/v2":
        document = v2_document(cluster.registry)
        if "protobuf" in request.headers.get("Accept", ""):
            return web.Response(body=protobuf_document(document), headers={"Content-Type": PROTOBUF_CT})
        return json_response(document)
    if parts[:2] == ["openapi", "v3"] and len(parts) >= 4:
        sub = parts[2:]
        group, version = ("", sub[1]) if sub[0] == "api" else (sub[1], sub[2] if len(sub) > 2 else "")
        if not cluster.registry.in_group_version(group, version):
            raise ApiError(404, "404 page not found", "NotFound")
        return json_response(group_document(cluster.registry, group, version))
    if not parts or parts[0] not in ("api", "apis"):
        return web.Response(status=404, text="404 page not found\n")
    if parts[0] == "api":
        if len(parts) < 2 or parts[1] != "v1":
            return web.Response(status=404, text="404 page not found\n")
        group, version, rest = "", "v1", parts[2:]
    else:
        group = parts[1]
        versions = [v for g, v in cluster.registry.group_versions() if g == group]
        if not versions:
            return web.Response(status=404, text="404 page not found\n")
        if len(parts) == 2:
            gv = {"groupVersion": f"{group}/{versions[0]}", "version": versions[0]}
            return json_response(
                {
                    "kind": "APIGroup",
                    "apiVersion": "v1",
                    "name": group,
                    "versions": [gv],
                    "preferredVersion": gv,
                }
            )
        version, rest = parts[2], parts[3:]
        if version not in versions:
            return web.Response(status=404, text="404 page not found\n")
    if not rest:
        return json_response(cluster.registry.api_resource_list(group, version))
    namespace: str | None = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        candidate = cluster.registry.lookup(group, version, rest[2])
        if candidate is not None and candidate.namespaced:
            namespace, rest = rest[1], rest[2:]
    if len(rest) > 3:
        raise unknown_resource()
    rtype = cluster.registry.lookup(group, version, rest[0])
    if rtype is None:
        raise unknown_resource()
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else ""
    if sub and sub not in rtype.subresources:
        raise unknown_resource()
    if rtype.namespaced and name is not None and namespace is None:
        raise unknown_resource()
    return await _resource(request, cluster, rtype, namespace, name, sub)


def _version(cluster: SimCluster) -> dict[str, Any]:
    git_version = cluster.spec.kubernetes_version
    major, minor = git_version.lstrip("v").split(".")[:2]
    return {
        "major": major,
        "minor": minor,
        "gitVersion": git_version,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z",
        "goVersion": "go1.23.4",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


# -- resources --------------------------------------------------------------------------------


async def _resource(
    request: web.Request,
    cluster: SimCluster,
    rtype: ResourceType,
    namespace: str | None,
    name: str | None,
    sub: str,
) -> web.StreamResponse:
    user: rbac.User = request[USER_KEY]
    method = request.method
    ns = namespace or ""
    if sub == "exec":
        from tui.sim.execws import handle_exec

        rbac.authorize(user, "create", rtype, ns, name or "", "exec")
        if request.headers.get("Upgrade", "").lower().startswith("spdy/"):
            return await handle_spdy_exec(request, cluster, ns, name or "")
        return await handle_exec(request, cluster, ns, name or "")
    if sub == "log":
        rbac.authorize(user, "get", rtype, ns, name or "", "log")
        entry = get_entry(cluster, rtype, ns, name or "")
        return web.Response(text="", content_type="text/plain") if entry else web.Response()
    if name is None:
        if method == "GET":
            if flag(request, "watch"):
                rbac.authorize(user, "watch", rtype, ns)
                return await watch(request, cluster, rtype, namespace)
            rbac.authorize(user, "list", rtype, ns)
            return _list(request, cluster, rtype, namespace)
        if method == "POST":
            rbac.authorize(user, "create", rtype, ns)
            if rtype.key == "selfsubjectaccessreviews.authorization.k8s.io":
                return await access_review(request, user)
            if rtype.key == "selfsubjectrulesreviews.authorization.k8s.io":
                return await rules_review(request, user, rtype)
            if "create" not in rtype.verbs:
                raise method_not_supported(rtype, "create")
            body = await read_json(request, rtype)
            if rtype.namespaced and namespace is None:
                raise bad_request("the server could not find the requested resource")
            warnings: list[str] = []
            entry = cluster.create(
                rtype, body, ns, dry_run=is_dry_run(request), **field_validation_args(request, warnings)
            )
            return with_warnings(json_response(entry.raw, 201), warnings)
        if method == "DELETE":
            rbac.authorize(user, "deletecollection", rtype, ns)
            return _delete_collection(request, cluster, rtype, namespace)
        raise method_not_supported(rtype, method.lower())
    if method == "GET":
        if flag(request, "watch"):
            rbac.authorize(user, "watch", rtype, ns)
            return await watch(request, cluster, rtype, namespace, name)
        rbac.authorize(user, "get", rtype, ns, name, sub)
        entry = get_entry(cluster, rtype, ns, name)
        if sub == "scale":
            return json_response(scale_of(entry))
        if wants_table(request):
            include = request.query.get("includeObject", "Metadata")
            return json_response(table(rtype.key, [entry], include_object=include))
        return json_response(entry.raw)
    if method == "PUT":
        rbac.authorize(user, "update", rtype, ns, name, sub)
        body = await read_json(request, rtype)
        if sub == "scale":
            return json_response(scale_update(cluster, rtype, ns, name, body, is_dry_run(request)))
        warnings = []
        entry = cluster.update(
            rtype,
            body,
            ns,
            name,
            subresource=sub,
            dry_run=is_dry_run(request),
            **field_validation_args(request, warnings),
        )
        return with_warnings(json_response(entry.raw), warnings)
    if method == "PATCH":
        rbac.authorize(user, "patch", rtype, ns, name, sub)
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip()
        patch_type = PATCH_TYPES.get(content_type)
        if patch_type is None:
            raise ApiError(
                415,
                f"the body of the request was in an unknown format - accepted media types include: "
                f"{', '.join(PATCH_TYPES)}",
                "UnsupportedMediaType",
            )
        body = await request.read()
        if sub == "scale":
            return json_response(scale_patch(cluster, rtype, ns, name, patch_type, body, is_dry_run(request)))
        existed = cluster.store.get(rtype.key, ns if rtype.namespaced else "", name) is not None
        warnings = []
        entry = cluster.patch(
            rtype, ns, name, patch_type, body, subresource=sub, dry_run=is_dry_run(request),
            **field_validation_args(request, warnings),
        )  # fmt: skip
        return with_warnings(json_response(entry.raw, 200 if existed else 201), warnings)
    if method == "DELETE":
        rbac.authorize(user, "delete", rtype, ns, name, sub)
        options = await _delete_options(request)
        grace = options.get("gracePeriodSeconds")
        precondition = (options.get("preconditions") or {}).get("resourceVersion")
        entry = cluster.delete(
            rtype, ns, name, grace=grace, dry_run=is_dry_run(request), precondition_rv=precondition
        )
        return json_response(entry.raw)
    raise method_not_supported(rtype, method.lower())


# -- list and pagination ----------------------------------------------------------------------


def _list(
    request: web.Request, cluster: SimCluster, rtype: ResourceType, namespace: str | None
) -> web.Response:
    store = cluster.store
    matches = object_filter(request, namespace)
    entries = store.items(rtype.key, namespace if rtype.namespaced else None)
    if request.query.get("labelSelector") or request.query.get("fieldSelector"):
        entries = [e for e in entries if matches(e)]
    list_rv = str(store.rv)
    token = request.query.get("continue")
    if token:
        try:
            state = json.loads(base64.urlsafe_b64decode(token.encode()))
            start = (state["ns"], state["name"])
            list_rv = str(state["rv"])
        except (ValueError, KeyError, TypeError) as exc:
            raise bad_request("continue key is not valid: illegal base64 data at input byte 0") from exc
        if int(list_rv) < store.oldest_resumable:
            raise ApiError(
                410,
                "The provided continue parameter is too old to display a consistent list result. "
                "You can start a new list without the continue parameter, or use the continue token "
                "in this response to retrieve the remainder of the results.",
                "Expired",
            )
        entries = [e for e in entries if (e.namespace, e.name) > start]
    next_token = ""
    remaining = 0
    limit = request.query.get("limit")
    if limit and limit.isdigit() and int(limit) > 0 and len(entries) > int(limit):
        remaining = len(entries) - int(limit)
        entries = entries[: int(limit)]
        last = entries[-1]
        next_token = base64.urlsafe_b64encode(
            json.dumps({"rv": int(list_rv), "ns": last.namespace, "name": last.name}).encode()
        ).decode()
    if wants_table(request):
        include = request.query.get("includeObject", "Metadata")
        return json_response(
            table(
                rtype.key,
                entries,
                include_object=include,
                resource_version=list_rv,
                continue_token=next_token,
            )
        )
    meta: dict[str, Any] = {"resourceVersion": list_rv}
    if next_token:
        meta["continue"] = next_token
        meta["remainingItemCount"] = remaining
    head = b'{"kind":"' + rtype.list_kind.encode() + b'","apiVersion":"' + rtype.api_version.encode() + b'",'
    body = (
        head + b'"metadata":' + dumps(meta) + b',"items":[' + b",".join(e.encoded() for e in entries) + b"]}"
    )
    return json_response(body)


def _delete_collection(
    request: web.Request, cluster: SimCluster, rtype: ResourceType, namespace: str | None
) -> web.Response:
    matches = object_filter(request, namespace)
    deleted = []
    for entry in list(cluster.store.items(rtype.key, namespace if rtype.namespaced else None)):
        if matches(entry):
            deleted.append(cluster.delete(rtype, entry.namespace, entry.name, dry_run=is_dry_run(request)))
    body = b'{"kind":"' + rtype.list_kind.encode() + b'","apiVersion":"' + rtype.api_version.encode()
    body += b'","metadata":{"resourceVersion":"' + str(cluster.store.rv).encode() + b'"},"items":['
    return json_response(body + b",".join(e.raw for e in deleted) + b"]}")


# -- watch ------------------------------------------------------------------------------------


def _wants_aggregated(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    first = accept.split(",")[0]
    return "as=APIGroupDiscoveryList" in first and "v=v2" in first and "v=v2beta1" not in first


async def _delete_options(request: web.Request) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if request.can_read_body:
        raw = await request.read()
        if "protobuf" in request.headers.get("Content-Type", ""):
            options.update(decode_protobuf(raw, "DeleteOptions"))
        elif raw.strip():
            try:
                parsed = json.loads(raw)
            except ValueError as exc:
                raise bad_request(f"json: {exc}") from exc
            if isinstance(parsed, dict):
                options.update(parsed)
    if "gracePeriodSeconds" in request.query:
        with contextlib.suppress(ValueError):
            options["gracePeriodSeconds"] = int(request.query["gracePeriodSeconds"])
    return options
