"""Import ``kubernetes.aio`` without the package inits that load the synchronous client.

``kubernetes/__init__.py`` imports the whole synchronous package before anything below it
(``client`` with the generated models, ``config`` with requests, urllib3, oauthlib and google
auth, ``dynamic``, ``watch``, ``stream`` with websocket-client, ``leaderelection``,
``informer``), and ``kubernetes/aio/__init__.py`` the aio client's dynamic client, leader
election, streams and watch. meshtui uses none of them: only ``kubernetes.aio.client``
(``ApiClient``, ``Configuration``, the REST layer) and ``kubernetes.aio.config`` (the kubeconfig
loader, which still does all the kubeconfig and auth work). Those inits were about half of the
0.7–1 s every headless command spent importing before it read a byte.

:func:`skip_package_inits` installs an import hook: when ``kubernetes`` or ``kubernetes.aio``
is first imported, the package is made from its own spec (its real ``__path__``, so every
submodule imports as usual, on demand) without running its ``__init__``. Until then nothing is
imported. What the inits would have set on the package (``__version__``, the eager submodule
attributes) is missing until that submodule is imported; ``from kubernetes import client``
still works (it imports ``kubernetes.client`` then). When ``kubernetes`` was imported already,
the hook never applies. ``tests/test_compat.py`` checks the packages still allow it.

The same hook imports the kubeconfig loader (``kubernetes.aio.config.kube_config``) without the
generated ``ApiClient``: the loader module binds it at import (``from kubernetes.aio.client
import ApiClient``) for ``new_client_from_config``, which meshtui never calls, and importing it
loads pydantic, the model package and an ``ApiResponse`` pydantic model (about 40 ms of a
~400 ms headless answer). While that one module runs, the client package holds
:class:`ApiClientOnDemand` under that name, a stand-in that builds the real client when called;
afterwards the name is taken off the package again, so everybody else still gets the real class.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

PACKAGES = ("kubernetes", "kubernetes.aio")
LOADER_MODULE = "kubernetes.aio.config.kube_config"
CLIENT_PACKAGE = "kubernetes.aio.client"


class ApiClientOnDemand:
    """``ApiClient`` as the kubeconfig loader module sees it: the real one, imported when called.

    ``ApiClientOnDemand(configuration=c)`` returns a real ``kubernetes.aio.client.ApiClient``
    (what the loader's ``new_client_from_config`` returns to its caller).
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        from kubernetes.aio.client.api_client import ApiClient

        return ApiClient(*args, **kwargs)


class _LoaderWithoutApiClient(importlib.abc.Loader):
    """Runs the kubeconfig loader module with :class:`ApiClientOnDemand` in the client package."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        client = importlib.import_module(CLIENT_PACKAGE)
        if "ApiClient" in vars(client):  # imported already: nothing to save
            self._loader.exec_module(module)
            return
        client.ApiClient = ApiClientOnDemand  # type: ignore[attr-defined]
        try:
            self._loader.exec_module(module)
        finally:
            if vars(client).get("ApiClient") is ApiClientOnDemand:
                del client.ApiClient  # the package's lazy lookup gives the real one again


class _WithoutInit(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds :data:`PACKAGES` where the path finder does, and loads them without their init;
    the loader module (:data:`LOADER_MODULE`) with :class:`_LoaderWithoutApiClient`."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname == LOADER_MODULE:
            spec = importlib.machinery.PathFinder.find_spec(fullname, path)
            if spec is None or spec.loader is None:
                return None
            spec.loader = _LoaderWithoutApiClient(spec.loader)
            return spec
        if fullname not in PACKAGES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.submodule_search_locations is None:
            return None  # not installed here, or no longer a package: the usual import
        spec.loader = self
        return spec

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None  # the default module, with the spec's __path__

    def exec_module(self, module: ModuleType) -> None:
        """The package's ``__init__`` is not run."""


_HOOK = _WithoutInit()


def skip_package_inits() -> None:
    """From now on, ``import kubernetes.aio.client`` loads only what ``kubernetes.aio.client`` needs."""
    if _HOOK not in sys.meta_path:
        sys.meta_path.insert(0, _HOOK)
