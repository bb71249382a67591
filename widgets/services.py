"""The Global services pane: one row per service global in any cluster, with the "why".

Per cluster: present / global / shared / affinity / ready endpoints, and a WHY column that
answers "why does this service get no remote backends?" (``cluster2: shared=false``). When
the clusters do not fit side by side (many clusters, narrow terminal) each cluster becomes
one glyph (legend in the pane's subtitle) plus a summary column; the Backends pane then
gives the detail of the selected service. ``/`` filters (every word must match the name or
the why), ``A`` shows every service. Rows are updated by key (:class:`KeyedTable`).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Span, Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Input

from tui.safetext import safe_line, safe_text
from tui.views.labels import parse_key
from tui.views.services import GLYPH_LEGEND, ServiceCell, ServiceRow, ServicesView, filter_rows
from widgets.palette import Palette, cluster_colors, palette
from widgets.rowdetails import RowDetails
from widgets.tables import Column, KeyedTable
from widgets.textblock import TextBlock

MIN_WHY = 16
CELL_MIN, CELL_MAX = 16, 30
SERVICE_MIN, SERVICE_MAX = 16, 34


def cell_text(cell: ServiceCell, colors: Palette) -> Text:
    """One cluster's cell in the wide layout."""
    if not cell.known:
        style = colors.warn if cell.state == "syncing" else colors.err
        return safe_text(cell.text(), style)
    if not cell.present:
        return Text("—", style=colors.muted)
    if not cell.is_global:
        return Text(f"not global  {cell.ready_endpoints} rdy", style=colors.muted)
    out = Text("global ")
    out.append("shared " if cell.shared else "unshared ", style="" if cell.shared else colors.warn)
    if cell.affinity_set:
        out.append(safe_line(cell.affinity), style=colors.accent if cell.affinity != "none" else "")
    else:
        out.append(cell.affinity_word, style=colors.muted)
    if cell.affinity_unknown:
        out.append("?", style=colors.warn)
    out.append(f"  {cell.ready_endpoints} rdy", style=colors.err if cell.ready_endpoints == 0 else "")
    return out


def glyph_text(row: ServiceRow, colors: Palette) -> Text:
    """One glyph per cluster, styled in runs (64 ``Text.append`` calls per row are too slow)."""
    styles = {"?": colors.warn, "·": colors.muted, "n": colors.muted, "0": colors.err, "u": colors.warn}
    glyphs = "".join(cell.glyph() for cell in row.cells)
    spans: list[Span] = []
    start = 0
    for index in range(1, len(glyphs) + 1):
        if index == len(glyphs) or styles.get(glyphs[index], colors.ok) != styles.get(
            glyphs[start], colors.ok
        ):
            spans.append(Span(start, index, styles.get(glyphs[start], colors.ok)))
            start = index
    return Text(glyphs, spans=spans)


def cell_width(cell: ServiceCell) -> int:
    """Length of :func:`cell_text` without building it (for column widths)."""
    if cell.known and cell.present and cell.is_global:
        return len(cell.text()) + (1 if cell.affinity_unknown else 0)
    return len(cell.text())


def waiting_for(contexts: tuple[str, ...] | list[str], most: int = 6) -> str:
    """``bastion02, bastion03`` / ``mesh01, …, mesh06 and 58 more`` (64 names do not fit)."""
    names = list(contexts)
    if len(names) <= most:
        return ", ".join(names)
    return f"{', '.join(names[:most])} and {len(names) - most} more"


def why_text(row: ServiceRow, colors: Palette) -> Text:
    if not row.warnings:
        return Text("")
    return safe_text("; ".join(row.warnings), colors.warn)


STALE_NOTES = 3
"""Stale clusters named one per line above the table; more are counted on one line."""


class ServicesPane(Vertical):
    """The services table with its filter box and "Synchronizing…" placeholder."""

    DEFAULT_CSS = """
    ServicesPane {
        height: 1fr;
        min-height: 5;
        border: round $foreground 30%;
        border-title-color: $foreground;
    }
    ServicesPane:focus-within { border: round $primary; }
    ServicesPane > #services-message { padding: 0 1; color: $text-warning; }
    ServicesPane > #services-filter { dock: bottom; height: 1; border: none; padding: 0 1; display: none; }
    ServicesPane > #services-filter.-active { display: block; }
    ServicesPane > KeyedTable { height: 1fr; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "clear_filter", "clear filter", show=False, id="services.clear-filter")
    ]

    class Highlighted(Message):
        """The cursor is on another service (``key`` is ``None`` when the table is empty)."""

        def __init__(self, key: tuple[str, str] | None) -> None:
            super().__init__()
            self.key = key

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Global services"
        self.view: ServicesView | None = None
        self.filter_text = ""
        self.note = ""
        self.message_text = "Synchronizing…"
        self.compact = False
        self.visible_rows: list[ServiceRow] = []
        self._highlighted: tuple[str, str] | None = None
        self._sticky: str | None = None
        """The row key last under the cursor: where the cursor returns once a filter that
        matched nothing is changed or cleared (the selection stays on the same service)."""
        self._keys: dict[str, tuple[str, str]] = {}
        """Row key text → service key: a name from a hostile server may hold a ``/``."""
        self._cell_cache: dict[tuple[int, bool], tuple[ServiceRow, tuple[Text, ...]]] = {}
        self._cache_colors: Palette | None = None

    def compose(self) -> ComposeResult:
        yield TextBlock("Synchronizing…", id="services-message")
        yield KeyedTable(id="services-table")
        yield Input(
            placeholder="filter: words in name or why (enter keeps it, escape clears)", id="services-filter"
        )

    @property
    def table(self) -> KeyedTable:
        return self.query_one("#services-table", KeyedTable)

    @property
    def selected(self) -> tuple[str, str] | None:
        key = self.table.cursor_key
        return (self._keys.get(key) or parse_key(key)) if key else None

    def show(self, view: ServicesView, *, note: str = "") -> None:
        """Draw ``view``; ``note`` says what is awaited while there is no context yet."""
        if view is self.view and note == self.note:
            return
        self.view = view
        self.note = note
        self._redraw()

    def on_resize(self) -> None:
        if self.view is not None:
            self._redraw()

    def _layout(self, view: ServicesView, rows: list[ServiceRow]) -> list[Column]:
        width = max(40, (self.size.width or self.app.size.width) - 4)
        longest = max((len(r.key_text) for r in rows), default=12)
        service_w = max(SERVICE_MIN, min(SERVICE_MAX, longest))
        n = len(view.clusters)
        # Many clusters cannot fit side by side whatever the cells say: skip measuring them.
        self.compact = service_w + 2 + n * (CELL_MIN + 2) + MIN_WHY + 2 > width
        if not self.compact:
            cell_w = max((cell_width(c) for r in rows for c in r.cells), default=CELL_MIN)
            cell_w = max(CELL_MIN, min(CELL_MAX, cell_w), *(len(c) for c in view.clusters))
            self.compact = service_w + 2 + n * (cell_w + 2) + MIN_WHY + 2 > width
        if not self.compact:
            why_w = width - (service_w + 2) - n * (cell_w + 2) - 2
            clusters = cluster_colors(self.app)
            return [
                Column("service", "SERVICE", service_w),
                *(Column(f"c:{c}", c, cell_w, f"bold {clusters.color(c)}") for c in view.clusters),
                Column("why", "WHY", max(MIN_WHY, why_w)),
            ]
        glyphs_w = max(8, n)
        summary_w = 30
        why_w = width - (service_w + 2) - (glyphs_w + 2) - (summary_w + 2) - 2
        return [
            Column("service", "SERVICE", service_w),
            Column("clusters", f"CLUSTERS ({n})", glyphs_w),
            Column("summary", "SUMMARY", summary_w),
            Column("why", "WHY", max(MIN_WHY, why_w)),
        ]

    def _cells(
        self,
        row: ServiceRow,
        colors: Palette,
        fresh: dict[tuple[int, bool], tuple[ServiceRow, tuple[Text, ...]]],
    ) -> tuple[Text, ...]:
        """The drawn cells of ``row``, built once per row object, layout and theme; kept in
        ``fresh`` (the cache of this redraw)."""
        key = (id(row), self.compact)
        hit = self._cell_cache.get(key)
        if hit is not None and hit[0] is row:
            fresh[key] = hit
            return hit[1]
        name = safe_text(row.key_text)
        if self.compact:
            cells = (name, glyph_text(row, colors), Text(row.summary()), why_text(row, colors))
        else:
            cells = (name, *(cell_text(c, colors) for c in row.cells), why_text(row, colors))
        fresh[key] = (row, cells)
        return cells

    def _redraw(self) -> None:
        view = self.view
        if view is None:
            return
        colors = palette(self.app)
        rows = filter_rows(view.rows, self.filter_text)
        self.visible_rows = rows
        kind = "All services" if view.show_all else "Global services"
        total = len(view.rows)
        self.border_title = f"{kind} {total}" if not self.filter_text else f"{kind} {len(rows)} of {total}"
        message = self.query_one("#services-message", TextBlock)
        table = self.table
        if not view.synced:
            if view.contexts:
                self._message(message, f"Synchronizing… waiting for {waiting_for(view.contexts)}")
            elif self.note:
                self._message(message, self.note)
            else:
                self._message(message, "No contexts: check the kubeconfig (see the Mesh pane)")
            message.display = True
            table.display = False
            self.border_subtitle = ""
            return
        notes = [f"◐ {text} — its column is the last known state" for text in view.stale[:STALE_NOTES]]
        if len(view.stale) > STALE_NOTES:
            # One line per stale cluster would push the table off a 64-cluster screen.
            more = len(view.stale) - STALE_NOTES
            notes.append(f"◐ {more} more stale (see Contexts) — their columns are the last known state")
        if view.pending:
            notes.append(f"Synchronizing… {waiting_for(view.pending)} not synced yet")
        if not rows:
            if self.filter_text:
                notes.append(f"No service matches {self.filter_text!r} (escape clears the filter)")
            elif view.show_all:
                notes.append("No services in the synced clusters")
            else:
                notes.append("No global services in the synced clusters (A shows every service)")
        self._message(message, "\n".join(notes))
        message.display = bool(notes)
        table.display = True
        columns = self._layout(view, rows)
        table.set_columns(columns)
        if colors != self._cache_colors:
            self._cell_cache = {}
            self._cache_colors = colors
        # Only the rows drawn now are kept: the cache held up to three times the rows, i.e.
        # the rows of two earlier views with their drawn cells (at 64 × 2,000 those of the
        # start-up, each with 63 "clusterN: syncing" reasons: 4,000 rows, ~15 MB at populated).
        fresh: dict[tuple[int, bool], tuple[ServiceRow, tuple[Text, ...]]] = {}
        data = [(r.key_text, self._cells(r, colors, fresh)) for r in rows]
        self._cell_cache = fresh
        self._keys = {r.key_text: r.key for r in rows}
        # A reason longer than its column takes a second line; enter shows the whole row.
        why_w = columns[-1].width or MIN_WHY
        longest = max((cells[-1].cell_len for _, cells in data), default=0)
        cut = "  enter: whole row" if longest > 2 * why_w - 4 else ""
        if self.compact:
            self.border_subtitle = GLYPH_LEGEND
        else:
            toggle = "A global only" if view.show_all else "A all services"
            self.border_subtitle = safe_text(
                (f"filter: {self.filter_text}" if self.filter_text else f"/ filter  {toggle}") + cut
            )
        if table.cursor_key is not None:
            # The cursor as it is now (a key may have moved it since the last announce).
            self._sticky = table.cursor_key
        table.sync_rows(data, height=2 if longest > why_w else 1)
        if self._sticky is not None and table.cursor_key != self._sticky:
            table.move_to_key(self._sticky)  # back from a filter that matched nothing
        self._announce()

    def _message(self, widget: TextBlock, text: str) -> None:
        """Update the message line only when it changed (an update re-lays out the screen)."""
        if text != self.message_text:
            self.message_text = text
            widget.update(text)

    @property
    def empty_note(self) -> str:
        """Why no service is selected although there are services (a filter hides them all);
        ``""`` otherwise. The Backends pane shows it rather than the hidden service."""
        view = self.view
        if view is None or not view.synced or self.visible_rows or not self.filter_text or not view.rows:
            return ""
        return f"No service matches the filter {self.filter_text!r} (escape clears it)"

    def _announce(self) -> None:
        if self.table.cursor_key is not None:
            self._sticky = self.table.cursor_key
        key = self.selected
        if key != self._highlighted:
            self._highlighted = key
            self.post_message(self.Highlighted(key))

    @on(DataTable.RowHighlighted, "#services-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._announce()

    @on(DataTable.RowSelected, "#services-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a service: every cluster's cell and the whole WHY, uncut."""
        event.stop()
        key = event.row_key.value
        row = next((r for r in self.visible_rows if r.key_text == key), None)
        if row is None or self.view is None:
            return
        fields = [(cluster, cell.text()) for cluster, cell in zip(self.view.clusters, row.cells, strict=True)]
        fields.append(("why", "; ".join(row.warnings) or "—"))
        self.post_message(RowDetails(f"Service {row.key_text}", fields))

    def select(self, key: tuple[str, str]) -> bool:
        """Put the cursor on service ``key`` (clears a filter that hides it)."""
        text = f"{key[0]}/{key[1]}"
        if not self.table.move_to_key(text) and self.filter_text:
            self.set_filter("")
            return self.table.move_to_key(text)
        return text in self.table.shown

    # --- filter ---------------------------------------------------------------------------

    def start_filter(self) -> None:
        box = self.query_one("#services-filter", Input)
        box.add_class("-active")
        box.value = self.filter_text
        box.focus()

    def set_filter(self, text: str) -> None:
        self.filter_text = text.strip()
        box = self.query_one("#services-filter", Input)
        if box.value != text:
            box.value = text
        box.set_class(bool(self.filter_text) or box.has_focus, "-active")
        self._redraw()

    @on(Input.Changed, "#services-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.filter_text = event.value.strip()
        self._redraw()

    @on(Input.Submitted, "#services-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        box = self.query_one("#services-filter", Input)
        box.set_class(bool(self.filter_text), "-active")
        self.table.focus()

    def action_clear_filter(self) -> None:
        self.set_filter("")
        self.query_one("#services-filter", Input).remove_class("-active")
        self.table.focus()
