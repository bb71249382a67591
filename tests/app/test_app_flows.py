"""Pilot tests of the app against a StaticSource: what an operator sees and does."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import pytest
from apphelpers import (
    activity,
    backends_rows,
    backends_summary,
    contexts_text,
    frozen_clock,
    make_app,
    mesh_text,
    services_rows,
    wait_for,
    with_second_service,
)
from meshmodels import (
    replace_cluster,
)
from staticsource import StaticSource
from testkit import settle, until
from textual.widgets import Static

from tui.app import MeshtuiApp
from tui.compat.textual_private import notifications
from tui.mesh.actions import Scale, SetAnnotation, WriteResult
from tui.mesh.model import Backend, MeshSnapshot, frozen_map
from tui.screens.affinity import AffinityMenu
from tui.screens.confirm import ConfirmDialog
from tui.screens.help import HelpScreen
from widgets.backends import BackendsPane
from widgets.services import ServicesPane
from widgets.tables import KeyedTable

SIZE = (160, 48)


async def test_select_service_shows_its_backends_and_shares() -> None:
    app, _ = make_app(with_second_service())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        rows = services_rows(app)
        assert list(rows) == ["song/rebel-base", "song/userlist-svc"]
        assert "cluster2: shared=false" in rows["song/rebel-base"][-1]
        # The first row (rebel-base) is selected: only cluster1's backends are used from cluster1.
        assert "song/rebel-base" in backends_summary(app)
        assert "cluster1 ████████████████████ 100%" in backends_summary(app)
        assert "excluded  cluster2: shared=false" in backends_summary(app)
        rebel = backends_rows(app)
        assert rebel["10.2.0.50:80"][4] == "✗"  # cluster2's backend not selected
        assert rebel["10.2.0.50:80"][-1] == "cluster2: shared=false"
        await pilot.press("down")
        await wait_for(pilot, lambda: "song/userlist-svc" in backends_summary(app))
        assert set(backends_rows(app)) == {"10.1.0.12:8181", "10.2.0.33:8181"}
        assert "cluster1 ██████████ 50%" in backends_summary(app)


def table_addresses(app: MeshtuiApp) -> list[str]:
    """The IP:PORT column of every row the Backends table holds, top to bottom."""
    table = app.query_one(BackendsPane).table
    return [str(table.get_row_at(i)[2]) for i in range(table.row_count)]


def synced(table: KeyedTable) -> tuple[bool, int, int]:
    """Whether any sync in ``table.sync_log`` rebuilt the table, and the rows removed and added."""
    log = table.sync_log
    return any(s.rebuilt for s in log), sum(s.removed for s in log), sum(s.added for s in log)


async def test_another_service_overwrites_the_backends_rows_in_place() -> None:
    """Rows are kept by position: a new selection rewrites their cells, drops the extra rows
    or appends the missing ones; nothing of the previous service is left on screen."""
    app, _ = make_app(with_second_service(), agent_lists=None)
    rebel = ["10.1.0.50:80", "10.1.0.51:80", "10.2.0.50:80", "10.2.0.51:80"]
    userlist = ["10.1.0.12:8181", "10.2.0.33:8181"]
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert table_addresses(app) == rebel
        assert list(backends_rows(app)) == rebel
        table = app.query_one(BackendsPane).table
        # userlist-svc's addresses are longer: the IP:PORT column grows (and stays so)
        await pilot.press("down")
        await wait_for(pilot, lambda: "song/userlist-svc" in backends_summary(app))
        assert table_addresses(app) == userlist
        table.sync_log = []  # what the next selections did to the table (later syncs too)
        await pilot.press("up")
        await wait_for(pilot, lambda: "song/rebel-base" in backends_summary(app))
        assert table_addresses(app) == rebel
        assert synced(table) == (False, 0, 2)
        assert backends_rows(app)["10.2.0.50:80"][-1] == "cluster2: shared=false"
        assert "userlist-6c9f7d8b5-9kq2z" not in app.export_screenshot()
        table.sync_log = []
        table.move_cursor(row=1)
        await pilot.press("down")
        await wait_for(pilot, lambda: "song/userlist-svc" in backends_summary(app))
        assert table_addresses(app) == userlist
        assert synced(table) == (False, 2, 0)
        assert table.cursor_row == 0  # another service's rows are read from the top
        assert backends_rows(app)["10.2.0.33:8181"][:2] == ["cluster2", "userlist-6c9f7d8b5-9kq2z"]
        screen = app.export_screenshot()
        assert "10.2.0.33:8181" in screen and "rebel-base-2b" not in screen and "10.1.0.50" not in screen


async def test_affinity_local_is_confirmed_written_and_shown_from_the_watch() -> None:
    app, source = make_app(apply_delay=None)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, AffinityMenu)
        await pilot.press("l")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog)
        text = " ".join(str(s.render()) for s in dialog.query(".confirm-action"))
        assert "bastion02 (cluster1)" in text
        assert "song" in text
        assert "service userlist-svc" in text
        assert "service.cilium.io/affinity: (unset) → local" in text
        assert (
            "kubectl --context bastion02 -n song annotate service userlist-svc "
            "service.cilium.io/affinity=local --overwrite" in text
        )
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(activity(app)) and activity(app)[-1][4] != "sent…")
        assert source.writes == [
            SetAnnotation(
                "bastion02", "song", "userlist-svc", "service.cilium.io/affinity", "local", old=None
            )
        ]
        entry = activity(app)[-1]
        assert entry[1:4] == [
            "bastion02",
            "svc song/userlist-svc",
            "service.cilium.io/affinity: (unset) → local",
        ]
        assert entry[4] == "ok, waiting for watch…"
        # Not guessed: until the snapshot carries it, the pane still says affinity none.
        assert "affinity none" in backends_summary(app)
        source.release()
        await wait_for(pilot, lambda: "affinity local" in backends_summary(app))
        assert "cluster1 ████████████████████ 100%" in backends_summary(app)
        assert services_rows(app)["song/userlist-svc"][1] == "global shared local  1 rdy"
        assert activity(app)[-1][4] == "applied (seen in watch)"


async def test_affinity_everywhere_writes_every_cluster() -> None:
    app, source = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("a", "asterisk", "r")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        assert [a.context for a in app.screen.actions] == ["bastion02", "bastion03"]
        await pilot.press("y")
        await wait_for(pilot, lambda: len(source.writes) == 2)
        assert {a.value for a in source.writes} == {"remote"}


async def test_cancel_writes_nothing() -> None:
    app, source = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("g")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmDialog)
        assert source.writes == []
        assert activity(app) == []


async def test_plus_and_minus_scale_by_one() -> None:
    app, source = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("plus")
        await pilot.pause()
        assert app.screen.actions == (Scale("bastion02", "song", "userlist", 2, old=1),)
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(backends_rows(app)) == 3)
        await pilot.press("minus")
        await pilot.pause()
        assert app.screen.actions == (Scale("bastion02", "song", "userlist", 1, old=2),)
        await pilot.press("escape")
        await pilot.pause()
        assert len(source.writes) == 1


async def test_failed_write_lands_in_the_log() -> None:
    app, source = make_app()
    source.fail = lambda action: WriteResult(
        action, ok=False, status=409, message="Operation cannot be fulfilled: the object has been modified"
    )
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("g", "y")
        await wait_for(pilot, lambda: bool(activity(app)) and activity(app)[-1][4].startswith("failed"))
        assert (
            activity(app)[-1][4] == "failed 409: Operation cannot be fulfilled: the object has been modified"
        )
        assert "global shared (unset)" in services_rows(app)["song/userlist-svc"][1]


async def test_filter_and_show_all() -> None:
    app, _ = make_app(with_second_service())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("A")
        await wait_for(pilot, lambda: "default/kubernetes" in services_rows(app))
        await pilot.press("slash")
        await pilot.press(*"kube")
        await wait_for(
            pilot,
            lambda: (
                set(services_rows(app))
                == {"default/kubernetes", "kube-system/kube-dns", "kube-system/clustermesh-apiserver"}
            ),
        )
        # Typing in the filter box does not trigger app keys (q, a...).
        await pilot.press("enter")
        await pilot.press("escape")
        await wait_for(pilot, lambda: len(services_rows(app)) == 5)
        await pilot.press("A")
        await wait_for(pilot, lambda: len(services_rows(app)) == 2)
        app.query_one(ServicesPane).set_filter("shared=false")  # typed key by key above
        await wait_for(pilot, lambda: list(services_rows(app)) == ["song/rebel-base"])
        # the drawn cells are kept for the rows drawn now only (not for earlier views' rows)
        pane = app.query_one(ServicesPane)
        assert {row.key_text for row, _ in pane._cell_cache.values()} == {"song/rebel-base"}


@pytest.mark.smoke
async def test_help_screen_lists_remapped_keys_and_closes() -> None:
    # Ids of dialog bindings remap too (README: Keys): the affinity menu's "local" moves to o.
    app, _ = make_app(keymap={"affinity": "f", "affinity.local": "o"})
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert ("f", "affinity") in {(row[0], row[1]) for row in app.screen.keys}
        keys = {row[1] for row in app.screen.keys}
        assert {
            "affinity",
            "global",
            "shared",
            "scale",
            "+1",
            "-1",
            "scale 0",
            "curl",
            "filter",
            "help",
        } <= keys
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)
        # The keymap remaps by binding id: f now opens the affinity menu.
        await pilot.press("f")
        await pilot.pause()
        assert isinstance(app.screen, AffinityMenu)
        await pilot.press("l")  # no longer "local"
        await pilot.pause()
        assert isinstance(app.screen, AffinityMenu)
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        assert "service.cilium.io/affinity: (unset) → local" in app.screen.actions[0].describe()


async def test_palette_offers_every_action_cluster_and_service() -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for title in (
            "Affinity",
            "Global",
            "Shared",
            "Scale",
            "+1",
            "-1",
            "Scale 0",
            "Curl",
            "Filter",
            "All services",
            "Help",
            "View from bastion03 (cluster2)",
            "Service song/userlist-svc",
        ):
            assert title in titles


async def test_update_touches_only_changed_cells() -> None:
    app, source = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        snap = source.snapshot()
        state = snap.clusters[1]
        svc = state.services[("song", "userlist-svc")]
        extra = Backend("cluster2", "10.2.0.34", 8181, pod="userlist-6c9f7d8b5-zzzzz")
        services = dict(state.services)
        services[svc.key] = dataclasses.replace(svc, backends=(*svc.backends, extra))
        table = app.query_one(ServicesPane).table
        table.sync_log.clear()
        source.push(replace_cluster(snap, dataclasses.replace(state, services=frozen_map(services))))
        await wait_for(pilot, lambda: services_rows(app)["song/userlist-svc"][2].endswith("2 rdy"))
        assert table.sync_log, "the table was synced"
        assert not any(s.rebuilt or s.added or s.removed for s in table.sync_log)
        assert sum(s.updated_cells for s in table.sync_log) == 1
        assert "10.2.0.34:8181" in backends_rows(app)


async def test_keys_answer_while_a_write_hangs() -> None:
    """A slow cluster never blocks the UI: a write that takes seconds leaves keys working."""
    app, source = make_app()
    released = asyncio.Event()
    real_write = source.write

    async def slow_write(action):
        await released.wait()
        return await real_write(action)

    source.write = slow_write  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("g", "y")
        await pilot.pause()
        assert activity(app)[-1][4] == "sent…"
        started = time.monotonic()
        await pilot.press("2")
        await wait_for(pilot, lambda: "seen from cluster2" in backends_summary(app))
        assert time.monotonic() - started < 2.0
        assert activity(app)[-1][4] == "sent…"
        released.set()
        await wait_for(pilot, lambda: activity(app)[-1][4] == "applied (seen in watch)")


async def test_tab_moves_between_panes() -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        order = []
        for _ in range(5):
            await pilot.press("tab")
            focused = app.focused
            assert focused is not None
            order.append(focused.id)
        assert order == ["backends-table", "activity", "contexts", "mesh", "services-table"]
        await pilot.press("shift+tab")
        assert app.focused is not None and app.focused.id == "mesh"


async def test_keys_typed_ahead_of_a_dialog_do_not_start_another_action() -> None:
    app, source = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("g")
        await pilot.pause()
        first = app.screen
        assert isinstance(first, ConfirmDialog)
        await pilot.press("h", "0", "a", "s")  # app keys while the dialog is open: ignored
        await pilot.pause()
        assert app.screen is first and len(app.screen_stack) == 2
        await pilot.press("escape")
        await pilot.pause()
        assert len(app.screen_stack) == 1 and source.writes == []


async def test_scale_to_the_same_count_asks_nothing() -> None:
    app, source = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        notified: list[str] = []
        app.notify = lambda message, **kw: notified.append(message)  # type: ignore[method-assign]
        await pilot.press("s")
        await pilot.pause()
        await pilot.press("enter")  # the prefilled count, unchanged
        await pilot.pause()
        assert len(app.screen_stack) == 1 and source.writes == []
        assert notified == ["userlist is already at 1 replicas"]


class SlowStart(StaticSource):
    """A source whose start waits for the test (the simulator still starting, say)."""

    starting_note = "starting the simulator (seed)"

    def __init__(self, snapshot: MeshSnapshot) -> None:
        super().__init__(MeshSnapshot())
        self.later = snapshot
        self.go = asyncio.Event()

    async def start(self) -> None:
        await self.go.wait()
        await super().start()
        self.push(self.later)


async def test_panes_say_what_they_wait_for_then_name_kubeconfig_errors() -> None:
    broken = MeshSnapshot(config_errors=("kubeconfig /x does not exist",))
    source = SlowStart(broken)
    app = MeshtuiApp(source, kubeconfig_label="/x", clock=frozen_clock, refresh_interval=0.02)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: app.views is not None and "starting" in contexts_text(app), pilot=pilot)
        message = str(app.query_one(ServicesPane).query_one("#services-message").render())
        assert message == "Synchronizing… starting the simulator (seed)"
        assert contexts_text(app) == "Synchronizing… starting the simulator (seed)"
        assert mesh_text(app) == "Synchronizing… starting the simulator (seed)"
        source.go.set()
        await wait_for(pilot, lambda: "does not exist" in contexts_text(app))
        assert contexts_text(app) == "No contexts.\n✗ kubeconfig /x does not exist"
        assert "✗ kubeconfig: kubeconfig /x does not exist" in mesh_text(app)
        message = str(app.query_one(ServicesPane).query_one("#services-message").render())
        assert message.startswith("No contexts")


async def test_curl_without_exec_says_why() -> None:
    """A source that cannot exec (fixture data) has no curl pane: the slot and ``c`` say so."""
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await wait_for(pilot, lambda: "cannot exec" in app.curl_unavailable)
        assert app.curl_pane is None
        placeholder = app.query_one("#curl-placeholder", Static)
        assert str(placeholder.content).startswith("no curl loops: this source cannot exec into pods")
        await pilot.press("c")
        await pilot.pause()
        messages = [n.message for n in notifications(app)]
        assert any(m.startswith("no curl loops: this source cannot exec") for m in messages)
