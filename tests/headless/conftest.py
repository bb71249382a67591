"""Fixtures for the headless commands: simulators, kubeconfig variants and an in-process runner."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from headlesshelp import Cli

from tui.sim.mesh import SimThread
from tui.sim.meshtesting import mesh_sim
from tui.sim.testing import fast_sim


@pytest.fixture(scope="module")
def seed_sim() -> Iterator[SimThread]:
    """A seed mesh shared by the read-only tests of one module (nothing may change it)."""
    sim = fast_sim("seed")
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def sim() -> Iterator[SimThread]:
    """A fresh seed mesh for tests that write or inject faults."""
    running = fast_sim("seed")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def msim() -> Iterator[SimThread]:
    """The seed mesh with a fast ClusterMesh (agents realize changes in ~20 ms)."""
    running = mesh_sim("seed")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """Runs ``tui.cli.main`` in-process; every run is checked for leaked tokens."""
    return Cli(tmp_path)
