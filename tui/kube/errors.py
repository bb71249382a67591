"""API failures in the operator's words: ``connection refused``, ``cannot list secrets in kube-system``.

Every failure that leaves the layer is a :class:`KubeError` whose text has been scrubbed of
secrets. ``kind`` tells the cluster's phase logic what happened without parsing text:
``unreachable`` (no answer: refused, timeout, TLS), ``forbidden`` (403), ``auth`` (401),
``gone`` (410: relist), ``http`` (any other status), ``invalid`` (bad answer).
"""

from __future__ import annotations

import asyncio
import errno
import json
import ssl
from http import HTTPStatus
from typing import Literal

import aiohttp

from tui.kube.redact import scrub

ErrorKind = Literal["unreachable", "forbidden", "auth", "gone", "http", "invalid"]


class KubeError(Exception):
    """One failed call; ``str()`` is already redacted and says what failed."""

    def __init__(
        self,
        message: str,
        *,
        kind: ErrorKind = "http",
        status: int | None = None,
        reason: str = "",
        server_message: str = "",
    ) -> None:
        self.message = scrub(message)
        super().__init__(self.message)
        self.kind: ErrorKind = kind
        self.status = status
        self.reason = reason
        """The Status ``reason`` (``NotFound``, ``Conflict``, ``AlreadyExists``...)."""
        self.server_message = scrub(server_message)

    def __reduce__(self):  # keep pickling/copying working with keyword-only arguments
        return (_rebuild, (self.message, self.kind, self.status, self.reason, self.server_message))


def _rebuild(message: str, kind: ErrorKind, status: int | None, reason: str, server: str) -> KubeError:
    return KubeError(message, kind=kind, status=status, reason=reason, server_message=server)


def where(namespace: str | None) -> str:
    """``in namespace kube-system`` / ``in all namespaces`` / ``""`` (cluster-scoped)."""
    if namespace is None:
        return ""
    return f"in namespace {namespace}" if namespace else "in all namespaces"


def what(verb: str, resource: str, namespace: str | None) -> str:
    """``list secrets in namespace kube-system``: the action as the operator would say it."""
    text = f"{verb} {resource}"
    place = where(namespace)
    return f"{text} {place}" if place else text


def status_phrase(status: int) -> str:
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def parse_status(body: bytes) -> tuple[str, str]:
    """(message, reason) of a ``Status`` body, or ('', '') when it is not one."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return "", ""
    if not isinstance(doc, dict):
        return "", ""
    return str(doc.get("message") or ""), str(doc.get("reason") or "")


def http_error(
    status: int, body: bytes, *, verb: str, resource: str, namespace: str | None, name: str = ""
) -> KubeError:
    """The error for a non-2xx answer, naming the verb and resource for 401/403/404."""
    server_message, reason = parse_status(body)
    if not server_message and body and not body.lstrip().startswith((b"{", b"<")):
        server_message = body[:300].decode("utf-8", "replace").strip()
    target = f"{resource} {name!r}" if name else resource
    if status == 403:
        message = f"forbidden: cannot {what(verb, resource, namespace)}"
        if server_message:
            message += f" ({server_message})"
        return KubeError(message, kind="forbidden", status=403, reason=reason, server_message=server_message)
    if status == 401:
        return KubeError(
            "unauthorized (HTTP 401): the server rejected this context's credentials",
            kind="auth",
            status=401,
            reason=reason,
            server_message=server_message,
        )
    if status == 410:
        return KubeError(
            server_message or "resource version expired (HTTP 410)",
            kind="gone",
            status=410,
            reason=reason or "Expired",
            server_message=server_message,
        )
    if status == 404:
        message = server_message if "not found" in server_message else f"{target} not found"
        return KubeError(message, kind="http", status=404, reason=reason, server_message=server_message)
    message = status_phrase(status)
    if server_message:
        message += f": {server_message}"
    return KubeError(message, kind="http", status=status, reason=reason, server_message=server_message)


def size_text(size: int) -> str:
    """``8 MB`` / ``512 KB``: a cap as the operator reads it."""
    if size >= 2**20:
        return f"{size / 2**20:g} MB"
    return f"{size / 2**10:g} KB" if size >= 2**10 else f"{size} bytes"


def not_json(data: bytes, what: str) -> KubeError:
    """An answer that does not decode: ``bad JSON <what>``, or says so when it is an HTML page
    (a proxy, a login page or a load balancer in front of the API, not the API itself)."""
    if data.lstrip()[:1] == b"<":
        return KubeError(f"HTML instead of JSON {what} (a proxy or a login page?)", kind="invalid")
    return KubeError(f"bad JSON {what}", kind="invalid")


def from_exception(
    exc: BaseException, *, connect_timeout: float, read_timeout: float, total_timeout: float | None = None
) -> KubeError:
    """A transport failure (aiohttp, ssl, asyncio timeouts) as a short, redacted reason.

    ``total_timeout``: the whole request's bound; a plain timeout then means the answer kept
    coming too slowly (a byte now and then), not silence."""
    if isinstance(exc, KubeError):
        return exc
    if total_timeout and type(exc) in (TimeoutError, asyncio.TimeoutError):
        return KubeError(
            f"no complete answer within {total_timeout:g} s (sent too slowly)", kind="unreachable"
        )
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        detail = getattr(exc.certificate_error, "verify_message", "") or ""
        text = "TLS: certificate verify failed" + (f" ({detail})" if detail else "")
        return KubeError(text, kind="unreachable")
    if isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError):
        return KubeError(f"TLS: handshake failed ({_short(exc)})", kind="unreachable")
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return KubeError(f"timeout after {connect_timeout:g} s (connecting)", kind="unreachable")
    if isinstance(exc, aiohttp.SocketTimeoutError):
        return KubeError(f"timeout after {read_timeout:g} s (no answer)", kind="unreachable")
    if isinstance(exc, TimeoutError | asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        return KubeError(f"timeout after {read_timeout:g} s", kind="unreachable")
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return KubeError("cannot resolve the server's host name", kind="unreachable")
    if isinstance(exc, aiohttp.ClientConnectorError):
        os_error = getattr(exc, "os_error", None)
        if getattr(os_error, "errno", None) == errno.ECONNREFUSED or isinstance(
            os_error, ConnectionRefusedError
        ):
            return KubeError("connection refused", kind="unreachable")
        return KubeError(f"cannot connect ({_short(os_error or exc)})", kind="unreachable")
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return KubeError("the server closed the connection", kind="unreachable")
    if isinstance(exc, aiohttp.ClientPayloadError):
        return KubeError("the answer was cut short", kind="unreachable")
    if isinstance(exc, aiohttp.WSServerHandshakeError):
        return KubeError(
            f"{status_phrase(exc.status)} (exec upgrade refused)", kind="http", status=exc.status
        )
    if isinstance(exc, aiohttp.ClientError | OSError):
        return KubeError(f"connection failed ({_short(exc)})", kind="unreachable")
    if isinstance(exc, ValueError):
        return KubeError(f"bad answer from the server ({_short(exc)})", kind="invalid")
    return KubeError(f"{type(exc).__name__}: {_short(exc)}", kind="invalid")


def _short(exc: BaseException | object) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return scrub(text)[:200]
