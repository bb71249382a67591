"""The curl pane in the app: ``c`` starts loops from both clusters, the pane shows who answers."""

from __future__ import annotations

import re
import time

import pytest
from curlhelp import FAST, programs_running
from rich.text import Text
from testkit import until
from textual.pilot import Pilot
from textual.widgets import Static

from tui.app import MeshtuiApp
from tui.compat.textual_private import notifications
from tui.kube.source import KubeSource
from tui.sim.mesh import SimThread
from widgets.curl_pane import CurlPane, CurlRow

KEY = ("song", "userlist-svc")


def text_of(widget: Static) -> str:
    content = widget.content
    return content.plain if isinstance(content, Text) else str(content)


async def pane_of(app: MeshtuiApp, pilot: Pilot) -> CurlPane:
    """The pane the app mounted once its source could exec (its loops: ``app.curl``)."""
    await until(lambda: app.curl_pane is not None, 5, pilot=pilot)
    assert app.query_one(CurlPane) is app.curl_pane and app.curl is not None
    return app.curl_pane


async def test_c_starts_loops_from_both_clusters_and_the_pane_shows_who_answered(
    sim: SimThread, app: MeshtuiApp
) -> None:
    baseline = programs_running(sim)
    async with app.run_test(size=(160, 48)) as pilot:
        pane = await pane_of(app, pilot)
        await until(lambda: app.service == KEY and app.viewing == "bastion02", 10, pilot=pilot)
        curl = app.curl
        curl.interval = 0.05
        await pilot.press("c")
        await until(lambda: curl.session is not None and len(curl.session.stats) == 2, 10, pilot=pilot)
        session = curl.session
        assert session is not None

        def both_answered() -> bool:
            return all(
                {"cluster1", "cluster2"} <= set(s.split()) for s in session.stats.values()
            ) and not any(a.to_cluster is None for a in list(session.log)[-5:])

        await until(both_answered, 10, pilot=pilot)
        await pilot.pause(0.4)  # a repaint or two
        rows = {row.context: row for row in pane.query(CurlRow)}
        assert set(rows) == {"bastion02", "bastion03"}
        summary, timeline = rows["bastion02"].text.plain.split("\n")
        assert summary.startswith("cluster1")
        assert "cluster1 " in summary and "cluster2 " in summary and "p50" in summary
        assert "expected 50/50" in summary and "last " in summary
        assert set(timeline.strip()) <= {"●", "■", "?"} and len(timeline.strip()) >= 3
        log = pane.log_widget.plain
        # Which clusters the last few lines name is a 50/50 draw; that each line names one is not.
        assert re.search(r"cluster[12] → [●■] cluster[12] ", log), log
        assert "userlist-" in log and " ms" in log
        title = str(pane.slot.border_title)
        assert "userlist-svc.song.svc:80/users/1" in title and "running" in title

        pane.focus()  # the pane's own keys work when it has the focus
        await pilot.press("m")  # the learned map
        await pilot.pause(0.4)
        shown = text_of(pane.query_one("#curl-map", Static))
        assert "→ pod" in shown and "10.1." in shown and "10.2." in shown

        assert programs_running(sim) >= baseline + 2
        app.query_one("#services-table").focus()
        await pilot.press("c")  # again: stop
        await until(lambda: not session.running, 10, pilot=pilot)
        await until(lambda: programs_running(sim) == baseline, 5, pilot=pilot)
        await pilot.pause(0.4)
        assert "stopped" in str(pane.slot.border_title)


@pytest.mark.parametrize("quit_key", ["q", "ctrl+c"])
async def test_shift_c_curls_from_the_viewing_cluster_only_and_quitting_ends_it(
    sim: SimThread, app: MeshtuiApp, quit_key: str
) -> None:
    """``q`` and ctrl+c (k9s's quit) both stop the running loops in the pods before exiting."""
    baseline = programs_running(sim)
    async with app.run_test(size=(160, 48)) as pilot:
        pane = await pane_of(app, pilot)
        await until(lambda: app.service == KEY and app.viewing == "bastion02", 10, pilot=pilot)
        assert pane is app.curl_pane
        app.set_viewing("bastion03")
        await pilot.pause(0.1)
        await pilot.press("C")
        curl = app.curl
        await until(lambda: curl.session is not None and "bastion03" in curl.session.stats, 10, pilot=pilot)
        session = curl.session
        assert session is not None and list(session.stats) == ["bastion03"]
        await until(lambda: session.stats["bastion03"].total >= 2, 10, pilot=pilot)
        assert programs_running(sim) >= baseline + 1
        await pilot.press(quit_key)
    assert app.return_code == 0
    deadline = time.monotonic() + 5
    while programs_running(sim) != baseline:
        assert time.monotonic() < deadline, "loops kept running in the pods after quit"
        time.sleep(0.05)
    assert not session.running


async def test_picking_a_client_pod_checks_for_curl_and_moves_the_loop(app: MeshtuiApp) -> None:
    from tui.mesh.actions import Scale
    from tui.screens.pick import PickDialog

    async with app.run_test(size=(160, 48)) as pilot:
        pane = await pane_of(app, pilot)
        await until(lambda: app.service == KEY and app.viewing == "bastion02", 10, pilot=pilot)
        assert (await app.source.write(Scale("bastion02", "song", "curltest", 2))).ok

        def clients() -> list[str]:
            state = app.source.snapshot().by_context("bastion02")
            assert state is not None
            return sorted(p.name for p in state.pods.values() if p.owner == "curltest" and p.ready)

        await until(lambda: len(clients()) == 2, 10, pilot=pilot)
        state = app.source.snapshot().by_context("bastion02")
        assert state is not None
        userlist = next(p for p in state.pods.values() if p.owner == "userlist")

        pane.focus()
        await pilot.press("p")
        await until(lambda: isinstance(app.screen, PickDialog), 10, pilot=pilot)
        dialog = app.screen
        assert isinstance(dialog, PickDialog)
        assert {("song", name) for name in clients()} <= set(dialog.values)
        await pilot.press("escape")

        curl = app.curl
        await curl.use_client("bastion02", ("song", userlist.name))  # no sh, no curl in there
        assert "bastion02" not in curl.clients
        curl.interval = 0.05
        app.query_one("#services-table").focus()
        await pilot.press("c")
        await until(
            lambda: curl.session is not None and curl.session.loops["bastion02"].pod is not None,
            10,
            pilot=pilot,
        )
        session = curl.session
        assert session is not None
        first = session.loops["bastion02"].pod
        other = next(name for name in clients() if name != first)
        await curl.use_client("bastion02", ("song", other))
        assert curl.clients["bastion02"] == ("song", other)
        loop = session.loops["bastion02"]
        await until(
            lambda: loop.pod == other and session.log and session.log[-1].client_pod == other, 10, pilot=pilot
        )
        await curl.stop()


async def test_palette_commands_and_read_only_samples(sim: SimThread) -> None:
    source = KubeSource(str(sim.kubeconfig_path), threaded=True, settings=FAST, read_only=True)
    app = MeshtuiApp(source, kubeconfig_label="x", refresh_interval=0.02, read_only=True)
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            await pane_of(app, pilot)
            await until(lambda: app.service == KEY, 10, pilot=pilot)
            titles = {command.title for command in app.curl_commands()}
            assert {
                "Curl: client pod",
                "Curl: interval",
                "Sample: deploy userlist",
                "Sample: delete rebel-base",
            } <= titles
            assert titles <= {command.title for command in app.get_system_commands(app.screen)}
            app.sample("userlist", delete=False)
            await pilot.pause(0.2)
            assert any("read-only" in str(n.message) for n in notifications(app))
    finally:
        await source.stop()
