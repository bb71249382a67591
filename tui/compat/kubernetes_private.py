"""The kubernetes client's internals used by meshtui (``kubernetes.aio``, 37.x).

Why each is needed, and why it cannot be public API:

* The REST layer (``ApiClient.rest_client``): every request goes through its ``request()`` so
  the context's TLS, proxy, token and exec-plugin refresh apply, but meshtui needs the *open*
  aiohttp response (watches stream for minutes; lists are decoded without pydantic models).
  ``request()`` takes the timeout as ``_request_timeout`` and returns a ``RESTResponse``
  wrapping the aiohttp response as ``.response`` (37.0.0 and later; 36.x read the whole body).
  WebSockets (exec) need the REST layer's own aiohttp session: ``pool_manager``, created
  lazily by ``_create_pool_manager()`` (the client's own ``WsApiClient`` does the same).
* The kubeconfig loader (``KubeConfigLoader``): which user entry the context resolved to
  (``_user``: does it use an exec plugin?), the credentials it loaded (``token``, set only
  once a token was found; ``cert_file``, only for a client certificate) so they are registered
  with the redactor, and the exec plugin's token expiry (``exec_plugin_expiry``, judged with
  the module's ``_is_expired``), so an expired token is fetched again by
  ``load_from_exec_plugin()``.

``tests/test_compat.py`` checks every one on the installed client and fails naming what is
gone; a silent ``None`` here could mean a token that is no longer redacted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import aiohttp
from kubernetes.aio.client.rest import RESTClientObject
from kubernetes.aio.config.kube_config import KubeConfigLoader, _is_expired


async def send(
    rest: RESTClientObject,
    method: str,
    url: str,
    *,
    headers: dict[str, str],
    body: Any,
    timeout: aiohttp.ClientTimeout,
) -> Any:
    """One request through the REST layer; its ``RESTResponse`` (see :func:`open_response`)."""
    return await rest.request(method, url, headers=headers, body=body, _request_timeout=timeout)


def open_response(sent: Any) -> aiohttp.ClientResponse:
    """The open aiohttp response inside what :func:`send` returned (the caller reads it)."""
    return sent.response


def session(rest: RESTClientObject) -> aiohttp.ClientSession:
    """The REST layer's aiohttp session, made now if no request made it yet."""
    if rest.pool_manager is None:
        rest.pool_manager = rest._create_pool_manager()
    return rest.pool_manager


def open_session(rest: RESTClientObject) -> aiohttp.ClientSession | None:
    """The REST layer's aiohttp session if one was made (``None``: nothing to close)."""
    return rest.pool_manager


def loader_user(loader: KubeConfigLoader) -> Any:
    """The context's user entry (a ``ConfigNode``), or ``None`` when the context names none."""
    return loader._user


def loader_token(loader: KubeConfigLoader) -> str | None:
    """The ``Bearer``/``Basic`` credential the loader found, if any (a secret: redact it)."""
    return loader.__dict__.get("token")


def loader_has_client_certificate(loader: KubeConfigLoader) -> bool:
    """Whether the loader found a client certificate (from the kubeconfig or an exec plugin)."""
    return loader.__dict__.get("cert_file") is not None


def exec_token_expired(loader: KubeConfigLoader) -> bool:
    """Whether the exec plugin's token is past its expiry (the loader's own rule, which counts
    it expired five minutes early); ``False`` when the plugin gave no expiry."""
    expiry: datetime | None = loader.__dict__.get("exec_plugin_expiry")
    return expiry is not None and bool(_is_expired(expiry))


async def rerun_exec_plugin(loader: KubeConfigLoader) -> bool:
    """Run the exec plugin again; ``True`` when it gave new credentials (now on the loader)."""
    return bool(await loader.load_from_exec_plugin())
