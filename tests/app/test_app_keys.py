"""Keys that move the selection cost one service's backends, never a whole-mesh recompute.

Counted, not timed: :attr:`MeshtuiApp.computes` counts the whole-view computations (status,
services and backends in the worker); a key in the services table or a cluster number must
leave it alone and still redraw the Backends pane (:attr:`MeshtuiApp.selection_draws`).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from apphelpers import backends_summary, contexts_text, make_app, wait_for
from meshmodels import large_snapshot
from testkit import settle

from tui import app as appmod
from widgets.services import ServicesPane

SIZE = (160, 48)


async def test_keys_redraw_the_backends_without_a_full_recompute() -> None:
    app, _ = make_app(large_snapshot(clusters=8, services=60))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.views is not None and app.service is not None
        computes, draws = app.computes, app.selection_draws
        first = app.service
        table = app.query_one(ServicesPane).table
        table.focus()
        await pilot.press("down")
        await pilot.pause()
        second = app.service
        assert second != first
        assert f"{second[0]}/{second[1]}" in backends_summary(app)
        assert app.views.service == second and app.views.backends is not None
        await pilot.press("2")
        await pilot.pause()
        viewing = app.snapshot.clusters[1]
        assert app.viewing == viewing.context
        assert f"seen from {viewing.cluster} ({viewing.context})" in backends_summary(app)
        assert app.views.viewing == viewing.context
        # The contexts pane moved its marker to the new viewing cluster.
        marked = [line for line in contexts_text(app).splitlines() if "▸" in line]
        assert len(marked) == 1 and viewing.context in marked[0]
        await pilot.press("up")
        await pilot.pause()
        assert app.service == first
        assert f"{first[0]}/{first[1]}" in backends_summary(app)
        assert app.computes == computes  # no key recomputed the status or services views
        assert app.selection_draws >= draws + 3  # (and one per agent list read)


async def test_views_computed_for_an_old_selection_do_not_undo_a_key() -> None:
    app, source = make_app(large_snapshot(clusters=4, services=30))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        old = app.views
        assert old is not None
        app.query_one(ServicesPane).table.focus()
        await pilot.press("down")
        await pilot.pause()
        moved = app.service
        assert moved != old.service
        # The worker hands over views computed before the key (as when a compute was in flight).
        app._show(old)
        await pilot.pause()
        assert app.service == moved and app.views is not None and app.views.service == moved
        assert f"{moved[0]}/{moved[1]}" in backends_summary(app)
        # A new snapshot recomputes everything, for the current selection.
        computes = app.computes
        source.push(large_snapshot(clusters=4, services=30))
        await wait_for(pilot, lambda: app.computes > computes)
        assert app.views.service == moved
        assert f"{moved[0]}/{moved[1]}" in backends_summary(app)


@pytest.fixture
def gc_threshold() -> Iterator[tuple[int, ...]]:
    """The collector's thresholds, restored after the test."""
    before = gc.get_threshold()
    yield before
    gc.set_threshold(*before)


async def test_a_big_mesh_tunes_the_collector_once(
    monkeypatch: pytest.MonkeyPatch, gc_threshold: tuple[int, ...]
) -> None:
    small, _ = make_app(large_snapshot(clusters=4, services=30))
    async with small.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert gc.get_threshold() == gc_threshold  # a small mesh leaves the collector alone
    monkeypatch.setattr(appmod, "BIG_MESH_SERVICES", 100)  # 4 × 30 services count as big
    big, _ = make_app(large_snapshot(clusters=4, services=30))
    async with big.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tuned = gc.get_threshold()
        assert tuned == tuple(
            max(a, b) for a, b in zip(gc_threshold, appmod.BIG_MESH_GC_THRESHOLD, strict=True)
        )
        assert tuned[0] > gc_threshold[0]
