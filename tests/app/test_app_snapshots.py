"""Snapshot tests (pytest-textual-snapshot) of the screens an operator sees.

SVGs live in ``tests/app/__snapshots__``; after a deliberate visual change run
``pytest tests/app --snapshot-update`` and look at the report before committing.
The clock is frozen, TZ is UTC and the input cursor does not blink, so frames are stable.
"""

from __future__ import annotations

from apphelpers import make_app
from meshmodels import findings_snapshot, unreachable_snapshot
from testkit import settle
from textual.pilot import Pilot

WIDE = (160, 48)
SMALL = (100, 30)


def test_main_screen(snap_compare) -> None:
    app, _ = make_app()
    assert snap_compare(app, terminal_size=WIDE, run_before=settle)


def test_main_screen_small_terminal(snap_compare) -> None:
    app, _ = make_app()
    assert snap_compare(app, terminal_size=SMALL, run_before=settle)


def test_help_screen(snap_compare) -> None:
    async def open_help(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    app, _ = make_app()
    assert snap_compare(app, terminal_size=WIDE, run_before=open_help)


def test_confirm_dialog(snap_compare) -> None:
    async def ask(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("a", "l")
        await pilot.pause()

    app, _ = make_app()
    assert snap_compare(app, terminal_size=WIDE, run_before=ask)


def test_unreachable_cluster(snap_compare) -> None:
    app, _ = make_app(unreachable_snapshot())
    assert snap_compare(app, terminal_size=WIDE, run_before=settle)


def test_mesh_findings(snap_compare) -> None:
    app, _ = make_app(findings_snapshot())
    assert snap_compare(app, terminal_size=WIDE, run_before=settle)
