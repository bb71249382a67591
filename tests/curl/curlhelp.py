"""Helpers for the curl tests: fast hub settings, the simulator's exec programs, an oracle.

Everything runs against the simulator over real sockets (``KubeSource`` on its kubeconfig);
the only things read from inside the simulator are what a test must check independently of
the code under test: how many exec programs are still running, and which pod a userlist
answer really came from (recomputed from the pods with the simulator's own app model).
"""

from __future__ import annotations

import asyncio

from testkit import FAST_HUB

from tui.sim.mesh import SimThread

FAST = FAST_HUB
"""Retries within ~0.3 s, snapshots coalesced over 20 ms (:data:`testkit.FAST_HUB`)."""

BACKOFF = (0.05, 0.1, 0.2, 0.3)
"""Loop reattach back-off for tests."""


def programs_running(sim: SimThread) -> int:
    """Exec programs alive in the simulator (each exec runs its program as a task)."""

    def count() -> int:
        return sum(1 for t in asyncio.all_tasks() if "program" in t.get_coro().__qualname__ and not t.done())

    return sim.call(count)


def userlist_oracle(sim: SimThread, namespace: str = "song") -> dict[str, tuple[str, str]]:
    """User name of ``/users/1`` → (cluster, pod) for every userlist pod, from the simulator's model."""
    from tui.sim.apps import UserlistApp, is_userlist, make_app

    assert sim.mesh is not None
    mesh = sim.mesh
    seed = mesh.cilium.dataplane.seed

    def read() -> dict[str, tuple[str, str]]:
        out: dict[str, tuple[str, str]] = {}
        for name, cluster in mesh.clusters.items():
            for entry in cluster.store.items("pods", namespace):
                pod = entry.obj
                if not is_userlist(pod):
                    continue
                app = make_app(pod, name, seed=seed)
                assert isinstance(app, UserlistApp)
                out[app.users[0]["name"]] = (name, pod["metadata"]["name"])
        return out

    return sim.call(read)
