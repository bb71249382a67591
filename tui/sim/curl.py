"""The simulated ``curl`` of a curl image, and the :class:`Network` protocol it talks through.

``curl`` here parses the options operators use (``-sS``, ``-o``, ``-w '%{http_code}'``, ``-m``,
``--connect-timeout``, ``-H``, ``-i``, ``-v``, ``-f``, ...), asks the pod's :class:`Network` —
the simulated data plane as seen from that pod — to resolve and answer, and prints results,
errors and exit codes the way curl 8.x does, so a transcript from the simulator reads like one
from a real cluster (``curl: (6) Could not resolve host: foo``, ``%{http_code}`` = ``000`` on
failure, no newline added after the body).

Choices, documented because real curl has more than one behaviour:

* ``https://`` URLs resolve, then fail with exit 35 (``TLS connect error: ... wrong version
  number``): simulated backends only speak plain HTTP, which is what a real curl reports
  when it speaks TLS to a plain-HTTP port. Nothing is sent to the backend.
* URL globbing (``[1-3]``, ``{a,b}``) is not expanded; such URLs are used literally.
* The progress meter (shown by real curl when not ``-s`` and stdout is not a terminal or
  ``-o`` is used) is printed once, complete, at the end of each transfer.
* ``--retry`` retries timeouts and HTTP 408/429/500/502/503/504 (plus refused connections
  with ``--retry-connrefused``, everything with ``--retry-all-errors``) after
  ``--retry-delay`` seconds, or 1 s doubling, as curl does.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ipaddress
import json
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from tui.sim.shell import Proc

CURL_VERSION = "8.11.1"
USER_AGENT = f"curl/{CURL_VERSION}"
DEFAULT_CONNECT_TIMEOUT = 300.0
"""curl's own connect timeout when ``--connect-timeout`` is not given."""
MAX_BODY = 8 * 1024 * 1024


# ---------------------------------------------------------------------------------------------
# The data-plane contract


@dataclass(slots=True)
class HttpRequest:
    """What curl sends: ``path`` includes the query string; header names keep their case."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    host_header: str = ""

    def header(self, name: str) -> str | None:
        """A header's value, looked up case-insensitively."""
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None

    @property
    def path_only(self) -> str:
        """The path without ``?query``."""
        return self.path.split("?", 1)[0]


@dataclass(slots=True)
class HttpResponse:
    """What a backend answered and how it got there.

    ``remote_ip``/``remote_port`` are what curl's ``%{remote_ip}`` shows (with Cilium's socket
    load-balancing that is the service address, not the backend's). Times are seconds from the
    start of the transfer; 0 means "not measured" and curl uses its own clock.
    """

    status: int
    reason: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    remote_ip: str = ""
    remote_port: int = 0
    time_connect: float = 0.0
    time_total: float = 0.0

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None


class NetworkError(Exception):
    """A transfer failure; each subclass carries curl's exit code."""

    exit_code = 7

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail)
        self.detail = detail


class ConnectionRefused(NetworkError):
    """Nothing listens (no backend, wrong port): ``curl: (7) Failed to connect ...``."""

    exit_code = 7


class HostUnreachable(NetworkError):
    """No route (a remote cluster cut off): also exit 7 in curl 8."""

    exit_code = 7


class ConnectTimeout(NetworkError):
    """The connection was not established within the connect timeout: exit 28."""

    exit_code = 28


class OperationTimeout(NetworkError):
    """Connected, but the answer did not come within ``--max-time``: exit 28."""

    exit_code = 28

    def __init__(self, detail: str = "", *, received: int = 0) -> None:
        super().__init__(detail)
        self.received = received


class ConnectionReset(NetworkError):
    """``curl: (56) Recv failure: Connection reset by peer``."""

    exit_code = 56


class EmptyReply(NetworkError):
    """``curl: (52) Empty reply from server``."""

    exit_code = 52


class Network(Protocol):
    """The data plane as one pod sees it (implemented by the simulator's data plane)."""

    async def resolve(self, host: str) -> str | None:
        """IP for a name as the pod's DNS answers it (IPs pass through); ``None``: NXDOMAIN."""
        ...

    async def request(
        self,
        ip: str,
        port: int,
        req: HttpRequest,
        *,
        connect_timeout: float | None,
        max_time: float | None,
    ) -> HttpResponse:
        """Connect to ``ip:port`` and exchange one request, applying the path's latency.

        Raises :class:`ConnectionRefused`, :class:`HostUnreachable`, :class:`ConnectTimeout`
        (after ``connect_timeout``), :class:`OperationTimeout` (after ``max_time``),
        :class:`ConnectionReset` or :class:`EmptyReply`.
        """
        ...


Handler = Callable[[HttpRequest], "HttpResponse | Awaitable[HttpResponse]"]


class StaticNetwork:
    """An in-memory :class:`Network` from fixed tables, for tests and scripted demos.

    ``hosts`` maps names to IPs; ``routes`` maps ``(ip, port)`` to a handler (a callable or an
    object with ``handle(req)``), a :class:`NetworkError` subclass or instance to raise, or
    ``"blackhole"`` (connections hang until the connect timeout). A list of handlers is served
    round robin. Unknown addresses refuse connections. ``latency`` is slept per request.
    """

    def __init__(
        self,
        hosts: Mapping[str, str] | None = None,
        routes: Mapping[tuple[str, int], object] | None = None,
        *,
        latency: float = 0.0,
    ) -> None:
        self.hosts = dict(hosts or {})
        self.routes = dict(routes or {})
        self.latency = latency
        self.requests: list[tuple[str, int, HttpRequest]] = []
        self._turn: dict[tuple[str, int], int] = {}

    async def resolve(self, host: str) -> str | None:
        if _is_ip(host):
            return host
        return self.hosts.get(host)

    async def request(
        self,
        ip: str,
        port: int,
        req: HttpRequest,
        *,
        connect_timeout: float | None,
        max_time: float | None,
    ) -> HttpResponse:
        route = self.routes.get((ip, port))
        if route is None:
            raise ConnectionRefused()
        if route == "blackhole":
            wait = min(t for t in (connect_timeout, max_time, DEFAULT_CONNECT_TIMEOUT) if t is not None)
            await asyncio.sleep(wait)
            raise ConnectTimeout()
        if isinstance(route, type) and issubclass(route, NetworkError):
            raise route()
        if isinstance(route, NetworkError):
            raise route
        if isinstance(route, list):
            key = (ip, port)
            index = self._turn.get(key, 0)
            self._turn[key] = index + 1
            route = route[index % len(route)]
        self.requests.append((ip, port, req))
        started = time.monotonic()
        if self.latency:
            if max_time is not None and self.latency > max_time:
                await asyncio.sleep(max_time)
                raise OperationTimeout()
            await asyncio.sleep(self.latency)
        handle = getattr(route, "handle", route)
        result = handle(req)  # type: ignore[operator]
        if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
            result = await result
        response: HttpResponse = result  # type: ignore[assignment]
        response.remote_ip = response.remote_ip or ip
        response.remote_port = response.remote_port or port
        response.time_total = response.time_total or (time.monotonic() - started)
        return response


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------------------------------------
# Options


class _UsageError(Exception):
    """Bad command line: curl prints the message and ``try 'curl --help'``, exit 2."""


_SHORT_WITH_ARG = set("oOwmHXdAeuxbcFTKErYyzCQU") - {"O"}
_SHORT_FLAGS = set("sSiIfvLk46NOqgGjlnRZ0123aBhMV#")
_LONG_WITH_ARG = {
    "output", "write-out", "max-time", "connect-timeout", "header", "request", "data", "data-raw",
    "data-binary", "data-ascii", "data-urlencode", "user-agent", "referer", "user", "retry",
    "retry-delay", "retry-max-time", "max-redirs", "resolve", "url", "proxy", "cacert", "cert",
    "key", "interface", "dns-servers", "noproxy", "limit-rate", "max-filesize",
    "expect100-timeout", "keepalive-time", "cookie", "cookie-jar", "unix-socket", "connect-to",
    "output-dir", "config", "form",
}  # fmt: skip
_LONG_FLAGS = {
    "silent", "show-error", "include", "head", "fail", "fail-with-body", "verbose", "location",
    "insecure", "ipv4", "ipv6", "no-buffer", "remote-name", "compressed", "http1.1", "http1.0",
    "http2", "http2-prior-knowledge", "no-keepalive", "no-progress-meter", "progress-bar",
    "globoff", "get", "fail-early", "retry-connrefused", "retry-all-errors", "tcp-nodelay",
    "path-as-is", "no-sessionid", "version", "help", "raw", "tr-encoding", "ssl-no-revoke",
    "styled-output", "disable", "create-dirs",
}  # fmt: skip
_SHORT_TO_LONG = {
    "o": "output", "w": "write-out", "m": "max-time", "H": "header", "X": "request", "d": "data",
    "A": "user-agent", "e": "referer", "u": "user", "x": "proxy", "b": "cookie", "c": "cookie-jar",
    "F": "form", "K": "config", "s": "silent", "S": "show-error", "i": "include", "I": "head",
    "f": "fail", "v": "verbose", "L": "location", "k": "insecure", "4": "ipv4", "6": "ipv6",
    "N": "no-buffer", "O": "remote-name", "g": "globoff", "G": "get", "V": "version", "h": "help",
    "q": "disable", "#": "progress-bar",
}  # fmt: skip


@dataclass
class CurlOptions:
    urls: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    remote_name: int = 0
    silent: bool = False
    show_error: bool = False
    include: bool = False
    head: bool = False
    fail: bool = False
    fail_with_body: bool = False
    verbose: bool = False
    location: bool = False
    write_out: str | None = None
    max_time: float | None = None
    connect_timeout: float | None = None
    method: str | None = None
    headers: list[str] = field(default_factory=list)
    data: list[str] = field(default_factory=list)
    user_agent: str | None = None
    user: str | None = None
    referer: str | None = None
    retry: int = 0
    retry_delay: float = 0.0
    retry_max_time: float = 0.0
    retry_connrefused: bool = False
    retry_all: bool = False
    max_redirs: int = 50
    resolve: dict[tuple[str, int], str] = field(default_factory=dict)
    get: bool = False
    no_progress: bool = False
    version: bool = False
    help: bool = False


def _number(option: str, text: str, *, integer: bool = False) -> float:
    try:
        value = float(text) if not integer else int(text)
    except ValueError:
        raise _UsageError(f"option {option}: expected a proper numerical parameter") from None
    if value < 0:
        raise _UsageError(f"option {option}: expected a proper numerical parameter")
    return float(value)


def parse_options(args: list[str]) -> CurlOptions:
    """curl's command line (short flags combine: ``-sSo /dev/null``, ``-w%{http_code}``)."""
    opts = CurlOptions()
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg.startswith("--") and len(arg) > 2:
            name = arg[2:]
            negate = False
            if (
                name not in _LONG_FLAGS
                and name not in _LONG_WITH_ARG
                and name.startswith("no-")
                and name[3:] in _LONG_FLAGS
            ):
                name, negate = name[3:], True
            if name in _LONG_WITH_ARG:
                if i >= len(args):
                    raise _UsageError(f"option {arg}: requires parameter")
                _apply(opts, name, args[i], arg)
                i += 1
            elif name in _LONG_FLAGS:
                _apply_flag(opts, name, not negate)
            else:
                raise _UsageError(f"option {arg}: is unknown")
            continue
        if arg.startswith("-") and len(arg) > 1:
            j = 1
            while j < len(arg):
                letter = arg[j]
                j += 1
                if letter in _SHORT_WITH_ARG:
                    value = arg[j:]
                    if not value:
                        if i >= len(args):
                            raise _UsageError(f"option -{letter}: requires parameter")
                        value = args[i]
                        i += 1
                    _apply(opts, _SHORT_TO_LONG.get(letter, letter), value, f"-{letter}")
                    break
                if letter in _SHORT_FLAGS:
                    long = _SHORT_TO_LONG.get(letter)
                    if long is not None:
                        _apply_flag(opts, long, True)
                    continue
                raise _UsageError(f"option -{letter}: is unknown")
            continue
        opts.urls.append(arg)
    return opts


def _apply_flag(opts: CurlOptions, name: str, on: bool) -> None:
    if name == "silent":
        opts.silent = on
    elif name == "show-error":
        opts.show_error = on
    elif name == "include":
        opts.include = on
    elif name == "head":
        opts.head = on
    elif name == "fail":
        opts.fail = on
    elif name == "fail-with-body":
        opts.fail_with_body = on
    elif name == "verbose":
        opts.verbose = on
    elif name == "location":
        opts.location = on
    elif name == "remote-name":
        opts.remote_name += 1
    elif name == "retry-connrefused":
        opts.retry_connrefused = on
    elif name == "retry-all-errors":
        opts.retry_all = on
    elif name == "get":
        opts.get = on
    elif name == "no-progress-meter":
        opts.no_progress = on
    elif name == "version":
        opts.version = on
    elif name == "help":
        opts.help = on


def _apply(opts: CurlOptions, name: str, value: str, spelled: str) -> None:
    if name == "output":
        opts.outputs.append(value)
    elif name == "write-out":
        opts.write_out = value
    elif name == "max-time":
        opts.max_time = _number(spelled, value) or None
    elif name == "connect-timeout":
        opts.connect_timeout = _number(spelled, value) or None
    elif name == "header":
        opts.headers.append(value)
    elif name == "request":
        opts.method = value
    elif name in ("data", "data-raw", "data-binary", "data-ascii", "data-urlencode"):
        opts.data.append(value)
    elif name == "user-agent":
        opts.user_agent = value
    elif name == "user":
        opts.user = value
    elif name == "referer":
        opts.referer = value
    elif name == "retry":
        opts.retry = int(_number(spelled, value, integer=True))
    elif name == "retry-delay":
        opts.retry_delay = _number(spelled, value)
    elif name == "retry-max-time":
        opts.retry_max_time = _number(spelled, value)
    elif name == "max-redirs":
        opts.max_redirs = int(_number(spelled, value, integer=True))
    elif name == "resolve":
        m = re.fullmatch(r"\+?([^:]+):(\d+):\[?([^\]]+)\]?", value)
        if m:
            opts.resolve[(m.group(1), int(m.group(2)))] = m.group(3)
    elif name == "url":
        opts.urls.append(value)
    # Everything else (proxy, cookies, TLS files, ...) is accepted and has no effect here.


# ---------------------------------------------------------------------------------------------
# URLs


class _UrlError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(slots=True)
class _Url:
    scheme: str
    host: str
    port: int
    explicit_port: bool
    path: str

    @property
    def effective(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = f":{self.port}" if self.explicit_port else ""
        return f"{self.scheme}://{host}{port}{self.path}"

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def parse_url(text: str) -> _Url:
    """``[scheme://][user@]host[:port][/path][?query][#fragment]``, ``http`` by default."""
    if any(c.isspace() for c in text) or not text:
        raise _UrlError(3, "URL rejected: Malformed input to a URL function")
    scheme = "http"
    rest = text
    m = re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://", text)
    if m:
        scheme = m.group(1).lower()
        rest = text[m.end() :]
    if scheme not in ("http", "https"):
        raise _UrlError(1, f'Protocol "{scheme}" not supported')
    rest = rest.split("#", 1)[0]
    cut = min((rest.find(c) for c in "/?" if c in rest), default=len(rest))
    authority, tail = rest[:cut], rest[cut:]
    authority = authority.rsplit("@", 1)[-1]
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            raise _UrlError(3, "URL rejected: Bad IPv6 address")
        host, port_text = authority[1:end], authority[end + 1 :].lstrip(":")
        has_port = authority[end + 1 :].startswith(":")
    else:
        host, colon, port_text = authority.partition(":")
        has_port = bool(colon)
    if not host:
        raise _UrlError(3, "URL rejected: No host part in the URL")
    if not re.fullmatch(r"[A-Za-z0-9._~%:-]+", host):
        raise _UrlError(3, "URL rejected: Bad hostname")
    default_port = 443 if scheme == "https" else 80
    if has_port and port_text:
        if not port_text.isdigit() or not 0 < int(port_text) <= 65535:
            raise _UrlError(3, "URL rejected: Port number was not a decimal number between 0 and 65535")
        port = int(port_text)
    else:
        port = default_port
    path = tail if tail.startswith("/") else "/" + tail
    return _Url(scheme, host.lower(), port, has_port and bool(port_text), path)


# ---------------------------------------------------------------------------------------------
# One transfer


@dataclass
class _Result:
    url: str
    exit_code: int = 0
    error: str = ""
    response: HttpResponse | None = None
    remote_ip: str = ""
    remote_port: int = 0
    time_namelookup: float = 0.0
    time_connect: float = 0.0
    time_total: float = 0.0
    size_download: int = 0
    size_header: int = 0
    size_request: int = 0
    method: str = "GET"
    scheme: str = "http"
    redirects: int = 0


def _reason(status: int, given: str) -> str:
    if given:
        return given
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _header_block(response: HttpResponse) -> bytes:
    lines = [f"HTTP/1.1 {response.status} {_reason(response.status, response.reason)}".rstrip() + "\r\n"]
    headers = dict(response.headers)
    if not any(k.lower() == "content-length" for k in headers) and response.body is not None:
        headers["Content-Length"] = str(len(response.body))
    lines.extend(f"{k}: {v}\r\n" for k, v in headers.items())
    lines.append("\r\n")
    return "".join(lines).encode()


def _build_request(opts: CurlOptions, url: _Url) -> HttpRequest:
    body = "&".join(opts.data).encode()
    method = opts.method or ("HEAD" if opts.head else "POST" if body and not opts.get else "GET")
    path = url.path
    if opts.get and body:
        path += ("&" if "?" in path else "?") + body.decode()
        body = b""
    headers: dict[str, str] = {
        "Host": url.host_header,
        "User-Agent": opts.user_agent or USER_AGENT,
        "Accept": "*/*",
    }
    if opts.referer:
        headers["Referer"] = opts.referer
    if opts.user:
        headers["Authorization"] = "Basic " + base64.b64encode(opts.user.encode()).decode()
    if body:
        headers["Content-Length"] = str(len(body))
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    for raw in opts.headers:
        name, sep, value = raw.partition(":")
        name = name.strip()
        if not sep:
            if name.endswith(";"):
                headers[name[:-1]] = ""
            continue
        existing = next((k for k in headers if k.lower() == name.lower()), None)
        if existing is not None:
            del headers[existing]
        if value.strip():
            headers[name] = value.strip()
    host_header = next((v for k, v in headers.items() if k.lower() == "host"), url.host_header)
    return HttpRequest(method, path, headers, body, host_header)


_RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class _Curl:
    """One curl invocation: options, transfers, output."""

    def __init__(self, proc: Proc, opts: CurlOptions) -> None:
        self.proc = proc
        self.opts = opts
        self.show_errors = not opts.silent or opts.show_error

    async def run(self) -> int:
        status = 0
        outputs = list(self.opts.outputs)
        for index, url in enumerate(self.opts.urls):
            target = outputs[index] if index < len(outputs) else None
            if target is None and index < self.opts.remote_name:
                target = "\0remote"
            code = await self._transfer_with_retries(url, target)
            if code:
                status = code
        return status

    async def _transfer_with_retries(self, url_text: str, target: str | None) -> int:
        attempts_left = self.opts.retry
        delay = self.opts.retry_delay or 1.0
        started = time.monotonic()
        while True:
            result = await self._transfer(url_text)
            out_of_time = (
                self.opts.retry_max_time > 0 and time.monotonic() - started + delay > self.opts.retry_max_time
            )
            if attempts_left > 0 and self._retryable(result) and not out_of_time:
                if not self.opts.silent:
                    kind = (
                        "timeout"
                        if result.exit_code == 28
                        else ("HTTP error" if result.response is not None else "connection refused")
                    )
                    unit = "second" if delay == 1 else "seconds"
                    await self.proc.ewrite(
                        f"Warning: Problem : {kind}. Will retry in {delay:g} {unit}. "
                        f"{attempts_left} {'retry' if attempts_left == 1 else 'retries'} left.\n"
                    )
                attempts_left -= 1
                await self.proc.sleep(delay)
                if not self.opts.retry_delay:
                    delay = min(delay * 2, 600.0)
                continue
            return await self._finish(result, target)

    def _retryable(self, result: _Result) -> bool:
        if self.opts.retry_all and result.exit_code:
            return True
        if result.exit_code == 28:
            return True
        if result.exit_code == 7 and self.opts.retry_connrefused:
            return True
        return result.response is not None and result.response.status in _RETRY_STATUSES

    async def _transfer(self, url_text: str) -> _Result:
        """Resolve, connect and exchange; never raises for network failures."""
        result = _Result(url=url_text)
        t0 = time.monotonic()

        def elapsed() -> float:
            return time.monotonic() - t0

        def ms() -> int:
            return int(elapsed() * 1000)

        try:
            url = parse_url(url_text)
        except _UrlError as exc:
            result.exit_code, result.error = exc.code, exc.message
            return result
        result.url = url.effective
        result.scheme = url.scheme
        redirects = 0
        while True:
            req = _build_request(self.opts, url)
            result.method = req.method
            network = self.proc.network
            override = self.opts.resolve.get((url.host, url.port))
            if override is not None:
                ip: str | None = override
            elif _is_ip(url.host):
                ip = url.host
            elif url.host == "localhost":
                ip = "127.0.0.1"
            elif network is None:
                ip = None
            else:
                ip = await self.proc.wait(network.resolve(url.host))
            result.time_namelookup = elapsed()
            if ip is None:
                result.exit_code, result.error = 6, f"Could not resolve host: {url.host}"
                result.time_total = elapsed()
                return result
            if self.opts.verbose:
                await self._verbose_connect(url, ip)
            if url.scheme == "https":
                result.remote_ip, result.remote_port = ip, url.port
                result.exit_code = 35
                result.error = "TLS connect error: error:0A00010B:SSL routines::wrong version number"
                result.time_total = elapsed()
                return result
            connect_timeout = min(
                t
                for t in (self.opts.connect_timeout, self.opts.max_time, DEFAULT_CONNECT_TIMEOUT)
                if t is not None
            )
            result.size_request = len(req.body) + sum(len(k) + len(v) + 4 for k, v in req.headers.items())
            try:
                if network is None:
                    raise ConnectionRefused()
                call = network.request(
                    ip, url.port, req, connect_timeout=connect_timeout, max_time=self.opts.max_time
                )
                guard = self.opts.max_time + 0.1 if self.opts.max_time else None
                async with asyncio.timeout(guard) if guard else contextlib.nullcontext():
                    response = await self.proc.wait(call)
            except TimeoutError:
                result.exit_code = 28
                result.error = f"Operation timed out after {ms()} milliseconds with 0 bytes received"
            except ConnectTimeout:
                result.exit_code = 28
                result.error = f"Connection timed out after {ms()} milliseconds"
            except OperationTimeout as exc:
                result.exit_code = 28
                result.error = (
                    f"Operation timed out after {ms()} milliseconds with {exc.received} bytes received"
                )
                result.remote_ip, result.remote_port = ip, url.port
            except ConnectionReset:
                result.exit_code, result.error = 56, "Recv failure: Connection reset by peer"
                result.remote_ip, result.remote_port = ip, url.port
            except EmptyReply:
                result.exit_code, result.error = 52, "Empty reply from server"
                result.remote_ip, result.remote_port = ip, url.port
            except NetworkError as exc:
                result.exit_code = exc.exit_code
                result.error = (
                    f"Failed to connect to {url.host} port {url.port} after {ms()} ms: "
                    "Couldn't connect to server"
                )
            else:
                result.response = response
                result.remote_ip = response.remote_ip or ip
                result.remote_port = response.remote_port or url.port
                result.time_connect = response.time_connect or min(elapsed(), 0.0005 + result.time_namelookup)
                result.size_download = len(response.body) if req.method != "HEAD" else 0
                result.size_header = len(_header_block(response))
                location = response.header("Location")
                if (
                    self.opts.location
                    and 300 <= response.status < 400
                    and location
                    and redirects < self.opts.max_redirs
                ):
                    redirects += 1
                    try:
                        url = _follow(url, location)
                    except _UrlError as exc:
                        result.exit_code, result.error = exc.code, exc.message
                        break
                    result.url = url.effective
                    continue
                if self.opts.location and 300 <= response.status < 400 and location:
                    result.exit_code, result.error = (
                        47,
                        f"Maximum ({self.opts.max_redirs}) redirects followed",
                    )
            break
        result.redirects = redirects
        result.time_total = max(elapsed(), result.response.time_total if result.response else 0.0)
        if result.time_connect == 0.0 and result.response is not None:
            result.time_connect = result.time_namelookup
        return result

    async def _verbose_connect(self, url: _Url, ip: str) -> None:
        await self.proc.ewrite(
            f"* Host {url.host}:{url.port} was resolved.\n* IPv6: (none)\n* IPv4: {ip}\n"
            f"*   Trying {ip}:{url.port}...\n"
        )

    async def _finish(self, result: _Result, target: str | None) -> int:
        opts = self.opts
        response = result.response
        meter = (
            not opts.silent and not opts.no_progress and (target is not None or not self.proc.stdout_is_tty)
        )
        if meter:
            await self.proc.ewrite(_METER_HEADER)
        if response is not None and opts.verbose:
            await self._verbose_exchange(result, response)
        if response is not None and (opts.fail or opts.fail_with_body) and response.status >= 400:
            result.exit_code = 22
            result.error = f"The requested URL returned error: {response.status}"
        if response is not None and (result.exit_code != 22 or opts.fail_with_body):
            payload = b""
            if opts.include or opts.head:
                payload += _header_block(response)
            if result.method != "HEAD":
                payload += response.body[:MAX_BODY]
            code = await self._write_output(payload, target, result)
            if code:
                result.exit_code = code
        if meter:
            await self.proc.ewrite(_meter_line(result) + "\n")
        if result.exit_code and self.show_errors:
            await self.proc.ewrite(f"curl: ({result.exit_code}) {result.error}\n")
        if response is not None and opts.verbose:
            await self.proc.ewrite(f"* Connection #0 to host {parse_url(result.url).host} left intact\n")
        if opts.write_out is not None:
            await self._write_out(result)
        return result.exit_code

    async def _verbose_exchange(self, result: _Result, response: HttpResponse) -> None:
        url = parse_url(result.url)
        req = _build_request(self.opts, url)
        lines = [f"* Connected to {url.host} ({result.remote_ip}) port {url.port}", "* using HTTP/1.x"]
        lines.append(f"> {req.method} {req.path} HTTP/1.1")
        lines.extend(f"> {k}: {v}" for k, v in req.headers.items())
        lines.extend([">", "* Request completely sent off"])
        lines.append(f"< HTTP/1.1 {response.status} {_reason(response.status, response.reason)}".rstrip())
        lines.extend(f"< {k}: {v}" for k, v in response.headers.items())
        lines.append("<")
        await self.proc.ewrite("\n".join(lines) + "\n")

    async def _write_output(self, payload: bytes, target: str | None, result: _Result) -> int:
        if target is None or target == "-":
            await self.proc.write(payload)
            return 0
        if target == "\0remote":
            name = parse_url(result.url).path.split("?", 1)[0].rsplit("/", 1)[-1]
            if not name:
                result.error = "Remote file name has no length"
                return 23
            target = name
        path = self.proc.path(target)
        if path == "/dev/null":
            return 0
        if path in ("/dev/stdout", "/proc/self/fd/1"):
            await self.proc.write(payload)
            return 0
        if path in ("/dev/stderr", "/proc/self/fd/2"):
            await self.proc.ewrite(payload)
            return 0
        fs = self.proc.fs
        if not fs.parent_exists(path) or path in fs.dirs or path.startswith(("/dev/", "/proc/")):
            reason = "Is a directory" if path in fs.dirs else "No such file or directory"
            if self.show_errors:
                await self.proc.ewrite(f"Warning: Failed to open the file {target}: {reason}\n")
            result.error = f"Failure writing output to destination, passed {len(payload)} returned 4294967295"
            return 23
        try:
            fs.write(path, payload)
        except OSError:
            result.error = "Failure writing output to destination"
            return 23
        return 0

    async def _write_out(self, result: _Result) -> None:
        assert self.opts.write_out is not None
        fmt = self.opts.write_out
        if fmt.startswith("@"):
            source = fmt[1:]
            data = await self.proc.stdin.read_all() if source == "-" else self.proc.read_file(source)
            fmt = (data or b"").decode(errors="replace")
        to_stderr = False
        out: list[str] = []

        async def flush() -> None:
            if out:
                text = "".join(out)
                out.clear()
                await (self.proc.ewrite(text) if to_stderr else self.proc.write(text))

        i = 0
        while i < len(fmt):
            ch = fmt[i]
            if ch == "\\" and i + 1 < len(fmt):
                nxt = fmt[i + 1]
                out.append({"n": "\n", "r": "\r", "t": "\t", "\\": "\\"}.get(nxt, "\\" + nxt))
                i += 2
                continue
            if ch == "%" and fmt.startswith("%%", i):
                out.append("%")
                i += 2
                continue
            if ch == "%" and fmt.startswith("%{", i):
                end = fmt.find("}", i)
                if fmt.startswith("%{header{", i):
                    end = fmt.find("}}", i)
                    if end >= 0:
                        name = fmt[i + 9 : end]
                        value = result.response.header(name) if result.response else None
                        out.append(value or "")
                        i = end + 2
                        continue
                if end < 0:
                    out.append(fmt[i:])
                    break
                var = fmt[i + 2 : end]
                i = end + 1
                if var in ("stdout", "stderr"):
                    await flush()
                    to_stderr = var == "stderr"
                    continue
                if var == "onerror":
                    if not result.exit_code:
                        break
                    continue
                value = _write_out_value(var, result, self.proc)
                if value is None:
                    await flush()
                    await self.proc.ewrite(f"curl: unknown --write-out variable: '{var}'\n")
                    continue
                out.append(value)
                continue
            out.append(ch)
            i += 1
        await flush()


def _write_out_value(var: str, result: _Result, proc: Proc) -> str | None:
    response = result.response
    code = response.status if response is not None else 0
    total = result.time_total
    speed = int(result.size_download / total) if total > 0 else 0
    pod_ip = str(proc.pod.get("status", {}).get("podIP", "")) if proc.pod else ""
    values: dict[str, str] = {
        "http_code": f"{code:03d}",
        "response_code": f"{code:03d}",
        "http_connect": "000",
        "time_total": f"{total:.6f}",
        "time_connect": f"{result.time_connect:.6f}",
        "time_namelookup": f"{result.time_namelookup:.6f}",
        "time_appconnect": "0.000000",
        "time_pretransfer": f"{result.time_connect:.6f}",
        "time_starttransfer": f"{total if response is not None else 0.0:.6f}",
        "time_redirect": "0.000000",
        "remote_ip": result.remote_ip,
        "remote_port": str(result.remote_port) if result.remote_port else "",
        "local_ip": pod_ip if result.remote_ip else "",
        "local_port": str(random.randint(32768, 60999)) if result.remote_ip else "",
        "size_download": str(result.size_download),
        "size_header": str(result.size_header),
        "size_request": str(result.size_request),
        "size_upload": "0",
        "speed_download": str(speed),
        "speed_upload": "0",
        "url_effective": result.url,
        "url": result.url,
        "exitcode": str(result.exit_code),
        "errormsg": result.error,
        "content_type": (response.header("Content-Type") or "") if response is not None else "",
        "num_connects": "1" if response is not None else "0",
        "num_redirects": str(result.redirects),
        "redirect_url": "",
        "method": result.method,
        "scheme": result.scheme,
        "http_version": "1.1" if response is not None else "0",
        "urlnum": "0",
        "filename_effective": "",
        "ssl_verify_result": "0",
        "proxy_ssl_verify_result": "0",
    }
    if var == "json":
        return json.dumps(values, separators=(",", ":"))
    return values.get(var)


_METER_HEADER = (
    "  % Total    % Received % Xferd  Average Speed   Time    Time     Time  Current\n"
    "                                 Dload  Upload   Total   Spent    Left  Speed\n"
)


def _max5(value: float) -> str:
    value = int(value)
    if value < 100000:
        return f"{value:5d}"
    for unit, size in (("k", 1024), ("M", 1024**2), ("G", 1024**3)):
        if value < size * 1000:
            return f"{value / size:4.0f}{unit}"
    return f"{value // 1024**4:4d}T"


def _meter_time(seconds: float) -> str:
    if seconds < 1:
        return "--:--:--"
    whole = int(seconds)
    return f"{whole // 3600:2d}:{whole // 60 % 60:02d}:{whole % 60:02d}".rjust(8)


def _meter_line(result: _Result) -> str:
    size = result.size_download
    total = size if result.response is not None else 0
    percent = 100 if result.response is not None and size else 0
    speed = size / result.time_total if result.time_total > 0 else 0
    spent = _meter_time(result.time_total)
    return (
        f"\r{percent:3d} {_max5(total)}  {percent:3d} {_max5(size)}    0     0  "
        f"{_max5(speed)}      0 --:--:-- {spent} --:--:-- {_max5(speed)}"
    )


def _follow(current: _Url, location: str) -> _Url:
    if re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", location):
        return parse_url(location)
    if location.startswith("//"):
        return parse_url(f"{current.scheme}:{location}")
    base = current.effective[: len(current.effective) - len(current.path)]
    if location.startswith("/"):
        return parse_url(base + location)
    directory = current.path.split("?", 1)[0].rsplit("/", 1)[0]
    return parse_url(f"{base}{directory}/{location}")


# ---------------------------------------------------------------------------------------------
# The command


async def curl_command(proc: Proc, argv: list[str]) -> int:
    """``curl [options] URL...`` as a :data:`tui.sim.shell.Command`."""
    try:
        opts = parse_options(argv[1:])
    except _UsageError as exc:
        await proc.ewrite(f"curl: {exc}\ncurl: try 'curl --help' for more information\n")
        return 2
    if opts.version:
        await proc.write(
            f"curl {CURL_VERSION} (x86_64-pc-linux-musl) libcurl/{CURL_VERSION} OpenSSL/3.3.2 zlib/1.3.1 "
            "brotli/1.1.0 zstd/1.5.6 c-ares/1.34.3 libidn2/2.3.7 libpsl/0.21.5 nghttp2/1.64.0\n"
            "Release-Date: 2024-12-11\n"
            "Protocols: dict file ftp ftps gopher gophers http https imap imaps ipfs ipns mqtt pop3 pop3s "
            "rtsp smb smbs smtp smtps telnet tftp ws wss\n"
            "Features: alt-svc AsynchDNS brotli HSTS HTTP2 HTTPS-proxy IDN IPv6 Largefile libz NTLM PSL "
            "SSL threadsafe TLS-SRP UnixSockets zstd\n"
        )
        return 0
    if opts.help:
        await proc.write(
            "Usage: curl [options...] <url>\n"
            " -d, --data <data>           HTTP POST data\n"
            " -f, --fail                  Fail fast with no output on HTTP errors\n"
            " -h, --help <category>       Get help for commands\n"
            " -i, --include               Include response headers in output\n"
            " -o, --output <file>         Write to file instead of stdout\n"
            " -O, --remote-name           Write output to file named as remote file\n"
            " -s, --silent                Silent mode\n"
            " -T, --upload-file <file>    Transfer local FILE to destination\n"
            " -u, --user <user:password>  Server user and password\n"
            " -A, --user-agent <name>     Send User-Agent <name> to server\n"
            " -v, --verbose               Make the operation more talkative\n"
            " -V, --version               Show version number and quit\n"
        )
        return 0
    if not opts.urls:
        await proc.ewrite(
            "curl: no URL specified\ncurl: try 'curl --help' or 'curl --manual' for more information\n"
        )
        return 2
    return await _Curl(proc, opts).run()


__all__ = [
    "ConnectTimeout",
    "ConnectionRefused",
    "ConnectionReset",
    "EmptyReply",
    "HostUnreachable",
    "HttpRequest",
    "HttpResponse",
    "Network",
    "NetworkError",
    "OperationTimeout",
    "StaticNetwork",
    "curl_command",
    "parse_options",
    "parse_url",
]
