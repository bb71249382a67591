"""Every field of one row, uncut: what a narrow pane shortens or leaves out (enter on a row).

A pane too narrow for its columns shortens pod names, leaves out IP:PORT and cuts long
reasons after a few lines; nothing the operator needs is lost, because enter on the row opens
this dialog with each field whole (wrapped under its label). Escape or enter closes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.safetext import safe_line, safe_text


def fields_text(fields: Sequence[tuple[str, str]]) -> Text:
    """``label     value`` lines, labels aligned (every value display-safe)."""
    width = max((len(label) for label, _ in fields), default=0) + 2
    out = Text()
    for index, (label, value) in enumerate(fields):
        if index:
            out.append("\n")
        out.append(f"{safe_line(label):<{width}}", style="dim")
        out.append(safe_line(value), style="bold")
    return out


class DetailsDialog(ModalScreen[None]):
    DEFAULT_CSS = """
    DetailsDialog { align: center middle; }
    DetailsDialog > Vertical {
        width: 100; max-width: 95%; height: auto; max-height: 90%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    DetailsDialog #details-title { text-style: bold; padding: 0 0 1 0; }
    DetailsDialog VerticalScroll { height: auto; max-height: 30; }
    DetailsDialog #details-hint { color: $text-muted; padding: 1 0 0 0; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter", "close", "close", id="details.close"),
    ]

    def __init__(self, title: str, fields: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.fields = tuple(fields)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(safe_text(self.title_text), id="details-title")
            with VerticalScroll():
                yield Static(fields_text(self.fields), id="details-fields")
            yield Static("escape or enter closes", id="details-hint")

    def action_close(self) -> None:
        self.dismiss(None)
