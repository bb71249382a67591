"""Hostile input in the app: markup is text, no control character reaches the terminal, and a
failure while drawing is shown instead of freezing the panes (issue 17, points 1 and 2).

Two sources of payloads: a fixture snapshot with :data:`hostilehelp.PAYLOAD` in every field
the panes draw (cluster and remote names, Cilium version, pod name, annotation value, agent
errors, a cluster's reason, a kubeconfig error, a server's write error), driven through every
dialog at three terminal sizes; and the seed simulator whose clusters send the payload over
the API (cilium-config ``cluster-name``, an annotation, a curl answer's body), read through
``KubeSource`` as ``meshtui --kubeconfig`` does. Each screen is exported as Textual renders it
(``export_screenshot``) and searched for raw control characters and for the literal text.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Iterator

import pytest
from apphelpers import make_app, mesh_text, screen_text, wait_for
from hostilehelp import (
    CLEAR,
    MARKUP,
    MARKUP_WORD,
    PAYLOAD,
    SHOWN,
    hostile_cluster,
    hostile_snapshot,
    raw_controls,
)
from reliabilityhelp import REL_HUB, seed_sim
from testkit import settle, until
from textual.pilot import Pilot

from tui.app import MeshtuiApp
from tui.kube.source import KubeSource
from tui.mesh.actions import WriteAction, WriteResult
from tui.sim.mesh import SimThread
from widgets.activity import ActivityLog
from widgets.services import ServicesPane

SLOW = 20.0


def check_screen(app: MeshtuiApp, *expected: str) -> str:
    """The screen holds no raw control character and shows each of ``expected`` literally."""
    assert app.is_running, "the app ended"
    svg = app.export_screenshot()
    assert raw_controls(svg) == [], f"raw control characters on screen: {raw_controls(svg)}"
    text = screen_text(svg)
    flat = text.replace("\n", "")
    for words in expected:
        assert words in flat, f"{words!r} is not on screen:\n{text}"
    return text


async def check_screen_soon(pilot: Pilot, app: MeshtuiApp, *expected: str, timeout: float = 5.0) -> str:
    """:func:`check_screen` once the screen shows each of ``expected`` (polled, instead of a
    fixed pause after a key: as quick as the app is, bounded when it is slow)."""

    def shows() -> bool:
        flat = screen_text(app.export_screenshot()).replace("\n", "")
        return all(words in flat for words in expected)

    await until(shows, timeout, 0.05, pilot=pilot, describe=lambda: screen_text(app.export_screenshot()))
    return check_screen(app, *expected)


def refuse_with_payload(action: WriteAction) -> WriteResult:
    """The server answers every write with an error body carrying the payload."""
    return WriteResult(action, ok=False, message=f"Internal error: {PAYLOAD}", status=500)


@pytest.mark.parametrize("size", [(100, 30), (160, 48), (200, 50)])
async def test_every_drawn_field_shows_markup_and_escapes_literally(size: tuple[int, int]) -> None:
    app, source = make_app(hostile_snapshot())
    app.kubeconfig_label = f"/tmp/{PAYLOAD}"  # a path the user gave, drawn in the header
    source.fail = refuse_with_payload
    async with app.run_test(size=size, notifications=True) as pilot:
        await settle(pilot)
        check_screen(app, MARKUP_WORD, CLEAR)
        assert SHOWN[:40] in mesh_text(app).replace("\n", "")
        await pilot.press("2")  # view from the hostile cluster: its name in the border title
        await settle(pilot)
        check_screen(app, "seen from cluster2x[/][bold")
        await pilot.press("a")  # affinity dialog: the annotation value as "now"
        await check_screen_soon(pilot, app, f"now: '{MARKUP_WORD}")
        assert len(app.screen_stack) == 2
        await pilot.press("l")  # local: confirmation naming the hostile old value
        await check_screen_soon(pilot, app, "Apply this change?", MARKUP_WORD)
        await pilot.press("y")  # the server refuses with the payload: notification + log
        await wait_for(
            pilot, lambda: any("failed" in e[4] for e in app.query_one(ActivityLog).entries.values())
        )
        await check_screen_soon(pilot, app, f"error: {MARKUP_WORD}")
        entry = next(iter(app.query_one(ActivityLog).entries.values()))
        assert MARKUP in entry[4] and CLEAR in entry[4] and raw_controls(entry[4]) == []
        await pilot.press("h")  # shared off: the warning names the hostile cluster
        await check_screen_soon(pilot, app, "Apply this change?")
        await pilot.press("escape")
        await until(lambda: len(app.screen_stack) == 1, 5.0, pilot=pilot)
        await pilot.press("s")  # scale dialog
        await check_screen_soon(pilot, app, "Scale deployment song/userlist")
        await pilot.press("escape")
        await until(lambda: len(app.screen_stack) == 1, 5.0, pilot=pilot)
        await pilot.press("colon")  # the palette lists contexts and services by name
        await until(lambda: len(app.screen_stack) == 2, 5.0, pilot=pilot)
        await pilot.press(*"view")
        await check_screen_soon(pilot, app, f"View from bastion03 (cluster2{MARKUP_WORD}")
        await pilot.press("escape")
        await until(lambda: len(app.screen_stack) == 1, 5.0, pilot=pilot)
        await pilot.press("slash", *"[/]zz")  # a filter typed by the user, shown in the subtitle
        await check_screen_soon(pilot, app, "No service matches '[/]zz'")
        await pilot.press("escape")
        await settle(pilot)
        check_screen(app)
        assert app.view_failures == 0


async def test_a_failing_apply_is_shown_and_the_panes_keep_updating() -> None:
    """A drawing that raises leaves neither a frozen screen nor a silent one."""
    app, source = make_app()
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await settle(pilot)
        pane = app.query_one(ServicesPane)
        real_show = pane.show
        broken = [True]

        def show(*args: object, **kwargs: object) -> None:
            if broken[0]:
                raise ValueError(f"boom {PAYLOAD}")
            real_show(*args, **kwargs)  # type: ignore[arg-type]

        pane.show = show  # type: ignore[method-assign]
        pane.view = None  # the next apply redraws it (and fails)
        snapshot = source.snapshot()
        c1 = snapshot.clusters[0]
        service = c1.services[("song", "userlist-svc")]
        changed = dataclasses.replace(
            service, annotations={**service.annotations, "service.cilium.io/affinity": "local"}
        )
        c1 = dataclasses.replace(c1, services={**c1.services, service.key: changed})
        source.push(dataclasses.replace(snapshot, clusters=(c1, *snapshot.clusters[1:])))
        await until(lambda: app.view_failures > 0, 5.0)
        await pilot.pause(0.2)
        check_screen(app, "display error while drawing the panes", MARKUP_WORD)
        broken[0] = False
        source.push(source.snapshot())  # the next snapshot is drawn: nothing stayed stuck
        await until(lambda: not app.view_error, 5.0)
        await settle(pilot)
        row = pane.table.shown["song/userlist-svc"]
        assert str(row[1]).startswith("global shared local"), row


# -- the same payloads from the simulator's API servers ------------------------------------------


@pytest.fixture
def sim() -> Iterator[SimThread]:
    with seed_sim() as running:
        yield running


async def test_payloads_sent_by_a_cluster_through_the_api(sim: SimThread) -> None:
    await asyncio.to_thread(hostile_cluster, sim)
    source = KubeSource(str(sim.kubeconfig_path), settings=REL_HUB, threaded=True)
    app = MeshtuiApp(source, kubeconfig_label="~/.kube/config-multi", refresh_interval=0.02)
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await until(lambda: MARKUP in mesh_text(app), SLOW)
        check_screen(app, MARKUP_WORD, CLEAR)
        await pilot.press("2")
        await until(lambda: app.viewing == "bastion03", 5.0)
        await check_screen_soon(pilot, app, f"seen from {MARKUP_WORD}")
        # curl loops: bastion03's backend answers with the payload
        await until(lambda: app.curl_pane is not None, SLOW)
        curl = app.curl
        curl.interval = 0.1
        app.query_one("#services-table").focus()
        await pilot.press("c")
        started = time.monotonic()
        await until(
            lambda: curl.session is not None and any(MARKUP in str(a.body) for a in list(curl.session.log)),
            SLOW,
        )
        pane = app.curl_pane
        assert pane is not None

        def curl_log() -> str:
            return pane.log_widget.plain

        await until(lambda: MARKUP in curl_log(), SLOW, pilot=pilot)  # the curl pane repainted
        check_screen(app, MARKUP_WORD)
        assert time.monotonic() - started < SLOW
        await pilot.press("c")
        await until(lambda: not curl.session.running, SLOW)
        # a path typed by the user with markup in it: refused, the refusal shown literally
        app.action_curl_path()
        await until(lambda: len(app.screen_stack) == 2, 5.0, pilot=pilot)
        await pilot.press("end", *"[/]", "enter")
        await check_screen_soon(pilot, app, "path '/users/1[/]' has characters that are not allowed")
        await pilot.press("escape")
        await until(lambda: len(app.screen_stack) == 1, 5.0, pilot=pilot)
        check_screen(app)
        assert app.is_running and app.view_failures == 0
