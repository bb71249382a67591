"""Helpers for the cluster-access tests: simulator handles, hub factory, fault switches.

Everything talks to the simulator over real sockets on 127.0.0.1; nothing is mocked on the
client side. Faults the simulator does not offer yet (API down) are made by stopping and
restarting one cluster's listener; server errors and delays use the simulator's request hooks.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web
from testkit import FAST_HUB

from tui.kube.hub import MeshHub
from tui.kube.settings import HubSettings
from tui.mesh.model import MeshSnapshot
from tui.sim.mesh import SimThread

FAST = dataclasses.replace(FAST_HUB, cilium_interval=0.5, startup_gc_pause=HubSettings().startup_gc_pause)
"""Waits short enough for tests (:data:`testkit.FAST_HUB`: retries within ~0.3 s, a probe
every 0.25 s); agents read every 0.5 s and the start-up GC pause left as in production, as the
layer's own tests have always run."""


def write_yaml(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    path.chmod(0o600)
    return path


def tokens_of(doc: dict[str, Any]) -> list[str]:
    """Every token of a kubeconfig document (what must never leak)."""
    return [u["user"]["token"] for u in doc.get("users") or [] if (u.get("user") or {}).get("token")]


def sim_cluster(sim: SimThread, context: str) -> Any:
    assert sim.mesh is not None
    return sim.mesh.cluster(context)


def sim_patch(
    sim: SimThread, context: str, key: str, namespace: str, name: str, patch: dict[str, Any]
) -> None:
    """Change an object inside the simulator (as another client would)."""
    import json

    cluster = sim_cluster(sim, context)
    rtype = cluster.registry.by_key(key)
    sim.call(lambda: cluster.patch(rtype, namespace, name, "merge", json.dumps(patch).encode()))


def add_hook(
    sim: SimThread, context: str, hook: Callable[[web.Request], Awaitable[Any]]
) -> Callable[[], None]:
    """Install a request hook on one simulated API server; returns its remover."""
    cluster = sim_cluster(sim, context)
    sim.call(lambda: cluster.request_hooks.append(hook))

    def remove() -> None:
        sim.call(lambda: hook in cluster.request_hooks and cluster.request_hooks.remove(hook))

    return remove


async def fault(sim: SimThread, method: str, *args: Any) -> Any:
    """Call ``sim.mesh.faults.<method>(*args)`` on the simulator's loop without freezing ours.

    ``sim.call`` blocks its caller; run from a test whose loop drives a hub, that would freeze
    the hub's timers, so it runs in a worker thread.
    """
    assert sim.mesh is not None
    return await asyncio.to_thread(sim.call, getattr(sim.mesh.faults, method), *args)


class Hubs:
    """Makes hubs on the test's loop and stops every one of them at teardown."""

    def __init__(self) -> None:
        self.hubs: list[MeshHub] = []

    async def start(
        self,
        kubeconfig: str | Path | None,
        contexts: list[str] | None = None,
        *,
        read_only: bool = False,
        settings: HubSettings = FAST,
        sync: bool = True,
    ) -> MeshHub:
        hub = MeshHub(
            str(kubeconfig) if kubeconfig else None, contexts, read_only=read_only, settings=settings
        )
        self.hubs.append(hub)
        await hub.start()
        if sync:
            await hub.wait_synced(10)
        return hub

    async def stop_all(self) -> None:
        for hub in self.hubs:
            await hub.stop()


def is_layer_task(name: str) -> bool:
    return name.startswith(("reflector ", "cluster ", "hub ", "exec "))


async def wait_snapshot(
    hub: MeshHub, predicate: Callable[[MeshSnapshot], bool], timeout: float = 5.0
) -> MeshSnapshot:
    return await hub.wait_for(predicate, timeout)


def phase_of(snapshot: MeshSnapshot, context: str) -> str:
    state = snapshot.by_context(context)
    assert state is not None, context
    return state.phase


class LogCapture(logging.Handler):
    """Every record of every logger, formatted (messages and tracebacks), for secret scans."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        with self._lock:
            self.lines.append(self.format(record))


@contextlib.contextmanager
def hanging_server() -> Iterator[int]:
    """A TCP port that accepts connections and never answers (a hung API server)."""
    import socket

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            accepted.append(conn)

    thread = threading.Thread(target=accept, name="hanging-server", daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        for conn in accepted:
            conn.close()
        listener.close()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
