"""The Curl pane: live curl loops from every client cluster to the selected service.

Per client cluster one row — the split of the last answers per answering cluster as bars with
the rules' expected share beside each (the same numbers as the Backends pane), p50/p95, a
latency sparkline, errors by kind and the request rate — and below them a live log of recent
answers (time, from → to cluster, pod, short body, ms) and loop events ("reattached to ...").
``m`` swaps the log for the learned map (which answer means which pod and cluster).

A view only: it draws a :class:`tui.views.curl.CurlView` that the app computes from its curl
loops (:mod:`tui.appcore.curl`) at most 4 times a second, when something changed. Its keys are
the app's actions (``p`` client pod, ``i`` interval, ``m`` learned map, ``r`` learn again, ``x``
stop; ``c``/``C`` work everywhere), so the palette, the keymap and the help screen know them.
The app mounts it into its ``#curl`` slot when the source can exec (a fixture source cannot).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Sparkline, Static

from tui.appcore.keys import CURL_KEYS
from tui.safetext import clean_text, safe_line, safe_text
from tui.views.curl import AnswerLine, CurlRowView, CurlView, EventLine, MapLine, ms_text
from widgets.palette import Palette, palette

REPAINT = 0.25
"""Seconds between repaints at most (≤ 4 Hz)."""
BAR = 10
"""Blocks for 100 % in a split bar."""
PANE_ROWS = 7
"""Content rows of the curl slot at 160×48 (its max-height 9 minus the border)."""
POD_WIDTH = 30
HINT = "c  curl from every cluster · C  from the viewing one · p  client pod · i  interval · m  map"


def split_text(row: CurlRowView, colors: Palette) -> Text:
    """``cluster1 █████░░░░░ 48%  cluster2 █████░░░░░ 52%  (expected 50/50)``: actual vs the rules.

    A share more than 25 points away from the rules' (after 10 answers) is shown as a warning.
    """
    out = Text()
    for index, (cluster, _answers) in enumerate(row.split):
        if index:
            out.append("  ")
        share = row.share(cluster)
        blocks = round(share * BAR)
        off = row.off(cluster)
        out.append(f"{safe_line(cluster)} ", style="bold" if cluster == row.from_cluster else "")
        out.append("█" * blocks, style=colors.warn if off else colors.accent)
        out.append("░" * (BAR - blocks), style=colors.muted)
        out.append(f" {round(share * 100):>3}%", style=colors.warn if off else "")
    if row.unknown:
        out.append(f"  unknown {row.unknown}", style=colors.warn)
    if row.expected:
        shares = "/".join(str(round(row.expected.get(c, 0.0) * 100)) for c, _ in row.split)
        out.append(f"  (expected {shares})", style=colors.muted)
    elif row.expected_note:
        out.append(f"  (expected: {row.expected_note})", style=colors.muted)
    return out


def errors_text(row: CurlRowView, colors: Palette) -> Text:
    if not row.errors:
        return Text("errors 0", style=colors.muted)
    return safe_text(" ".join(f"{kind} {n}" for kind, n in row.errors), colors.err)


def summary_text(row: CurlRowView, colors: Palette) -> Text:
    """One client cluster's row: ``cluster1  → last 12  <split>  p50 9 ms  p95 14 ms  errors 0  1.0/s``."""
    out = Text(f"{safe_line(row.from_cluster):<9}", style="bold")
    out.append(" → ")
    if not row.total:
        out.append(safe_line(row.state), style=colors.warn)
        if row.last_event:
            out.append(f"  {safe_line(row.last_event)}", style=colors.muted)
        return out
    waiting = row.state in ("reattaching", "attaching", "waiting")
    if waiting:  # first, where a narrow pane does not cut it off
        out.append(f"{row.state}…  ", style=colors.warn)
    out.append(f"last {row.counted:<3} ", style=colors.muted)
    out.append_text(split_text(row, colors))
    out.append(f"  p50 {ms_text(row.p50)}  p95 {ms_text(row.p95)}  ")
    out.append_text(errors_text(row, colors))
    out.append(f"  {row.rate:.1f}/s" if row.running else "  stopped")
    if row.state == "waiting" and row.last_event:
        out.append(f"  {safe_line(row.last_event)}", style=colors.muted)
    return out


def answer_line(answer: AnswerLine, colors: Palette, *, width: int = 40) -> Text:
    """``12:00:01  cluster1 → cluster2  userlist-…-9kq2z  Maria Kim   14 ms``."""
    stamp = time.strftime("%H:%M:%S", time.localtime(answer.at))
    out = Text(f"{stamp}  ", style=colors.muted)
    out.append(f"{safe_line(answer.from_cluster)} → ")
    if not answer.answered:
        out.append(f"✗ {safe_line(answer.error_kind or 'error')}", style=colors.err)
        if answer.error:
            out.append(f"  {safe_line(answer.error, 80)}", style=colors.muted)
        out.append(f"  {ms_text(answer.ms)}", style=colors.muted)
        return out
    if answer.to_cluster is None:
        out.append("unknown", style=colors.warn)
        body = " ".join(answer.body.split())
        out.append(f"  {safe_line(body[: width * 2])}", style=colors.warn)
    else:
        out.append(f"{safe_line(answer.to_cluster):<9}", style="bold")
        pod = safe_line(answer.pod or "(pod unknown)")
        pod = pod if len(pod) <= POD_WIDTH else pod[: POD_WIDTH - 1] + "…"
        out.append(f"  {pod:<{POD_WIDTH}}", style="" if answer.pod else colors.muted)
        out.append(f"  {safe_line(answer.label[:width])}")
    if answer.error_kind:
        out.append(f"  {safe_line(answer.error_kind)}", style=colors.err)
    out.append(f"  {ms_text(answer.ms)}", style=colors.muted)
    return out


def event_line(event: EventLine, colors: Palette) -> Text:
    stamp = time.strftime("%H:%M:%S", time.localtime(event.at))
    out = Text(f"{stamp}  ", style=colors.muted)
    if event.cluster:
        out.append(f"{safe_line(event.cluster)}  ")
    mark = {"reattached": "⟳ ", "attached": "▶ ", "error": "✗ ", "waiting": "… ", "learned": "✓ "}
    style = colors.err if event.kind in ("error", "ended") else colors.primary
    out.append(mark.get(event.kind, "• ") + safe_line(event.text), style=style)
    return out


def log_text(view: CurlView, colors: Palette, room: int) -> Text:
    lines = [
        answer_line(item, colors) if isinstance(item, AnswerLine) else event_line(item, colors)
        for item in view.log[:room]
    ]
    if not lines:
        lines.append(Text("waiting for the first answer…", style=colors.muted))
    return Text("\n").join(lines)


def map_line(row: MapLine, colors: Palette) -> Text:
    line = Text(f"{safe_line(row.cluster):<9} ", style="bold")
    line.append(f"{safe_line(row.pod or '—'):<32} {safe_line(row.address):<21} ")
    if row.identifies == "error":
        line.append(f"✗ {safe_line(row.error)}", style=colors.err)
    else:
        style = {"pod": colors.ok, "cluster": colors.primary}.get(row.identifies, colors.warn)
        line.append(f"{safe_line(row.label[:36]):<36} ")
        line.append(f"→ {row.identifies}", style=style)
    line.append(f"  via {safe_line(row.via)}", style=colors.muted)
    return line


def map_text(view: CurlView, colors: Palette, room: int) -> Text:
    if not view.map:
        text = "learning the backends' answers…" if view.learning else "nothing learned yet"
        return Text(text, style=colors.muted)
    shown = view.map[:room]
    lines = [map_line(row, colors) for row in shown]
    if view.map_total > len(shown):
        lines[-1].append(f"   (+{view.map_total - len(shown)} more)", style=colors.muted)
    return Text("\n").join(lines)


class CurlRow(Horizontal):
    """One client cluster: summary text and a latency sparkline."""

    DEFAULT_CSS = """
    CurlRow { height: 1; }
    CurlRow > .curl-summary { width: 1fr; height: 1; }
    CurlRow > Sparkline { width: 16; height: 1; margin: 0 0 0 1; }
    """

    def __init__(self, context: str) -> None:
        super().__init__(classes="curl-row")
        self.context = context
        self.summary = Static("", classes="curl-summary")
        self.spark = Sparkline([], summary_function=max)

    def compose(self) -> ComposeResult:
        yield self.summary
        yield self.spark

    def show(self, summary: Text, latencies: Sequence[float]) -> None:
        # One line, always: no layout pass needed.
        self.summary.update(clean_text(summary, block=False), layout=False)
        data = list(latencies)
        if data != self.spark.data:
            self.spark.data = data


class CurlPane(Vertical):
    """Live curl loops (see the module docstring): draws what ``model(room)`` gives it."""

    DEFAULT_CSS = """
    CurlPane { height: auto; padding: 0 1; }
    CurlPane > #curl-rows { height: auto; max-height: 4; }
    CurlPane > #curl-log { height: auto; }
    CurlPane > #curl-hint { height: auto; color: $text-muted; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(k.key, f"app.{k.action}", k.title, id=k.id) for k in CURL_KEYS
    ]
    can_focus = True

    def __init__(
        self,
        model: Callable[[int], CurlView],
        changed: Callable[[], bool],
        *,
        repaint: float = REPAINT,
        id: str | None = "curl-pane",
    ) -> None:
        """``model(room)``: the view to draw, with at most ``room`` lines below the rows;
        ``changed()``: whether anything changed since it was last asked (then a repaint follows)."""
        super().__init__(id=id)
        self.model = model
        self.changed = changed
        self.repaint = repaint
        self.repaints = 0
        self._rows_for: tuple[str, ...] = ()
        self._titles: tuple[str, str] = ("", "")
        self._refill = False
        self.view: CurlView | None = None
        """The view drawn last."""

    def compose(self) -> ComposeResult:
        yield Static(HINT, id="curl-hint")
        yield VerticalScroll(id="curl-rows")
        yield Static("", id="curl-log")

    def on_mount(self) -> None:
        self.set_interval(self.repaint, self._tick)
        self._tick()

    @property
    def slot(self) -> Any:
        return self.parent

    def _set_titles(self, title: str, subtitle: str) -> None:
        """Set the slot's border texts only when they change (each set repaints the slot)."""
        slot = self.slot
        if slot is not None and (title, subtitle) != self._titles:
            self._titles = (title, subtitle)
            # Text, never a str: a border title str is parsed as markup (a path holding [/]).
            slot.border_title = safe_text(title)
            slot.border_subtitle = safe_text(subtitle)

    def _tick(self) -> None:
        if self.changed() or self._refill:
            self._refill = False
            self.draw()

    def draw(self) -> None:
        """Repaint from the model (called by the timer when something changed)."""
        self.repaints += 1
        colors = palette(self.app)
        rows = self.query_one("#curl-rows", VerticalScroll)
        view = self.view = self.model(PANE_ROWS)
        self._set_titles(view.title, view.subtitle)
        hint = self.query_one("#curl-hint", Static)
        log = self.query_one("#curl-log", Static)
        if not view.started:
            hint.display = True
            rows.display = False
            log.update("")
            return
        hint.display = False
        rows.display = True
        contexts = tuple(row.context for row in view.rows)
        if contexts != self._rows_for:
            self._rows_for = contexts
            rows.remove_children()
            rows.mount_all([CurlRow(c) for c in contexts])
            self._refill = True  # fill them on the next tick, once mounted (and size the log)
        by_context = {row.context: row for row in view.rows}
        for widget in rows.query(CurlRow):
            row = by_context.get(widget.context)
            if row is not None:
                widget.show(summary_text(row, colors), row.latencies)
        room = max(1, PANE_ROWS - min(len(contexts), 4))
        resized = log.styles.height is None or log.styles.height.value != room
        if resized:  # a steady height: the screen does not jump (nor lay out again) as lines come
            log.styles.height = room
        text = map_text(view, colors, room) if view.mode == "map" else log_text(view, colors, room)
        log.update(clean_text(text), layout=resized)
