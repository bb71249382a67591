"""A minimal OpenAPI v3 so that ``kubectl create -f`` / ``apply -f`` validate against the simulator.

kubectl looks for each kind's ``x-kubernetes-group-version-kind`` in the group document and for a
``fieldValidation`` query parameter on its operations; when both are there it sends
``fieldValidation=Strict`` and lets the server decide. Schemas are open objects: the server's
own validation (:mod:`tui.sim.validation`) is what rejects bad values.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from tui.sim.resources import Registry, ResourceType

_GO_PACKAGES = {
    "": "io.k8s.api.core",
    "apps": "io.k8s.api.apps",
    "discovery.k8s.io": "io.k8s.api.discovery",
    "authorization.k8s.io": "io.k8s.api.authorization",
}


def _schema_name(rtype: ResourceType) -> str:
    package = _GO_PACKAGES.get(rtype.group) or ".".join(reversed(rtype.group.split(".")))
    return f"{package}.{rtype.version}.{rtype.kind}"


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
        ref = {"$ref": f"#/components/schemas/{_schema_name(rtype)}"}
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
        schemas[_schema_name(rtype)] = {
            "type": "object",
            "x-kubernetes-group-version-kind": [gvk],
            "properties": {
                "apiVersion": {"type": "string"},
                "kind": {"type": "string"},
                "metadata": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            },
            "x-kubernetes-preserve-unknown-fields": True,
        }
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
