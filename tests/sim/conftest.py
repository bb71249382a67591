"""Fixtures for simulator tests: a running seed mesh and a kubectl bound to it.

Other test packages can build the same with :func:`tui.sim.testing.fast_sim` and
:class:`tui.sim.testing.Kubectl`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tui.sim.mesh import SimThread
from tui.sim.testing import Kubectl, fast_sim


@pytest.fixture
def sim() -> Iterator[SimThread]:
    """The seed scenario (bastion02/bastion03), pods Ready in 20 ms; stopped after the test."""
    thread = fast_sim("seed")
    try:
        yield thread
    finally:
        thread.stop()


@pytest.fixture
def kubectl(sim: SimThread) -> Iterator[Kubectl]:
    """Real kubectl with the sim's kubeconfig and a fresh cache dir; every call has a timeout."""
    runner = Kubectl(sim.kubeconfig_path)
    try:
        yield runner
    finally:
        runner.cleanup()
