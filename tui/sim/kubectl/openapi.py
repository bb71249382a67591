"""OpenAPI v3 (and the model of v2) so that kubectl's ``create``/``apply``/``diff``/``explain`` work.

kubectl looks for each kind's ``x-kubernetes-group-version-kind`` in the group document and for a
``fieldValidation`` query parameter on its operations; when both are there it sends
``fieldValidation=Strict`` and lets the server decide (:mod:`tui.sim.validation` rejects bad
values). The schemas are field-complete for the built-in kinds
(:mod:`tui.sim.kubectl.openapi_schema`), so ``kubectl explain pod.spec.containers`` walks them and
client-side apply finds the lists' merge keys.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from tui.sim.kubectl.openapi_schema import definitions, kind_schema
from tui.sim.resources import Registry

V3_PREFIX = "#/components/schemas/"
V2_PREFIX = "#/definitions/"


def group_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def group_document(registry: Registry, group: str, version: str) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    params = [
        {
            "name": "fieldValidation",
            "in": "query",
            "schema": {"type": "string", "uniqueItems": True},
            "description": "fieldValidation instructs the server on how to handle objects in the request "
            "containing unknown or duplicate fields.",
        },
        {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
        {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
    ]
    for rtype in registry.in_group_version(group, version):
        gvk = {"group": group, "version": version, "kind": rtype.kind}
        ref = {"$ref": f"{V3_PREFIX}{kind_schema(group, version, rtype.kind, V3_PREFIX)[0]}"}
        body = {"content": {"application/json": {"schema": ref}, "*/*": {"schema": ref}}}

        def op(
            action: str,
            ref: dict[str, Any] = ref,
            gvk: dict[str, Any] = gvk,
            with_body: bool = False,
            extra: list[dict[str, Any]] | None = None,
            body: dict[str, Any] = body,
        ) -> dict[str, Any]:
            operation: dict[str, Any] = {
                "x-kubernetes-action": action,
                "x-kubernetes-group-version-kind": gvk,
                "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": ref}}}},
                "parameters": list(extra or []),
            }
            if with_body:
                operation["requestBody"] = body
            return operation

        collection = "/" + rtype.path("{namespace}" if rtype.namespaced else None).lstrip("/")
        item = collection + "/{name}"
        paths[collection] = {"get": op("list"), "post": op("post", with_body=True, extra=params)}
        paths[item] = {
            "get": op("get"),
            "put": op("put", with_body=True, extra=params),
            "patch": op("patch", with_body=True, extra=params),
            "delete": op("delete"),
        }
        name, schema = kind_schema(group, version, rtype.kind, V3_PREFIX)
        schemas[name] = schema
    for name, schema in definitions(V3_PREFIX).items():
        schemas.setdefault(name, schema)
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.2"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def root_document(registry: Registry) -> dict[str, Any]:
    paths = {}
    for group, version in registry.group_versions():
        doc = json.dumps(group_document(registry, group, version), sort_keys=True).encode()
        digest = hashlib.sha512(doc).hexdigest()[:64].upper()
        path = group_path(group, version)
        paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
    return {"paths": paths}


def v2_document(registry: Registry) -> dict[str, Any]:
    """Swagger 2.0 as ``/openapi/v2`` serves it: kubectl 1.27–1.29 read its definitions (and
    their ``x-kubernetes-group-version-kind``) for ``apply``, ``diff`` and ``explain``."""
    defs = dict(definitions(V2_PREFIX))
    for group, version in registry.group_versions():
        for rtype in registry.in_group_version(group, version):
            name, schema = kind_schema(group, version, rtype.kind, V2_PREFIX)
            defs[name] = schema
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": "v1.32.2"},
        "paths": {},
        "definitions": dict(sorted(defs.items())),
    }
