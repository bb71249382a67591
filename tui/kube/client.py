"""One context's connection: ``kubernetes.aio``'s REST layer used for raw JSON, streams and WebSockets.

Why raw: the generated API methods build pydantic models (slow at thousands of objects and strict
about what they accept) and read whole responses. Here every request goes through the client's
own REST layer (same TLS context, client certificate, proxy, SNI and token, including exec-plugin
refresh via the configuration's hook) but returns bytes, or the open response for a watch, or a
WebSocket for exec. Every call has a client-side timeout: connect ~5 s, between reads ~15 s, and
a total bound for watches, so nothing waits forever on a silent server.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit
from urllib.request import getproxies, proxy_bypass

import aiohttp
from kubernetes.aio.client.configuration import Configuration
from kubernetes.aio.client.rest import RESTClientObject

from tui import __version__
from tui.compat import kubernetes_private
from tui.compat.asyncio_private import lower_tls_read_buffer, set_read_buffer, tls_read_buffer_size
from tui.kube.errors import KubeError, from_exception, http_error, not_json, size_text
from tui.kube.redact import register

Query = Sequence[tuple[str, str]]


def limit_tls_read_buffer(size: int) -> None:
    """Cap asyncio's per-connection TLS read buffer (CPython allocates 256 KiB per connection).

    A hub holds about eight long-lived connections per cluster (watches), so at 64 clusters the
    default buffers alone take ~130 MiB. TLS records are at most 16 KiB, so 64 KiB reads lose
    nothing. Process-wide, only ever lowers the value; asyncio has no public setting for it
    (:func:`tui.compat.asyncio_private.lower_tls_read_buffer`).
    """
    lower_tls_read_buffer(size)


ANSWER_READ_BUFFER = 64 * 1024
"""TLS read buffer of a connection while it reads one answer (a list page).

Connections start with the hub's small buffer (``HubSettings.tls_read_buffer``, what an idle
watch needs) and are widened for the time of one :meth:`KubeClient.request`: a page of 500
services (about a megabyte) then takes 16 trips through the loop instead of 64 (0.4 s of CPU
at 64 × 2,000). Not wider: buffers of 128 or 256 KiB allocated and freed per request
fragmented the heap (layer RSS at 64 × 2,000: 64 KiB 218 MB, 128 KiB 236 MB, 256 KiB 276 MB)
for ~0.1 s less CPU."""


def _read_buffer(response: aiohttp.ClientResponse, size: int | None) -> None:
    """Give ``response``'s connection a ``size``-byte TLS read buffer: :data:`ANSWER_READ_BUFFER`
    for its answer, then the class's (small) size before it goes back to the pool."""
    connection = response.connection
    if size is not None and connection is not None and connection.transport is not None:
        set_read_buffer(connection.transport, size)


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Client-side bounds, in seconds (tests shrink them)."""

    connect: float = 5.0
    read: float = 15.0
    """Longest silence while reading an answer."""
    exec: float = 5.0
    """Whole ``cilium status`` exec, connect included."""
    max_body: int = 64 * 2**20
    """Largest answer read, in bytes (not seconds: the one size bound of a request). A larger
    one is cut off and the request fails ("answer larger than 64 MB"): a page of 500 objects
    is well under a megabyte, so this only stops a server that sends without end."""


@dataclass(frozen=True, slots=True)
class Action:
    """What a request does, in RBAC's words, for error messages (``list secrets in kube-system``)."""

    verb: str
    resource: str
    namespace: str | None = None
    name: str = ""

    def error(self, status: int, body: bytes) -> KubeError:
        """The precise error of an HTTP failure of this action (403 names the verb and resource)."""
        return http_error(
            status, body, verb=self.verb, resource=self.resource, namespace=self.namespace, name=self.name
        )


def _settle_proxy(configuration: Configuration) -> None:
    """Resolve ``HTTPS_PROXY`` / ``NO_PROXY`` once, as kubectl does, instead of on every request.

    The kubernetes client opens its session with ``trust_env=True``, which makes aiohttp read
    ``~/.netrc`` and the proxy variables in a worker thread for every request (a thread hop
    each time, and six idle threads). The kubeconfig's own ``proxy-url`` still wins.
    """
    extra = dict(getattr(configuration, "client_session_kwargs", None) or {})
    extra["trust_env"] = False
    configuration.client_session_kwargs = extra
    if configuration.proxy:
        register(urlsplit(str(configuration.proxy)).password)
        return
    parts = urlsplit(str(configuration.host))
    proxy = getproxies().get(parts.scheme or "https")
    if proxy and parts.hostname and not proxy_bypass(parts.hostname):
        register(urlsplit(proxy).password)
        configuration.proxy = proxy


_CONTROL = re.compile("[\x00-\x1f\x7f]")
"""A control character in a header value. A regex rather than a loop over the characters: the
token is checked on every request (2 µs instead of 17 µs; 0.07 s of the first snapshot's CPU
at 64 × 2,000)."""

ERROR_BODY = 64 * 1024
"""Bytes of an error answer read (its message is quoted, at most 300 characters of it)."""

CLOSE_SETTLE = 0.05
"""Seconds :meth:`KubeClient.close` waits at most for exec sockets still in their TLS close."""


def _drop(response: aiohttp.ClientResponse) -> None:
    """Close the connection at once (an answer not read to its end cannot serve another)."""
    connection = response.connection
    if connection is not None and connection.transport is not None:
        connection.transport.abort()
    response.close()


async def read_bounded(
    response: aiohttp.ClientResponse, limit: int, action: Action, *, cut: bool = False
) -> bytes:
    """The body, at most ``limit`` bytes: more raises :class:`KubeError` ("answer larger than
    64 MB"), or with ``cut`` returns the first ``limit`` bytes. A declared Content-Length above
    the limit fails before anything is read."""
    length = response.content_length
    if length is not None and length > limit and not cut:
        raise too_large(limit, action)
    data = bytearray()
    async for chunk in response.content.iter_chunked(256 * 1024):
        data += chunk
        if len(data) > limit:
            if cut:
                return bytes(data[:limit])
            data.clear()  # the error's traceback keeps this frame (and would keep the buffer)
            raise too_large(limit, action)
    return bytes(data)


def too_large(limit: int, action: Action) -> KubeError:
    return KubeError(
        f"{action.verb} {action.resource}: answer larger than {size_text(limit)}", kind="invalid"
    )


class KubeClient:
    """Raw access to one context's API server (all methods run on the hub's loop)."""

    def __init__(self, context: str, configuration: Configuration, timeouts: Timeouts | None = None) -> None:
        self.context = context
        self.configuration = configuration
        self.timeouts = timeouts or Timeouts()
        _settle_proxy(configuration)
        # The REST layer alone, not the generated ApiClient around it: that one only adds the
        # pydantic (de)serialization meshtui never uses, and importing it costs ~40 ms of start.
        self.rest = RESTClientObject(configuration)
        self.user_agent = f"meshtui/{__version__}"
        self.closed = False
        self._exec_sockets: list[Any] = []
        """The sockets of the exec WebSockets opened, until they are seen closed (see :meth:`close`)."""

    @property
    def server(self) -> str:
        return str(self.configuration.host)

    def timeout(self, read: float | None = None, total: float | None = None) -> aiohttp.ClientTimeout:
        t = self.timeouts
        return aiohttp.ClientTimeout(
            total=total, connect=t.connect, sock_connect=t.connect, sock_read=read or t.read
        )

    async def _headers(self, accept: str, content_type: str | None) -> dict[str, str]:
        headers = {"Accept": accept, "User-Agent": self.user_agent}
        if content_type:
            headers["Content-Type"] = content_type
        auth = (await self.configuration.auth_settings()).get("BearerToken")
        if auth and auth.get("value"):
            headers["authorization"] = auth["value"]
        for name, value in headers.items():
            if _CONTROL.search(value):
                # aiohttp would refuse it as a ValueError, read as a bad answer from the server:
                # the request was never sent, and what is wrong is on this side.
                raise KubeError(
                    f"cannot send the request: its {name} header holds a line break or a control "
                    "character (the context's token?)",
                    kind="invalid",
                )
        return headers

    def url(self, path: str, query: Query = ()) -> str:
        url = self.server.rstrip("/") + path
        if query:
            url += "?" + urlencode(list(query))
        return url

    async def _send(
        self,
        method: str,
        path: str,
        query: Query,
        body: Any,
        content_type: str | None,
        accept: str,
        timeout: aiohttp.ClientTimeout,
        action: Action,
    ) -> aiohttp.ClientResponse:
        if self.closed:
            raise KubeError("the client is closed", kind="unreachable")
        headers = await self._headers(accept, content_type or "application/json")
        t = self.timeouts
        try:
            url = self.url(path, query)
            sent = await kubernetes_private.send(
                self.rest, method, url, headers=headers, body=body, timeout=timeout
            )
        except KubeError:
            raise
        except Exception as exc:
            raise from_exception(
                exc, connect_timeout=t.connect, read_timeout=timeout.sock_read or t.read
            ) from None
        return kubernetes_private.open_response(sent)  # outside the try: a client change is no network error

    async def request(
        self,
        method: str,
        path: str,
        *,
        action: Action,
        query: Query = (),
        body: Any = None,
        content_type: str | None = None,
        accept: str = "application/json",
        read_timeout: float | None = None,
    ) -> bytes:
        """Send one request and return the body; non-2xx raises :class:`KubeError`."""
        timeout = self.timeout(
            read_timeout, total=(read_timeout or self.timeouts.read) * 4 + self.timeouts.connect
        )
        response = await self._send(method, path, query, body, content_type, accept, timeout, action)
        t = self.timeouts
        failed = response.status >= 400
        if not failed:
            _read_buffer(response, ANSWER_READ_BUFFER)
        try:
            # An error body is only quoted (300 characters): read a little of it, never all.
            data = await read_bounded(response, ERROR_BODY if failed else t.max_body, action, cut=failed)
        except KubeError:
            _drop(response)
            raise
        except Exception as exc:
            _drop(response)
            raise from_exception(
                exc,
                connect_timeout=t.connect,
                read_timeout=timeout.sock_read or t.read,
                total_timeout=timeout.total,
            ) from None
        if failed:
            _drop(response)  # the rest of a long error body is not read: no reuse
            raise action.error(response.status, data)
        _read_buffer(response, tls_read_buffer_size())
        response.release()
        return data

    async def request_json(self, method: str, path: str, *, action: Action, **kwargs: Any) -> dict[str, Any]:
        data = await self.request(method, path, action=action, **kwargs)
        try:
            doc = json.loads(data)
        except ValueError:
            raise not_json(data, f"from the server for {action.verb} {action.resource}") from None
        if not isinstance(doc, dict):
            raise KubeError(f"unexpected answer for {action.verb} {action.resource}", kind="invalid")
        return doc

    @asynccontextmanager
    async def stream(
        self, path: str, *, action: Action, query: Query = (), read_timeout: float, total: float
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """An open, successful (2xx) streaming GET; the caller reads ``response.content``."""
        response = await self._send(
            "GET", path, query, None, None, "application/json", self.timeout(read_timeout, total), action
        )
        try:
            if response.status >= 400:
                t = self.timeouts
                try:
                    data = await read_bounded(response, ERROR_BODY, action, cut=True)
                except Exception as exc:
                    raise from_exception(exc, connect_timeout=t.connect, read_timeout=t.read) from None
                raise action.error(response.status, data)
            yield response
            done = response.content.at_eof()
        except BaseException:
            done = False
            raise
        finally:
            if done:
                response.release()  # read to the end: the connection serves the next watch
            else:
                # cut off (cancelled, broken, stopped early): drop the socket now instead of a
                # TLS close handshake that could outlive the loop
                connection = response.connection
                if connection is not None and connection.transport is not None:
                    connection.transport.abort()
                response.close()

    def _session(self) -> aiohttp.ClientSession:
        """The REST layer's own session (kubernetes' WsApiClient does the same for exec)."""
        return kubernetes_private.session(self.rest)

    async def ws_connect(
        self, path: str, query: Iterable[tuple[str, str]], *, protocols: Sequence[str], action: Action
    ) -> aiohttp.ClientWebSocketResponse:
        """Open a WebSocket (exec) with the context's TLS and credentials."""
        if self.closed:
            raise KubeError("the client is closed", kind="unreachable")
        parts = urlsplit(self.url(path, list(query)))
        scheme = {"https": "wss", "http": "ws"}.get(parts.scheme, parts.scheme)
        url = urlunsplit((scheme, *parts[1:]))
        headers = await self._headers("*/*", None)
        t = self.timeouts
        kwargs: dict[str, Any] = {}
        if self.configuration.tls_server_name:
            kwargs["server_hostname"] = self.configuration.tls_server_name
        if self.configuration.proxy:
            kwargs["proxy"] = self.configuration.proxy
        try:
            async with asyncio.timeout(t.connect + t.read):
                ws = await self._session().ws_connect(
                    url,
                    protocols=protocols,
                    headers=headers,
                    timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=t.connect),
                    autoping=True,
                    max_msg_size=16 * 2**20,
                    **kwargs,
                )
        except aiohttp.WSServerHandshakeError as exc:
            raise action.error(exc.status, b"") from None
        except Exception as exc:
            raise from_exception(exc, connect_timeout=t.connect, read_timeout=t.read) from None
        self._exec_sockets = [s for s in self._exec_sockets if s.fileno() != -1]
        sock = ws.get_extra_info("socket")
        if sock is not None:
            self._exec_sockets.append(sock)
        return ws

    async def _settle_exec_sockets(self, bound: float = CLOSE_SETTLE) -> None:
        """Let exec WebSockets closed gracefully finish their TLS close (at most ``bound`` s).

        Their close handshake with a live peer takes a millisecond or two; a loop closed before
        it ends would cut it. Waits only while one of them is still open, so a command that
        answered exits at once instead of after a fixed pause.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + bound
        while any(s.fileno() != -1 for s in self._exec_sockets) and loop.time() < deadline:
            await asyncio.sleep(0.002)
        self._exec_sockets.clear()

    async def close(self) -> None:
        """Close the connection pool (and every socket it holds)."""
        if self.closed:
            return
        self.closed = True
        await self._settle_exec_sockets()
        session = kubernetes_private.open_session(self.rest)
        if session is not None and session.connector is not None and not session.closed:
            # abort TLS connections rather than wait for close handshakes that may never end
            await session.connector.close(abort_ssl=True)
        await self.rest.close()
