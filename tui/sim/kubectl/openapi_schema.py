"""Field-complete schemas of the served kinds, for ``kubectl explain`` and client-side apply.

Built from the field tables of the Kubernetes protobuf messages (:mod:`tui.sim.kubectl.proto_schema`,
generated from kubectl's own descriptors): every field with its JSON name and type, nested
types by reference, maps as ``additionalProperties``, the strategic-merge metadata of the lists
that Kubernetes merges by key (``patchMergeKey`` struct tags). The descriptors carry no
documentation, so descriptions are short and generic. Kinds without a message (Cilium's CRDs)
stay open objects. One model serves both OpenAPI v3 (``#/components/schemas``) and v2
(``#/definitions``, :mod:`tui.sim.kubectl.openapi_v2`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from tui.sim.kubectl.proto_schema import MESSAGES

_META = "k8s.io.apimachinery.pkg.apis.meta.v1"
SPECIAL: dict[str, dict[str, Any]] = {
    f"{_META}.Time": {"type": "string", "format": "date-time"},
    f"{_META}.MicroTime": {"type": "string", "format": "date-time"},
    f"{_META}.Duration": {"type": "string"},
    f"{_META}.FieldsV1": {"type": "object"},
    "k8s.io.apimachinery.pkg.runtime.RawExtension": {"type": "object"},
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString": {"type": "string", "format": "int-or-string"},
    "k8s.io.apimachinery.pkg.api.resource.Quantity": {"type": "string"},
}
SCALARS = {
    "string": {"type": "string"},
    "enum": {"type": "string"},
    "bool": {"type": "boolean"},
    "int32": {"type": "integer", "format": "int32"},
    "uint32": {"type": "integer", "format": "int32"},
    "int64": {"type": "integer", "format": "int64"},
    "uint64": {"type": "integer", "format": "int64"},
    "double": {"type": "number", "format": "double"},
    "float": {"type": "number", "format": "double"},
    "bytes": {"type": "string", "format": "byte"},
}
PATCH_META: dict[tuple[str, str], tuple[str, str]] = {
    ("k8s.io.api.core.v1.PodSpec", "volumes"): ("merge,retainKeys", "name"),
    ("k8s.io.api.core.v1.PodSpec", "initContainers"): ("merge", "name"),
    ("k8s.io.api.core.v1.PodSpec", "containers"): ("merge", "name"),
    ("k8s.io.api.core.v1.PodSpec", "ephemeralContainers"): ("merge", "name"),
    ("k8s.io.api.core.v1.PodSpec", "imagePullSecrets"): ("merge", "name"),
    ("k8s.io.api.core.v1.PodSpec", "hostAliases"): ("merge", "ip"),
    ("k8s.io.api.core.v1.PodSpec", "topologySpreadConstraints"): ("merge", "topologyKey"),
    ("k8s.io.api.core.v1.Container", "ports"): ("merge", "containerPort"),
    ("k8s.io.api.core.v1.Container", "env"): ("merge", "name"),
    ("k8s.io.api.core.v1.Container", "volumeMounts"): ("merge", "mountPath"),
    ("k8s.io.api.core.v1.Container", "volumeDevices"): ("merge", "devicePath"),
    ("k8s.io.api.core.v1.ServiceSpec", "ports"): ("merge", "port"),
    ("k8s.io.api.core.v1.PodStatus", "conditions"): ("merge", "type"),
    ("k8s.io.api.core.v1.NodeStatus", "conditions"): ("merge", "type"),
    ("k8s.io.api.core.v1.NodeStatus", "addresses"): ("merge", "type"),
    ("k8s.io.api.core.v1.NodeSpec", "podCIDRs"): ("merge", ""),
    ("k8s.io.api.apps.v1.DeploymentStatus", "conditions"): ("merge", "type"),
    ("k8s.io.api.apps.v1.ReplicaSetStatus", "conditions"): ("merge", "type"),
    ("k8s.io.api.apps.v1.DaemonSetStatus", "conditions"): ("merge", "type"),
    ("k8s.io.api.apps.v1.DeploymentSpec", "strategy"): ("retainKeys", ""),
    (f"{_META}.ObjectMeta", "finalizers"): ("merge", ""),
    (f"{_META}.ObjectMeta", "ownerReferences"): ("merge", "uid"),
}


def _name(proto: str) -> str:
    return "io.k8s." + proto.removeprefix("k8s.io.")


def _ref(proto: str, prefix: str) -> dict[str, Any]:
    return {"$ref": f"{prefix}{_name(proto)}"}


def _field_schema(kind: str, repeated: bool, ref: str, prefix: str) -> dict[str, Any]:
    if kind == "map":
        entry = MESSAGES.get(ref, {}).get("map")
        value: dict[str, Any] = {"type": "string"}
        if entry is not None:
            value_kind, value_ref = entry[1], entry[2]
            value = _ref(value_ref, prefix) if value_kind == "message" else dict(SCALARS.get(value_kind, {}))
        return {"type": "object", "additionalProperties": value}
    one = _ref(ref, prefix) if kind == "message" else dict(SCALARS.get(kind, {"type": "string"}))
    return {"type": "array", "items": one} if repeated else one


@lru_cache(maxsize=4)
def definitions(prefix: str) -> dict[str, dict[str, Any]]:
    """Every message as a schema (``prefix``: ``#/components/schemas/`` or ``#/definitions/``)."""
    out: dict[str, dict[str, Any]] = {}
    for proto, special in SPECIAL.items():
        out[_name(proto)] = {**special, "description": f"{proto.rsplit('.', 1)[-1]} (see the Kubernetes API)"}
    for proto, table in MESSAGES.items():
        if "map" in table or proto in SPECIAL:
            continue
        properties: dict[str, Any] = {}
        for _number, (field, kind, repeated, ref) in sorted(table.items()):
            schema = _field_schema(kind, repeated, ref, prefix)
            strategy, key = PATCH_META.get((proto, field), ("", ""))
            if strategy:
                schema["x-kubernetes-patch-strategy"] = strategy
            if key:
                schema["x-kubernetes-patch-merge-key"] = key
            properties[field] = schema
        out[_name(proto)] = {
            "type": "object",
            "description": f"{proto.rsplit('.', 1)[-1]} (field list from the Kubernetes API descriptors)",
            "properties": properties,
        }
    return out


def kind_message(group: str, version: str, kind: str) -> str | None:
    """The protobuf message of a served kind, when the descriptors have it."""
    package = {
        "": "k8s.io.api.core",
        "apps": "k8s.io.api.apps",
        "discovery.k8s.io": "k8s.io.api.discovery",
        "authorization.k8s.io": "k8s.io.api.authorization",
    }.get(group)
    if package is None:
        return None
    name = f"{package}.{version}.{kind}"
    return name if name in MESSAGES else None


def kind_schema(group: str, version: str, kind: str, prefix: str) -> tuple[str, dict[str, Any]]:
    """(definition name, schema) of a served kind: the message's fields plus ``apiVersion``,
    ``kind`` and its ``x-kubernetes-group-version-kind``; an open object for CRDs."""
    gvk = {"group": group, "version": version, "kind": kind}
    message = kind_message(group, version, kind)
    if message is None:
        name = ".".join(reversed(group.split("."))) + f".{version}.{kind}"
        return name, {
            "type": "object",
            "description": f"{kind} (a custom resource: fields are not described)",
            "x-kubernetes-group-version-kind": [gvk],
            "properties": {
                "apiVersion": {"type": "string"},
                "kind": {"type": "string"},
                "metadata": _ref(f"{_META}.ObjectMeta", prefix),
                "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            },
            "x-kubernetes-preserve-unknown-fields": True,
        }
    base = definitions(prefix)[_name(message)]
    properties = {
        "apiVersion": {
            "type": "string",
            "description": "APIVersion defines the versioned schema of this object.",
        },
        "kind": {"type": "string", "description": "Kind is a string value representing the REST resource."},
        **base["properties"],
    }
    return _name(message), {**base, "properties": properties, "x-kubernetes-group-version-kind": [gvk]}
