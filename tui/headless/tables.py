"""``-o table``: the views as rich renderables (pure functions of the view models).

Same words as the TUI's panes (cell texts, phase texts, "why" columns come from
:mod:`tui.views`), laid out for a scrolling terminal: one table per question, findings and
notes as indented lines below it.
"""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from tui.safetext import clean_text, safe_block, safe_text
from tui.views.backends import BackendsPerspective, BackendsView
from tui.views.labels import plural
from tui.views.services import GLYPH_LEGEND, ServicesView
from tui.views.status import ClusterView, FindingView, StatusView

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
COMPACT_ABOVE = 6
"""More clusters than this: the services table shows one glyph per cluster instead of a column."""


class SafeTable(Table):
    """A rich Table whose headers and cells are display-safe whatever a cluster put in them
    (:mod:`tui.safetext`): strings keep their lines, a Text its styles."""

    def add_column(self, header: RenderableType = "", *args: Any, **kwargs: Any) -> None:
        super().add_column(_safe_cell(header), *args, **kwargs)

    def add_row(self, *renderables: RenderableType | None, **kwargs: Any) -> None:
        super().add_row(*(_safe_cell(r) for r in renderables), **kwargs)


def _safe_cell(value: Any) -> Any:
    if isinstance(value, str):
        return safe_block(value)
    if isinstance(value, Text):
        return clean_text(value.copy())
    return value


def _t(value: Any, style: str = "") -> Text:
    """A line (or lines) of a cluster's words as display-safe Text."""
    return safe_text(value, style, block=True)


def _table(*headers: str) -> Table:
    table = SafeTable(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for header in headers:
        table.add_column(header, overflow="fold")
    return table


def _state_text(view: ClusterView) -> Text:
    style = "green" if view.phase == "ok" else "yellow" if view.phase in ("stale", "syncing") else "red"
    return _t(view.state, style)


def _access_text(view: ClusterView) -> Text:
    if not view.known:
        return Text("?")
    parts = []
    if view.access_type:
        parts.append(view.access_type)
    parts += list(view.access_addresses)
    text = _t(" ".join(parts) or "—")
    if view.access_error:
        text.append("\n" + safe_block(view.access_error), style="yellow")
    if view.apiserver_ready is False:
        text.append("\n" + safe_block(f"not ready: {view.apiserver_reason}"), style="red")
    elif view.apiserver_ready is None and view.apiserver_reason:
        text.append("\n" + safe_block(view.apiserver_reason), style="yellow")
    return text


def _mesh_text(view: ClusterView) -> Text:
    if not view.known:
        return Text("?")
    if not view.remotes:
        return _t(view.mesh_text, "yellow")
    text = Text()
    for index, (remote, (line, ok)) in enumerate(zip(view.remotes, view.link_lines(), strict=True)):
        if index:
            text.append("\n")
        text.append(safe_block(line), style="green" if ok else "red")
        if remote.error:
            text.append(
                safe_block(f" (agents: {remote.error})" if view.kvstoremesh else f" ({remote.error})"),
                style="red",
            )
        kvm = view.kvstoremesh_remote(remote.cluster)
        if kvm is not None and kvm.error:
            text.append(safe_block(f" (KVStoreMesh: {kvm.error})"), style="red")
    if view.kvstoremesh and view.kvstoremesh_note:
        text.append(safe_block(f"\nKVStoreMesh: {view.kvstoremesh_note}"), style="yellow")
    return text


def status_table(view: StatusView) -> list[RenderableType]:
    table = _table("CONTEXT", "CLUSTER", "ID", "CILIUM", "STATE", "AGENTS", "CLUSTERMESH-APISERVER", "MESH")
    for cluster in view.clusters:
        table.add_row(
            cluster.context,
            cluster.cluster,
            "?" if cluster.cluster_id is None else str(cluster.cluster_id),
            cluster.cilium_version or "?",
            _state_text(cluster),
            f"{cluster.agents_ready}/{cluster.agents_total}" if cluster.known else "?",
            _access_text(cluster),
            _mesh_text(cluster),
        )
    out: list[RenderableType] = [table]
    summaries = [f"{c.context}: {c.summary}" for c in view.clusters if c.summary]
    if summaries:
        out.append(_t("\n".join(summaries)))
    for message in view.config_errors:
        out.append(_t(f"kubeconfig: {message}", "yellow"))
    out.append(Text(""))
    out += findings_block(view.findings)
    return out


def findings_block(findings: tuple[FindingView, ...] | list[FindingView]) -> list[RenderableType]:
    """``Findings: 1 error, 2 warnings`` then one entry each, the message and fix hanging-indented."""
    if not findings:
        return [Text("No findings.", style="green")]
    counts: dict[str, int] = {}
    for finding in findings:
        counts[finding.severity] = counts.get(finding.severity, 0) + 1
    parts = [f"{n} {sev}{'s' if n != 1 else ''}" for sev, n in counts.items()]
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for finding in findings:
        body = Text()
        body.append(safe_block(finding.check), style="bold")
        body.append(safe_block(f"  {finding.message}"))
        if finding.fix:
            body.append("\nfix: ", style="dim")
            body.append(safe_block(finding.fix).replace("\n", "\n     "))
        grid.add_row(Text(finding.severity.upper(), style=SEVERITY_STYLE.get(finding.severity, "")), body)
    return [Text(f"Findings: {', '.join(parts)}", style="bold"), grid]


def services_table(view: ServicesView) -> list[RenderableType]:
    compact = len(view.clusters) > COMPACT_ABOVE
    if compact:
        table = _table("SERVICE", "CLUSTERS", "SUMMARY", "WARNINGS")
    else:
        heads = [
            f"{cluster}\n({context})" if cluster != context else cluster
            for cluster, context in zip(view.clusters, view.contexts, strict=True)
        ]
        table = _table("SERVICE", *heads, "WARNINGS")
    for row in view.rows:
        warnings = _t("\n".join(row.warnings), "yellow")
        if compact:
            table.add_row(row.key_text, "".join(c.glyph() for c in row.cells), row.summary(), warnings)
        else:
            table.add_row(row.key_text, *(c.text() for c in row.cells), warnings)
    out: list[RenderableType] = [table]
    if not view.rows:
        what = "services" if view.show_all else "global services"
        out = [Text(f"No {what}.")]
    if compact:
        out.append(_t(f"clusters, in order: {' '.join(view.clusters)}", "dim"))
        out.append(Text(GLYPH_LEGEND, style="dim"))
    if view.pending:
        out.append(_t(f"still syncing: {', '.join(view.pending)}", "yellow"))
    return out


def _share_text(view: BackendsPerspective) -> str:
    shares = [f"{cluster} {share:.0%}" for cluster, share in view.expected_share.items()]
    return "expected share: " + (" · ".join(shares) if shares else "none")


def perspective_block(view: BackendsPerspective) -> RenderableType:
    title = Text()
    title.append(safe_block(f"From {view.context}"), style="bold")
    title.append(safe_block(f" ({view.cluster}"))
    if view.cilium_version:
        title.append(safe_block(f", Cilium {view.cilium_version}"))
    if view.family_label:
        title.append(f", {view.family_label}")
    title.append(")")
    if not view.known:
        return Group(title, _t(f"  {view.note}", "red"), Text(""))
    title.append(safe_block(f"  affinity {view.affinity}"))
    lines: list[RenderableType] = [title]
    if view.rule is not None:
        rule = _t(f"  rules: {view.rule.version_text} · {view.rule.family_label} ({view.rule.source})")
        if view.bug:
            rule.append(f" · known bug {view.bug} applies", style="red")
        lines.append(rule)
        if view.rule.assumed:
            lines.append(_t(f"  {view.rule.assumed}", "yellow"))
    if not view.headless:
        lines.append(_t(f"  {_share_text(view)}"))
    for text in view.lost_remotes:
        lines.append(_t(f"  cached: {text}", "yellow"))
    if view.terminating_fallback:
        lines.append(Text("  no active backend left: the terminating ones are used", style="yellow"))
    for cluster, reason in view.excluded:
        lines.append(_t(f"  excluded {cluster}: {reason}", "yellow"))
    for cluster, phase in view.unknown:
        lines.append(_t(f"  not counted {cluster}: {phase}", "yellow"))
    if view.note:
        lines.append(_t(f"  {view.note}", "yellow"))
    with_agent = view.agent_backends is not None
    heads = ["BACKEND", "CLUSTER", "POD", "READY", "SELECTED", "WHY"]
    table = _table(*heads, *(["AGENT"] if with_agent else []))
    for row in view.backends:
        cells: list[str | Text] = [
            row.address,
            row.cluster,
            row.pod or "—",
            "yes" if row.ready else "no",
            Text("yes", style="green") if row.selected else Text("no", style="dim"),
            row.why,
        ]
        if with_agent:
            cells.append(Text(row.agent or "—", style="red" if row.agent_differs else ""))
        table.add_row(*cells)
    for extra in view.agent_backends or ():
        if not extra.expected and not any(b.address == f"{extra.ip}:{extra.port}" for b in view.backends):
            table.add_row(
                f"{extra.ip}:{extra.port}",
                extra.cluster or "?",
                "—",
                "?",
                "—",
                "only in the agent's list",
                Text(extra.state, style="red"),
            )
    if view.backends or view.agent_backends:
        lines.append(table)
    else:
        lines.append(Text("  no backends"))
    if not with_agent:
        lines.append(Text("  (the agent's own list could not be read)", style="dim"))
    elif view.differences:
        lines.append(
            Text(f"  the agent's list differs on {plural(view.differences, 'backend')}", style="red")
        )
    lines.append(Text(""))
    return Group(*lines)


def backends_table(view: BackendsView) -> list[RenderableType]:
    out: list[RenderableType] = [_t(f"Service {view.service}", "bold"), Text("")]
    out += [perspective_block(v) for v in view.views]
    return out
