"""Fixtures for the curl tests: a fast simulated mesh and a KubeSource on it (both stopped after)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from curlhelp import FAST

from tui.app import MeshtuiApp
from tui.kube.source import KubeSource
from tui.sim.mesh import SimThread
from tui.sim.meshtesting import mesh_sim


@pytest.fixture
def sim_options() -> dict[str, Any]:
    """Simulator settings beyond the fast defaults (a test module overrides this fixture)."""
    return {}


@pytest.fixture
def sim(sim_options: dict[str, Any]) -> Iterator[SimThread]:
    """The seed mesh (bastion02 = cluster1, bastion03 = cluster2) with fast pods and Cilium."""
    running = mesh_sim("seed", **sim_options)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
async def source(sim: SimThread) -> AsyncIterator[KubeSource]:
    """A synced KubeSource on the test's loop."""
    made = KubeSource(str(sim.kubeconfig_path), threaded=False, settings=FAST)
    try:
        await made.start()
        await made.wait_synced(10)
        yield made
    finally:
        await made.stop()


@pytest.fixture
async def app(sim: SimThread) -> AsyncIterator[MeshtuiApp]:
    """The app on a threaded KubeSource against ``sim``, as ``meshtui --kubeconfig`` runs."""
    source = KubeSource(str(sim.kubeconfig_path), threaded=True, settings=FAST)
    made = MeshtuiApp(source, kubeconfig_label="~/.kube/config-multi", refresh_interval=0.02)
    yield made
    await source.stop()  # idempotent: the app stopped it on exit
