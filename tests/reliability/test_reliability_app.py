"""Every simulator fault while the app runs: it survives, shows the fault, keeps the rest live, heals.

One app session (Textual Pilot, ``MeshtuiApp`` on a threaded ``KubeSource`` against the seed
simulator, as ``meshtui --kubeconfig`` runs) goes through the faults one after the other; each is
set from the simulator's side, shown, healed and recovered before the next, so one start-up
serves them all. For each the test measures how long the fault took to show and how long the
picture took to recover after the heal, and records both for the summary table.

Meanwhile: the healthy cluster's changes must keep showing, keys must keep working, no kubeconfig
token may reach the screen or a log (pytest's capture and the ``MESHTUI_LOG`` file the app
writes); afterwards no thread, watch or exec program may be left.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from apphelpers import backends_rows, backends_summary, contexts_text, mesh_text, services_rows, wait_for
from reliabilityhelp import (
    API_DOWN,
    API_ERRORS,
    API_SLOW,
    APISERVER_DOWN,
    LINK_DOWN,
    PERIOD,
    POD_DELETED,
    REL_HUB,
    SHOWN_WITHIN,
    WATCH_EXPIRED,
    WHAT,
    FaultCase,
    Figure,
    delete_pod,
    hms_seconds,
    no_token_in,
    record,
    seed_sim,
    set_affinity,
    set_fault,
    tokens_of_sim,
    wait_nothing_left,
    within_day,
)
from testkit import until
from textual.pilot import Pilot

from tui.app import MeshtuiApp
from tui.kube.source import KubeSource
from tui.sim.mesh import SimThread

SIZE = (160, 48)
ROW = "song/userlist-svc"
COLUMN = {"bastion02": 1, "bastion03": 2}
NAME = {"bastion02": "cluster1", "bastion03": "cluster2"}
SLOW = 15.0
"""Bound for waits that are not measured (start-up, key presses) on a loaded machine."""


@pytest.fixture
def sim() -> Iterator[SimThread]:
    """The seed mesh; no thread the test started (app source, simulator) may outlive it."""
    with seed_sim() as running:
        yield running


def screen(app: MeshtuiApp) -> str:
    """The panes' text (for failure messages)."""
    return f"{contexts_text(app)}\n{mesh_text(app)}\n{services_rows(app)}\n{backends_summary(app)}"


def flat(text: str) -> str:
    """The text with its wrapping undone (a long message wraps in the pane)."""
    return " ".join(text.split())


def context_line(app: MeshtuiApp, context: str) -> str:
    return next((line for line in contexts_text(app).splitlines() if f" {context} " in line), "")


def column(app: MeshtuiApp, context: str) -> str:
    row = services_rows(app).get(ROW)
    return row[COLUMN[context]] if row else ""


def synced(app: MeshtuiApp) -> bool:
    return ROW in services_rows(app) and len(backends_rows(app)) == 2 and "agrees" in backends_summary(app)


def all_ok(app: MeshtuiApp) -> bool:
    lines = [context_line(app, c) for c in COLUMN]
    return all(line.rstrip().endswith(" ok") for line in lines) and "stale" not in mesh_text(app)


def mesh_connected(app: MeshtuiApp) -> bool:
    text = mesh_text(app)
    return (
        contexts_text(app).count("mesh 1/1 connected") == 2
        and " → cluster" not in text
        and "not ready" not in text
    )


STALE = re.compile(r"◐ (\S+) \((\S+)\) stale since (\d\d:\d\d:\d\d): (.*?) — ")


def shown(app: MeshtuiApp, case: FaultCase) -> bool:
    """The fault is on screen: which cluster and what (and since when, for the API faults)."""
    text = flat(mesh_text(app))
    if case.api:
        match = STALE.search(text)
        return (
            " stale" in context_line(app, case.faulty)
            and match is not None
            and match.group(1, 2) == (NAME[case.faulty], case.faulty)
            and WHAT[case.method] in match.group(4)
        )
    if case.method == "link_down":
        return "✗ cluster1 → cluster2:" in text and "context deadline exceeded" in text
    return (  # the clustermesh-apiserver of cluster2 is down
        "deployment clustermesh-apiserver on cluster2 is not ready" in text
        and "✗ cluster1 → cluster2:" in text
        and "connection refused" in text
    )


async def keys_still_work(pilot: Pilot, app: MeshtuiApp) -> None:
    """The app answers keys: view from cluster2, then back to cluster1."""
    await pilot.press("2")
    await until(lambda: "seen from cluster2" in backends_summary(app), SLOW)
    await pilot.press("1")
    await until(lambda: "seen from cluster1" in backends_summary(app), SLOW)


async def fault_case(
    pilot: Pilot, app: MeshtuiApp, sim: SimThread, case: FaultCase, value: str, screens: list[str]
) -> None:
    """Set one fault, see it shown and the healthy cluster live, heal it, see the picture recover."""
    wall, started = time.time(), time.monotonic()
    fault_id = await asyncio.to_thread(set_fault, sim, case.method, *case.args)
    shown_in = await until(
        lambda: shown(app, case), SHOWN_WITHIN, describe=lambda: screen(app), since=started
    )
    screens.append(app.export_screenshot())
    if case.api:
        match = STALE.search(flat(mesh_text(app)))
        assert match is not None
        assert within_day(hms_seconds(match.group(3)), wall, time.time()), match.group(0)
    # The healthy cluster keeps updating; a change in the faulty one shows once it is back.
    await asyncio.to_thread(set_affinity, sim, case.healthy, value)
    await until(lambda: column(app, case.healthy).startswith(f"global shared {value} "), 5.0)
    await asyncio.to_thread(set_affinity, sim, case.faulty, value)
    await keys_still_work(pilot, app)
    await asyncio.to_thread(set_fault, sim, "heal", fault_id)

    def recovered() -> bool:
        picture = all_ok(app) if case.api else mesh_connected(app)
        return picture and column(app, case.faulty).startswith(f"global shared {value} ")

    recovered_in = await until(recovered, PERIOD + SHOWN_WITHIN, describe=lambda: screen(app))
    record(Figure(case.label, "app", app.is_running, shown_in, recovered_in))
    assert shown_in <= SHOWN_WITHIN
    assert recovered_in <= PERIOD, f"{case.label}: recovered in {recovered_in:.2f} s"


async def watch_expiry_case(pilot: Pilot, app: MeshtuiApp, source: KubeSource, sim: SimThread) -> None:
    """Expired watches relist without a sound: nothing to show, and the next change still arrives."""
    reflector = source.hub.clusters["bastion03"].reflectors["services"]
    lists = reflector.lists
    started = time.monotonic()
    await asyncio.to_thread(set_fault, sim, WATCH_EXPIRED.method, *WATCH_EXPIRED.args)
    await asyncio.to_thread(set_affinity, sim, "bastion03", "remote")
    await asyncio.to_thread(set_affinity, sim, "bastion02", "remote")
    seen_stale = False

    def current() -> bool:
        nonlocal seen_stale
        seen_stale = seen_stale or not all_ok(app)
        return column(app, "bastion03").startswith("global shared remote ") and column(
            app, "bastion02"
        ).startswith("global shared remote ")

    recovered_in = await until(current, PERIOD + SHOWN_WITHIN, step=0.01)
    assert reflector.lists > lists, "the expired watch was not followed by a relist"
    await keys_still_work(pilot, app)
    record(
        Figure(WATCH_EXPIRED.label, "app", app.is_running, None, recovered_in, "relist, no outage to show")
    )
    assert not seen_stale, "an expired watch is not an outage"
    assert recovered_in <= PERIOD
    assert time.monotonic() - started < SLOW


async def pod_deleted_case(pilot: Pilot, app: MeshtuiApp, sim: SimThread, screens: list[str]) -> None:
    """``c`` curls from both clusters; bastion02's client pod is deleted: the loop moves on."""
    await until(lambda: app.curl_pane is not None, SLOW)
    pane, curl = app.curl_pane, app.curl
    curl.interval = 0.2  # slow enough that the event line stays in the log's visible lines a while
    app.query_one("#services-table").focus()
    await pilot.press("c")
    await until(
        lambda: (
            curl.session is not None
            and len(curl.session.stats) == 2
            and all(s.total >= 3 for s in curl.session.stats.values())
        ),
        SLOW,
    )
    session = curl.session
    loop = session.loops["bastion02"]
    first = loop.pod
    assert first is not None
    other = session.stats["bastion03"]
    before = other.total
    wall = time.time()
    await asyncio.to_thread(delete_pod, sim, "bastion02", first)
    started = time.monotonic()
    pattern = re.compile(r"(\d\d:\d\d:\d\d)  cluster1  ⟳ reattached to (curltest-\S+)")

    def reattach_shown() -> re.Match[str] | None:
        return pattern.search(pane.log_widget.plain)

    shown_in = await until(lambda: reattach_shown() is not None, SHOWN_WITHIN)
    screens.append(app.export_screenshot())
    match = reattach_shown()
    assert match is not None and match.group(2) != first
    assert within_day(hms_seconds(match.group(1)), wall, time.time()), match.group(0)
    second = match.group(2)
    recovered_in = await until(
        lambda: any(a.context == "bastion02" and a.client_pod == second for a in list(session.log)), SLOW
    )
    recovered_in += shown_in
    await until(lambda: other.total > before, 5.0)  # the other cluster's loop went on meanwhile
    assert time.monotonic() - started < SLOW
    record(Figure(POD_DELETED, "app", app.is_running, shown_in, recovered_in))
    await pilot.press("c")  # stop both loops
    await until(lambda: not session.running, SLOW)
    assert shown_in <= SHOWN_WITHIN
    assert recovered_in <= PERIOD, f"curl loop recovered in {recovered_in:.2f} s"


async def test_every_fault_while_the_app_runs(
    sim: SimThread, app_log: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = tokens_of_sim(sim)
    source = KubeSource(str(sim.kubeconfig_path), settings=REL_HUB, threaded=True)
    app = MeshtuiApp(source, kubeconfig_label="~/.kube/config-multi", refresh_interval=0.02)
    screens: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: synced(app), timeout=SLOW)
        screens.append(app.export_screenshot())
        cases = [API_DOWN, API_SLOW, API_ERRORS, LINK_DOWN, APISERVER_DOWN]
        for case, value in zip(cases, ["local", "remote", "local", "remote", "local"], strict=True):
            await fault_case(pilot, app, sim, case, value, screens)
        await watch_expiry_case(pilot, app, source, sim)
        await pod_deleted_case(pilot, app, sim, screens)
        assert app.is_running
    assert not source._thread, "the source's loop thread was stopped with the app"
    await asyncio.to_thread(wait_nothing_left, sim)
    logs = [r.getMessage() for r in caplog.records] + [caplog.text]
    assert app_log.exists() and app_log.read_text(), "the app wrote no log"
    no_token_in([*screens, *logs, app_log.read_text()], tokens)
