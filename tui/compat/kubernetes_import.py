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
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType

PACKAGES = ("kubernetes", "kubernetes.aio")


class _WithoutInit(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds :data:`PACKAGES` where the path finder does, and loads them without their init."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
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
