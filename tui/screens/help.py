"""The ``?`` help screen: what each pane shows, every key (as currently mapped), the symbols.

Rows come from the app's bindings (ids and keymap applied), so a remapped key shows here as
it works; write keys are listed as removed in read-only mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.views.services import GLYPH_LEGEND

SHORT_ROWS = 40
"""Terminals shorter than this (the app's -short breakpoint) get the keys before the panes."""

PANES = (
    (
        "Contexts",
        "every kube context: Cilium cluster name and id, version, nodes, agents, state "
        "(syncing / ok / stale since / unreachable / forbidden) and connected remotes. The highlighted "
        "one is the viewing cluster of the Backends pane.",
    ),
    (
        "Mesh",
        "cilium clustermesh status of every cluster as a from × to matrix (numbered columns "
        "when narrow), each cluster's "
        "clustermesh-apiserver address and readiness, broken links with their error, then the "
        "connect-check findings with the command that fixes each.",
    ),
    (
        "Global services",
        "one row per service global in any cluster: per cluster global / shared / "
        "affinity / ready endpoints; WHY says why a cluster gets no remote backends.",
    ),
    (
        "Backends",
        "the selected service seen from the viewing cluster: every backend, selected or "
        "not and why, the expected share per cluster, and the agent's own service list when read.",
    ),
    (
        "Activity",
        "every write with time, context, object, old → new and outcome "
        "(sent → ok / failed → applied once the watch shows it), and cluster state changes.",
    ),
)


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical {
        width: 110; max-width: 96%; height: 90%; border: thick $primary; background: $surface;
    }
    HelpScreen VerticalScroll { padding: 0 1; }
    HelpScreen #help-footer { dock: bottom; height: 1; color: $text-muted; padding: 0 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "close", "close", id="help.close"),
    ]

    def __init__(
        self, keys: Sequence[tuple[str, ...]], *, read_only: bool, notes: Sequence[str] = ()
    ) -> None:
        """``keys``: (key display, action title, what it does[, binding id]) in display order."""
        super().__init__()
        self.keys = tuple(keys)
        self.read_only = read_only
        self.notes = tuple(notes)

    def compose(self) -> ComposeResult:
        with Vertical():
            with VerticalScroll():
                yield Static(self._body(keys_first=self._short()), id="help-body")
            yield Static(
                "escape / q / ? close · remap keys by binding id: MESHTUI_KEYMAP='affinity=f;scale=S'",
                id="help-footer",
            )

    def _short(self) -> bool:
        """Below 40 rows the keys come before the panes: they are what a small screen needs
        first, and the panes' description would push them out of sight."""
        return self.app.size.height < SHORT_ROWS

    def on_resize(self) -> None:
        self.query_one("#help-body", Static).update(self._body(keys_first=self._short()))

    def _body(self, *, keys_first: bool = False) -> Table:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        grid.add_row(
            Text("meshtui", style="bold underline"),
            Text(
                "Cilium ClusterMesh across every context: "
                + ("read-only mode — write actions are removed." if self.read_only else "read-write mode.")
            ),
        )
        sections = [self._panes, self._keys]
        for section in reversed(sections) if keys_first else sections:
            grid.add_row("", "")
            section(grid)
        grid.add_row("", "")
        grid.add_row(Text("Symbols", style="bold underline"), "")
        grid.add_row("Contexts", "● ok  ◌ syncing  ◐ stale  ✗ unreachable / error  ⊘ forbidden")
        grid.add_row("Mesh", "n/m ✓ = n of m agents ready for that remote; ✗ broken; — self")
        grid.add_row("Services", GLYPH_LEGEND + " (compact layout, many clusters)")
        grid.add_row("Findings", "✗ error  ⚠ warning  ℹ info; fix: the command that resolves it")
        for note in self.notes:
            grid.add_row("", note)
        return grid

    @staticmethod
    def _panes(grid: Table) -> None:
        grid.add_row(Text("Panes", style="bold underline"), "")
        for name, text in PANES:
            grid.add_row(name, text)

    def _keys(self, grid: Table) -> None:
        grid.add_row(Text("Keys", style="bold underline"), Text("(binding id in brackets)", style="dim"))
        for key, title, text, *ident in self.keys:
            line = Text.assemble((f"{title:<16}", "bold"), text)
            if ident and ident[0]:
                line.append(f"  [{ident[0]}]", style="dim")
            grid.add_row(key, line)

    def action_close(self) -> None:
        self.dismiss(None)
