"""Request and response helpers shared by the simulated API's handlers.

Bodies in JSON, YAML or Kubernetes protobuf; ``Status`` answers; field validation warnings;
the label/field filter of lists and watches.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tui.sim import auth as rbac
from tui.sim.errors import ApiError, bad_request, not_found
from tui.sim.resources import ResourceType
from tui.sim.selectors import parse_field_selector, parse_label_selector
from tui.sim.store import Entry, dumps

if TYPE_CHECKING:
    from tui.sim.cluster import SimCluster

CLUSTER_KEY: web.AppKey[SimCluster] = web.AppKey("cluster")
USER_KEY: web.RequestKey[rbac.User] = web.RequestKey("user", rbac.User)


def json_response(body: Any, status: int = 200, content_type: str = "application/json") -> web.Response:
    data = body if isinstance(body, bytes) else dumps(body)
    return web.Response(body=data, status=status, headers={"Content-Type": content_type})


def status_response(error: ApiError) -> web.Response:
    return json_response(error.status(), error.code)


def wants_table(request: web.Request) -> bool:
    return "as=Table" in request.headers.get("Accept", "")


def flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("true", "1")


async def read_json(request: web.Request, rtype: ResourceType) -> Any:
    content_type = request.headers.get("Content-Type", "")
    body = await request.read()
    if "protobuf" in content_type:
        return decode_protobuf(body, rtype.kind)
    if "cbor" in content_type:
        raise unsupported_media(content_type)
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
            f"json parse error: {go_json_error(exc)}"
        ) from exc


def unsupported_media(content_type: str) -> ApiError:
    return ApiError(
        415,
        "the body of the request was in an unknown format - accepted media types include: application/json, "
        f'application/yaml, application/vnd.kubernetes.protobuf (not "{content_type}")',
        "UnsupportedMediaType",
    )


def decode_protobuf(body: bytes, kind: str) -> Any:
    """kubectl's typed clients send protobuf (``kubectl create namespace``, ``auth can-i``...)."""
    from tui.sim.kubectl import ProtobufError, decode_object

    try:
        return decode_object(body)
    except (ProtobufError, ValueError, KeyError, IndexError) as exc:
        raise bad_request(f"the object provided is unrecognized (must be of type {kind}): {exc}") from exc


def go_json_error(exc: ValueError) -> str:
    text = str(exc)
    if "Expecting value" in text:
        return "invalid character looking for beginning of value"
    return text


def field_validation_args(request: web.Request, warnings: list[str]) -> dict[str, Any]:
    """``fieldValidation`` (default Warn, as the apiserver) and where warnings go."""
    mode = request.query.get("fieldValidation", "Warn")
    if mode not in ("Strict", "Warn", "Ignore"):
        raise bad_request(f"fieldValidation parameter unsupported: {mode}")
    return {"field_validation": mode, "warnings": warnings}


def with_warnings(response: web.Response, warnings: list[str]) -> web.Response:
    """Warnings as ``Warning: 299 - "..."`` headers (kubectl prints ``Warning: ...``)."""
    for text in warnings:
        response.headers.add("Warning", '299 - "' + text.replace('"', '\\"') + '"')
    return response


def is_dry_run(request: web.Request) -> bool:
    return bool(request.query.getall("dryRun", []))


def get_entry(cluster: SimCluster, rtype: ResourceType, ns: str, name: str) -> Entry:
    entry = cluster.store.get(rtype.key, ns if rtype.namespaced else "", name)
    if entry is None:
        raise not_found(rtype, name)
    return entry


def object_filter(
    request: web.Request, namespace: str | None, name: str | None = None
) -> Callable[[Entry], bool]:
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
