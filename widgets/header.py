"""The one-line header: kubeconfig, number of contexts, read-write / read-only, and a clock.

The clock reads an injectable ``clock()`` so tests and screenshots can freeze it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from tui.safetext import safe_line
from widgets.palette import palette


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
        right = Text()
        if self.problems:
            right.append(f"{safe_line(self.problems)}  ", style=f"bold {colors.err}")
        right.append(f"{now} ")
        # "simulated (seed) /tmp/.../kubeconfig": the path goes first when the line is short.
        label, _, detail = safe_line(self.kubeconfig_label).partition(" /")
        detail = f" /{detail}" if detail else ""
        left = Text()
        for shown_detail in (detail, ""):
            left = Text.assemble(
                (" meshtui ", "bold"),
                " kubeconfig: ",
                (label, "bold"),
                (shown_detail, colors.muted),
                f"  contexts: {self.contexts}  mode: ",
                ("read-only", f"bold {colors.warn}") if self.read_only else ("read-write", "bold"),
            )
            if left.cell_len + right.cell_len < self.size.width:
                break
        gap = max(1, self.size.width - left.cell_len - right.cell_len)
        return Text.assemble(left, " " * gap, right)
