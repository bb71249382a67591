"""Helpers for app tests that stand on the simulator: fast settings, reading the simulator's state.

The app talks to the simulator exactly as to a cluster (a ``KubeSource`` on its kubeconfig,
TLS, tokens, watches); these helpers only shrink the waits and read the simulator's own store
(on its loop) so a test can check what a key press really changed. ``FAST_HUB`` and
``SIM_KWARGS`` live in :mod:`testkit` (shared with the curl and kube tests and
tools/screenshots.py) and are re-exported here.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from apphelpers import frozen_clock
from testkit import FAST_HUB, SIM_KWARGS

from tui.app import MeshtuiApp
from tui.kube.settings import HubSettings
from tui.kube.source import KubeSource
from tui.sim.mesh import SimThread
from tui.sim.testing import fast_sim

KEY = ("song", "userlist-svc")


def kube_app(
    sim: SimThread,
    *,
    read_only: bool = False,
    kubeconfig: str | None = None,
    settings: HubSettings = FAST_HUB,
    **kwargs: Any,
) -> tuple[MeshtuiApp, KubeSource]:
    """The app on ``sim``'s kubeconfig through a threaded ``KubeSource`` (as ``meshtui`` runs)."""
    source = KubeSource(
        kubeconfig or str(sim.kubeconfig_path), read_only=read_only, settings=settings, threaded=True
    )
    kwargs.setdefault("refresh_interval", 0.02)
    kwargs.setdefault("clock", frozen_clock)
    app = MeshtuiApp(source, kubeconfig_label="~/.kube/config-multi", read_only=read_only, **kwargs)
    return app, source


def sim_object(sim: SimThread, context: str, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
    """One object as the simulator stores it (read on its loop), ``None`` when absent."""
    assert sim.mesh is not None
    cluster = sim.mesh.cluster(context)

    def read() -> dict[str, Any] | None:
        entry = cluster.store.get(kind, namespace, name)
        return None if entry is None else json.loads(entry.raw)

    return sim.call(read)


def sim_objects(sim: SimThread, context: str, kind: str, namespace: str) -> list[dict[str, Any]]:
    assert sim.mesh is not None
    cluster = sim.mesh.cluster(context)
    return sim.call(lambda: [json.loads(e.raw) for e in cluster.store.items(kind, namespace)])


def annotations(sim: SimThread, context: str, namespace: str = "song", name: str = "userlist-svc") -> dict:
    service = sim_object(sim, context, "services", namespace, name)
    assert service is not None
    return dict(service["metadata"].get("annotations") or {})


def replicas(sim: SimThread, context: str, name: str = "userlist") -> int:
    deployment = sim_object(sim, context, "deployments.apps", "song", name)
    assert deployment is not None
    return int(deployment["spec"].get("replicas", 1))


def userlist_pods(sim: SimThread, context: str) -> list[str]:
    """Names of the userlist pods not being deleted."""
    return sorted(
        p["metadata"]["name"]
        for p in sim_objects(sim, context, "pods", "song")
        if p["metadata"].get("labels", {}).get("app") == "userlist"
        and not p["metadata"].get("deletionTimestamp")
    )


def fault(sim: SimThread, name: str, *args: Any) -> Any:
    """``await mesh.faults.<name>(*args)`` on the simulator's loop (``api_down``, ``heal``...)."""
    assert sim.mesh is not None
    return sim.call(getattr(sim.mesh.faults, name), *args)


@contextmanager
def no_threads_left(timeout: float = 5.0) -> Iterator[None]:
    """Fail if a thread started inside the block is still alive ``timeout`` s after it."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + timeout
    while True:
        left = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert not left, f"threads left running: {[t.name for t in left]}"


@contextmanager
def seed_sim(**overrides: Any) -> Iterator[SimThread]:
    """The seed mesh with the app tests' near-zero delays and a fast ClusterMesh (``overrides``:
    other ``SimThread`` settings), stopped at the end; no thread started inside the block (app
    source, simulator) may outlive it."""
    with no_threads_left():
        running = fast_sim("seed", **{**SIM_KWARGS, **overrides})
        try:
            yield running
        finally:
            running.stop()
