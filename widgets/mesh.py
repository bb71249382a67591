"""The Mesh pane: ``cilium clustermesh status`` for every cluster at once, and the findings.

A cluster × cluster matrix (from row → to column: connected agents / agents, ✓ / ✗), one line
per cluster with its clustermesh-apiserver access address, service type and readiness and
the min/avg/max of connected remotes, the error text of every broken link, and below them the
connect-check findings with the exact command that fixes each. Past 6 clusters the matrix
becomes one glyph per cell so it still fits at 64 clusters; past 64 (Cilium allows 255) it is
a summary with the viewing cluster's links drilled into (:mod:`widgets.meshsummary`).
"""

from __future__ import annotations

import dataclasses

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui.safetext import clean_text, safe_block, safe_line, safe_text
from tui.views.clustercolors import ClusterColors, color_of
from tui.views.labels import plural
from tui.views.status import ClusterView, StatusView
from widgets.meshsummary import SUMMARY_ABOVE, render_summary
from widgets.palette import SEVERITY_MARK, Palette, cluster_colors, palette
from widgets.wrap import command_lines, hanging

WIDE_MATRIX_MAX = 6
FIX_INLINE_MIN = 50
"""Below this many cells a fix command starts on the line after ``fix:`` (room for its words)."""
FROM_TO = "from \\ to"


def _cell(source: ClusterView, target: ClusterView, colors: Palette) -> tuple[str, str]:
    """(text, style) of one matrix cell: what ``source``'s agents say about ``target``."""
    if source.context == target.context:
        return "—", colors.muted
    if not source.known:
        return "?", colors.warn if source.phase == "syncing" else colors.err
    if not target.cluster_known:
        return "?", colors.muted  # its Cilium name is unknown: cannot match the agents' remotes
    remote = source.remote(target.cluster)
    if remote is None:
        return "no link", colors.muted
    text = f"{remote.connected}/{remote.agents}"
    if remote.configured != remote.agents:
        text += f" cfg {remote.configured}"
    if remote.ok:
        return f"{text} ✓", colors.ok
    return f"{text} ✗", colors.err


def _cell_text(source: ClusterView, target: ClusterView) -> tuple[str, str]:
    if source.context == target.context:
        return "·", "muted"
    if not source.known:
        return "?", "warn"
    remote = source.remote(target.cluster)
    if remote is None:
        return " ", "muted"
    return ("✓", "ok") if remote.ok else ("✗", "err")


def _head(clusters: ClusterColors | None, cluster: str) -> str:
    """A row or column head's style: bold, in the cluster's colour (the same as in the other
    panes) when there is a mapping."""
    return f"bold {color_of(clusters, cluster)}".rstrip()


def render_matrix(
    status: StatusView, colors: Palette, width: int = 0, clusters_colors: ClusterColors | None = None
) -> Text:
    """The cluster × cluster matrix: names as column heads when they fit in ``width`` cells
    (0: unknown, assume they do), else numbered columns (see :func:`numbered_matrix`). Heads
    carry each cluster's colour from ``clusters_colors``; the cells keep the ok/error colours."""
    clusters = status.clusters
    out = Text()
    if not clusters:
        out.append("No contexts.", style=colors.muted)
        return out
    if len(clusters) <= WIDE_MATRIX_MAX:
        names = {c.context: safe_line(c.cluster) for c in clusters}
        label_width = max(12, *(len(n) + 1 for n in names.values()))
        cell_width = max(13, *(len(n) + 2 for n in names.values()))
        if width and label_width + cell_width * len(clusters) > width:
            # Too narrow for names as column heads: numbers, else one glyph per cell.
            return numbered_matrix(status, colors, width, clusters_colors) or glyph_matrix(
                status, colors, width, clusters_colors
            )
        out.append(f"{FROM_TO:<{label_width}}", style="bold")
        for target in clusters:
            out.append(f"{names[target.context]:^{cell_width}}", style=_head(clusters_colors, target.cluster))
        out.append("\n")
        for source in clusters:
            head = _head(clusters_colors, source.cluster)
            out.append(f"{names[source.context]:<{label_width}}", style=head)
            for target in clusters:
                text, style = _cell(source, target, colors)
                out.append(f"{text:^{cell_width}}", style=style)
            out.append("\n")
        return out
    return glyph_matrix(status, colors, width, clusters_colors)


def glyph_matrix(
    status: StatusView, colors: Palette, width: int = 0, clusters_colors: ClusterColors | None = None
) -> Text:
    """One glyph per cell (many clusters); columns numbered as the contexts. When the columns
    do not fit in ``width`` cells they come in blocks (columns 1–20, 21–40…), each under its
    own numbers, rather than rows the pane wraps into noise."""
    clusters = status.clusters
    styles = {"ok": colors.ok, "err": colors.err, "warn": colors.warn, "muted": colors.muted}
    names = [safe_line(c.cluster) for c in clusters]
    label_width = max(len(FROM_TO) + 1, *(len(n) + 1 for n in names))
    cells = [[_cell_text(source, target) for target in clusters] for source in clusters]
    count = len(clusters)
    per_block = count if not width else max(10, width - label_width)
    out = Text()
    legend = Text("column n = n-th context · ✓ connected ✗ broken · self\n", style=colors.muted)
    out.append_text(hanging(legend, width, 2))
    for start in range(0, count, per_block):
        end = min(count, start + per_block)
        if per_block < count:
            out.append(f"columns {start + 1}–{end}\n", style=colors.muted)
        out.append(f"{FROM_TO:<{label_width}}", style="bold")
        out.append("".join(str(i % 10) for i in range(start + 1, end + 1)) + "\n", style=colors.muted)
        for source, name, row in zip(clusters, names, cells, strict=True):
            out.append(f"{name:<{label_width}}", style=color_of(clusters_colors, source.cluster))
            for text, kind in row[start:end]:
                out.append(text, style=styles[kind])
            out.append("\n")
    return out


def numbered_matrix(
    status: StatusView, colors: Palette, width: int, clusters_colors: ClusterColors | None = None
) -> Text | None:
    """The matrix for a narrow pane: columns numbered as the rows (``1 cluster1``), each as
    wide as its widest cell; ``None`` when even that does not fit in ``width`` cells.

    ::

        to →        1      2
        1 cluster1  —      1/1 ✓
        2 cluster2  1/1 ✓  —
        cells: connected/agents

    Narrower, the rows are numbered only and a legend names the clusters (``1=cluster1``).
    """
    clusters = status.clusters
    cells = [[_cell(source, target, colors) for target in clusters] for source in clusters]
    named = [f"{i} {safe_line(c.cluster)}" for i, c in enumerate(clusters, start=1)]
    numbers = [str(i) for i in range(1, len(clusters) + 1)]
    # Roomiest first: names and two spaces between columns, then numbers only, then one space.
    widest = [max(len(numbers[j]), *(len(row[j][0]) for row in cells)) for j in range(len(clusters))]
    for gap, names in ((2, named), (2, numbers), (1, numbers)):
        widths = [w + gap for w in widest]
        label_width = max(len(n) + gap for n in names)
        if label_width + sum(widths) - gap <= width:
            break
    else:
        return None
    out = Text()
    out.append(f"{'to →' if label_width > 4 else '→':<{label_width}}", style="bold")
    for j, column_width in enumerate(widths):
        out.append(f"{j + 1:<{column_width}}", style=_head(clusters_colors, clusters[j].cluster))
    out.rstrip()
    out.append("\n")
    for i, row in enumerate(cells):
        out.append(f"{names[i]:<{label_width}}", style=_head(clusters_colors, clusters[i].cluster))
        for (text, style), column_width in zip(row, widths, strict=True):
            out.append(f"{text:<{column_width}}", style=style)
        out.rstrip()
        out.append("\n")
    if names[0] == "1":  # rows numbered only: name the clusters below
        legend = Text("  ".join(f"{i}={safe_line(c.cluster)}" for i, c in enumerate(clusters, start=1)))
        out.append_text(hanging(legend, width, 0))
        out.append("\n")
    out.append_text(hanging(Text("cells: connected/agents\n", style=colors.muted), width, 2))
    return out


def render_link_errors(status: StatusView, colors: Palette, width: int = 0) -> Text:
    """Every broken link with the agents' error text (what cilium-cli prints as Errors),
    unless a finding already names that link (it quotes the same error, with a fix)."""
    covered = {f.clusters[:2] for f in status.findings if f.check == "remote-not-connected"}
    kvm_covered = {f.clusters[:2] for f in status.findings if f.check == "kvstoremesh-not-connected"}
    local = {f.clusters[0] for f in status.findings if f.check == "kvstoremesh-local"}
    out = Text()
    for view in status.clusters:
        for remote in view.remotes:
            if remote.error and (view.cluster, remote.cluster) not in covered and view.cluster not in local:
                line = safe_text(f"✗ {view.cluster} → {remote.cluster}: ", colors.err)
                line.append(safe_line(remote.error) + "\n")
                out.append_text(hanging(line, width, 2))
        for remote in view.kvstoremesh_remotes:
            if remote.error and (view.cluster, remote.cluster) not in kvm_covered:
                line = safe_text(f"✗ {view.cluster} KVStoreMesh → {remote.cluster}: ", colors.err)
                line.append(safe_line(remote.error) + "\n")
                out.append_text(hanging(line, width, 2))
        for agent in view.unreadable_agents:
            out.append(safe_line(f"⚠ {view.cluster} agent {agent}") + "\n", style=colors.warn)
    return out


def render_access(status: StatusView, colors: Palette, width: int = 0) -> Text:
    """Clusters whose API cannot be read now: their matrix row is old (stale) or unknown."""
    out = Text()
    for view in status.clusters:
        if view.phase == "stale":
            reason = f": {view.reason}" if view.reason else ""
            line = safe_text(f"◐ {view.cluster} ({view.context}) {view.state}{reason}", colors.warn)
            line.append(" — its row is the last known state\n", style=colors.muted)
            out.append_text(hanging(line, width, 2))
        elif view.phase in ("unreachable", "forbidden", "error"):
            name = f"{view.cluster} ({view.context})" if view.cluster_known else view.context
            line = safe_text(f"✗ {name} {view.state}", colors.err)
            line.append("\n")
            out.append_text(hanging(line, width, 2))
    return out


def render_details(status: StatusView, colors: Palette, width: int = 0) -> Text:
    """Per cluster: clustermesh-apiserver access and readiness, min/avg/max of connected
    remotes; a line longer than ``width`` continues indented under its cluster's text."""
    out = Text()
    for view in status.clusters:
        out.append_text(hanging(_details_line(view, colors), width, 11))
    return out


def _details_line(view: ClusterView, colors: Palette) -> Text:
    """One cluster's access line (ends with a newline)."""
    out = Text()
    out.append(f"{safe_line(view.cluster):<10} ", style="bold")
    if not view.known:
        out.append(safe_line(view.state) + "\n", style=colors.phase(view.phase))
        return out
    if view.access_error:
        out.append(safe_line(f"access: {view.access_error}"), style=colors.err)
    elif view.access_addresses:
        out.append(safe_line(f"{', '.join(view.access_addresses)} ({view.access_type})"))
    else:
        out.append("access ?", style=colors.muted)
    if view.apiserver_ready is True:
        out.append("  apiserver ready", style=colors.ok)
    elif view.apiserver_ready is False:
        out.append(safe_line(f"  apiserver not ready: {view.apiserver_reason}"), style=colors.err)
    else:
        out.append("  no clustermesh-apiserver", style=colors.warn)
    if view.remotes:
        out.append(f"  [min:{view.min} / avg:{view.avg:.1f} / max:{view.max}]", style=colors.muted)
    if view.kvstoremesh:
        out.append("  KVStoreMesh:", style=colors.muted)
        if view.kvstoremesh_note:
            out.append(safe_line(f" {view.kvstoremesh_note}"), style=colors.warn)
        for remote in view.remotes:
            kvm = view.kvstoremesh_remote(remote.cluster)
            if kvm is None:
                out.append(safe_line(f" {remote.cluster} ?"), style=colors.muted)
            else:
                mark = "✓" if kvm.ok else "✗"
                out.append(
                    safe_line(f" {remote.cluster} {kvm.connected}/{kvm.agents} {mark}"),
                    style=colors.ok if kvm.ok else colors.err,
                )
    out.append("\n")
    return out


def render_findings(status: StatusView, colors: Palette, width: int = 0) -> Text:
    """Each finding: its message, then the command that fixes it; with ``width`` (the pane's),
    wrapped lines stay indented under the message and under the command."""
    out = Text()
    if not status.findings:
        if any(c.known for c in status.clusters):
            out.append("✓ no findings", style=colors.ok)
        return out
    for finding in status.findings:
        mark = SEVERITY_MARK.get(finding.severity, "•")
        message = Text(f"{mark} ", style=colors.severity(finding.severity))
        message.append(safe_line(finding.message) + "\n", style=colors.severity(finding.severity))
        out.append_text(hanging(message, width, 2))
        # Wide: "  fix: command \\" and its continued lines under it; narrow: "  fix:" on a
        # line of its own, each command below it and its continued lines two deeper.
        narrow = 0 < width < FIX_INLINE_MIN
        first, lead, deeper = ("  ", "  ", "    ") if narrow else ("  fix: ", "       ", " " * 9)
        if narrow:
            out.append("  fix:\n", style=colors.muted)
        for index, command in enumerate(safe_block(finding.fix).splitlines()):
            start = first if index == 0 else lead
            # A long command is cut between words with " \\": its lines still paste and run.
            for part, (indented, line) in enumerate(command_lines(command, width, len(start), len(deeper))):
                fix = Text((start if part == 0 else deeper) if indented else "", style=colors.muted)
                fix.append(line + "\n", style="bold")
                out.append_text(hanging(fix, width, len(deeper)))
    out.rstrip()
    return out


def render_mesh(
    status: StatusView,
    colors: Palette,
    width: int = 0,
    viewing: str | None = None,
    clusters_colors: ClusterColors | None = None,
) -> Text:
    """The pane's text; ``width`` (cells, 0: unknown) gives long lines hanging indents.

    Past :data:`SUMMARY_ABOVE` clusters the matrix is a summary, and the link errors and access
    details are the viewing cluster's only (one line per cluster is hundreds of lines)."""
    if len(status.clusters) > SUMMARY_ABOVE:
        top = render_summary(status, colors, viewing)
        chosen = status.by_context(viewing) if viewing else None
        status = dataclasses.replace(status, clusters=(chosen,) if chosen else ())
    else:
        top = render_matrix(status, colors, width, clusters_colors)
    # Most urgent first: the matrix, broken links, findings with fixes; access details last.
    parts = [
        top,
        render_access(status, colors, width),
        render_link_errors(status, colors, width),
    ]
    if status.config_errors:
        errors = Text()
        for error in status.config_errors:
            errors.append(safe_line(f"✗ kubeconfig: {error}") + "\n", style=colors.err)
        parts.append(errors)
    parts.append(render_findings(status, colors, width))
    parts.append(render_details(status, colors, width))
    out = Text()
    for part in parts:
        if part.plain.strip():
            out.append_text(part)
            if not part.plain.endswith("\n"):
                out.append("\n")
    out.rstrip()
    return out


def findings_count(errors: int, warnings: int) -> str:
    return f"{plural(errors, 'error')} {plural(warnings, 'warning')}"


class MeshPane(VerticalScroll):
    """The Mesh pane (scrolls when findings do not fit)."""

    DEFAULT_CSS = """
    MeshPane {
        height: 1fr;
        border: round $foreground 30%;
        border-title-color: $foreground;
        padding: 0 1;
    }
    MeshPane:focus { border: round $primary; }
    MeshPane > Static { width: 100%; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Mesh"
        self._body = Static("Synchronizing…", id="mesh-body")
        self._last: StatusView | None = None
        self._note = ""
        self._width = 0
        self._viewing: str | None = None
        self.text = Text()

    def compose(self):  # type: ignore[override]
        yield self._body

    def _text_width(self) -> int:
        """Cells a line of the body can use (0 before the first layout)."""
        return self.scrollable_content_region.width

    def on_resize(self) -> None:
        if self._last is not None and self._text_width() != self._width:
            self.show(self._last, note=self._note, force=True, viewing=self._viewing)

    def show(
        self, status: StatusView, *, note: str = "", force: bool = False, viewing: str | None = None
    ) -> None:
        """Draw ``status``; ``note`` replaces "No contexts." while the source is starting;
        ``viewing`` is the cluster a big mesh's summary drills into (ignored below that)."""
        if len(status.clusters) <= SUMMARY_ABOVE:
            viewing = None  # the matrix shows every link: another viewing cluster changes nothing
        width = self._text_width()
        same = (status is self._last or status == self._last) and note == self._note
        if same and width == self._width and viewing == self._viewing and not force:
            return
        self._last = status
        self._note = note
        self._width = width
        self._viewing = viewing
        colors = palette(self.app)
        self.text = clean_text(render_mesh(status, colors, width, viewing, cluster_colors(self.app)))
        if note and not status.clusters:
            style = colors.err if note.startswith("could not") else colors.warn
            self.text = safe_text(note, style, block=True)
        self._body.update(self.text)
        errors = sum(1 for f in status.findings if f.severity == "error")
        warnings = sum(1 for f in status.findings if f.severity == "warning")
        self.border_subtitle = findings_count(errors, warnings) if status.findings else ""
