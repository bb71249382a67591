"""Fixtures for the cluster-access layer (helpers live in ``kubehelp``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubehelp import Hubs, LogCapture, is_layer_task

from tui.compat import kubernetes_private
from tui.sim.mesh import SimThread


@pytest.fixture
def sim() -> Iterator[SimThread]:
    """The seed mesh (bastion02 = cluster1, bastion03 = cluster2), admin kubeconfig.

    Without the simulator's Cilium: these tests install their own kube-system stand-ins.
    """
    with SimThread("seed", ready_delay=0.01, termination_grace=0.05, cilium=False) as running:
        yield running


@pytest.fixture
def kubeconfig_doc(sim: SimThread) -> dict[str, Any]:
    return yaml.safe_load(Path(sim.kubeconfig_path).read_text())


@pytest.fixture
async def hubs() -> AsyncIterator[Hubs]:
    made = Hubs()
    try:
        yield made
    finally:
        await made.stop_all()
        leftovers = [
            t
            for t in asyncio.all_tasks()
            if t is not asyncio.current_task() and not t.done() and is_layer_task(t.get_name())
        ]
        assert not leftovers, f"tasks left running: {[t.get_name() for t in leftovers]}"
        for hub in made.hubs:
            for cluster in hub.clusters.values():
                if cluster.client is not None:
                    session = kubernetes_private.open_session(cluster.client.rest)
                    assert session is None or session.closed


@pytest.fixture
def all_logs() -> Iterator[LogCapture]:
    handler = LogCapture()
    root = logging.getLogger()
    old_level = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
