"""What a curl loop asks for, validated before anything reaches a shell in a pod.

Every value that ends up in the loop's script is checked here against the rules Kubernetes
itself applies (DNS-1123 names) plus a conservative character set for paths, and the script
builder (:mod:`tui.curl.script`) still ``shlex.quote``\\ s each one. Two fences, because the
script runs as ``sh -c`` inside somebody's pod: a name that is not a valid Kubernetes name, or
a path with a shell metacharacter, is refused with a message saying what is wrong, never
"fixed" silently.
"""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass

from tui.mesh.actions import DNS1123_LABEL, DNS1123_SUBDOMAIN, InvalidAction
from tui.mesh.model import MeshSnapshot, Service, ServiceKey

PATH_CHARS = re.compile(r"/[A-Za-z0-9._~%/+,=@:-]*")
"""RFC 3986 path characters without any that a shell treats specially (no ``? & ; $ * ' "``...)."""
PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
MAX_PATH = 512
MAX_INTERVAL = 3600.0
MAX_TIMEOUT = 300.0
USERLIST_PATH = "/users/1"


class InvalidInput(InvalidAction):
    """A name, path, port or number that must not be sent (the message says why).

    Names are matched with ``fullmatch`` (the patterns are the write actions'): a trailing
    newline, which ``re.match`` with ``$`` lets through, is refused here.
    """


def check_label(value: str, what: str) -> str:
    """A DNS-1123 label (namespace, service, container): lowercase, digits, '-', ≤ 63."""
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{what}: empty")
    if len(value) > 63 or not DNS1123_LABEL.fullmatch(value):
        raise InvalidInput(
            f"{what} {value!r} is not a valid name (DNS-1123 label: lowercase letters, digits and '-', "
            "starting and ending with a letter or digit, at most 63 characters)"
        )
    return value


def check_subdomain(value: str, what: str) -> str:
    """A DNS-1123 subdomain (pod and deployment names): labels joined by dots, ≤ 253."""
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{what}: empty")
    if len(value) > 253 or not DNS1123_SUBDOMAIN.fullmatch(value):
        raise InvalidInput(
            f"{what} {value!r} is not a valid name (DNS-1123: lowercase letters, digits, '-' and '.', "
            "at most 253 characters)"
        )
    return value


def check_port(value: object, what: str = "port") -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidInput(f"{what} {value!r} is not a number")
    text = str(value)
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise InvalidInput(f"{what} {value!r} is not a port number (1-65535)")
    return int(text)


def check_path(value: str) -> str:
    """An HTTP path starting with '/', from a safe character set, percent-escapes well formed."""
    if not isinstance(value, str) or not value:
        raise InvalidInput("path: empty (use '/')")
    if len(value) > MAX_PATH:
        raise InvalidInput(f"path longer than {MAX_PATH} characters")
    if not value.startswith("/"):
        raise InvalidInput(f"path {value!r} must start with '/'")
    if not PATH_CHARS.fullmatch(value):
        bad = sorted({c for c in value if not re.fullmatch(r"[A-Za-z0-9._~%/+,=@:-]", c)})
        shown = " ".join(repr(c) for c in bad[:6])
        raise InvalidInput(
            f"path {value!r} has characters that are not allowed: {shown} "
            "(letters, digits and . _ ~ % / + , = @ : - only; percent-encode the rest)"
        )
    if PERCENT.search(value):
        raise InvalidInput(f"path {value!r} has a '%' that is not followed by two hex digits")
    return value


def check_ip(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise InvalidInput(f"{value!r} is not an IP address") from None


def check_seconds(value: object, what: str, *, minimum: float, maximum: float, allow_zero: bool) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInput(f"{what} {value!r} is not a number of seconds") from None
    if math.isnan(number) or math.isinf(number):
        raise InvalidInput(f"{what} {value!r} is not a number of seconds")
    if number == 0 and allow_zero:
        return 0.0
    if not minimum <= number <= maximum:
        low = "0" if allow_zero else f"{minimum:g}"
        raise InvalidInput(f"{what} must be between {low} and {maximum:g} seconds, not {value!r}")
    return number


def check_interval(value: object) -> float:
    """Seconds between requests: 0 (as fast as curl goes) up to an hour, at ms resolution."""
    return round(check_seconds(value, "interval", minimum=0.001, maximum=MAX_INTERVAL, allow_zero=True), 3)


def check_timeout(value: object) -> float:
    """curl's ``-m``: the whole request's limit, 0.05 s to 5 min."""
    return round(check_seconds(value, "timeout", minimum=0.05, maximum=MAX_TIMEOUT, allow_zero=False), 3)


def check_count(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(f"count {value!r} must be a whole number ≥ 1 (or none: until stopped)")
    return value


@dataclass(frozen=True, slots=True)
class CurlTarget:
    """``http://SERVICE.NAMESPACE.svc:PORT/PATH``, each part validated at construction."""

    namespace: str
    service: str
    port: int = 80
    path: str = "/"

    def __post_init__(self) -> None:
        check_label(self.namespace, "namespace")
        check_label(self.service, "service")
        object.__setattr__(self, "port", check_port(self.port))
        check_path(self.path)

    @property
    def key(self) -> ServiceKey:
        return (self.namespace, self.service)

    @property
    def host(self) -> str:
        return f"{self.service}.{self.namespace}.svc"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{self.path}"

    @property
    def text(self) -> str:
        """As operators type it: ``userlist-svc.song.svc:80/users/1``."""
        return f"{self.host}:{self.port}{self.path}"


def parse_target(text: str, *, port: int | None = None, path: str | None = None) -> CurlTarget:
    """``NS/SVC[:PORT][/PATH]`` (what ``meshtui curl`` takes) → a target; port 80 and path ``/``
    unless given here or in the text (use :func:`default_target` to pick them from the service)."""
    namespace, sep, rest = text.partition("/")
    if not sep:
        raise InvalidInput(f"{text!r}: expected NAMESPACE/SERVICE")
    service, slash, tail = rest.partition("/")
    service, colon, port_text = service.partition(":")
    in_text_port = check_port(port_text) if colon else None
    in_text_path = "/" + tail if slash else None
    return CurlTarget(
        namespace,
        service,
        port if port is not None else (in_text_port or 80),
        path if path is not None else (in_text_path or "/"),
    )


def services_of(snapshot: MeshSnapshot, key: ServiceKey) -> list[tuple[str, Service]]:
    """(cluster, service) for every cluster holding ``key``."""
    return [(s.cluster, s.services[key]) for s in snapshot.clusters if key in s.services]


def is_userlist(snapshot: MeshSnapshot, key: ServiceKey) -> bool:
    """The field guide's app: named so, or its pods run the userlist image / carry app=userlist."""
    if "userlist" in key[1]:
        return True
    for state in snapshot.clusters:
        service = state.services.get(key)
        if service is None:
            continue
        if service.selector.get("app") == "userlist":
            return True
        for backend in service.backends:
            pod = state.pods.get((key[0], backend.pod))
            if pod is not None and any("userlist" in c.image for c in pod.containers):
                return True
    return False


def default_target(snapshot: MeshSnapshot, key: ServiceKey, *, path: str | None = None) -> CurlTarget:
    """The selected service's first port, path ``/users/1`` for userlist and ``/`` otherwise."""
    port = 80
    for _cluster, service in services_of(snapshot, key):
        if service.ports:
            port = service.ports[0].port
            break
    if path is None:
        path = USERLIST_PATH if is_userlist(snapshot, key) else "/"
    return CurlTarget(key[0], key[1], port, path)
