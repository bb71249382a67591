"""The one-line header: the viewing context and its Cilium version, kubeconfig, number of
contexts, read-write / read-only, and a clock.

The viewing context (``bastion02 cluster1 · cilium 1.14.1``) shows at every width: narrower
headers drop the kubeconfig's path, then the kubeconfig, then the counts, then the clock.
The clock reads an injectable ``clock()`` so tests and screenshots can freeze it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from tui.safetext import safe_line
from widgets.palette import cluster_colors, palette


class MeshHeader(Widget):
    DEFAULT_CSS = """
    MeshHeader {
        dock: top;
        height: 1;
        background: $panel;
        color: $foreground;
    }
    """

    contexts: reactive[int] = reactive(0)
    read_only: reactive[bool] = reactive(False)
    problems: reactive[str] = reactive("")
    """A short alert (``1 unreachable``) shown before the clock."""
    viewing: reactive[tuple[str, str, str]] = reactive(("", "", ""))
    """(context, cluster, Cilium version) of the viewing cluster (``""``: none yet)."""

    def __init__(
        self, kubeconfig_label: str, *, clock: Callable[[], float] = time.time, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.kubeconfig_label = kubeconfig_label
        self.clock = clock

    def on_mount(self) -> None:
        self.set_interval(1.0, self.refresh)

    def render(self) -> Text:
        colors = palette(self.app)
        now = time.strftime("%H:%M:%S", time.localtime(self.clock()))
        problems = Text()
        if self.problems:
            problems.append(f"{safe_line(self.problems)}  ", style=f"bold {colors.err}")
        # "simulated (seed) /tmp/.../kubeconfig": the path goes first when the line is short.
        label, _, detail = safe_line(self.kubeconfig_label).partition(" /")
        detail = f" /{detail}" if detail else ""
        mode = ("read-only", f"bold {colors.warn}") if self.read_only else ("read-write", "bold")
        context, cluster, version = (safe_line(part, 60) for part in self.viewing)
        viewing = Text()
        if context:
            color = cluster_colors(self.app).color(cluster) if cluster else ""
            viewing.append(context, style="bold")
            if cluster and cluster != context:
                viewing.append(f" {cluster}", style=color)
            viewing.append(f" · cilium {version or '?'}")
        pad = " " if viewing.plain else ""
        clock = Text(f"{now} ")
        lefts = [
            Text.assemble(
                (" meshtui ", "bold"), pad, viewing, "  kubeconfig: ", (label, "bold"),
                (detail, colors.muted), f"  contexts: {self.contexts}  mode: ", mode,
            ),
            Text.assemble(
                (" meshtui ", "bold"), pad, viewing, "  kubeconfig: ", (label, "bold"),
                f"  contexts: {self.contexts}  mode: ", mode,
            ),
            Text.assemble((" meshtui ", "bold"), pad, viewing, f"  contexts: {self.contexts}  ", mode),
            Text.assemble(" ", viewing, "  ", mode),
        ]  # fmt: skip
        for right in (Text.assemble(problems, clock), problems, Text()):
            for left in lefts:
                if left.cell_len + right.cell_len < self.size.width:
                    gap = max(1, self.size.width - left.cell_len - right.cell_len)
                    return Text.assemble(left, " " * gap, right)
        out = Text.assemble(" ", viewing)
        out.truncate(max(1, self.size.width), overflow="ellipsis")
        return out
