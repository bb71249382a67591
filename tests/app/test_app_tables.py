"""KeyedTable touches only what changed and keeps the cursor on its row."""

from __future__ import annotations

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
