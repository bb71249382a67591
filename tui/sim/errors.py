"""API errors as the real apiserver words them: a ``Status`` object with code, reason and message.

Clients parse these (kubectl prints ``Error from server (NotFound): services "x" not found``; the
Python client raises ``ApiException(status=...)``), so the texts follow kube-apiserver exactly.
"""

from __future__ import annotations

from typing import Any

from tui.sim.resources import ResourceType

_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    500: "InternalError",
    503: "ServiceUnavailable",
}


class ApiError(Exception):
    """Raised anywhere in request handling; the server turns it into a Status response."""

    def __init__(
        self, code: int, message: str, reason: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or _REASONS.get(code, "Unknown")
        self.details = details

    def status(self) -> dict[str, Any]:
        return status_object(self.code, self.message, self.reason, self.details)


def status_object(
    code: int, message: str, reason: str, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
    }
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


def _details(rtype: ResourceType, name: str) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name}
    if rtype.group:
        details["group"] = rtype.group
    details["kind"] = rtype.plural
    return details


def not_found(rtype: ResourceType, name: str) -> ApiError:
    return ApiError(404, f'{rtype.key} "{name}" not found', "NotFound", _details(rtype, name))


def already_exists(rtype: ResourceType, name: str) -> ApiError:
    return ApiError(409, f'{rtype.key} "{name}" already exists', "AlreadyExists", _details(rtype, name))


def conflict(rtype: ResourceType, name: str) -> ApiError:
    return ApiError(
        409,
        f'Operation cannot be fulfilled on {rtype.key} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again",
        "Conflict",
        _details(rtype, name),
    )


def unknown_resource() -> ApiError:
    return ApiError(404, "the server could not find the requested resource", "NotFound", {})


def gone(requested: int | str, oldest: int) -> ApiError:
    return ApiError(410, f"too old resource version: {requested} ({oldest})", "Expired")


def bad_request(message: str) -> ApiError:
    return ApiError(400, message, "BadRequest")


def method_not_supported(rtype: ResourceType, verb: str) -> ApiError:
    return ApiError(
        405,
        f"{verb} is not supported on resources of kind {rtype.key!r}",
        "MethodNotAllowed",
        {"group": rtype.group, "kind": rtype.plural} if rtype.group else {"kind": rtype.plural},
    )


class FieldError:
    """One validation problem (``field.Error`` in the apiserver)."""

    def __init__(self, path: str, kind: str, detail: str = "", value: Any = None) -> None:
        self.path, self.kind, self.detail, self.value = path, kind, detail, value

    def text(self) -> str:
        if self.kind == "FieldValueInvalid":
            shown = f'"{self.value}"' if isinstance(self.value, str) else _go_repr(self.value)
            return f"Invalid value: {shown}" + (f": {self.detail}" if self.detail else "")
        if self.kind == "FieldValueRequired":
            return "Required value" + (f": {self.detail}" if self.detail else "")
        if self.kind == "FieldValueForbidden":
            return "Forbidden" + (f": {self.detail}" if self.detail else "")
        if self.kind == "FieldValueNotSupported":
            return f'Unsupported value: "{self.value}"' + (f": {self.detail}" if self.detail else "")
        return self.detail


def _go_repr(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


def invalid(rtype: ResourceType, name: str, errors: list[FieldError]) -> ApiError:
    """422 ``Kind.group "name" is invalid: field: Invalid value: ...`` with causes."""
    qualified_kind = f"{rtype.kind}.{rtype.group}" if rtype.group else rtype.kind
    parts = [f"{e.path}: {e.text()}" for e in errors]
    joined = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    details: dict[str, Any] = {"name": name}
    if rtype.group:
        details["group"] = rtype.group
    details["kind"] = rtype.kind
    details["causes"] = [{"reason": e.kind, "message": e.text(), "field": e.path} for e in errors]
    return ApiError(422, f'{qualified_kind} "{name}" is invalid: {joined}', "Invalid", details)
