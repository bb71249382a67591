"""The Mesh pane past :data:`SUMMARY_ABOVE` clusters: counts and broken links, not a matrix.

Cilium allows 255 clusters in one mesh (``max-connected-clusters``, 511 with fewer identity
bits): a 255 × 255 matrix fits no terminal, and 64,770 cells would hide the few that matter.
So a big mesh is summarised:

* one line: how many links are connected, broken, not configured, unknown;
* per cluster, problems first: connected remotes as its own agents see them (``out``) and how
  many other clusters' agents reach it (``in``); the clusters whose every link is fine are one
  line;
* only the broken pairs, grouped by the cluster whose agents report them;
* the drill-in: the viewing cluster (picked in the Contexts pane, as for Backends) with every
  link that is not connected, both ways.

Counting looks each remote up in a per-cluster map (``ClusterView.remote`` is a linear search:
255 × 254 of those is millions of comparisons).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.text import Text

from tui.safetext import safe_line
from tui.views.status import ClusterView, RemoteView, StatusView
from widgets.palette import Palette

SUMMARY_ABOVE = 64
"""More clusters than this: the summary instead of the matrix (64 clusters still fit one glyph
per cell in a wide pane)."""
MAX_CLUSTER_LINES = 16
"""Clusters with a problem listed one per line; the rest are counted."""
MAX_PAIR_LINES = 12
"""Clusters whose broken links are listed; the rest are counted."""
MAX_NAMES = 8
"""Cluster names on one line before ``+N more``."""


@dataclass
class Links:
    """One cluster's links both ways (counts over the other clusters of the mesh)."""

    view: ClusterView
    out_ok: int = 0
    out_broken: list[str] = field(default_factory=list)
    out_missing: list[str] = field(default_factory=list)
    out_unknown: int = 0
    in_ok: int = 0
    in_broken: list[str] = field(default_factory=list)
    in_unknown: int = 0

    @property
    def out_failed(self) -> int:
        return len(self.out_broken) + len(self.out_missing)

    @property
    def problems(self) -> int:
        return (
            len(self.out_broken)
            + len(self.out_missing)
            + self.out_unknown
            + len(self.in_broken)
            + self.in_unknown
        )


def count_links(status: StatusView) -> list[Links]:
    """Every cluster's :class:`Links`, in the mesh's order."""
    clusters = status.clusters
    links = {c.context: Links(c) for c in clusters}
    for source in clusters:
        mine = links[source.context]
        remotes: dict[str, RemoteView] = {r.cluster: r for r in source.remotes}
        for target in clusters:
            if target.context == source.context:
                continue
            theirs = links[target.context]
            name = target.cluster
            if not source.known or not target.cluster_known:
                mine.out_unknown += 1
                theirs.in_unknown += 1
                continue
            remote = remotes.get(name)
            if remote is not None and remote.agents == 0:  # configured, no agent read yet
                mine.out_unknown += 1
                theirs.in_unknown += 1
            elif remote is None:
                mine.out_missing.append(name)
                theirs.in_broken.append(source.cluster)
            elif remote.ok:
                mine.out_ok += 1
                theirs.in_ok += 1
            else:
                mine.out_broken.append(name)
                theirs.in_broken.append(source.cluster)
    return [links[c.context] for c in clusters]


def _names(names: list[str]) -> str:
    shown = " ".join(safe_line(n) for n in names[:MAX_NAMES])
    if len(names) > MAX_NAMES:
        shown += f" +{len(names) - MAX_NAMES} more"
    return shown


def _direction(out: Text, label: str, ok: int, expected: int, broken: int, colors: Palette) -> None:
    """``out 250/254 ✗``: ✗ when a link is broken, ? when the rest are not known yet."""
    if broken:
        mark, style = "✗", colors.err
    elif ok < expected:
        mark, style = "?", colors.warn
    else:
        mark, style = "✓", colors.ok
    out.append(f"{label} {ok}/{expected} {mark}", style=style)


def render_summary(status: StatusView, colors: Palette, viewing: str | None = None) -> Text:
    """The Mesh pane's top part for a big mesh (see the module docstring)."""
    links = count_links(status)
    total = len(links)
    expected = total - 1
    out = Text()
    ok = sum(item.out_ok for item in links)
    broken = sum(len(item.out_broken) for item in links)
    missing = sum(len(item.out_missing) for item in links)
    unknown = sum(item.out_unknown for item in links)
    out.append(f"{total} clusters · {total * expected:,} links: ", style="bold")
    out.append(f"{ok:,} connected ✓", style=colors.ok)
    if broken:
        out.append(f" · {broken:,} broken ✗", style=colors.err)
    if missing:
        out.append(f" · {missing:,} not configured", style=colors.warn)
    if unknown:
        out.append(f" · {unknown:,} unknown ?", style=colors.muted)
    out.append("\n")

    name_width = min(24, max(len(safe_line(item.view.cluster)) for item in links) + 1)
    # broken links before links not known yet (a cluster that cannot be read is one line each way)
    troubled = sorted(
        (item for item in links if item.problems),
        key=lambda item: (-(item.out_failed + len(item.in_broken)), -item.problems),
    )
    if troubled:
        out.append("out: its agents reach · in: reach it · worst first\n", style=colors.muted)
    for item in troubled[:MAX_CLUSTER_LINES]:
        out.append(f"  {safe_line(item.view.cluster)[: name_width - 1]:<{name_width}}")
        if not item.view.known:
            out.append(f"out ? ({safe_line(item.view.state)})", style=colors.warn)
        else:
            _direction(out, "out", item.out_ok, expected, item.out_failed, colors)
        out.append("  ")
        _direction(out, "in", item.in_ok, expected, len(item.in_broken), colors)
        out.append("\n")
    if len(troubled) > MAX_CLUSTER_LINES:
        more = len(troubled) - MAX_CLUSTER_LINES
        out.append(f"  … {more} more with a problem (pick one in Contexts)\n", style=colors.muted)
    fine = total - len(troubled)
    if fine:
        out.append(
            f"  {fine} clusters: every link connected ✓ ({expected}/{expected} both ways)\n", style=colors.ok
        )

    reporting = [item for item in links if item.out_broken or item.out_missing]
    if reporting:
        out.append("broken links (from → to):\n", style="bold")
    for item in reporting[:MAX_PAIR_LINES]:
        out.append(f"  ✗ {safe_line(item.view.cluster)} → ", style=colors.err)
        out.append(_names(item.out_broken + item.out_missing) + "\n")
    if len(reporting) > MAX_PAIR_LINES:
        more = len(reporting) - MAX_PAIR_LINES
        out.append(f"  … {more} more clusters report broken links\n", style=colors.muted)

    chosen = next((item for item in links if item.view.context == viewing), None)
    if chosen is not None:
        out.append_text(render_drill_in(chosen, expected, colors))
    return out


def render_drill_in(item: Links, expected: int, colors: Palette) -> Text:
    """The viewing cluster's links both ways, every one that is not connected named."""
    view = item.view
    out = Text()
    out.append(f"▸ {safe_line(view.cluster)} ({safe_line(view.context)})", style="bold")
    out.append("  the viewing cluster: pick another in Contexts\n", style=colors.muted)
    out.append("  ")
    if view.known:
        _direction(out, "out", item.out_ok, expected, item.out_failed, colors)
    else:
        out.append(f"out ? ({safe_line(view.state)})", style=colors.warn)
    out.append("  ")
    _direction(out, "in", item.in_ok, expected, len(item.in_broken), colors)
    out.append("\n")
    if item.out_broken:
        out.append(f"  ✗ broken to: {_names(item.out_broken)}\n", style=colors.err)
    if item.out_missing:
        out.append(f"  · not configured to: {_names(item.out_missing)}\n", style=colors.warn)
    if item.in_broken:
        out.append(f"  ✗ not reached from: {_names(item.in_broken)}\n", style=colors.err)
    if item.in_unknown:
        out.append(f"  ? {item.in_unknown} clusters cannot be read\n", style=colors.muted)
    return out
