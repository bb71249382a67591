"""Field validation (``fieldValidation=Strict|Warn|Ignore``): unknown fields of built-in kinds.

The apiserver decodes strictly and reports ``strict decoding error: unknown field "spec.replica"``
(Strict: 400; Warn, the default: a ``Warning`` header kubectl prints). The known fields come from
the same generated tables as protobuf decoding (:mod:`tui.sim.kubectl.proto_schema`); kinds without a
table (part 2's CRDs) are not checked.
"""

from __future__ import annotations

from typing import Any

from tui.sim.kubectl.protobuf import _SPECIAL, INLINE, PACKAGES


def message_for(api_version: str, kind: str) -> str | None:
    group, _, version = api_version.rpartition("/")
    package = PACKAGES.get(group) if version == "v1" else None
    return f"{package}.{kind}" if package else None


def unknown_fields(api_version: str, kind: str, obj: Any) -> list[str]:
    """Paths of fields the kind does not have (``spec.template.spec.containers[0].imagee``)."""
    from tui.sim.kubectl.proto_schema import MESSAGES

    message = message_for(api_version, kind)
    if message is None or message not in MESSAGES:
        return []
    found: list[str] = []
    _walk(MESSAGES, message, obj, "", found, top=True)
    return found


def _names(messages: dict[str, Any], type_name: str) -> dict[str, tuple[str, str, bool, str]]:
    names: dict[str, tuple[str, str, bool, str]] = {}
    for number, field in messages.get(type_name, {}).items():
        if not isinstance(number, int):
            continue
        if field[0] in INLINE and field[1] == "message":
            names.update(_names(messages, field[3]))
        else:
            names[field[0]] = field
    return names


def _walk(
    messages: dict[str, Any], type_name: str, value: Any, path: str, found: list[str], top: bool = False
) -> None:
    if type_name in _SPECIAL or not isinstance(value, dict):
        return
    names = _names(messages, type_name)
    for key, sub in value.items():
        if top and key in ("apiVersion", "kind"):
            continue
        field = names.get(key)
        if field is None:
            found.append(f"{path}{key}")
            continue
        _name, kind, repeated, ref = field
        if kind == "message":
            if repeated and isinstance(sub, list):
                for index, item in enumerate(sub):
                    _walk(messages, ref, item, f"{path}{key}[{index}].", found)
            else:
                _walk(messages, ref, sub, f"{path}{key}.", found)
        elif kind == "map" and isinstance(sub, dict):
            _key_kind, value_kind, value_ref = messages[ref]["map"]
            if value_kind == "message":
                for map_key, item in sub.items():
                    _walk(messages, value_ref, item, f"{path}{key}[{map_key}].", found)


def strict_message(kind: str, api_version: str, unknown: list[str]) -> str:
    version = api_version.rpartition("/")[2]
    fields = ", ".join(f'unknown field "{path}"' for path in unknown)
    return f'{kind} in version "{version}" cannot be handled as a {kind}: strict decoding error: {fields}'
