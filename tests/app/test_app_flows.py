"""Pilot tests of the app against a StaticSource: what an operator sees and does."""

from __future__ import annotations

import asyncio
import dataclasses
import time

from apphelpers import (
    activity,
    backends_rows,
    backends_summary,
    contexts_text,
    make_app,
    mesh_text,
    services_rows,
    settle,
    wait_for,
)
from textual.widgets import Input

from tui.fixtures import (
    GLOBAL,
    SHARED,
    forbidden_snapshot,
    replace_cluster,
    seed_snapshot,
    syncing_snapshot,
    unreachable_snapshot,
)
from tui.mesh.actions import Scale, SetAnnotation, WriteResult
from tui.mesh.model import Backend, Service, ServicePort, frozen_map
from tui.screens.affinity import AffinityMenu
from tui.screens.confirm import ConfirmDialog
from tui.screens.help import HelpScreen
from tui.screens.scale import ScaleDialog
from widgets.services import ServicesPane

SIZE = (160, 48)


def with_second_service():
    """The seed plus song/rebel-base: global in both, not shared in cluster2."""
    snap = seed_snapshot()
    states = []
    for index, state in enumerate(snap.clusters, start=1):
        shared = "true" if index == 1 else "false"
        svc = Service(
            "song",
            "rebel-base",
            annotations=frozen_map({GLOBAL: "true", SHARED: shared}),
            ports=(ServicePort(80, 80),),
            backends=(
                Backend(state.cluster, f"10.{index}.0.50", 80, pod=f"rebel-base-{index}a"),
                Backend(state.cluster, f"10.{index}.0.51", 80, pod=f"rebel-base-{index}b"),
            ),
        )
        services = dict(state.services)
        services[svc.key] = svc
        states.append(dataclasses.replace(state, services=frozen_map(services)))
    return dataclasses.replace(snap, clusters=tuple(states))


async def test_first_frame_shows_every_pane() -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = contexts_text(app)
        assert "bastion02" in text and "cluster1 #1" in text and "cilium 1.14.1" in text
        assert "mesh 1/1 connected" in text
        mesh = mesh_text(app)
        assert "1/1 ✓" in mesh and "172.30.1.89:32379 (NodePort)" in mesh
        assert "cilium clustermesh enable --context bastion02 --service-type LoadBalancer" in mesh
        rows = services_rows(app)
        assert list(rows) == ["song/userlist-svc"]
        assert rows["song/userlist-svc"][1] == "global shared none  1 rdy"
        backends = backends_rows(app)
        assert set(backends) == {"10.1.0.12:8181", "10.2.0.33:8181"}
        summary = backends_summary(app)
        assert "seen from cluster1 (bastion02)" in summary
        assert "cluster1 ██████████ 50%" in summary and "cluster2 ██████████ 50%" in summary


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


async def test_take_cluster2_out_with_shared_off() -> None:
    app, source = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await wait_for(pilot, lambda: "seen from cluster2 (bastion03)" in backends_summary(app))
        await pilot.press("h")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        assert "no longer be used" in str(app.screen.query_one("#confirm-warning").render())
        await pilot.press("enter")
        await wait_for(pilot, lambda: "cluster2: shared=false" in services_rows(app)["song/userlist-svc"][-1])
        assert source.writes[-1] == SetAnnotation(
            "bastion03", "song", "userlist-svc", SHARED, "false", old="true"
        )
        # From cluster2 it still uses cluster1's backends; from cluster1 only its own now.
        assert "cluster2 ██████████ 50%" in backends_summary(app)
        await pilot.press("1")
        await wait_for(pilot, lambda: "seen from cluster1" in backends_summary(app))
        assert "cluster1 ████████████████████ 100%" in backends_summary(app)


async def test_scale_dialog_prefilled_then_zero_moves_traffic() -> None:
    app, source = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ScaleDialog)
        box = dialog.query_one(Input)
        assert box.value == "1"
        box.value = "0"
        await pilot.press("enter")
        await pilot.pause()
        confirm = app.screen
        assert isinstance(confirm, ConfirmDialog)
        assert confirm.actions == (Scale("bastion02", "song", "userlist", 0, old=1),)
        text = str(confirm.query_one(".confirm-action").render())
        assert "kubectl --context bastion02 -n song scale deployment/userlist --replicas=0" in text
        await pilot.press("enter")
        await wait_for(pilot, lambda: "10.1.0.12:8181" not in backends_rows(app))
        assert "cluster2 ████████████████████ 100%" in backends_summary(app)
        assert services_rows(app)["song/userlist-svc"][1].endswith("0 rdy")
        assert source.writes == [Scale("bastion02", "song", "userlist", 0, old=1)]


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
        assert "global shared none" in services_rows(app)["song/userlist-svc"][1]


async def test_read_only_hides_write_bindings_and_refuses() -> None:
    app, source = make_app(read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        shown = {b.binding.action for b in app.screen.active_bindings.values()}
        assert "affinity" not in shown and "toggle_shared" not in shown and "scale" not in shown
        assert app.check_action("affinity", ()) is False
        await pilot.press("a", "g", "h", "s", "0", "plus")
        await pilot.pause()
        assert not isinstance(app.screen, (AffinityMenu, ConfirmDialog, ScaleDialog))
        app.confirm_and_write([SetAnnotation("bastion02", "song", "userlist-svc", GLOBAL, "false")])
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmDialog)
        assert source.writes == []
        result = await source.write(SetAnnotation("bastion02", "song", "userlist-svc", GLOBAL, "false"))
        assert result.refused and not result.ok
        assert "read-only" in str(app.query_one("#header").render())
        commands = [c.title for c in app.get_system_commands(app.screen)]
        assert "Affinity" not in commands and "Help" in commands


async def test_forbidden_action_is_disabled_with_its_reason() -> None:
    app, source = make_app(forbidden_snapshot())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.check_action("toggle_shared", ()) is True  # bastion02 allows it
        await pilot.press("2")
        await wait_for(pilot, lambda: "seen from cluster2" in backends_summary(app))
        assert app.check_action("toggle_shared", ()) is None
        assert app.check_action("scale", ()) is None
        reason = app.write_block_reason("toggle_shared")
        assert 'cannot patch resource "services"' in reason and "bastion03" in reason
        active = app.screen.active_bindings["h"]
        assert active.enabled is False
        assert "disabled in bastion03" in backends_summary(app)
        notified = []
        app.notify = lambda message, **kw: notified.append(message)  # type: ignore[method-assign]
        await pilot.press("h")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmDialog)
        assert any('cannot patch resource "services"' in m for m in notified)
        commands = {c.title: c.help for c in app.get_system_commands(app.screen)}
        assert commands["Shared"].startswith("disabled:")
        assert source.writes == []


async def test_unreachable_cluster_shows_in_every_pane() -> None:
    app, source = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        source.push(unreachable_snapshot())
        await wait_for(pilot, lambda: "unreachable" in contexts_text(app))
        text = contexts_text(app)
        assert "bastion03    cluster2 #2   cilium 1.14.1   unreachable" in text
        assert "dial tcp 172.30.1.85:6443: connect: connection refused" in text
        mesh = mesh_text(app)
        assert "0/1 ✗" in mesh and "context deadline exceeded" in mesh
        assert "unreachable" in mesh
        row = services_rows(app)["song/userlist-svc"]
        assert row[2] == "unreachable"
        assert "cluster2: unreachable" in row[-1]
        assert "1 context down" in str(app.query_one("#header").render())
        assert activity(app)[-1][1:4] == ["bastion03", "cluster", "ok → unreachable"]
        await pilot.press("2")
        await wait_for(
            pilot, lambda: "seen from" in backends_summary(app) and "bastion03" in backends_summary(app)
        )
        assert "unreachable" in backends_summary(app)
        assert app.check_action("toggle_shared", ()) is None
        # The UI still answers for the other cluster.
        await pilot.press("1")
        await wait_for(pilot, lambda: "seen from cluster1" in backends_summary(app))


async def test_synchronizing_until_a_cluster_answers() -> None:
    app, source = make_app(syncing_snapshot())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.query_one(ServicesPane)
        message = str(pane.query_one("#services-message").render())
        assert "Synchronizing…" in message and "No global" not in message
        assert "Synchronizing…" in contexts_text(app)
        state = dataclasses.replace(seed_snapshot().clusters[0])
        source.push(replace_cluster(syncing_snapshot(), state))
        await wait_for(pilot, lambda: "song/userlist-svc" in services_rows(app))
        message = str(pane.query_one("#services-message").render())
        assert "bastion03" in message or "(bastion03)" in message


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


async def test_help_screen_lists_keys_and_closes() -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
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


async def test_keymap_remaps_by_binding_id() -> None:
    app, _ = make_app(keymap={"affinity": "f"})
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f")
        await pilot.pause()
        assert isinstance(app.screen, AffinityMenu)
        assert ("f", "affinity") in {(row[0], row[1]) for row in app.key_help()}


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


async def test_unknown_cluster_named_in_the_backends_pane() -> None:
    app, _ = make_app(unreachable_snapshot())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "unknown   cluster2: unreachable (its backends are not counted)" in backends_summary(app)


def test_parse_keymap() -> None:
    from tui.app import parse_keymap

    assert parse_keymap("affinity=f; palette=colon,ctrl+p;;bad") == {
        "affinity": "f",
        "palette": "colon,ctrl+p",
    }
