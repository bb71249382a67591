"""KeyedTable touches only what changed and keeps the cursor on its row."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult

from widgets.tables import Column, KeyedTable


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield KeyedTable(id="t")


def rows(*keys: str, suffix: str = "") -> list[tuple[str, tuple[str, str]]]:
    return [(k, (k, f"v{k}{suffix}")) for k in keys]


async def test_sync_rows_updates_adds_removes_and_rebuilds() -> None:
    app = TableApp()
    async with app.run_test() as pilot:
        table = app.query_one(KeyedTable)
        assert table.set_columns([Column("k", "K", 4), Column("v", "V", 8)])
        assert not table.set_columns([Column("k", "K", 4), Column("v", "V", 8)])
        stats = table.sync_rows(rows("a", "b", "c"))
        assert stats.added == 3 and not stats.rebuilt  # appended to an empty table
        table.move_to_key("b")
        stats = table.sync_rows([("a", ("a", "va")), ("b", ("b", "NEW")), ("c", ("c", "vc"))])
        assert (stats.updated_cells, stats.added, stats.removed, stats.rebuilt) == (1, 0, 0, False)
        assert str(table.get_cell("b", "v")) == "NEW"
        stats = table.sync_rows(rows("b", "c", "d"))
        assert (stats.removed, stats.added, stats.rebuilt) == (1, 1, False)
        assert table.cursor_key == "b"
        stats = table.sync_rows(rows("a", "b", "c", "d"))  # insertion before: rebuild
        assert stats.rebuilt and table.cursor_key == "b"
        await pilot.pause()
        assert [str(table.get_row_at(i)[0]) for i in range(table.row_count)] == ["a", "b", "c", "d"]


def _screen_text(app: App[None]) -> str:
    """What the terminal shows (the screenshot's text runs)."""
    return app.export_screenshot()


@pytest.mark.smoke
async def test_cell_updates_repaint_their_row_only_and_show_when_scrolled_to() -> None:
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(KeyedTable)
        table.set_columns([Column("k", "K", 6), Column("v", "V", 12)])
        keys = [f"r{i:03d}" for i in range(200)]
        table.sync_rows(rows(*keys))
        await pilot.pause()
        assert "vr001" in _screen_text(app)
        renders = []
        real = table.render_line

        def counting(y: int) -> object:
            renders.append(y)
            return real(y)

        table.render_line = counting  # type: ignore[method-assign]
        # a visible row: its new value is on screen, and only its line was drawn again
        table.sync_rows([(k, (k, "CHANGED" if k == "r001" else f"v{k}")) for k in keys])
        await pilot.pause()
        assert "CHANGED" in _screen_text(app) and "vr001" not in _screen_text(app)
        assert 0 < len(set(renders)) <= 2, renders
        # a row far off screen: nothing is drawn now, its value shows once scrolled to
        renders.clear()
        stats = table.sync_rows(
            [(k, (k, "FAR" if k == "r150" else ("CHANGED" if k == "r001" else f"v{k}"))) for k in keys]
        )
        await pilot.pause()
        assert stats.updated_cells == 1 and renders == []
        table.move_to_key("r150")
        await pilot.pause()
        assert "FAR" in _screen_text(app)
        assert str(table.get_cell("r150", "v")) == "FAR"


async def test_rows_keyed_by_position_with_their_own_heights() -> None:
    """A row below a taller one repaints where it is; a row whose height changes is added again
    with the rows after it, the rows above stay; a shorter list drops only the extra rows."""
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(KeyedTable)
        table.set_columns([Column("k", "K", 6), Column("v", "V", 12)])
        table.sync_rows(rows("0", "1", "2", "3"), heights=[1, 3, 1, 1])
        await pilot.pause()
        assert "v2" in _screen_text(app)
        stats = table.sync_rows([*rows("0", "1"), ("2", ("2", "BELOW")), *rows("3")], heights=[1, 3, 1, 1])
        await pilot.pause()
        assert (stats.updated_cells, stats.added, stats.rebuilt) == (1, 0, False)
        assert "BELOW" in _screen_text(app)  # drawn at line 5, under the three lines of row 1
        stats = table.sync_rows(rows("0", "1", "2", "3", suffix="x"), heights=[1, 1, 1, 1])
        assert (stats.removed, stats.added, stats.rebuilt) == (3, 3, False)
        assert [table.get_row_height(k) for k in ("0", "1", "2", "3")] == [1, 1, 1, 1]
        assert str(table.get_cell("0", "v")) == "v0x"
        stats = table.sync_rows(rows("0", "1", suffix="y"))
        assert (stats.removed, stats.added, stats.updated_cells, stats.rebuilt) == (2, 0, 2, False)
        await pilot.pause()
        assert [str(table.get_row_at(i)[1]) for i in range(table.row_count)] == ["v0y", "v1y"]
        assert "v2x" not in _screen_text(app)
