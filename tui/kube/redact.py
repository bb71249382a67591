"""One place that knows every secret read from the kubeconfig, and scrubs them from text.

Why a process-wide registry: a token may surface anywhere (an aiohttp exception that echoes a
header, an exec plugin's stderr logged by the kubernetes client, a server that quotes the
request). Every message that leaves ``tui.kube`` (snapshot reasons, ``WriteResult.message``,
exception texts, log records) goes through :func:`scrub`, so the only requirement on the rest of
the code is to register secrets as soon as they are read (:func:`register_user_secrets`,
:func:`register`). Secrets shorter than :data:`MIN_SECRET_LEN` are not registered (scrubbing a
3-letter password everywhere would mangle ordinary words); pattern rules below still catch
``Bearer …``/``Basic …`` headers and PEM blocks whatever their length.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "[redacted]"
MIN_SECRET_LEN = 6

# Keys of a kubeconfig ``user`` entry (and of auth-provider configs) whose values are secret.
_SECRET_KEYS = frozenset(
    {
        "token",
        "password",
        "client-key-data",
        "client-certificate-data",
        "access-token",
        "id-token",
        "refresh-token",
        "client-secret",
        "idp-certificate-authority-data",
    }
)

_PATTERNS = (
    # Authorization headers however they are quoted: "Bearer abc", 'authorization': 'Basic xyz';
    # not inside a longer name (a context called c-basic). Which words after it are masked:
    # see _credential_like.
    re.compile(r"(?i)(?<![\w.\-/])(bearer|basic)\s+([A-Za-z0-9._~+/=\-]{8,})"),
    # PEM blocks (client certificates and keys)
    re.compile(r"-----BEGIN [A-Z ]+-----.*?(-----END [A-Z ]+-----|$)", re.DOTALL),
)


class Redactor:
    """A set of secret strings plus pattern rules; thread-safe (the hub may run in a thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._ordered: tuple[str, ...] = ()

    def register(self, *values: Any) -> None:
        """Remember secret values (and the forms they travel in: base64, ``Bearer x``)."""
        added = False
        with self._lock:
            for value in values:
                for form in _forms(value):
                    if len(form) >= MIN_SECRET_LEN and form not in self._secrets:
                        self._secrets.add(form)
                        added = True
            if added:
                # Longest first so a secret containing another is masked whole.
                self._ordered = tuple(sorted(self._secrets, key=len, reverse=True))

    def scrub(self, text: Any) -> str:
        """``text`` as a string with every known secret and credential pattern masked."""
        out = text if isinstance(text, str) else str(text)
        for secret in self._ordered:
            if secret in out:
                out = out.replace(secret, MASK)
        for pattern in _PATTERNS:
            out = pattern.sub(_mask_match, out)
        return out

    def known(self) -> tuple[str, ...]:
        """The registered secrets (tests scan captured output for them)."""
        return self._ordered


def _mask_match(match: re.Match[str]) -> str:
    text = match.group(0)
    if text.lower().startswith(("bearer", "basic")):
        if not _credential_like(match.group(2)):
            return text  # "basic authentication", "bearer connection": words, not a token
        return text.split(None, 1)[0] + " " + MASK
    return MASK


def _credential_like(word: str) -> bool:
    """A token or base64 credential, not an ordinary word: it has a digit or a sign, or it is
    16 letters or more mixing cases (registered secrets are masked whatever they look like)."""
    if not word.isalpha():
        return True
    return len(word) >= 16 and not word.islower() and not word.isupper()


def _forms(value: Any) -> Iterable[str]:
    if value is None:
        return
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    text = str(value).strip()
    if not text:
        return
    yield text
    for prefix in ("Bearer ", "Basic "):
        if text.startswith(prefix):
            yield text[len(prefix) :]
    # kubeconfig *-data values are base64: the decoded PEM may travel too (and vice versa).
    try:
        decoded = base64.b64decode(text, validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        decoded = ""
    if decoded.strip():
        yield decoded.strip()
        for line in decoded.splitlines():
            # PEM body lines: a partial quote of a key must not pass either.
            if len(line) >= 16 and not line.startswith("-----"):
                yield line
    yield base64.b64encode(text.encode()).decode()


REDACTOR = Redactor()
"""The process-wide registry; every module of ``tui.kube`` scrubs through it."""


def register(*values: Any) -> None:
    REDACTOR.register(*values)


def scrub(text: Any) -> str:
    return REDACTOR.scrub(text)


def register_user_secrets(user: Mapping[str, Any] | None) -> None:
    """Register every secret of one kubeconfig ``users[].user`` entry.

    Covers static tokens, passwords (and their Basic form), client cert/key data, auth-provider
    tokens and secrets, and the *values* of an exec plugin's ``env`` (names are not secret).
    Values read later (a token file's content, an exec plugin's token) are registered by the
    config loader once known.
    """
    if not user:
        return
    values: list[Any] = []
    for key, value in user.items():
        if key in _SECRET_KEYS and isinstance(value, str | bytes):
            values.append(value)
    if user.get("username") and user.get("password"):
        basic = f"{user['username']}:{user['password']}".encode()
        values.append(base64.b64encode(basic).decode())
    provider = user.get("auth-provider")
    if isinstance(provider, Mapping):
        config = provider.get("config")
        if isinstance(config, Mapping):
            for key, value in config.items():
                if isinstance(value, str) and (key in _SECRET_KEYS or "token" in key or "secret" in key):
                    values.append(value)
    exec_cfg = user.get("exec")
    if isinstance(exec_cfg, Mapping):
        for item in exec_cfg.get("env") or ():
            if isinstance(item, Mapping) and item.get("value"):
                values.append(item["value"])
    register(*values)


class RedactingFilter(logging.Filter):
    """Scrubs a record's message and exception text in place (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: keep its raw template only
            message = str(record.msg)
        record.msg = scrub(message)
        record.args = None
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = scrub(text)
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = scrub(record.exc_text)
        return True


_FILTER = RedactingFilter()
LOGGER_NAMES = (
    "tui.kube",
    "kubernetes.aio.config.kube_config",
    "kubernetes.aio.config.exec_provider",
    "kubernetes.aio.client.rest",
    "kubernetes.config.kube_config",
    "aiohttp.client",
    "aiohttp.websocket",
)


def install_log_filter() -> None:
    """Attach the redacting filter to this layer's logger and the client libraries' loggers.

    Logger filters do not apply to child loggers, so the names are listed one by one; all of
    ``tui.kube`` logs through the single ``tui.kube`` logger for that reason.
    """
    for name in LOGGER_NAMES:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


log = logging.getLogger("tui.kube")
install_log_filter()
