"""Label and field selectors, in the apiserver's query syntax and as ``LabelSelector`` objects."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from tui.sim.errors import bad_request

Matcher = Callable[[Mapping[str, str]], bool]

_SET_RE = re.compile(r"^\s*([^\s!=<>]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def _split_top(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    parts, depth, current = [], 0, []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def parse_label_selector(text: str | None) -> Matcher | None:
    """``app=x,tier!=db,env in (a,b),!legacy`` -> a predicate over labels (None: everything)."""
    if not text or not text.strip():
        return None
    tests: list[Matcher] = []
    for term in _split_top(text):
        set_match = _SET_RE.match(term)
        if set_match:
            key, op, values = set_match.group(1), set_match.group(2), set_match.group(3)
            allowed = {v.strip() for v in values.split(",") if v.strip()}
            if op == "in":
                tests.append(lambda labels, k=key, a=allowed: labels.get(k) in a)
            else:
                tests.append(lambda labels, k=key, a=allowed: labels.get(k) not in a)
        elif "!=" in term:
            key, value = (s.strip() for s in term.split("!=", 1))
            tests.append(lambda labels, k=key, v=value: labels.get(k) != v)
        elif "==" in term or "=" in term:
            key, value = (s.strip() for s in re.split("==?", term, maxsplit=1))
            if not key:
                raise bad_request(
                    f"unable to parse requirement: found '=', expected: identifier in \"{text}\""
                )
            tests.append(lambda labels, k=key, v=value: labels.get(k) == v)
        elif term.startswith("!"):
            key = term[1:].strip()
            tests.append(lambda labels, k=key: k not in labels)
        elif re.match(r"^[A-Za-z0-9./_-]+$", term):
            tests.append(lambda labels, k=term: k in labels)
        else:
            raise bad_request(f"unable to parse requirement: invalid label selector {text!r}")
    return lambda labels: all(t(labels) for t in tests)


def selector_matcher(selector: Mapping[str, Any] | None) -> Matcher | None:
    """A ``LabelSelector`` (matchLabels + matchExpressions) -> predicate; None/empty matches nothing."""
    if not selector:
        return None
    match_labels = dict(selector.get("matchLabels") or {})
    exprs = list(selector.get("matchExpressions") or [])
    if not match_labels and not exprs:
        return None

    def matches(labels: Mapping[str, str]) -> bool:
        for key, value in match_labels.items():
            if labels.get(key) != value:
                return False
        for expr in exprs:
            key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
            if op == "In" and labels.get(key) not in values:
                return False
            if op == "NotIn" and labels.get(key) in values:
                return False
            if op == "Exists" and key not in labels:
                return False
            if op == "DoesNotExist" and key in labels:
                return False
        return True

    return matches


def selector_string(selector: Mapping[str, Any] | None) -> str:
    """``matchLabels`` as the query syntax (``app=userlist``), as Scale's ``status.selector``."""
    if not selector:
        return ""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        op = expr.get("operator")
        if op in ("In", "NotIn"):
            parts.append(f"{expr['key']} {op.lower()} ({','.join(expr.get('values') or [])})")
        elif op == "Exists":
            parts.append(expr["key"])
        elif op == "DoesNotExist":
            parts.append(f"!{expr['key']}")
    return ",".join(parts)


def map_matcher(selector: Mapping[str, str] | None) -> Matcher | None:
    """A plain map selector (Service ``spec.selector``); empty matches nothing."""
    if not selector:
        return None
    items = tuple(selector.items())
    return lambda labels: all(labels.get(k) == v for k, v in items)


def field_value(obj: Mapping[str, Any], path: str) -> str:
    """A dotted field of an object as the string a field selector compares."""
    current: Any = obj
    for part in path.split("."):
        if not isinstance(current, Mapping):
            return ""
        current = current.get(part)
    if current is None:
        return ""
    if isinstance(current, bool):
        return "true" if current else "false"
    return str(current)


def parse_field_selector(text: str | None) -> Callable[[Mapping[str, Any]], bool] | None:
    """``metadata.name=x,status.phase!=Running`` -> a predicate over whole objects."""
    if not text or not text.strip():
        return None
    tests: list[Callable[[Mapping[str, Any]], bool]] = []
    for term in _split_top(text):
        if "!=" in term:
            path, value = (s.strip() for s in term.split("!=", 1))
            tests.append(lambda o, p=path, v=value: field_value(o, p) != v)
        elif "=" in term:
            path, value = (s.strip() for s in re.split("==?", term, maxsplit=1))
            tests.append(lambda o, p=path, v=value: field_value(o, p) == v)
        else:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{term}'")
    return lambda obj: all(t(obj) for t in tests)
