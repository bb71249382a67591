"""The patch formats kubectl sends: strategic merge patch and JSON patch.

meshtui's own writes send JSON merge patch (:mod:`tui.sim.mergepatch`). Strategic merge patch
is the subset kubectl sends (``apply``, ``edit``, ``patch``; server-side apply uses it here too):
maps merge, ``null`` deletes, lists of containers/env/ports/volumes... merge by their key,
``$setElementOrder/<field>`` orders the result, ``$patch: replace|delete`` and
``$retainKeys``/``$deleteFromPrimitiveList`` are honoured.
All functions return new values and never change their inputs.
"""

from __future__ import annotations

import copy
from typing import Any

from tui.sim.errors import ApiError, bad_request

MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "conditions": "type",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
    "ownerReferences": "uid",
    "finalizers": "",
    "envFrom": "",
}
"""Field name -> strategic merge key ("" = a list of primitives merged as a set)."""


def _ports_key(items: list[Any]) -> str:
    for item in items:
        if isinstance(item, dict) and "containerPort" in item:
            return "containerPort"
    return "port"


def _merge_key(field: str, *lists: list[Any]) -> str | None:
    if field == "ports":
        return _ports_key([i for lst in lists for i in lst])
    return MERGE_KEYS.get(field)


def strategic_merge(target: Any, patch: Any) -> Any:
    """Strategic merge patch of ``target`` by ``patch`` (both JSON-shaped)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result = dict(target)
    orders: dict[str, list[Any]] = {}
    retain: list[str] | None = None
    for key, value in patch.items():
        if key.startswith("$setElementOrder/"):
            orders[key.split("/", 1)[1]] = value
            continue
        if key == "$retainKeys":
            retain = list(value or [])
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            result[field] = [v for v in result.get(field) or [] if v not in (value or [])]
            continue
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            merged = strategic_merge(result.get(key), value)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            result[key] = _merge_list(key, result.get(key), value)
        else:
            result[key] = value
    for field, order in orders.items():
        if isinstance(result.get(field), list):
            result[field] = _apply_order(field, result[field], order)
    if retain is not None:
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _merge_list(field: str, current: Any, patch: list[Any]) -> list[Any]:
    current_list = list(current) if isinstance(current, list) else []
    key = _merge_key(field, current_list, patch)
    if key is None:
        return [copy.deepcopy(v) for v in patch]  # atomic list: replaced
    if key == "":
        merged = list(current_list)
        for value in patch:
            if value not in merged:
                merged.append(copy.deepcopy(value))
        return merged
    if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
        return [copy.deepcopy(i) for i in patch if not (isinstance(i, dict) and "$patch" in i)]
    merged = [dict(i) if isinstance(i, dict) else i for i in current_list]
    for item in patch:
        if not isinstance(item, dict):
            merged.append(copy.deepcopy(item))
            continue
        ident = item.get(key)
        index = next((n for n, m in enumerate(merged) if isinstance(m, dict) and m.get(key) == ident), None)
        if item.get("$patch") == "delete":
            if index is not None:
                merged.pop(index)
            continue
        if index is None:
            merged.append(strategic_merge({}, item))
        else:
            merged[index] = strategic_merge(merged[index], item)
    return merged


def _apply_order(field: str, items: list[Any], order: list[Any]) -> list[Any]:
    key = _merge_key(field, items)
    if not key:
        ranked = {json_key(v): n for n, v in enumerate(order)}
        return sorted(items, key=lambda v: ranked.get(json_key(v), len(ranked)))
    ranked = {json_key(o.get(key)): n for n, o in enumerate(order) if isinstance(o, dict)}
    return sorted(
        items, key=lambda v: ranked.get(json_key(v.get(key)) if isinstance(v, dict) else "", len(ranked))
    )


def json_key(value: Any) -> str:
    return repr(value)


# -- JSON patch (RFC 6902) --------------------------------------------------------------------


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise bad_request(
            f"the server rejected our request due to an error in our request: invalid path {path!r}"
        )
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: Any, parts: list[str], op: str) -> Any:
    current = doc
    for part in parts[:-1]:
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            raise ApiError(
                422 if op != "test" else 500,
                f'jsonpatch {op} operation does not apply: doc is missing path: "/{"/".join(parts)}"',
                "Invalid",
            )
    return current


def json_patch(doc: Any, operations: Any) -> Any:
    """Apply RFC 6902 operations to a copy of ``doc``."""
    if not isinstance(operations, list):
        raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    result = copy.deepcopy(doc)
    for op in operations:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise bad_request("the server rejected our request due to an error in our request")
        kind, parts = op["op"], _pointer(op["path"])
        if kind in ("move", "copy"):
            from_parts = _pointer(op.get("from", ""))
            value = _get(result, from_parts, kind)
            if kind == "move":
                result = _remove(result, from_parts)
            result = _add(result, parts, copy.deepcopy(value), kind)
        elif kind == "add":
            result = _add(result, parts, copy.deepcopy(op.get("value")), kind)
        elif kind == "remove":
            result = _remove(result, parts)
        elif kind == "replace":
            _get(result, parts, kind)
            result = _remove(result, parts)
            result = _add(result, parts, copy.deepcopy(op.get("value")), kind)
        elif kind == "test":
            if _get(result, parts, kind) != op.get("value"):
                raise ApiError(422, f"testing value {op['path']} failed: test failed", "Invalid")
        else:
            raise bad_request(f"Unexpected kind: {kind}")
    return result


def _get(doc: Any, parts: list[str], op: str) -> Any:
    if not parts:
        return doc
    parent = _parent(doc, parts, op)
    last = parts[-1]
    if isinstance(parent, dict) and last in parent:
        return parent[last]
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent[int(last)]
    raise ApiError(
        422, f"jsonpatch {op} operation does not apply: doc is missing key: /{'/'.join(parts)}", "Invalid"
    )


def _add(doc: Any, parts: list[str], value: Any, op: str) -> Any:
    if not parts:
        return value
    parent = _parent(doc, parts, op)
    last = parts[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-":
            parent.append(value)
        elif last.isdigit() and int(last) <= len(parent):
            parent.insert(int(last), value)
        else:
            raise ApiError(422, f"jsonpatch {op} operation does not apply: index out of range", "Invalid")
    else:
        raise ApiError(422, f"jsonpatch {op} operation does not apply", "Invalid")
    return doc


def _remove(doc: Any, parts: list[str]) -> Any:
    _get(doc, parts, "remove")
    parent = _parent(doc, parts, "remove")
    last = parts[-1]
    if isinstance(parent, dict):
        del parent[last]
    else:
        parent.pop(int(last))
    return doc
