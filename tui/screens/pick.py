"""Pick one of a list (the curl client pod of the viewing cluster)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Generic, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui.safetext import safe_text

T = TypeVar("T")


class PickDialog(ModalScreen[T | None], Generic[T]):
    """Pick one of ``options`` (label, value)."""

    DEFAULT_CSS = """
    PickDialog { align: center middle; }
    PickDialog > Vertical {
        width: 110; max-width: 95%; height: auto; max-height: 80%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    PickDialog .pick-title { text-style: bold; padding: 0 0 1 0; }
    PickDialog OptionList { height: auto; max-height: 20; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "cancel", id="pick.cancel")]

    def __init__(self, title: str, options: Sequence[tuple[str, T]]) -> None:
        super().__init__()
        self.title_text = title
        self.values = [value for _label, value in options]
        self.labels = [label for label, _value in options]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(safe_text(self.title_text), classes="pick-title")
            yield OptionList(*(Option(safe_text(label), id=str(i)) for i, label in enumerate(self.labels)))

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.values[int(event.option.id or 0)])

    def action_cancel(self) -> None:
        self.dismiss(None)
