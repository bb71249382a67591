"""A DataTable kept in step with a list of keyed rows, never rebuilt on every update.

Textual's DataTable costs ~1 s to fill with 10k rows and ``remove_row`` is O(n), so a refresh
must touch only what changed (k9s tags rows add/update/delete/unchanged for the same reason):

* same keys in the same order → only the cells that differ are updated (``update_width`` off:
  columns have fixed widths);
* a few rows removed, or rows appended after the last one → those rows only;
* anything else (many removals, insertions in the middle, new columns) → one rebuild.

The cursor stays on the same row key across updates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from textual.geometry import Region
from textual.widgets import DataTable

from tui.compat.textual_private import write_cells
from tui.safetext import safe_text

MAX_REMOVALS = 32
"""More removals than this rebuild the table (each removal renumbers every row)."""

Row = tuple[str, tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    width: int | None = None
    style: str = ""
    """The label's style (a cluster's column in the cluster's colour)."""


@dataclass
class SyncStats:
    """What the last :meth:`KeyedTable.sync_rows` did (tests and measurements read it)."""

    rebuilt: bool = False
    added: int = 0
    removed: int = 0
    updated_cells: int = 0


class KeyedTable(DataTable):
    """A row-cursor DataTable whose rows are identified by string keys."""

    DEFAULT_CSS = """
    KeyedTable { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=False)
        self.shown: dict[str, tuple[Any, ...]] = {}
        self._column_spec: tuple[Column, ...] = ()
        self.last_sync = SyncStats()
        self.row_height = 1
        """Height of every row (2 lets a long last column wrap instead of being cut)."""
        self.sync_log: list[SyncStats] = []
        """The last syncs (at most 20), newest last: what each update touched."""

    def set_columns(self, columns: Sequence[Column]) -> bool:
        """Replace the columns when they differ; ``True`` when the table was cleared."""
        spec = tuple(columns)
        if spec == self._column_spec:
            return False
        self.clear(columns=True)
        for column in spec:
            # A Text, never a str: DataTable parses a str label as markup (cluster names).
            self.add_column(safe_text(column.label, column.style), key=column.key, width=column.width)
        self._column_spec = spec
        self.shown = {}
        return True

    @property
    def cursor_key(self) -> str | None:
        """The key of the row under the cursor (``None`` when the table is empty)."""
        if not self.row_count or not 0 <= self.cursor_row < self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return None if row_key.value is None else str(row_key.value)

    def move_to_key(self, key: str, *, scroll: bool = True) -> bool:
        """Put the cursor on row ``key``; ``False`` when there is no such row."""
        if key not in self.shown:
            return False
        index = self.get_row_index(key)
        if index != self.cursor_row:
            self.move_cursor(row=index, animate=False, scroll=scroll)
        return True

    def _update_row(self, key: str, cells: tuple[Any, ...], stats: SyncStats) -> None:
        before = self.shown[key]
        if before is cells or before == cells:
            return
        changed = [
            (column.key, new)
            for column, old, new in zip(self._column_spec, before, cells, strict=True)
            if old != new
        ]
        self.shown[key] = cells
        if changed:
            self._set_cells(key, changed)
            stats.updated_cells += len(changed)

    def _set_cells(self, key: str, changed: list[tuple[str, Any]]) -> None:
        """``update_cell`` for one row, repainting that row only, and only when it is in view.

        Why not ``update_cell``: it repaints the whole table, so every watch event that changed
        a cell re-rendered every visible row (64 glyphs each at 64 clusters: a third of the
        UI thread while clusters stream changes), though most changed rows of 2,000 are off
        screen. This writes the cells as ``update_cell`` does (private: see
        :func:`tui.compat.textual_private.write_cells`) and refreshes the row's own region.

        Why not the public ``refresh_row``: it finds the row's place by adding up the heights of
        every row above it, after rebuilding the ordered row list that the cell write just
        invalidated, so a sync that changes many rows of 2,000 costs O(rows²). Here rows have
        one height and columns fixed widths, so the region is computed directly, then clipped
        to the visible window and refreshed with public API only.
        """
        write_cells(self, key, changed)
        index = self.get_row_index(key)
        top = index * self.row_height + (self.header_height if self.show_header else 0)
        width = max(self.size.width, self.virtual_size.width)
        region = Region(0, top, width, self.row_height)
        if self.window_region.overlaps(region):
            self.refresh(region.translate(-self.scroll_offset))

    def sync_rows(self, rows: Sequence[Row], *, height: int = 1) -> SyncStats:
        """Make the table show ``rows`` (key, cells aligned with the columns)."""
        stats = SyncStats()
        cursor = self.cursor_key
        new_keys = [key for key, _ in rows]
        old_keys = list(self.shown)
        if height != self.row_height:
            old_keys = []  # rows keep the height they were added with: add them again
            self.clear()
            self.shown = {}
            self.row_height = height
        if new_keys == old_keys:
            for key, cells in rows:
                self._update_row(key, cells, stats)
        else:
            wanted = set(new_keys)
            removed = [k for k in old_keys if k not in wanted]
            kept = [k for k in old_keys if k in wanted]
            if new_keys[: len(kept)] == kept and len(removed) <= MAX_REMOVALS:
                for key in removed:
                    self.remove_row(key)
                    del self.shown[key]
                    stats.removed += 1
                for key, cells in rows[: len(kept)]:
                    self._update_row(key, cells, stats)
                for key, cells in rows[len(kept) :]:
                    self.add_row(*cells, key=key, height=height)
                    self.shown[key] = cells
                    stats.added += 1
            else:
                self.clear()
                self.shown = {}
                for key, cells in rows:
                    self.add_row(*cells, key=key, height=height)
                    self.shown[key] = cells
                stats.rebuilt = True
                stats.added = len(rows)
            if cursor is not None:
                self.move_to_key(cursor)
        self.last_sync = stats
        self.sync_log = [*self.sync_log[-19:], stats]
        return stats
