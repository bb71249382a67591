"""The Backends pane: the selected service's backends seen from the viewing cluster.

Every backend of every cluster with pod, ``ip:port``, ready, whether the viewing cluster's
agents select it and why (from the rules core), the expected share of new connections per
cluster as bars, the clusters left out of the merge with their reason, and — when the source
can read it — the agent's own ``cilium service list`` state per backend, differences marked.
"""

from __future__ import annotations

import textwrap
import time

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable

from tui.safetext import safe_line, safe_text
from tui.views.backends import BackendsPerspective
from tui.views.clustercolors import ClusterColors, color_of
from tui.views.labels import plural
from widgets.looks import same_look
from widgets.palette import Palette, cluster_colors, palette
from widgets.rowdetails import RowDetails
from widgets.tables import Column, KeyedTable
from widgets.textblock import TextBlock

WHY_MIN = 24
"""The WHY column is at least this wide: narrower panes shorten pod names, then drop IP:PORT."""
POD_MIN = 14
MAX_ROW_LINES = 3
"""A longer reason is cut after this many lines; enter on the row shows it whole."""
BAR_WIDTH = 20
"""Blocks for 100 % (the sketch draws 50 % as ten blocks)."""
MAX_BARS = 8
NARROW_SUMMARY = 100
"""Below this many cells of text the agent line takes its short form (one row at 80 columns)."""


def share_bars(
    shares: dict[str, float] | None,
    colors: Palette,
    *,
    label: str = "expected",
    clusters: ClusterColors | None = None,
) -> Text:
    """``expected  cluster1 ██████████ 50%   cluster2 ██████████ 50%`` (each in its cluster's colour)."""
    out = Text(f"{label:<9} ", style="bold")
    if not shares:
        out.append("no backend selected", style=colors.err)
        return out
    # Largest share first; equal shares keep the view's order (client cluster, then mesh order).
    ordered = sorted(shares.items(), key=lambda item: -item[1])
    for index, (cluster, share) in enumerate(ordered[:MAX_BARS]):
        if index:
            out.append("   ")
        blocks = round(share * BAR_WIDTH)
        color = color_of(clusters, cluster)
        out.append(f"{safe_line(cluster)} ", style=color)
        out.append("█" * blocks, style=color or colors.accent)
        out.append(f" {round(share * 100)}%")
    if len(ordered) > MAX_BARS:
        rest = sum(share for _, share in ordered[MAX_BARS:])
        out.append(f"   +{len(ordered) - MAX_BARS} clusters {round(rest * 100)}%", style=colors.muted)
    return out


def _yes(value: bool, colors: Palette) -> Text:
    return Text("✓", style=colors.ok) if value else Text("✗", style=colors.err)


class BackendsPane(Vertical):
    DEFAULT_CSS = """
    BackendsPane {
        height: 1fr;
        border: round $foreground 30%;
        border-title-color: $foreground;
    }
    BackendsPane:focus-within { border: round $primary; }
    BackendsPane > #backends-summary { max-height: 6; padding: 0 1; }
    BackendsPane > KeyedTable { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Backends"
        self.row_details: list[list[tuple[str, str]]] = []
        """Every field of each row, uncut, in row order (what enter shows)."""
        self.title_text = ""
        self.perspective: BackendsPerspective | None = None
        self.summary = Text()
        self._summary_drawn = False
        self._args: tuple[object, ...] | None = None
        self.row_ids: list[str] = []
        """What each row shows, in row order: the backend's ``ip:port``, or ``agent:ip:port`` for
        one only the agent lists. The table's own keys are positions (see :meth:`show`)."""
        self._widths: dict[str, int] = {}
        """The widths the columns had so far: they only grow (see :meth:`show`)."""
        self._drawn_for: tuple[object, ...] | None = None

    def compose(self) -> ComposeResult:
        # Grows only: a summary one line shorter than the last must not re-lay out the screen.
        yield TextBlock("Select a service in Global services.", id="backends-summary", grow_only=True)
        yield KeyedTable(id="backends-table")

    @property
    def table(self) -> KeyedTable:
        return self.query_one("#backends-table", KeyedTable)

    def _set_summary(self, widget: TextBlock, text: Text) -> None:
        """Update the summary only when it changed: an update re-lays out the whole screen."""
        if self._summary_drawn and same_look(self.summary, text):
            return
        self.summary = text
        self._summary_drawn = True
        widget.update(text)

    def on_resize(self) -> None:
        self._widths = {}  # another width: the columns are sized anew
        if self._args is not None:
            service, view, blocked, viewing, read_at, note, lag, empty = self._args
            self.show(
                service,  # type: ignore[arg-type]
                view,  # type: ignore[arg-type]
                blocked=blocked,  # type: ignore[arg-type]
                viewing=viewing,  # type: ignore[arg-type]
                agent_read_at=read_at,  # type: ignore[arg-type]
                agent_note=note,  # type: ignore[arg-type]
                agent_lag=lag,  # type: ignore[arg-type]
                empty=empty,  # type: ignore[arg-type]
            )

    def show(
        self,
        service: str | None,
        view: BackendsPerspective | None,
        *,
        blocked: str = "",
        viewing: str = "",
        agent_read_at: float | None = None,
        agent_note: str = "",
        agent_lag: str = "",
        empty: str = "",
    ) -> None:
        """Draw ``view`` (the service ``service`` seen from one cluster); ``blocked`` says why
        writes are disabled there (RBAC, unreachable), shown under the shares; ``empty`` why
        no service is selected (a filter matches none), shown in place of any service."""
        colors = palette(self.app)
        self.perspective = view
        self._args = (service, view, blocked, viewing, agent_read_at, agent_note, agent_lag, empty)
        summary_widget = self.query_one("#backends-summary", TextBlock)
        table = self.table
        if service is None or view is None or empty:
            self.border_title = "Backends"
            self.border_subtitle = ""
            text = Text("Select a service in Global services.", style=colors.muted)
            if empty:
                text = safe_text(empty, colors.warn)
            elif service is not None and viewing:
                text = safe_text(f"{service}: no view from {viewing}", colors.muted)
            self._set_summary(summary_widget, text)
            table.set_columns([])
            table.sync_rows([])
            self.row_ids = []
            self._drawn_for = None
            return
        self.border_title = safe_text(f"Backends  {service}  seen from {view.cluster} ({view.context})")
        if view.known:
            self.border_subtitle = safe_text(view.footer)
        else:
            self.border_subtitle = ""
        width = max(60, (self.size.width or 100) - 4)  # cells of text: the summary's and the table's
        lines: list[Text] = []
        if not view.known:
            lines.append(safe_text(view.note, colors.err if "unreachable" in view.note else colors.warn))
        else:
            lines.append(share_bars(dict(view.expected_share), colors, clusters=cluster_colors(self.app)))
            if view.headless:
                lines[-1] = Text(f"{'expected':<9} ", style="bold") + safe_text(view.note, colors.muted)
            if view.fallback:
                lines[-1].append("  (fallback: preferred side has no active backend)", style=colors.warn)
            if view.terminating_fallback:
                lines[-1].append("  (terminating backends: no active one left)", style=colors.warn)
            if view.rule is not None and view.rule.assumed:
                lines.append(Text("rules     ", style="bold") + safe_text(view.rule.assumed, colors.warn))
            for text in view.lost_remotes:
                lines.append(Text("cached    ", style="bold") + safe_text(text, colors.warn))
            if view.headless:
                pass
            elif view.note and view.expected_share:
                lines.append(safe_text(view.note, colors.warn))
            elif view.note:
                lines[-1] = Text(f"{'expected':<9} ", style="bold") + safe_text(view.note, colors.err)
            if view.excluded:
                excluded = Text("excluded  ", style="bold")
                reasons = "; ".join(f"{c}: {r}" for c, r in view.excluded)
                excluded.append(safe_line(reasons), style=colors.warn)
                lines.append(excluded)
            if view.unknown:
                unknown = Text("unknown   ", style="bold")
                phases = "; ".join(f"{c}: {p}" for c, p in view.unknown)
                unknown.append(
                    safe_line(phases) + " (its backends are not counted)",
                    style=colors.err,
                )
                lines.append(unknown)
            if view.stale:
                stale = Text("stale     ", style="bold")
                stale.append(
                    safe_line("; ".join(f"{c}: {t}" for c, t in view.stale)) + " (counted as last seen)",
                    style=colors.warn,
                )
                lines.append(stale)
            if view.agent_backends is not None:
                diff = view.differences
                agent = Text("agent     ", style="bold")
                # Narrow panes (80 columns) keep the line to one row so the table does not lose
                # a backend row below the fold: no "cilium service list" words on a difference,
                # and no read time while a re-read is coming anyway.
                narrow = width < NARROW_SUMMARY
                if diff:
                    # Read before the last change, or while the agents may still be syncing it:
                    # a difference is most likely its age, not an error yet (``agent_lag``).
                    style = colors.warn if agent_lag else colors.err
                    words = "" if narrow else "cilium service list "
                    agent.append(f"{words}differs on {plural(diff, 'backend')}", style=style)
                else:
                    agent.append("cilium service list agrees", style=colors.ok)
                if agent_read_at is not None:
                    stamp = time.strftime("%H:%M:%S", time.localtime(agent_read_at))
                    if agent_lag and narrow:
                        agent.append("  (", style=colors.muted)
                        agent.append(safe_line(agent_lag), style=colors.warn)
                        agent.append(")", style=colors.muted)
                    elif agent_lag:
                        agent.append(f"  (read {stamp}", style=colors.muted)
                        agent.append(safe_line(f", {agent_lag}"), style=colors.warn)
                        agent.append(")", style=colors.muted)
                    else:
                        agent.append(f"  (read {stamp})", style=colors.muted)
                lines.append(agent)
            elif agent_note:
                lines.append(Text("agent     ", style="bold") + safe_text(agent_note, colors.muted))
        if blocked:
            lines.append(safe_text(f"writes    {blocked}", colors.err))
        self._set_summary(summary_widget, Text("\n").join(lines))
        with_agent = view.agent_backends is not None
        backends = view.backends
        # Widths only grow while the pane keeps its size: new widths would clear the table and
        # add every row again, on every key at 64 clusters (see the rows' keys below).
        sticky = self._widths
        cluster_w = max(8, sticky.get("cluster", 0), *(len(b.cluster) for b in backends))
        pod_w = max(8, sticky.get("pod", 0), *(min(30, len(b.pod)) for b in backends))
        addr_w = max(8, sticky.get("addr", 0), *(len(b.address) for b in backends))
        self._widths = {"cluster": cluster_w, "pod": pod_w, "addr": addr_w}
        whys = [short_why(b.why, view.affinity) for b in backends]
        # Narrow panes use short headers for the two ✓/✗ columns: the reason needs the room.
        short = width < 110
        ready_w, selected_w = (3, 3) if short else (5, 8)
        agent_w = 11 if with_agent else 0
        # The reason must stay readable: narrow panes shorten the pod names (middle "…"), then
        # leave out IP:PORT; enter on a row shows all of it (RowDetails).
        fixed = (cluster_w + 2) + (ready_w + 2) + (selected_w + 2) + agent_w
        room = width - fixed - WHY_MIN - 4  # for POD (and IP:PORT), WHY at its narrowest
        with_addr = room - (addr_w + 2) >= min(pod_w, POD_MIN)
        if with_addr:
            room -= addr_w + 2
        pod_w = max(min(pod_w, POD_MIN), min(pod_w, room))
        fixed += (pod_w + 2) + ((addr_w + 2) if with_addr else 0)
        columns = [Column("cluster", "CLUSTER", cluster_w), Column("pod", "POD", pod_w)]
        if with_addr:
            columns.append(Column("addr", "IP:PORT", addr_w))
        columns += [
            Column("ready", "RDY" if short else "READY", ready_w),
            Column("selected", "SEL" if short else "SELECTED", selected_w),
        ]
        if with_agent:
            columns.append(Column("agent", "AGENT", 9))
        # WHY last, as wide as what is left; a longer reason wraps onto more lines.
        why_w = max(width - fixed - 2, 16)
        columns.append(Column("why", "WHY", why_w))
        table.set_columns(columns)
        rows: list[tuple[str, tuple[Text, ...]]] = []
        ids: list[str] = []
        details: list[list[tuple[str, str]]] = []
        clusters = cluster_colors(self.app)
        for b, why in zip(view.backends, whys, strict=True):
            cells: list[Text] = [
                # the colour as a span, not the Text's base style: a theme change must count
                # as a change of the cell (rich's Text equality ignores the base style)
                Text.assemble(
                    (
                        safe_line(b.cluster),
                        f"{'bold ' if b.cluster == view.cluster else ''}{clusters.color(b.cluster)}",
                    )
                ),
                safe_text(middle_cut(b.pod or "—", pod_w)),
                *((safe_text(b.address),) if with_addr else ()),
                _yes(b.ready, colors),
                _yes(b.selected, colors) if b.ready else Text("—", style=colors.muted),
            ]
            if with_agent:
                style = (colors.warn if agent_lag else colors.err) if b.agent_differs else colors.muted
                cells.append(safe_text(_agent_short(b.agent), style))
            cells.append(safe_text(why, "" if b.selected else colors.muted))
            rows.append((str(len(rows)), tuple(cells)))
            ids.append(b.address)
            details.append(
                [
                    ("cluster", b.cluster),
                    ("pod", b.pod or "—"),
                    ("address", b.address),
                    ("ready", "yes" if b.ready else "no"),
                    ("selected", ("yes" if b.selected else "no") if b.ready else "— (not ready)"),
                    *((("agent", agent_detail(b.agent, b.agent_differs)),) if with_agent else ()),
                    ("why", b.why),
                ]
            )
        extra_why = "only in the agent's list"
        if view.unknown:  # most likely a backend of a cluster the app cannot read
            extra_why += safe_line(f" (from {', '.join(c for c, _ in view.unknown)}?)")
        for extra in view.agent_backends or ():
            if any(b.address == f"{extra.ip}:{extra.port}" for b in view.backends):
                continue
            address = f"{extra.ip}:{extra.port}"
            cells = [
                safe_text(extra.cluster or "?"),
                Text("—"),
                *((safe_text(address),) if with_addr else ()),
                Text("?"),
                Text("—"),
                safe_text(_agent_short(extra.state), colors.err),
                Text(extra_why, style=colors.err),
            ]
            rows.append((str(len(rows)), tuple(cells)))
            ids.append(f"agent:{address}")
            details.append(
                [
                    ("cluster", extra.cluster or "?"),
                    ("address", address),
                    ("agent", extra.state or "—"),
                    ("why", extra_why),
                ]
            )
        # Rows are keyed by position: another service (or viewing cluster) overwrites the cells
        # of the rows already there and adds or drops only the difference in count. Keyed by
        # backend, every key changed, which cleared the table and measured every cell again
        # (most of a key's 100-200 ms at 64 clusters).
        selection = (service, view.cluster)
        if selection != self._drawn_for:
            self._drawn_for = selection
            if table.cursor_row:  # as a new table: from the top
                table.move_cursor(row=0, animate=False)
            if table.scroll_offset != (0, 0):
                table.scroll_to(0, 0, animate=False)
        self.row_ids = ids
        self.row_details = details
        self.title_text = f"{service} seen from {view.cluster} ({view.context})"
        lines = max((len(textwrap.wrap(w, why_w)) for w in (*whys, extra_why)), default=1)
        table.sync_rows(rows, height=max(1, min(MAX_ROW_LINES, lines)))

    @on(DataTable.RowSelected, "#backends-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a row: every field of it, uncut (a narrow pane shortens or leaves out some)."""
        event.stop()
        key = event.row_key.value
        index = int(key) if key is not None and key.isdigit() else -1
        if 0 <= index < len(self.row_details):
            title = f"Backend {self.row_ids[index]}  {self.title_text}"
            self.post_message(RowDetails(title, self.row_details[index]))


def agent_detail(state: str | None, differs: bool) -> str:
    return (state or "—") + ("  (differs from the computed selection)" if differs else "")


def middle_cut(text: str, width: int) -> str:
    """``userlist-6c9f7d8b5-x2x8q`` → ``userlist-6…5-x2x8q``: the start and the unique end of a
    name that does not fit (enter on the row shows it whole)."""
    if len(text) <= width or width < 5:
        return text
    keep = width - 1
    head = keep // 2
    return f"{text[:head]}…{text[len(text) - (keep - head) :]}"


def short_why(why: str, affinity: str) -> str:
    """The reason without ``(affinity local)`` when the pane's subtitle already says it."""
    return why.removesuffix(f" (affinity {affinity})")


def _agent_short(state: str | None) -> str:
    """``active preferred`` → ``active ★`` so the AGENT column stays narrow."""
    if not state:
        return "—"
    return state.replace(" preferred", " ★")
