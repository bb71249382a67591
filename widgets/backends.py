"""The Backends pane: the selected service's backends seen from the viewing cluster.

Every backend of every cluster with pod, ``ip:port``, ready, whether the viewing cluster's
agents select it and why (from the rules core), the expected share of new connections per
cluster as bars, the clusters left out of the merge with their reason, and — when the source
can read it — the agent's own ``cilium service list`` state per backend, differences marked.
"""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical

from tui.safetext import safe_line, safe_text
from tui.views.backends import BackendsPerspective
from tui.views.clustercolors import ClusterColors, color_of
from widgets.palette import Palette, cluster_colors, palette
from widgets.tables import Column, KeyedTable
from widgets.textblock import TextBlock

BAR_WIDTH = 20
"""Blocks for 100 % (the sketch draws 50 % as ten blocks)."""
MAX_BARS = 8


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
        self.perspective: BackendsPerspective | None = None
        self.summary = Text()
        self._summary_drawn = False
        self._args: tuple[object, ...] | None = None

    def compose(self) -> ComposeResult:
        yield TextBlock("Select a service in Global services.", id="backends-summary")
        yield KeyedTable(id="backends-table")

    @property
    def table(self) -> KeyedTable:
        return self.query_one("#backends-table", KeyedTable)

    def _set_summary(self, widget: TextBlock, text: Text) -> None:
        """Update the summary only when it changed: an update re-lays out the whole screen."""
        if text == self.summary and self._summary_drawn:
            return
        self.summary = text
        self._summary_drawn = True
        widget.update(text)

    def on_resize(self) -> None:
        if self._args is not None:
            service, view, blocked, viewing, read_at, note, outdated = self._args
            self.show(
                service,  # type: ignore[arg-type]
                view,  # type: ignore[arg-type]
                blocked=blocked,  # type: ignore[arg-type]
                viewing=viewing,  # type: ignore[arg-type]
                agent_read_at=read_at,  # type: ignore[arg-type]
                agent_note=note,  # type: ignore[arg-type]
                agent_outdated=outdated,  # type: ignore[arg-type]
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
        agent_outdated: bool = False,
    ) -> None:
        """Draw ``view`` (the service ``service`` seen from one cluster); ``blocked`` says why
        writes are disabled there (RBAC, unreachable), shown under the shares."""
        colors = palette(self.app)
        self.perspective = view
        self._args = (service, view, blocked, viewing, agent_read_at, agent_note, agent_outdated)
        summary_widget = self.query_one("#backends-summary", TextBlock)
        table = self.table
        if service is None or view is None:
            self.border_title = "Backends"
            self.border_subtitle = ""
            text = Text("Select a service in Global services.", style=colors.muted)
            if service is not None and viewing:
                text = safe_text(f"{service}: no view from {viewing}", colors.muted)
            self._set_summary(summary_widget, text)
            table.set_columns([])
            table.sync_rows([])
            return
        self.border_title = safe_text(f"Backends  {service}  seen from {view.cluster} ({view.context})")
        if view.known:
            self.border_subtitle = safe_text(view.footer)
        else:
            self.border_subtitle = ""
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
                if diff:
                    # Read before the last change, a difference is most likely its age: not an error yet.
                    style = colors.warn if agent_outdated else colors.err
                    agent.append(f"cilium service list differs on {diff} backend(s)", style=style)
                else:
                    agent.append("cilium service list agrees", style=colors.ok)
                if agent_read_at is not None:
                    stamp = time.strftime("%H:%M:%S", time.localtime(agent_read_at))
                    if agent_outdated:
                        agent.append(f"  (read {stamp}", style=colors.muted)
                        agent.append(", before the last change: re-reading", style=colors.warn)
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
        width = max(60, (self.size.width or 100) - 4)
        backends = view.backends
        cluster_w = max(8, *(len(b.cluster) for b in backends)) if backends else 8
        pod_w = min(30, max(8, *(len(b.pod) for b in backends))) if backends else 8
        addr_w = max(8, *(len(b.address) for b in backends)) if backends else 8
        whys = [short_why(b.why, view.affinity) for b in backends]
        # Narrow panes use short headers for the two ✓/✗ columns: the reason needs the room.
        short = width < 110
        ready_w, selected_w = (3, 3) if short else (5, 8)
        fixed = (cluster_w + 2) + (pod_w + 2) + (addr_w + 2) + (ready_w + 2) + (selected_w + 2)
        fixed += 11 if with_agent else 0
        columns = [
            Column("cluster", "CLUSTER", cluster_w),
            Column("pod", "POD", pod_w),
            Column("addr", "IP:PORT", addr_w),
            Column("ready", "RDY" if short else "READY", ready_w),
            Column("selected", "SEL" if short else "SELECTED", selected_w),
        ]
        if with_agent:
            columns.append(Column("agent", "AGENT", 9))
        # WHY last, as wide as what is left; a longer reason wraps onto a second line.
        why_w = max(width - fixed - 2, 16)
        columns.append(Column("why", "WHY", why_w))
        table.set_columns(columns)
        rows = []
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
                safe_text(b.pod or "—"),
                safe_text(b.address),
                _yes(b.ready, colors),
                _yes(b.selected, colors) if b.ready else Text("—", style=colors.muted),
            ]
            if with_agent:
                style = colors.err if b.agent_differs else colors.muted
                cells.append(safe_text(_agent_short(b.agent), style))
            cells.append(safe_text(why, "" if b.selected else colors.muted))
            rows.append((b.address, tuple(cells)))
        extra_why = "only in the agent's list"
        if view.unknown:  # most likely a backend of a cluster the app cannot read
            extra_why += safe_line(f" (from {', '.join(c for c, _ in view.unknown)}?)")
        for extra in view.agent_backends or ():
            if any(b.address == f"{extra.ip}:{extra.port}" for b in view.backends):
                continue
            cells = [
                safe_text(extra.cluster or "?"),
                Text("—"),
                safe_text(f"{extra.ip}:{extra.port}"),
                Text("?"),
                Text("—"),
                safe_text(_agent_short(extra.state), colors.err),
                Text(extra_why, style=colors.err),
            ]
            rows.append((f"agent:{extra.ip}:{extra.port}", tuple(cells)))
        table.sync_rows(rows, height=2 if any(len(w) > why_w for w in whys) else 1)


def short_why(why: str, affinity: str) -> str:
    """The reason without ``(affinity local)`` when the pane's subtitle already says it."""
    return why.removesuffix(f" (affinity {affinity})")


def _agent_short(state: str | None) -> str:
    """``active preferred`` → ``active ★`` so the AGENT column stays narrow."""
    if not state:
        return "—"
    return state.replace(" preferred", " ★")
