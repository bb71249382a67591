"""Nothing the operator needs is cut without a way to read it whole: the Backends WHY column,
the activity ticker, the affinity dialog's title."""

from __future__ import annotations

from apphelpers import activity, backends_rows, make_app, screen_text, wait_for
from meshmodels import apply_write, findings_snapshot, seed_snapshot
from testkit import settle

from tui.mesh.actions import SetAnnotation
from tui.screens.affinity import AffinityMenu
from tui.screens.confirm import ActionBlock, ConfirmDialog
from tui.screens.details import DetailsDialog
from widgets.backends import BackendsPane, middle_cut
from widgets.services import ServicesPane

LOCAL = SetAnnotation("bastion02", "song", "userlist-svc", "service.cilium.io/affinity", "local")
REMOTE = "10.2.0.33:8181"
WHY = "remote, not preferred: local backends active"


async def test_backends_at_80_columns_keep_the_why_whole_and_enter_shows_the_row() -> None:
    app, _ = make_app(apply_write(seed_snapshot(), LOCAL))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await wait_for(pilot, lambda: REMOTE in backends_rows(app))
        table = app.query_one(BackendsPane).table
        # every column in view (no sideways scrolling), WHY wide enough, rows tall enough
        assert table.virtual_size.width <= table.scrollable_content_region.width
        assert backends_rows(app)[REMOTE][-1] == WHY
        screen = screen_text(app.export_screenshot())
        assert "remote, not preferred:" in screen and "local backends active" in screen
        # what the narrow pane shortened or left out, enter shows whole
        pod = "userlist-6c9f7d8b5-9kq2z"
        assert pod not in screen
        table.focus()
        table.move_to_key(str(app.query_one(BackendsPane).row_ids.index(REMOTE)))
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailsDialog)
        fields = dict(app.screen.fields)
        assert fields["pod"] == pod and fields["address"] == REMOTE
        assert fields["why"].startswith(WHY)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, DetailsDialog)


def test_middle_cut_keeps_the_unique_end() -> None:
    assert middle_cut("userlist-6c9f7d8b5-9kq2z", 14) == "userli…5-9kq2z"
    assert middle_cut("short", 14) == "short"


async def test_activity_ticker_puts_the_outcome_first() -> None:
    app, _ = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("a", "l", "enter")
        await wait_for(pilot, lambda: bool(activity(app)) and activity(app)[-1][4].startswith("applied"))
        await settle(pilot)
        screen = [" ".join(ln.split()) for ln in screen_text(app.export_screenshot()).splitlines()]
        line = next(ln for ln in screen if ln.startswith("L 16:00:01"))
        # (the SVG drops the space between two differently styled runs: compare words)
        assert line.replace("16:00:01applied", "16:00:01 applied").startswith(
            "L 16:00:01 applied (seen in watch) · bastion02 svc song/userlist-svc"
        )
        assert line.endswith("…")  # the rest, cut visibly; L shows the whole log
        await pilot.press("L")
        await pilot.pause()
        assert "service.cilium.io/affinity: (unset) → local" in screen_text(app.export_screenshot())


async def test_affinity_dialog_title_is_two_whole_lines_at_80_columns() -> None:
    app, _ = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, AffinityMenu)
        # each title line whole between the dialog's borders (█), never cut mid-phrase
        screen = screen_text(app.export_screenshot())
        assert "█Affinity of song/userlist-svc█" in screen
        assert "█in cluster1 (bastion02) · now: not set (none)█" in screen


async def test_services_why_takes_a_second_line_and_enter_shows_the_whole_row() -> None:
    app, _ = make_app(findings_snapshot())
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        pane = app.query_one(ServicesPane)
        why = "; ".join(pane.visible_rows[0].warnings)
        assert len(why) > (pane.table.columns["why"].width)  # longer than its column here
        assert pane.table.row_height == 2 and "enter: whole row" in str(pane.border_subtitle)
        pane.table.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailsDialog)
        fields = dict(app.screen.fields)
        assert fields["why"] == why
        assert fields["cluster3"] == "global unshared (unset)  1 rdy"


async def test_confirm_dialog_cuts_the_kubectl_command_so_it_still_pastes() -> None:
    app, _ = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("a", "l")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        block = app.screen.query_one(ActionBlock)
        lines = block.render().plain.split("equivalent kubectl command:\n")[1].splitlines()
        assert len(lines) > 1 and all(len(line) <= block.content_region.width for line in lines)
        assert lines[0].endswith(" \\")
        pasted = " ".join(line.removesuffix(" \\").strip() for line in lines)
        assert pasted == LOCAL.kubectl()
