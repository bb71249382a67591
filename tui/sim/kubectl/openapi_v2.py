"""``/openapi/v2`` in the protobuf form kubectl 1.27–1.29 ask for.

Their discovery client requests ``application/com.github.proto-openapi.spec.v2@v1.0+protobuf``
and unmarshals an ``openapi.v2.Document`` (gnostic); a 404 there makes ``apply``, ``diff`` and
``explain`` fail with "the server could not find the requested resource". The field numbers
below are those of gnostic's ``openapiv2/OpenAPIv2.proto`` descriptor as embedded in kubectl
1.28; vendor extensions travel as ``NamedAny`` with their value in YAML, as kube-openapi reads
them. Only what kubectl reads is written: ``swagger``, ``info`` and the definitions.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

PROTOBUF_CT = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
"""The response type (kube-openapi writes ``.v1.0``: Go's mime parser rejects the ``@`` of the
Accept header's ``spec.v2@v1.0``)."""

# openapi.v2.* field numbers (gnostic OpenAPIv2.proto)
DOC_SWAGGER, DOC_INFO, DOC_PATHS, DOC_DEFINITIONS = 1, 2, 8, 9
INFO_TITLE, INFO_VERSION = 1, 2
NAMED_NAME, NAMED_VALUE = 1, 2
ANY_YAML = 2
SCHEMA = {
    "$ref": 1,
    "format": 2,
    "description": 4,
    "required": 19,
    "additionalProperties": 21,
    "type": 22,
    "items": 23,
    "allOf": 24,
    "properties": 25,
    "vendor_extension": 31,
}
ITEMS_SCHEMA = 1  # ItemsItem.schema (repeated)
ADDITIONAL_SCHEMA, ADDITIONAL_BOOLEAN = 1, 2
TYPE_VALUE = 1


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _bytes(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _string(number: int, text: str) -> bytes:
    return _bytes(number, text.encode())


def _bool(number: int, value: bool) -> bytes:
    return _varint(number << 3) + _varint(1 if value else 0)


def _yaml(value: Any) -> str:
    """A vendor extension's value as YAML (JSON is YAML; lists of maps as kube-openapi writes)."""
    if isinstance(value, list) and all(isinstance(v, dict) for v in value):
        return "".join(
            "- " + "\n  ".join(f"{k}: {json.dumps(v)}" for k, v in item.items()) + "\n" for item in value
        )
    if isinstance(value, str):
        return value + "\n"
    return json.dumps(value) + "\n"


def _named_any(name: str, value: Any) -> bytes:
    return _string(NAMED_NAME, name) + _bytes(NAMED_VALUE, _string(ANY_YAML, _yaml(value)))


def encode_schema(schema: dict[str, Any]) -> bytes:
    out = bytearray()
    if "$ref" in schema:
        out += _string(SCHEMA["$ref"], schema["$ref"])
    if "format" in schema:
        out += _string(SCHEMA["format"], schema["format"])
    if "description" in schema:
        out += _string(SCHEMA["description"], schema["description"])
    for name in schema.get("required") or ():
        out += _string(SCHEMA["required"], name)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        out += _bytes(SCHEMA["additionalProperties"], _bytes(ADDITIONAL_SCHEMA, encode_schema(extra)))
    elif isinstance(extra, bool):
        out += _bytes(SCHEMA["additionalProperties"], _bool(ADDITIONAL_BOOLEAN, extra))
    if "type" in schema:
        kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        out += _bytes(SCHEMA["type"], b"".join(_string(TYPE_VALUE, k) for k in kinds))
    if "items" in schema:
        out += _bytes(SCHEMA["items"], _bytes(ITEMS_SCHEMA, encode_schema(schema["items"])))
    for part in schema.get("allOf") or ():
        out += _bytes(SCHEMA["allOf"], encode_schema(part))
    properties = schema.get("properties")
    if properties:
        named = b"".join(
            _bytes(1, _string(NAMED_NAME, name) + _bytes(NAMED_VALUE, encode_schema(value)))
            for name, value in properties.items()
        )
        out += _bytes(SCHEMA["properties"], named)
    for key, value in schema.items():
        if key.startswith("x-"):
            out += _bytes(SCHEMA["vendor_extension"], _named_any(key, value))
    return bytes(out)


def encode_document(document: dict[str, Any]) -> bytes:
    """``openapi.v2.Document`` of a swagger 2.0 JSON document (definitions only)."""
    info = document.get("info") or {}
    out = bytearray(_string(DOC_SWAGGER, document.get("swagger", "2.0")))
    out += _bytes(
        DOC_INFO,
        _string(INFO_TITLE, info.get("title", "Kubernetes")) + _string(INFO_VERSION, info.get("version", "")),
    )
    out += _bytes(DOC_PATHS, b"")
    definitions = b"".join(
        _bytes(1, _string(NAMED_NAME, name) + _bytes(NAMED_VALUE, encode_schema(schema)))
        for name, schema in (document.get("definitions") or {}).items()
    )
    out += _bytes(DOC_DEFINITIONS, definitions)
    return bytes(out)


@lru_cache(maxsize=16)
def _cached(serialized: str) -> bytes:
    return encode_document(json.loads(serialized))


def protobuf_document(document: dict[str, Any]) -> bytes:
    """:func:`encode_document`, once per distinct document (clusters with the same kinds share it)."""
    return _cached(json.dumps(document, sort_keys=True))
