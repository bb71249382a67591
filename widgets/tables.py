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
from widgets.looks import same_cells, same_look

MAX_REMOVALS = 32
"""More removals than this rebuild the table (each removal renumbers every row)..."""
REMOVAL_BUDGET = 500
"""...unless renumbering costs less than adding the kept rows again: a removal renumbers every
row (about 0.3 µs a row), adding one measures its cells (about 0.3 ms). So a table keyed by
position that shrinks from 128 rows to 64 drops its last 64 rather than rebuilding 64."""

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
        """Height of every row when they all have one (2 lets a long last column wrap)."""
        self._cursor_before_columns: str | None = None
        """The cursor's row when :meth:`set_columns` cleared the table, for the next sync."""
        self.heights: dict[str, int] = {}
        """Each shown row's height, by key."""
        self._tops: list[int] | None = None
        """Each row's first line when heights differ, ``[]`` when they do not (computed when
        first needed after a sync changed the rows)."""
        self.sync_log: list[SyncStats] = []
        """The last syncs (at most 20), newest last: what each update touched."""

    def set_columns(self, columns: Sequence[Column]) -> bool:
        """Replace the columns when they differ; ``True`` when the table was cleared."""
        spec = tuple(columns)
        if spec == self._column_spec:
            return False
        # The cursor stays on its row across a change of columns too (``A`` re-measures them).
        self._cursor_before_columns = self.cursor_key or self._cursor_before_columns
        self.clear(columns=True)
        self.heights = {}
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
        if before is cells or same_cells(before, cells):
            return
        changed = [
            (column.key, new)
            for column, old, new in zip(self._column_spec, before, cells, strict=True)
            if not same_look(old, new)
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
        top = self._row_top(index) + (self.header_height if self.show_header else 0)
        width = max(self.size.width, self.virtual_size.width)
        region = Region(0, top, width, self.heights.get(key, self.row_height))
        if self.window_region.overlaps(region):
            self.refresh(region.translate(-self.scroll_offset))

    def _row_top(self, index: int) -> int:
        """The first line of row ``index`` below the header: one multiplication when every row
        has the same height, else from a running sum computed once per sync (a sync writing
        many rows of 2,000 must not add up the rows above each)."""
        if self._tops is None:
            if all(height == self.row_height for height in self.heights.values()):
                self._tops = []  # uniform
            else:
                tops, line = [], 0
                for height in self.heights.values():  # row order: rows are only ever appended
                    tops.append(line)
                    line += height
                self._tops = tops
        return self._tops[index] if self._tops else index * self.row_height

    def sync_rows(
        self, rows: Sequence[Row], *, height: int = 1, heights: Sequence[int] | None = None
    ) -> SyncStats:
        """Make the table show ``rows`` (key, cells aligned with the columns).

        ``heights`` gives each row its own height (else every row is ``height`` high). A row
        whose height changed is added again: DataTable has no way to change a row's height.
        """
        stats = SyncStats()
        cursor = self.cursor_key or self._cursor_before_columns
        self._cursor_before_columns = None
        new_keys = [key for key, _ in rows]
        new_heights = list(heights) if heights is not None else [height] * len(rows)
        if len(new_heights) != len(rows):
            raise ValueError(f"{len(rows)} rows but {len(new_heights)} heights")
        old_keys = list(self.shown)
        old_heights = self.heights
        self.row_height = new_heights[0] if new_heights and len(set(new_heights)) == 1 else height
        self._tops = None
        if new_keys == old_keys and all(
            old_heights[k] == h for k, h in zip(new_keys, new_heights, strict=True)
        ):
            for key, cells in rows:
                self._update_row(key, cells, stats)
        else:
            wanted = dict(zip(new_keys, new_heights, strict=True))
            # Rows stay where they are when their key is still wanted at the same height; the
            # others are removed and whatever follows the kept ones is appended.
            removed = [k for k in old_keys if wanted.get(k) != old_heights[k]]
            kept = [k for k in old_keys if wanted.get(k) == old_heights[k]]
            in_order = new_keys[: len(kept)] == kept
            if not in_order:
                # Else keep the rows both lists start with (a row keyed by its position whose
                # height changed: the rows from it on are added again).
                same = 0
                for old, new, new_height in zip(old_keys, new_keys, new_heights, strict=False):
                    if old != new or old_heights[old] != new_height:
                        break
                    same += 1
                kept, removed = old_keys[:same], old_keys[same:]
            cheap = len(removed) <= MAX_REMOVALS or len(removed) * len(old_keys) <= REMOVAL_BUDGET * len(kept)
            if cheap and (in_order or kept):
                for key in reversed(removed):
                    self.remove_row(key)
                    del self.shown[key]
                    del self.heights[key]
                    stats.removed += 1
                for key, cells in rows[: len(kept)]:
                    self._update_row(key, cells, stats)
                for (key, cells), row_height in zip(rows[len(kept) :], new_heights[len(kept) :], strict=True):
                    self._add(key, cells, row_height)
                    stats.added += 1
            else:
                self.clear()
                self.shown = {}
                self.heights = {}
                for (key, cells), row_height in zip(rows, new_heights, strict=True):
                    self._add(key, cells, row_height)
                stats.rebuilt = True
                stats.added = len(rows)
            if cursor is not None:
                self.move_to_key(cursor)
        self.last_sync = stats
        self.sync_log = [*self.sync_log[-19:], stats]
        return stats

    def _add(self, key: str, cells: tuple[Any, ...], height: int) -> None:
        self.add_row(*cells, key=key, height=height)
        self.shown[key] = cells
        self.heights[key] = height
