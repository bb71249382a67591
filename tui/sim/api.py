"""The HTTP face of a simulated cluster: the Kubernetes REST API as kubectl and client libraries see it.

Discovery (aggregated and legacy), OpenAPI v3, list/get/create/update/patch/delete with
selectors and pagination, watches (resume, 410, bookmarks, timeouts, Tables), the ``scale`` and
``status`` subresources, SelfSubjectAccessReview and ``pods/exec`` (WebSocket, see
:mod:`tui.sim.execws`). Errors are ``Status`` objects worded as the real apiserver words them.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from aiohttp import web

from tui.sim import auth as rbac
from tui.sim.errors import (
    ApiError,
    FieldError,
    bad_request,
    gone,
    invalid,
    method_not_supported,
    not_found,
    unknown_resource,
)
from tui.sim.openapi import group_document, root_document
from tui.sim.resources import ResourceType
from tui.sim.selectors import parse_field_selector, parse_label_selector, selector_string
from tui.sim.store import DELETED, EXPIRED, MODIFIED, Entry, Event, dumps
from tui.sim.tables import table

if TYPE_CHECKING:
    from tui.sim.cluster import SimCluster

AGGREGATED_CT = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
ANONYMOUS_PATHS = {"/version", "/healthz", "/livez", "/readyz"}
BOOKMARK_INTERVAL = 5.0
"""Seconds between BOOKMARK events on a watch that asked for them."""
CLUSTER_KEY: web.AppKey[SimCluster] = web.AppKey("cluster")
USER_KEY: web.RequestKey[rbac.User] = web.RequestKey("user", rbac.User)

PATCH_TYPES = {
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/json-patch+json": "json",
    "application/apply-patch+yaml": "apply",
    "application/apply-patch+cbor": "apply",
}


def json_response(body: Any, status: int = 200, content_type: str = "application/json") -> web.Response:
    data = body if isinstance(body, bytes) else dumps(body)
    return web.Response(body=data, status=status, headers={"Content-Type": content_type})


def status_response(error: ApiError) -> web.Response:
    return json_response(error.status(), error.code)


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


def _wants_aggregated(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    first = accept.split(",")[0]
    return "as=APIGroupDiscoveryList" in first and "v=v2" in first and "v=v2beta1" not in first


def _wants_table(request: web.Request) -> bool:
    return "as=Table" in request.headers.get("Accept", "")


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("true", "1")


async def _read_json(request: web.Request, rtype: ResourceType) -> Any:
    content_type = request.headers.get("Content-Type", "")
    body = await request.read()
    if "protobuf" in content_type:
        return _decode_protobuf(body, rtype.kind)
    if "cbor" in content_type:
        raise _unsupported(content_type)
    try:
        return json.loads(body)
    except ValueError as exc:
        try:
            import yaml

            value = yaml.safe_load(body)
            if isinstance(value, dict):
                return value
        except Exception:
            pass
        raise bad_request(
            f"the object provided is unrecognized (must be of type {rtype.kind}): couldn't get version/kind; "
            f"json parse error: {_go_json_error(exc)}"
        ) from exc


def _unsupported(content_type: str) -> ApiError:
    return ApiError(
        415,
        "the body of the request was in an unknown format - accepted media types include: application/json, "
        f'application/yaml, application/vnd.kubernetes.protobuf (not "{content_type}")',
        "UnsupportedMediaType",
    )


def _decode_protobuf(body: bytes, kind: str) -> Any:
    """kubectl's typed clients send protobuf (``kubectl create namespace``, ``auth can-i``...)."""
    from tui.sim.protobuf import ProtobufError, decode_object

    try:
        return decode_object(body)
    except (ProtobufError, ValueError, KeyError, IndexError) as exc:
        raise bad_request(f"the object provided is unrecognized (must be of type {kind}): {exc}") from exc


def _go_json_error(exc: ValueError) -> str:
    text = str(exc)
    if "Expecting value" in text:
        return "invalid character looking for beginning of value"
    return text


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
        return await handle_exec(request, cluster, ns, name or "")
    if sub == "log":
        rbac.authorize(user, "get", rtype, ns, name or "", "log")
        entry = _get(cluster, rtype, ns, name or "")
        return web.Response(text="", content_type="text/plain") if entry else web.Response()
    if name is None:
        if method == "GET":
            if _flag(request, "watch"):
                rbac.authorize(user, "watch", rtype, ns)
                return await _watch(request, cluster, rtype, namespace)
            rbac.authorize(user, "list", rtype, ns)
            return _list(request, cluster, rtype, namespace)
        if method == "POST":
            rbac.authorize(user, "create", rtype, ns)
            if rtype.key == "selfsubjectaccessreviews.authorization.k8s.io":
                return await _access_review(request, user)
            if rtype.key == "selfsubjectrulesreviews.authorization.k8s.io":
                return await _rules_review(request, user, rtype)
            if "create" not in rtype.verbs:
                raise method_not_supported(rtype, "create")
            body = await _read_json(request, rtype)
            if rtype.namespaced and namespace is None:
                raise bad_request("the server could not find the requested resource")
            warnings: list[str] = []
            entry = cluster.create(
                rtype, body, ns, dry_run=_dry_run(request), **_validation(request, warnings)
            )
            return _warned(json_response(entry.raw, 201), warnings)
        if method == "DELETE":
            rbac.authorize(user, "deletecollection", rtype, ns)
            return _delete_collection(request, cluster, rtype, namespace)
        raise method_not_supported(rtype, method.lower())
    if method == "GET":
        if _flag(request, "watch"):
            rbac.authorize(user, "watch", rtype, ns)
            return await _watch(request, cluster, rtype, namespace, name)
        rbac.authorize(user, "get", rtype, ns, name, sub)
        entry = _get(cluster, rtype, ns, name)
        if sub == "scale":
            return json_response(_scale_of(entry))
        if _wants_table(request):
            include = request.query.get("includeObject", "Metadata")
            return json_response(table(rtype.key, [entry], include_object=include))
        return json_response(entry.raw)
    if method == "PUT":
        rbac.authorize(user, "update", rtype, ns, name, sub)
        body = await _read_json(request, rtype)
        if sub == "scale":
            return json_response(_scale_update(cluster, rtype, ns, name, body, _dry_run(request)))
        warnings = []
        entry = cluster.update(
            rtype,
            body,
            ns,
            name,
            subresource=sub,
            dry_run=_dry_run(request),
            **_validation(request, warnings),
        )
        return _warned(json_response(entry.raw), warnings)
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
            return json_response(_scale_patch(cluster, rtype, ns, name, patch_type, body, _dry_run(request)))
        existed = cluster.store.get(rtype.key, ns if rtype.namespaced else "", name) is not None
        warnings = []
        entry = cluster.patch(
            rtype, ns, name, patch_type, body, subresource=sub, dry_run=_dry_run(request),
            **_validation(request, warnings),
        )  # fmt: skip
        return _warned(json_response(entry.raw, 200 if existed else 201), warnings)
    if method == "DELETE":
        rbac.authorize(user, "delete", rtype, ns, name, sub)
        options = await _delete_options(request)
        grace = options.get("gracePeriodSeconds")
        precondition = (options.get("preconditions") or {}).get("resourceVersion")
        entry = cluster.delete(
            rtype, ns, name, grace=grace, dry_run=_dry_run(request), precondition_rv=precondition
        )
        return json_response(entry.raw)
    raise method_not_supported(rtype, method.lower())


def _validation(request: web.Request, warnings: list[str]) -> dict[str, Any]:
    """``fieldValidation`` (default Warn, as the apiserver) and where warnings go."""
    mode = request.query.get("fieldValidation", "Warn")
    if mode not in ("Strict", "Warn", "Ignore"):
        raise bad_request(f"fieldValidation parameter unsupported: {mode}")
    return {"field_validation": mode, "warnings": warnings}


def _warned(response: web.Response, warnings: list[str]) -> web.Response:
    """Warnings as ``Warning: 299 - "..."`` headers (kubectl prints ``Warning: ...``)."""
    for text in warnings:
        response.headers.add("Warning", '299 - "' + text.replace('"', '\\"') + '"')
    return response


def _dry_run(request: web.Request) -> bool:
    return bool(request.query.getall("dryRun", []))


def _get(cluster: SimCluster, rtype: ResourceType, ns: str, name: str) -> Entry:
    entry = cluster.store.get(rtype.key, ns if rtype.namespaced else "", name)
    if entry is None:
        raise not_found(rtype, name)
    return entry


async def _delete_options(request: web.Request) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if request.can_read_body:
        raw = await request.read()
        if "protobuf" in request.headers.get("Content-Type", ""):
            options.update(_decode_protobuf(raw, "DeleteOptions"))
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


# -- list and pagination ----------------------------------------------------------------------


def _filters(request: web.Request, namespace: str | None, name: str | None = None) -> Callable[[Entry], bool]:
    label_match = parse_label_selector(request.query.get("labelSelector"))
    field_match = parse_field_selector(request.query.get("fieldSelector"))

    def matches(entry: Entry) -> bool:
        if namespace is not None and entry.namespace != namespace:
            return False
        if name is not None and entry.name != name:
            return False
        if label_match is not None and not label_match(entry.labels):
            return False
        return field_match is None or field_match(entry.obj)

    return matches


def _list(
    request: web.Request, cluster: SimCluster, rtype: ResourceType, namespace: str | None
) -> web.Response:
    store = cluster.store
    matches = _filters(request, namespace)
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
    if _wants_table(request):
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
    body = head + b'"metadata":' + dumps(meta) + b',"items":[' + b",".join(e.raw for e in entries) + b"]}"
    return json_response(body)


def _delete_collection(
    request: web.Request, cluster: SimCluster, rtype: ResourceType, namespace: str | None
) -> web.Response:
    matches = _filters(request, namespace)
    deleted = []
    for entry in list(cluster.store.items(rtype.key, namespace if rtype.namespaced else None)):
        if matches(entry):
            deleted.append(cluster.delete(rtype, entry.namespace, entry.name, dry_run=_dry_run(request)))
    body = b'{"kind":"' + rtype.list_kind.encode() + b'","apiVersion":"' + rtype.api_version.encode()
    body += b'","metadata":{"resourceVersion":"' + str(cluster.store.rv).encode() + b'"},"items":['
    return json_response(body + b",".join(e.raw for e in deleted) + b"]}")


# -- watch ------------------------------------------------------------------------------------


async def _watch(
    request: web.Request,
    cluster: SimCluster,
    rtype: ResourceType,
    namespace: str | None,
    name: str | None = None,
) -> web.StreamResponse:
    store = cluster.store
    rv_param = request.query.get("resourceVersion", "")
    since: int | None = None
    if rv_param not in ("", "0"):
        try:
            since = int(rv_param)
        except ValueError as exc:
            raise invalid(
                rtype, "", [FieldError("resourceVersion", "FieldValueInvalid", "", rv_param)]
            ) from exc
    send_initial = since is None or _flag(request, "sendInitialEvents")
    bookmarks = _flag(request, "allowWatchBookmarks")
    as_table = _wants_table(request)
    include = request.query.get("includeObject", "Metadata")
    timeout = request.query.get("timeoutSeconds")
    deadline = (
        time.monotonic() + float(timeout) if timeout and timeout.replace(".", "", 1).isdigit() else None
    )
    matches = _filters(request, namespace if rtype.namespaced else None, name)
    queue, backlog = store.watch(rtype.key, since)  # 410 raises here, before the stream starts
    try:
        response = web.StreamResponse(
            status=200, headers={"Content-Type": "application/json", "Cache-Control": "no-cache, private"}
        )
        response.enable_chunked_encoding()
        await response.prepare(request)
        first_table = [True]

        def encode(kind: str, entry: Entry) -> bytes:
            if as_table:
                obj = table(rtype.key, [entry], include_object=include, with_columns=first_table[0])
                first_table[0] = False
                return b'{"type":"' + kind.encode() + b'","object":' + dumps(obj) + b"}\n"
            return b'{"type":"' + kind.encode() + b'","object":' + entry.raw + b"}\n"

        chunks: list[bytes] = []
        if send_initial:
            for entry in store.items(rtype.key, namespace if rtype.namespaced else None):
                if matches(entry):
                    chunks.append(encode("ADDED", entry))
            if bookmarks and _flag(request, "sendInitialEvents"):
                chunks.append(_bookmark(rtype, store.rv, initial_end=True))
        for event in backlog:
            line = _event_line(event, matches, encode)
            if line:
                chunks.append(line)
        if chunks:
            await response.write(b"".join(chunks))
        next_bookmark = time.monotonic() + BOOKMARK_INTERVAL
        while True:
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                break
            waits = [next_bookmark - now if bookmarks else 30.0]
            if deadline is not None:
                waits.append(deadline - now)
            try:
                event = await asyncio.wait_for(queue.get(), timeout=max(0.0, min(waits)))
            except TimeoutError:
                if request.transport is None or request.transport.is_closing():
                    break
                if bookmarks and time.monotonic() >= next_bookmark - 0.01:
                    await response.write(_bookmark(rtype, store.rv))
                    next_bookmark = time.monotonic() + BOOKMARK_INTERVAL
                continue
            events = [event]
            while not queue.empty():
                events.append(queue.get_nowait())
            expired = EXPIRED in events
            data = b"".join(_event_line(e, matches, encode) for e in events if e is not EXPIRED)
            if expired:
                status = gone(store.oldest_resumable - 1, store.oldest_resumable).status()
                data += b'{"type":"ERROR","object":' + dumps(status) + b"}\n"
            if data:
                await response.write(data)
            if expired:
                await response.write_eof()
                return response
        if bookmarks:
            await response.write(_bookmark(rtype, store.rv))
        await response.write_eof()
        return response
    finally:
        store.unwatch(rtype.key, queue)


def _bookmark(rtype: ResourceType, rv: int, initial_end: bool = False) -> bytes:
    meta: dict[str, Any] = {"resourceVersion": str(rv)}
    if initial_end:
        meta["annotations"] = {"k8s.io/initial-events-end": "true"}
    obj = {"kind": rtype.kind, "apiVersion": rtype.api_version, "metadata": meta}
    return b'{"type":"BOOKMARK","object":' + dumps(obj) + b"}\n"


def _event_line(event: Event, matches: Any, encode: Any) -> bytes:
    now_match = matches(event.entry)
    if event.type == MODIFIED:
        before = event.prev is not None and matches(event.prev)
        if now_match and before:
            return encode("MODIFIED", event.entry)
        if now_match:
            return encode("ADDED", event.entry)
        if before:
            return encode("DELETED", event.entry)
        return b""
    if event.type == DELETED:
        return encode("DELETED", event.entry) if (event.prev is None or matches(event.prev)) else b""
    return encode(event.type, event.entry) if now_match else b""


# -- scale ------------------------------------------------------------------------------------


def _scale_of(entry: Entry) -> dict[str, Any]:
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
    entry = _get(cluster, rtype, ns, name)
    expect = (scale.get("metadata") or {}).get("resourceVersion")
    if expect and expect != str(entry.rv):
        from tui.sim.errors import conflict

        raise conflict(rtype, name)
    obj = entry.copy()
    obj["spec"]["replicas"] = replicas
    new = cluster.update(rtype, obj, ns, name, dry_run=dry_run)
    return _scale_of(new)


def _scale_update(
    cluster: SimCluster, rtype: ResourceType, ns: str, name: str, body: Any, dry_run: bool
) -> dict:
    return _set_replicas(cluster, rtype, ns, name, body, dry_run)


def _scale_patch(
    cluster: SimCluster, rtype: ResourceType, ns: str, name: str, patch_type: str, body: bytes, dry_run: bool
) -> dict[str, Any]:
    from tui.sim.patch import json_patch, merge_patch, strategic_merge

    current = _scale_of(_get(cluster, rtype, ns, name))
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


# -- access reviews ---------------------------------------------------------------------------


async def _access_review(request: web.Request, user: rbac.User) -> web.Response:
    cluster = request.app[CLUSTER_KEY]
    rtype = cluster.registry.by_key("selfsubjectaccessreviews.authorization.k8s.io")
    body = await _read_json(request, rtype)
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


async def _rules_review(request: web.Request, user: rbac.User, rtype: ResourceType) -> web.Response:
    """``kubectl auth can-i --list``: the user's rules that apply in a namespace."""
    body = await _read_json(request, rtype)
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
