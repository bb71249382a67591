"""The app against the simulator, driven by keys as an operator would.

Each test starts a seeded simulated mesh (``fast_sim``: real API servers with TLS, tokens,
watches and Cilium agents on 127.0.0.1) and opens the app on its kubeconfig through a threaded
``KubeSource`` — the same path as ``meshtui --kubeconfig``. Assertions look at both the screen
and the simulator's own store: a key press must change the cluster, and the panes must show
the change only once the watch delivered it. Every test stops the app (and so the source and
its thread) and the simulator, and checks that no thread is left behind.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from aiohttp import web
from apphelpers import (
    activity,
    backends_rows,
    backends_summary,
    contexts_text,
    mesh_text,
    screen_text,
    services_rows,
    wait_for,
)
from simapp import (
    FAST_HUB,
    SIM_KWARGS,
    annotations,
    fault,
    kube_app,
    no_threads_left,
    replicas,
    seed_sim,
    userlist_pods,
)
from testkit import settle, until
from textual.widgets import Input

from tui.app import MeshtuiApp
from tui.kube.client import Timeouts
from tui.kube.source import KubeSource
from tui.mesh.actions import SetAnnotation
from tui.screens.affinity import AffinityMenu
from tui.screens.confirm import ConfirmDialog
from tui.screens.scale import ScaleDialog
from tui.sim.mesh import SimThread
from widgets.backends import BackendsPane
from widgets.palette import palette
from widgets.services import ServicesPane

SIZE = (160, 48)
AFFINITY = "service.cilium.io/affinity"
SHARED = "service.cilium.io/shared"
SLOW = 10.0
"""Bound for waits on the simulator (agents, pods): generous for a loaded machine."""


@pytest.fixture
def sim() -> Iterator[SimThread]:
    with seed_sim() as running:
        yield running


def synced(app) -> bool:
    rows = services_rows(app)
    return "song/userlist-svc" in rows and len(backends_rows(app)) == 2 and "agrees" in backends_summary(app)


@pytest.mark.smoke
async def test_first_sync_shows_every_pane_from_the_simulator(sim: SimThread) -> None:
    app, source = kube_app(sim)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: synced(app), timeout=SLOW)
        # The agents' remote status is its own poll (0.3 s here): the first read may come before
        # the simulated link connected, as it can on a real mesh right after start.
        await wait_for(pilot, lambda: contexts_text(app).count("mesh 1/1 connected") == 2, timeout=SLOW)
        text = contexts_text(app)
        assert "bastion02    cluster1 #1   cilium 1.14.1   ok" in text
        assert "bastion03    cluster2 #2   cilium 1.14.1   ok" in text
        assert "nodes 1  agents 1/1  mesh 1/1 connected" in text
        mesh = mesh_text(app)
        assert "1/1 ✓" in mesh and "172.30.1.89:32379 (NodePort)" in mesh
        assert "cilium clustermesh enable --context bastion02 --service-type LoadBalancer" in mesh
        assert services_rows(app)["song/userlist-svc"][1:3] == [
            "global shared (unset)  1 rdy",
            "global shared (unset)  1 rdy",
        ]
        summary = backends_summary(app)
        assert "seen from cluster1 (bastion02)" in summary
        assert "cluster1 ██████████ 50%" in summary and "cluster2 ██████████ 50%" in summary
        # Pod names and IPs are the simulator's own (seeded), not the fixture's.
        pods = {row[1] for row in backends_rows(app).values()}
        assert pods == set(userlist_pods(sim, "bastion02") + userlist_pods(sim, "bastion03"))
        # A source that can exec gets the curl pane; its keys are in the help screen too.
        assert app.curl_pane is not None
        help_rows = {row[3]: row for row in app.key_help()}
        assert {"curl.pick", "curl.interval", "curl.map", "curl.relearn", "curl.stop"} <= set(help_rows)
        assert help_rows["curl.stop"][0] == "x"
    assert not source._thread, "the source's loop thread was stopped with the app"


@pytest.fixture
def slow_agents() -> Iterator[SimThread]:
    """The seed mesh whose agents take 3 s to realize a change (sync delay)."""
    with seed_sim(sync_delay=3.0) as running:
        yield running


async def write_local_before_the_agents_sync(app: MeshtuiApp, pilot) -> BackendsPane:  # type: ignore[no-untyped-def]
    """``a l`` + enter once synced; returns the Backends pane once it says the agents may
    still be syncing (they take 3 s in :func:`slow_agents`)."""
    await wait_for(pilot, lambda: synced(app), timeout=SLOW)
    await pilot.press("a", "l")
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
    await pilot.press("enter")
    await wait_for(pilot, lambda: "agents may still be syncing" in backends_summary(app), timeout=SLOW)
    return app.query_one(BackendsPane)


async def test_a_write_the_agents_have_not_realized_yet_is_a_warning_not_an_error(
    slow_agents: SimThread,
) -> None:
    """Agents take their sync delay to realize a write: the list read meanwhile differs, and
    the pane says the agents may still be syncing, in the warning colour, until a later read
    agrees. Before, the row's AGENT cell and the line were red "differs"."""
    app, _ = kube_app(slow_agents)
    async with app.run_test(size=SIZE) as pilot:
        pane = await write_local_before_the_agents_sync(app, pilot)
        line = next(t for t in pane.summary.split("\n") if "differs" in t.plain)
        styles = {str(span.style) for span in line.spans}
        assert palette(app).warn in styles and palette(app).err not in styles, line.spans
        agrees = "cilium service list agrees"
        await wait_for(pilot, lambda: agrees in backends_summary(app), timeout=SLOW)


async def test_at_80x24_the_lagging_agent_line_keeps_one_row_and_both_backends_show(
    slow_agents: SimThread,
) -> None:
    """The lag explanation used to wrap the agent line onto a second row at 80 columns,
    pushing cluster2's backend row below the fold right after the write."""
    app, _ = kube_app(slow_agents)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await write_local_before_the_agents_sync(app, pilot)
        line = next(t.plain for t in pane.summary.split("\n") if "differs" in t.plain)
        assert len(line) <= pane.content_region.width, line
        screen = " ".join(screen_text(app.export_screenshot()).split())
        assert "cluster1 userlis" in screen and "cluster2 userlis" in screen, screen


async def test_affinity_local_changes_the_cluster_and_the_split(sim: SimThread) -> None:
    app, _ = kube_app(sim)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: synced(app), timeout=SLOW)
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, AffinityMenu)
        await pilot.press("l")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        assert app.screen.actions == (
            SetAnnotation("bastion02", "song", "userlist-svc", AFFINITY, "local", old=None),
        )
        assert AFFINITY not in annotations(sim, "bastion02")  # nothing before the confirmation
        await pilot.press("enter")
        await wait_for(pilot, lambda: "affinity local" in backends_summary(app), timeout=SLOW)
        assert annotations(sim, "bastion02")[AFFINITY] == "local"
        assert AFFINITY not in annotations(sim, "bastion03")
        summary = backends_summary(app)
        assert "cluster1 ████████████████████ 100%" in summary and "cluster2 █" not in summary
        assert services_rows(app)["song/userlist-svc"][1] == "global shared local  1 rdy"
        if app.agent_outdated("bastion02"):  # usually: the list on screen predates the switch
            assert "before the last change: re-reading" in summary, summary
        await wait_for(pilot, lambda: activity(app)[-1][4] == "applied (seen in watch)", timeout=SLOW)
        # The agent realizes it after its sync delay: the app reads its list again and agrees.
        await wait_for(pilot, lambda: "cilium service list agrees" in backends_summary(app), timeout=SLOW)
        assert not app.agent_outdated("bastion02")
        assert "before the last change" not in backends_summary(app)
        remote = next(r for r in backends_rows(app).values() if r[0] == "cluster2")
        assert remote[4] == "✗" and remote[5] == "active"


async def test_take_cluster2_out_with_shared_false(sim: SimThread) -> None:
    app, _ = kube_app(sim)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: synced(app), timeout=SLOW)
        await pilot.press("2")
        await wait_for(pilot, lambda: "seen from cluster2 (bastion03)" in backends_summary(app))
        await pilot.press("h")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: "cluster2: shared=false" in services_rows(app)["song/userlist-svc"][-1],
            timeout=SLOW,
        )
        assert annotations(sim, "bastion03")[SHARED] == "false"
        assert annotations(sim, "bastion02")[SHARED] == "true"
        assert services_rows(app)["song/userlist-svc"][2] == "global unshared (unset)  1 rdy"
        # cluster2 still uses cluster1's backends; cluster1 now only its own.
        assert "cluster2 ██████████ 50%" in backends_summary(app)
        await pilot.press("1")
        await wait_for(pilot, lambda: "seen from cluster1" in backends_summary(app))
        summary = backends_summary(app)
        assert "cluster1 ████████████████████ 100%" in summary
        assert "excluded  cluster2: shared=false" in summary


async def test_scale_to_zero_and_back(sim: SimThread) -> None:
    app, _ = kube_app(sim)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: synced(app), timeout=SLOW)
        before = userlist_pods(sim, "bastion02")
        assert len(before) == 1
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, ScaleDialog)
        box = app.screen.query_one(Input)
        assert box.value == "1"
        box.value = "0"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("enter")
        await wait_for(pilot, lambda: all(r[0] != "cluster1" for r in backends_rows(app).values()), SLOW)
        assert replicas(sim, "bastion02") == 0
        await wait_for(pilot, lambda: not userlist_pods(sim, "bastion02"), timeout=SLOW)
        assert "cluster2 ████████████████████ 100%" in backends_summary(app)
        row = services_rows(app)["song/userlist-svc"]
        assert row[1] == "global shared (unset)  0 rdy" and "cluster1: 0 ready endpoints" in row[-1]
        # And back: + scales the (now empty) deployment to one, found through its selector.
        await pilot.press("plus")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "cluster1 ██████████ 50%" in backends_summary(app), timeout=SLOW)
        assert replicas(sim, "bastion02") == 1
        after = userlist_pods(sim, "bastion02")
        assert len(after) == 1 and after != before  # a new pod
        assert after[0] in {r[1] for r in backends_rows(app).values()}
        assert services_rows(app)["song/userlist-svc"][1] == "global shared (unset)  1 rdy"


async def test_read_only_refuses_and_changes_nothing(sim: SimThread) -> None:
    app, source = kube_app(sim, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: synced(app), timeout=SLOW)
        shown = {b.binding.action for b in app.screen.active_bindings.values()}
        assert not shown & {"affinity", "toggle_global", "toggle_shared", "scale"}
        await pilot.press("a", "l", "enter", "g", "y", "h", "y", "s", "0", "plus", "enter")
        await settle(pilot)
        assert not isinstance(app.screen, (AffinityMenu, ConfirmDialog, ScaleDialog))
        assert activity(app)[-2:] == [e for e in activity(app)[-2:] if e[2] == "cluster"]
        result = await source.write(SetAnnotation("bastion02", "song", "userlist-svc", AFFINITY, "local"))
        assert result.refused and not result.ok
        assert "read-only" in str(app.query_one("#header").render())
    assert AFFINITY not in annotations(sim, "bastion02")
    assert annotations(sim, "bastion03")[SHARED] == "true"
    assert replicas(sim, "bastion02") == 1 and replicas(sim, "bastion03") == 1


async def test_cluster_down_mid_session_shows_everywhere_and_heals(sim: SimThread) -> None:
    app, _ = kube_app(sim)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: synced(app), timeout=SLOW)
        await asyncio.to_thread(fault, sim, "api_down", "cluster2")
        await wait_for(pilot, lambda: "stale" in contexts_text(app), timeout=SLOW)
        assert "bastion03    cluster2 #2   cilium 1.14.1   stale" in contexts_text(app)
        assert "connection refused  (last known)" in contexts_text(app)
        assert "◐ cluster2 (bastion03) stale since" in mesh_text(app)
        message = str(app.query_one(ServicesPane).query_one("#services-message").render())
        assert "cluster2 (bastion03) stale since" in message and "last known state" in message
        assert "stale     cluster2: stale since" in backends_summary(app)
        assert "1 stale" in str(app.query_one("#header").render())
        # Writes to it are refused with the reason; the other cluster still answers keys.
        await pilot.press("2")
        await wait_for(pilot, lambda: "seen from cluster2" in backends_summary(app))
        assert app.check_action("toggle_shared", ()) is None
        assert "bastion03 is stale since" in app.write_block_reason("toggle_shared")
        assert "disabled: bastion03 is stale since" in backends_summary(app)
        await pilot.press("1")
        await wait_for(pilot, lambda: "seen from cluster1" in backends_summary(app))
        assert app.check_action("toggle_shared", ()) is True
        # A change made meanwhile shows once the API is back.
        await asyncio.to_thread(fault, sim, "heal", "all")
        await wait_for(pilot, lambda: "stale" not in contexts_text(app), timeout=SLOW)
        assert "bastion03    cluster2 #2   cilium 1.14.1   ok" in contexts_text(app)
        assert "stale" not in mesh_text(app) and "stale" not in backends_summary(app)
        assert "stale" not in str(app.query_one("#header").render())
        entries = [e[3] for e in activity(app) if e[1] == "bastion03"]
        assert entries[-2:] == ["ok → stale", "stale → ok"]


async def test_unreachable_from_the_start_is_named_and_the_rest_loads(sim: SimThread) -> None:
    await asyncio.to_thread(fault, sim, "api_down", "cluster2")
    app, _ = kube_app(sim)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "unreachable" in contexts_text(app), timeout=SLOW)
        await wait_for(pilot, lambda: "song/userlist-svc" in services_rows(app), timeout=SLOW)
        # Its Cilium name is unknown (shown as the context in brackets); two lines exactly.
        lines = contexts_text(app).splitlines()
        assert lines[2].startswith("2 ✗ bastion03    (bastion03)") and lines[2].endswith("unreachable")
        assert lines[3].strip() == "connection refused"
        assert "✗ bastion03 unreachable: connection refused" in mesh_text(app)
        row = services_rows(app)["song/userlist-svc"]
        assert row[2] == "unreachable" and "bastion03: unreachable" in row[-1]
        assert "1 context down" in str(app.query_one("#header").render())
        assert "unknown   bastion03: unreachable (its backends are not counted)" in backends_summary(app)


async def test_rbac_forbidden_action_is_disabled_with_its_reason(sim: SimThread, tmp_path) -> None:
    assert sim.mesh is not None
    kubeconfig = tmp_path / "kubeconfig"
    sim.call(sim.mesh.write_kubeconfig, kubeconfig, {"bastion03": "readonly"})
    app, _ = kube_app(sim, kubeconfig=str(kubeconfig))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "song/userlist-svc" in services_rows(app), timeout=SLOW)
        await pilot.press("2")
        await wait_for(pilot, lambda: "disabled in bastion03" in backends_summary(app), timeout=SLOW)
        assert app.check_action("toggle_shared", ()) is None and app.check_action("scale", ()) is None
        reason = app.write_block_reason("toggle_shared")
        assert reason.startswith("bastion03 forbids it:") and "services" in reason
        assert app.screen.active_bindings["h"].enabled is False
        notified: list[str] = []
        app.notify = lambda message, **kw: notified.append(message)  # type: ignore[method-assign]
        await pilot.press("h", "s")
        await pilot.pause()
        assert not isinstance(app.screen, (ConfirmDialog, ScaleDialog))
        assert any("forbids it" in m for m in notified)
        commands = {c.title: c.help for c in app.get_system_commands(app.screen)}
        assert commands["Shared"].startswith("disabled: bastion03 forbids it")
        # The admin context next to it still writes.
        await pilot.press("1")
        await wait_for(pilot, lambda: "seen from cluster1" in backends_summary(app))
        assert app.check_action("toggle_shared", ()) is True
    assert annotations(sim, "bastion03")[SHARED] == "true"
    assert replicas(sim, "bastion03") == 1


async def test_synchronizing_until_a_slow_cluster_answers(sim: SimThread) -> None:
    # bastion03 holds every answer until the heal; timeouts far beyond the test's waits, so it
    # is still syncing (not yet timed out) however slowly a loaded machine draws the first rows.
    patient = dataclasses.replace(FAST_HUB, timeouts=Timeouts(connect=60.0, read=60.0, exec=2.0))
    await asyncio.to_thread(fault, sim, "api_slow", "cluster2", 120.0)
    app, _ = kube_app(sim, settings=patient)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "song/userlist-svc" in services_rows(app), timeout=SLOW)
        message = str(app.query_one(ServicesPane).query_one("#services-message").render())
        assert "Synchronizing… bastion03 not synced yet" in message
        assert "No global" not in message
        assert services_rows(app)["song/userlist-svc"][2] == "syncing…"
        await asyncio.to_thread(fault, sim, "heal", "all")
        await wait_for(pilot, lambda: synced(app), timeout=SLOW)


@pytest.fixture
def threads_checked() -> Iterator[None]:
    """No thread started by the test outlives it (checked after its event loop closed)."""
    with no_threads_left():
        yield


async def test_demo_source_starts_the_simulator_after_the_first_frame_and_quit_stops_it(
    threads_checked: None,
) -> None:
    from tui.demo import DemoSource

    source = DemoSource("seed", settings=FAST_HUB, **SIM_KWARGS)
    app = MeshtuiApp(source, kubeconfig_label=source.kubeconfig_label, refresh_interval=0.02)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: synced(app), timeout=SLOW)
        assert source.sim is not None and app.first_frame_at is not None
        header = str(app.query_one("#header").render())
        assert f"kubeconfig: simulated (seed) {source.kubeconfig}" in header
        kubeconfig = Path(source.kubeconfig or "")
        assert kubeconfig.exists()
        await pilot.press("q")
    assert source.sim is None and not kubeconfig.exists()


async def test_quit_while_the_simulator_is_still_starting_leaves_nothing_behind(
    threads_checked: None,
) -> None:
    from tui.demo import DemoSource

    source = DemoSource("seed", settings=FAST_HUB, **SIM_KWARGS)
    app = MeshtuiApp(source, kubeconfig_label=source.kubeconfig_label, refresh_interval=0.02)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: app._start_task is not None, pilot=pilot)
        assert "starting the simulator (seed)" in contexts_text(app) or app.source_started
        await pilot.press("q")
    assert source.sim is None


async def test_no_token_ever_reaches_the_screen(sim: SimThread) -> None:
    doc = yaml.safe_load(Path(sim.kubeconfig_path).read_text())
    tokens = [u["user"]["token"] for u in doc["users"]]
    assert tokens and all(len(t) > 8 for t in tokens)
    app, _ = kube_app(sim)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: synced(app), timeout=SLOW)
        screens = [app.export_screenshot()]
        for keys in (("question_mark",), ("escape", "a", "l"), ("escape",), ("colon",)):
            await pilot.press(*keys)
            await pilot.pause(0.2)
            screens.append(app.export_screenshot())
        # Failures quote the server's answer: make the next patch fail.
        assert sim.mesh is not None
        cluster = sim.mesh.cluster("bastion02")

        async def refuse_patch(request: web.Request) -> web.Response | None:
            if request.method != "PATCH":
                return None
            status = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 500}
            return web.json_response({**status, "message": "injected failure"}, status=500)

        sim.call(lambda: cluster.request_hooks.append(refuse_patch))
        await pilot.press("escape", "g", "y")
        await wait_for(pilot, lambda: activity(app)[-1][4].startswith("failed"), timeout=SLOW)
        screens.append(app.export_screenshot())
    for screen in screens:
        for token in tokens:
            assert token not in screen


async def test_an_agent_list_read_again_after_a_change_is_no_longer_marked_old(sim: SimThread) -> None:
    """A label change makes a new service object (the agent's list stays the same): the list on
    screen is marked as read before it until the re-read, then the mark goes, though the answer
    is identical."""
    # Agents and kube-system read rarely, as in production: no later snapshot redraws the pane.
    quiet = dataclasses.replace(FAST_HUB, cilium_interval=60.0, kube_system_poll=60.0)
    source = KubeSource(str(sim.kubeconfig_path), settings=quiet, threaded=True)
    app = MeshtuiApp(source, kubeconfig_label="~/.kube/config-multi", refresh_interval=0.02)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: synced(app), timeout=SLOW)
        assert sim.mesh is not None
        # A fresh read just before the change: the next one waits the minimum interval (2 s), so
        # the "read before the last change" state lasts long enough to be seen on a loaded machine.
        first = app.agent_read_at("bastion02")
        app.action_read_agent()
        await wait_for(pilot, lambda: app.agent_read_at("bastion02") != first, timeout=SLOW)
        cluster = sim.mesh.cluster("bastion02")
        rtype = cluster.registry.by_key("services")
        body = json.dumps({"metadata": {"labels": {"touched": "yes"}}}).encode()
        await asyncio.to_thread(sim.call, lambda: cluster.patch(rtype, "song", "userlist-svc", "merge", body))
        await wait_for(pilot, lambda: app.agent_outdated("bastion02"), timeout=SLOW)
        await wait_for(pilot, lambda: not app.agent_outdated("bastion02"), timeout=SLOW)
        await pilot.pause(0.2)
        summary = backends_summary(app)
        assert "cilium service list agrees" in summary and "before the last change" not in summary
