"""Changes made outside meshtui (kubectl against the simulator) reach the Activity log as
"seen: …" with their context; the app's own writes do not show twice."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from apphelpers import activity, backends_rows, backends_summary, services_rows, wait_for
from simapp import kube_app, seed_sim

from tui.screens.confirm import ConfirmDialog
from tui.sim.mesh import SimThread
from tui.sim.testing import Kubectl

SIZE = (160, 48)
SLOW = 10.0


@pytest.fixture
def sim() -> Iterator[SimThread]:
    with seed_sim() as running:
        yield running


def seen(app) -> list[list[str]]:
    return [e for e in activity(app) if e[3].startswith("seen: ")]


async def run(kubectl: Kubectl, *args: str, context: str) -> None:
    result = await asyncio.to_thread(kubectl, *args, context=context)
    assert result.returncode == 0, result.stderr


async def test_kubectl_annotate_and_scale_are_logged_as_seen(sim: SimThread) -> None:
    app, _ = kube_app(sim)
    kubectl = Kubectl(sim.kubeconfig_path)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(
                pilot,
                lambda: len(backends_rows(app)) == 2 and "agrees" in backends_summary(app),
                timeout=SLOW,
            )
            assert seen(app) == []  # the first sync is not news
            await run(
                kubectl,
                *("annotate", "service", "userlist-svc", "-n", "song", "service.cilium.io/affinity=local"),
                context="bastion03",
            )
            await wait_for(pilot, lambda: bool(seen(app)), timeout=SLOW)
            assert [e[1:6] for e in seen(app)] == [
                [
                    "bastion03",
                    "svc song/userlist-svc",
                    "seen: service.cilium.io/affinity: (unset) → local",
                    "made outside meshtui",
                    "event",
                ]
            ]
            await run(
                kubectl, "scale", "deployment", "userlist", "-n", "song", "--replicas=2", context="bastion02"
            )
            await wait_for(pilot, lambda: len(seen(app)) == 2, timeout=SLOW)
            assert seen(app)[-1][1:4] == ["bastion02", "deploy song/userlist", "seen: replicas: 1 → 2"]
            # The app's own write: logged once, as applied, never as "seen".
            await pilot.press("a", "l")
            await pilot.pause()
            assert isinstance(app.screen, ConfirmDialog)
            await pilot.press("enter")
            await wait_for(
                pilot,
                lambda: (
                    activity(app)[-1][4] == "applied (seen in watch)"
                    and "local" in services_rows(app)["song/userlist-svc"][1]
                ),
                timeout=SLOW,
            )
            await pilot.pause(0.3)
            assert len(seen(app)) == 2
    finally:
        kubectl.cleanup()
