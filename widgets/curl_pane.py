"""The Curl pane: live curl loops from every client cluster to the selected service.

Per client cluster two lines: the split since the last change (a write, or new rules seen in
the watch) per answering cluster as bars in the cluster's colour, beside the rules' expected
split (the Backends pane's numbers), then as room allows p50, the answers since the change, the
rolling window (``last 20``), p95, errors and the rate; below it a timeline, one mark per
answer coloured by the answering cluster, newest right, ``┃`` at each change. Below the rows a
scrollable log of the answers and loop events (:data:`LOG_HISTORY` lines; focus it, then
PgUp/PgDn/Home/End). ``m`` swaps the log for the learned map. In presenter mode (``P``) each
client gets one big bar per answering cluster. The app sizes the pane (:mod:`tui.appcore.layout`).

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
from textual.containers import Vertical
from textual.widgets import RichLog, Static

from tui.appcore.keys import CURL_KEYS
from tui.safetext import clean_text, safe_line, safe_text
from tui.views.clustercolors import ClusterColors, color_of
from tui.views.curl import AnswerLine, CurlRowView, CurlView, EventLine, MapLine, ms_text
from widgets.palette import Palette, cluster_colors, palette

REPAINT = 0.25
"""Seconds between repaints at most (≤ 4 Hz)."""
LOG_HISTORY = 1000
"""Lines the curl log keeps to scroll back through."""
POD_WIDTH = 30
HINT = "c  curl from every cluster · C  from the viewing one · p  client pod · i  interval · m  map"


def _bar(share: float, width: int, style: str, colors: Palette) -> Text:
    blocks = round(share * width)
    out = Text("█" * blocks, style=style)
    out.append("░" * (width - blocks), style=colors.muted)
    return out


def _shares_text(pairs: Sequence[tuple[str, float]]) -> str:
    return "/".join(str(round(v * 100)) for _, v in pairs)


def split_parts(row: CurlRowView, colors: Palette, clusters: ClusterColors | None, bar: int) -> list[Text]:
    """``● cluster1 ████░░ 48%`` per answering cluster: the split since the last change."""
    parts = []
    for cluster, _answers in row.since or row.split:
        share = row.since_share(cluster)
        off = row.since_off(cluster)
        color = color_of(clusters, cluster) or colors.accent
        part = Text()
        if clusters is not None:
            part.append(f"{clusters.mark(cluster)} ", style=color)
        part.append(safe_line(cluster), style=f"bold {color}")
        part.append(" ")
        # the bar keeps the cluster's colour; a share far from the rules' shows in its number
        part.append_text(_bar(share, bar, color, colors))
        part.append(f" {round(share * 100):>3}%", style=f"bold {colors.warn}" if off else "")
        parts.append(part)
    unknown = row.since_unknown
    if unknown:
        parts.append(Text(f"? unknown {unknown}", style=colors.warn))
    if row.since_failed:
        parts.append(Text(f"× failed {row.since_failed}", style=colors.err))
    return parts


def expected_part(row: CurlRowView, colors: Palette, short: bool) -> Text:
    if row.expected:
        shares = _shares_text([(c, row.expected.get(c, 0.0)) for c, _ in (row.since or row.split)])
        return Text(f"{'exp' if short else 'expected'} {shares}", style=colors.muted)
    if row.expected_note:
        return Text(f"expected: {safe_line(row.expected_note)}", style=colors.muted)
    return Text()


def since_part(row: CurlRowView, view_changed: float | None, colors: Palette, *, short: bool = False) -> Text:
    """``12 since ┃ 12:00:01`` / ``12 since start`` (short: ``12 since ┃`` / ``12 in all``)."""
    if view_changed is None:
        return Text(f"{row.since_counted} {'in all' if short else 'since start'}", style=colors.muted)
    if short:
        return Text(f"{row.since_counted} since ┃", style=colors.muted)
    stamp = time.strftime("%H:%M:%S", time.localtime(view_changed))
    return Text(f"{row.since_counted} since ┃ {stamp}", style=colors.muted)


def window_part(row: CurlRowView, colors: Palette) -> Text:
    """``last 20 60/40``: the rolling window, the second figure."""
    shares = _shares_text([(c, row.share(c)) for c, _ in row.split])
    return Text(f"last {row.counted} {shares}", style=colors.muted)


def summary_text(
    row: CurlRowView,
    colors: Palette,
    clusters: ClusterColors | None = None,
    *,
    width: int = 156,
    changed_at: float | None = None,
) -> Text:
    """One client cluster's line, fitted to ``width`` cells: the split since the last change
    beside the rules' expected split, then (as room allows, in this order of importance) p50,
    the answers since the change, the rolling window, p95, errors and the rate; the bars take
    what is left (4 to 20 blocks; fewer rather than cut)."""
    head = Text()
    head.append(f"{safe_line(row.from_cluster):<9}", style=f"bold {color_of(clusters, row.from_cluster)}")
    head.append(" → ")
    if not row.total:
        head.append(safe_line(row.state), style=colors.warn)
        if row.last_event:
            head.append(f"  {safe_line(row.last_event)}", style=colors.muted)
        return head
    if row.state in ("reattaching", "attaching", "waiting"):  # first: a narrow pane keeps it
        head.append(f"{row.state}…  ", style=colors.warn)
    gap = "  "
    bars = split_parts(row, colors, clusters, 0)
    n = max(1, len(row.since or row.split))
    fixed = head.cell_len + sum(p.cell_len + len(gap) for p in bars)
    short = width < 110
    expected = expected_part(row, colors, short)
    fixed += expected.cell_len
    optional: list[tuple[int, Text]] = [
        (2, Text(f"p50 {ms_text(row.p50)}")),
        (1, since_part(row, changed_at, colors, short=short)),
        (3, window_part(row, colors)),
        (4, Text(f"p95 {ms_text(row.p95)}")),
        (5, errors_text(row, colors)),
        (6, Text(f"{row.rate:.1f}/s" if row.running else "stopped")),
    ]
    if row.state == "waiting" and row.last_event:
        optional.insert(0, (0, Text(safe_line(row.last_event), style=colors.muted)))
    min_bar = max(1, min(4, (width - fixed) // n))  # narrower bars before anything is cut
    room = width - fixed - n * min_bar
    chosen: set[int] = set()
    for index, (_rank, part) in sorted(enumerate(optional), key=lambda item: item[1][0]):
        cost = part.cell_len + len(gap)
        if cost <= room:
            chosen.add(index)
            room -= cost
    bar = max(min_bar, min(20, min_bar + room // n))
    out = head
    for index, part in enumerate(split_parts(row, colors, clusters, bar)):
        if index:
            out.append(gap)
        out.append_text(part)
    if expected.plain:
        out.append(gap)
        out.append_text(expected)
    for index, (_rank, part) in enumerate(optional):
        if index in chosen:
            out.append(gap)
            out.append_text(part)
    return out


def timeline_text(
    row: CurlRowView, colors: Palette, clusters: ClusterColors | None, *, width: int, indent: int = 12
) -> Text:
    """The newest answers, one mark each, newest right: the cluster's mark in its colour,
    ``┃`` a change, ``×`` a failure, ``?`` an answer no probe identified."""
    room = max(1, width - indent)
    out = Text(" " * indent)
    # one append per run of equal marks (a timeline is mostly runs): few spans to draw
    run_style, run = "", []
    for kind, cluster in row.timeline[-room:]:
        if kind == "answer":
            mark = clusters.mark(cluster) if clusters is not None else "●"
            style = color_of(clusters, cluster) or colors.accent
        elif kind == "change":
            mark, style = "┃", "bold"
        elif kind == "failed":
            mark, style = "×", colors.err
        else:
            mark, style = "?", colors.warn
        if style != run_style and run:
            out.append("".join(run), style=run_style)
            run = []
        run_style = style
        run.append(mark)
    if run:
        out.append("".join(run), style=run_style)
    return out


def big_text(
    row: CurlRowView, colors: Palette, clusters: ClusterColors | None, *, width: int, changed_at: float | None
) -> Text:
    """Presenter mode: a heading, one big bar per answering cluster, the timeline."""
    head = Text()
    head.append(safe_line(row.from_cluster), style=f"bold {color_of(clusters, row.from_cluster)}")
    head.append(" → ")
    if not row.total:
        head.append(safe_line(row.state), style=colors.warn)
        return head
    head.append_text(since_part(row, changed_at, colors))
    head.append("   ")
    head.append_text(window_part(row, colors))
    head.append(f"   p50 {ms_text(row.p50)}")
    lines = [head]
    names = max((len(c) for c, _ in (row.since or row.split)), default=8)
    bar = max(10, width - names - 30)
    for cluster, _answers in row.since or row.split:
        share = row.since_share(cluster)
        color = color_of(clusters, cluster) or colors.accent
        line = Text("  ")
        if clusters is not None:
            line.append(f"{clusters.mark(cluster)} ", style=color)
        line.append(f"{safe_line(cluster):<{names}} ", style=f"bold {color}")
        drawn = _bar(share, bar, color, colors)
        line.append_text(drawn)
        line.append(
            f" {round(share * 100):>3}%", style=f"bold {colors.warn}" if row.since_off(cluster) else "bold"
        )
        if row.expected:
            line.append(f"  expected {round(row.expected.get(cluster, 0.0) * 100)}%", style=colors.muted)
        lines.append(line)
        # bars two rows high: readable from the back of the room
        lines.append(Text(" " * (2 + (2 if clusters is not None else 0) + names + 1)) + drawn)
    if row.since_unknown:
        lines.append(Text(f"  ? unknown {row.since_unknown}", style=colors.warn))
    if row.since_failed:
        lines.append(Text(f"  × failed {row.since_failed}", style=colors.err))
    lines.append(timeline_text(row, colors, clusters, width=width, indent=2))
    return Text("\n").join(lines)


def errors_text(row: CurlRowView, colors: Palette) -> Text:
    if not row.errors:
        return Text("errors 0", style=colors.muted)
    return safe_text(" ".join(f"{kind} {n}" for kind, n in row.errors), colors.err)


def answer_line(
    answer: AnswerLine, colors: Palette, clusters: ClusterColors | None = None, *, width: int = 40
) -> Text:
    """``12:00:01  cluster1 → cluster2  userlist-…-9kq2z  Maria Kim   14 ms`` (clusters in their colours)."""
    stamp = time.strftime("%H:%M:%S", time.localtime(answer.at))
    out = Text(f"{stamp}  ", style=colors.muted)
    out.append(f"{safe_line(answer.from_cluster)}", style=color_of(clusters, answer.from_cluster))
    out.append(" → ")
    if not answer.answered:
        out.append(f"× {safe_line(answer.error_kind or 'error')}", style=colors.err)
        if answer.error:
            out.append(f"  {safe_line(answer.error, 80)}", style=colors.muted)
        out.append(f"  {ms_text(answer.ms)}", style=colors.muted)
        return out
    if answer.to_cluster is None:
        out.append("? unknown", style=colors.warn)
        body = " ".join(answer.body.split())
        out.append(f"  {safe_line(body[: width * 2])}", style=colors.warn)
    else:
        color = color_of(clusters, answer.to_cluster)
        mark = f"{clusters.mark(answer.to_cluster)} " if clusters is not None else ""
        out.append(f"{mark}{safe_line(answer.to_cluster):<9}", style=f"bold {color}")
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
    mark = {
        "reattached": "⟳ ", "attached": "▶ ", "error": "✗ ", "waiting": "… ", "learned": "✓ ", "change": "┃ ",
    }  # fmt: skip
    style = colors.err if event.kind in ("error", "ended") else colors.primary
    if event.kind == "change":
        style = "bold"
    out.append(mark.get(event.kind, "• ") + safe_line(event.text), style=style)
    return out


def log_line(item: AnswerLine | EventLine, colors: Palette, clusters: ClusterColors | None) -> Text:
    return answer_line(item, colors, clusters) if isinstance(item, AnswerLine) else event_line(item, colors)


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


class CurlRow(Static):
    """One client cluster: its split line and its timeline (presenter: big bars)."""

    DEFAULT_CSS = """
    CurlRow { height: auto; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, context: str) -> None:
        super().__init__("", classes="curl-row")
        self.context = context
        self.text = Text()
        """What it shows (tests read it)."""

    def show(self, text: Text) -> None:
        if text == self.text and text.spans == self.text.spans:
            return
        lines_before = self.text.plain.count("\n")
        self.text = text
        self.update(clean_text(text), layout=text.plain.count("\n") != lines_before)


class CurlLog(RichLog):
    """The answers and loop events, newest at the bottom, :data:`LOG_HISTORY` lines back.

    Focus it (tab, or a click) to scroll: PgUp/PgDn/Home/End (and the arrows). It follows the
    newest answer while scrolled to the bottom, and stays where the operator scrolled to
    otherwise.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("home", "scroll_home", "oldest", show=False),
        Binding("end", "scroll_end", "newest", show=False),
        Binding("pageup", "page_up", "page up", show=False),
        Binding("pagedown", "page_down", "page down", show=False),
    ]
    DEFAULT_CSS = """
    CurlLog { height: 1fr; background: transparent; scrollbar-size-vertical: 1; overflow-x: hidden; }
    CurlLog:focus { background-tint: $foreground 5%; }
    """

    def __init__(self) -> None:
        super().__init__(max_lines=LOG_HISTORY, wrap=False, markup=False, auto_scroll=False, id="curl-log")
        self.can_focus = True
        self.written = 0
        self.following = True
        """New lines scroll into view (until the operator scrolls up; End follows again)."""

    # Page and jump keys move at once (no animation): a log that moves under the operator's
    # eyes while lines arrive is hard to read.
    def action_page_up(self) -> None:
        self.following = False
        self.scroll_page_up(animate=False)

    def action_page_down(self) -> None:
        self.scroll_page_down(animate=False)

    def action_scroll_home(self) -> None:
        self.following = False
        self.scroll_home(animate=False)

    def action_scroll_up(self) -> None:
        self.following = False
        super().action_scroll_up()

    def action_scroll_end(self) -> None:
        self.following = True
        self.scroll_end(animate=False)

    def _on_mouse_scroll_up(self, event: Any) -> None:
        self.following = False
        super()._on_mouse_scroll_up(event)

    def add(self, lines: Sequence[Text]) -> None:
        """Append lines (oldest first); scroll to them while following (or at the bottom)."""
        follow = self.following or self.scroll_y >= self.max_scroll_y - 1
        self.following = follow
        for line in lines:
            self.write(clean_text(line, block=False), scroll_end=False)
            self.written += 1
        if follow:
            # at once: a deferred scroll could land after a PgUp pressed meanwhile
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    @property
    def plain(self) -> str:
        """The lines it holds, as text (tests)."""
        return "\n".join(strip.text.rstrip() for strip in self.lines)


class CurlPane(Vertical):
    """Live curl loops (see the module docstring): draws what ``model(room)`` gives it."""

    DEFAULT_CSS = """
    CurlPane { height: 1fr; padding: 0 1; }
    CurlPane > #curl-rows { height: auto; }
    CurlPane > #curl-map { height: 1fr; display: none; }
    CurlPane > #curl-hint { height: auto; color: $text-muted; }
    CurlPane.-map > #curl-map { display: block; }
    CurlPane.-map > #curl-log { display: none; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(k.key, f"app.{k.action}", k.title, id=k.id) for k in CURL_KEYS
    ]
    can_focus = True

    def __init__(
        self,
        model: Callable[..., CurlView],
        changed: Callable[[], bool],
        *,
        repaint: float = REPAINT,
        id: str | None = "curl-pane",
    ) -> None:
        """``model(room, drawn=N)``: the view to draw, with at most ``room`` log lines (those
        added after the ``drawn``-th); ``changed()``: whether anything changed since it was
        last asked (then a repaint follows)."""
        super().__init__(id=id)
        self.model = model
        self.changed = changed
        self.repaint = repaint
        self.repaints = 0
        self.big = False
        """Presenter mode: big bars (the app sets it with the layout)."""
        self.timelines = True
        """Each client's timeline under its split row (not when many loops share a short screen)."""
        self._rows_for: tuple[str, ...] = ()
        self._titles: tuple[str, str] = ("", "")
        self._refill = False
        self.view: CurlView | None = None
        """The view drawn last."""

    def compose(self) -> ComposeResult:
        yield Static(HINT, id="curl-hint")
        yield Vertical(id="curl-rows")
        yield CurlLog()
        yield Static("", id="curl-map")

    def on_mount(self) -> None:
        self.set_interval(self.repaint, self._tick)
        self._tick()

    def on_resize(self) -> None:
        self._refill = True

    @property
    def slot(self) -> Any:
        return self.parent

    @property
    def log_widget(self) -> CurlLog:
        return self.query_one(CurlLog)

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

    def set_timelines(self, shown: bool) -> None:
        if shown != self.timelines:
            self.timelines = shown
            self._refill = True

    def set_big(self, big: bool) -> None:
        if big != self.big:
            self.big = big
            self._refill = True

    def draw(self) -> None:
        """Repaint from the model (called by the timer when something changed)."""
        self.repaints += 1
        colors = palette(self.app)
        clusters = cluster_colors(self.app)
        rows = self.query_one("#curl-rows", Vertical)
        log = self.log_widget
        width = max(20, (self.size.width - 2) if self.size.width else 76)
        view = self.view = self.model(LOG_HISTORY, drawn=log.written, marks=width)
        self._set_titles(view.title, view.subtitle)
        hint = self.query_one("#curl-hint", Static)
        if not view.started:
            hint.display = True
            rows.display = False
            log.display = False
            return
        hint.display = False
        rows.display = True
        self.set_class(view.mode == "map", "-map")
        if view.mode != "map":
            log.display = True
        contexts = tuple(row.context for row in view.rows)
        if contexts != self._rows_for:
            self._rows_for = contexts
            rows.remove_children()
            rows.mount_all([CurlRow(c) for c in contexts])
            self._refill = True  # fill them on the next tick, once mounted
        by_context = {row.context: row for row in view.rows}
        for widget in rows.query(CurlRow):
            row = by_context.get(widget.context)
            if row is None:
                continue
            if self.big:
                widget.show(big_text(row, colors, clusters, width=width, changed_at=view.changed_at))
            else:
                summary = summary_text(row, colors, clusters, width=width, changed_at=view.changed_at)
                if self.timelines:
                    timeline = timeline_text(row, colors, clusters, width=width)
                    widget.show(Text("\n").join([summary, timeline]))
                else:
                    widget.show(summary)
        new = [log_line(item, colors, clusters) for item in reversed(view.log)]
        log.written = view.log_total - len(view.log)
        if new:
            log.add(new)
        log.written = view.log_total
        if view.mode == "map":
            room = max(1, self.query_one("#curl-map", Static).size.height or 5)
            self.query_one("#curl-map", Static).update(clean_text(map_text(view, colors, room)))
