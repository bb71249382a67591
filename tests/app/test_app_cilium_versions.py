"""The app against the per-version simulator: what each Cilium release does, on screen.

* ``cilium-118-none``: 1.18.3 with affinity ``none`` and no local pod in cluster1 — the WHY
  column, the Backends footer and the Mesh pane say cilium/cilium#46623 applies and connections
  from cluster1 fail; the ``n`` (none) write removes the annotation, and the prediction and the
  agents follow;
* ``remote-down``: a lost remote's backends stay in the prediction, marked cached;
* ``mirrored-slices``: a headless service gets no share, and says why.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from apphelpers import backends_rows, backends_summary, mesh_text, services_rows, wait_for
from simapp import annotations, kube_app, no_threads_left
from testkit import SIM_KWARGS

from tui.mesh.actions import SetAnnotation
from tui.screens.affinity import AffinityMenu
from tui.screens.confirm import ConfirmDialog
from tui.sim.mesh import SimThread
from tui.sim.testing import fast_sim

SIZE = (160, 48)
SLOW = 10.0
AFFINITY = "service.cilium.io/affinity"


@pytest.fixture
def sim(request: pytest.FixtureRequest) -> Iterator[SimThread]:
    """The built-in scenario the test names (indirect parameter), torn down after the app's
    loop, so the loop's executor thread is gone before threads are counted."""
    with no_threads_left():
        running = fast_sim(request.param, **SIM_KWARGS)
        try:
            yield running
        finally:
            running.stop()


def why_of(app, key: str) -> str:
    return " ".join(services_rows(app).get(key, []))


@pytest.mark.parametrize("sim", ["cilium-118-none"], indirect=True)
async def test_118_none_is_shown_as_a_blackhole_and_the_none_write_removes_it(sim: SimThread) -> None:
    app, _ = kube_app(sim)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "#46623" in why_of(app, "song/userlist-svc"), timeout=SLOW)
        assert "cluster1: affinity 'none' on Cilium 1.18.3: connections from cluster1 fail" in why_of(
            app, "song/userlist-svc"
        )
        await wait_for(pilot, lambda: "bug #46623 applies" in backends_summary(app), timeout=SLOW)
        summary = backends_summary(app)
        assert "affinity none · Cilium 1.18.3 · rules 1.18+ · bug #46623 applies" in summary
        assert "connections from cluster1 to song/userlist-svc fail" in summary
        remote = next(r for r in backends_rows(app).values() if r[0] == "cluster2")
        assert remote[4] == "✗" and "never used" in remote[-1]
        await wait_for(pilot, lambda: "affinity 'none'" in mesh_text(app), timeout=SLOW)
        # a long fix command is cut with " \\" (still pastes): read it back whole
        mesh = " ".join(mesh_text(app).replace(" \\\n", " ").split())
        assert "reads it as 'local backends only'" in mesh
        assert "kubectl --context bastion02 -n song annotate service userlist-svc " in mesh
        assert "userlist-svc service.cilium.io/affinity-" in mesh
        # the "none" choice: no preference, written as the removal of the annotation
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, AffinityMenu)
        await pilot.press("n")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog)
        assert dialog.actions == (
            SetAnnotation("bastion02", "song", "userlist-svc", AFFINITY, None, old="none"),
        )
        text = " ".join(str(s.render()) for s in dialog.query("Static, ActionBlock"))
        assert "service.cilium.io/affinity: none → (removed)" in text
        assert "the word 'none' makes Cilium 1.18/1.19 use local backends only" in text
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: "cluster2 ████████████████████ 100%" in backends_summary(app), timeout=SLOW
        )
        assert AFFINITY not in annotations(sim, "bastion02")
        assert "bug #46623" not in backends_summary(app)
        await wait_for(pilot, lambda: "cilium service list agrees" in backends_summary(app), timeout=SLOW)


@pytest.mark.parametrize("sim", ["remote-down"], indirect=True)
async def test_lost_remote_stays_in_the_prediction_marked_cached(sim: SimThread) -> None:
    app, _ = kube_app(sim)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "cached" in backends_summary(app), timeout=SLOW)
        summary = backends_summary(app)
        assert "cluster2 unreachable since" in summary and "its backends are still used" in summary
        assert "cluster2 ██████████ 50%" in summary
        remote = next(r for r in backends_rows(app).values() if r[0] == "cluster2")
        assert remote[4] == "✓" and "cached: unreachable since" in remote[-1]
        assert "cluster2 unreachable since" in why_of(app, "song/userlist-svc")


@pytest.mark.parametrize("sim", ["mirrored-slices"], indirect=True)
async def test_headless_service_has_no_share_and_says_why(sim: SimThread) -> None:
    app, _ = kube_app(sim)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "song/userlist-headless" in services_rows(app), timeout=SLOW)
        assert "headless (clusterIP: None)" in why_of(app, "song/userlist-headless")
        await wait_for(pilot, lambda: "userlist-headless" in backends_summary(app), timeout=SLOW)
        summary = backends_summary(app)
        assert "affinity and shares do not apply" in summary
        assert "█" not in summary
        # the mirror of cluster2's endpoint is not cluster1's own backend
        assert not any(key.startswith("10.2.0.250") for key in backends_rows(app))
