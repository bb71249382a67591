"""Ask for one value (the curl interval, the curl path), checked before it is returned."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from tui.mesh.actions import InvalidAction
from tui.safetext import safe_text


class AskDialog(ModalScreen[str | None]):
    """One value, checked by ``validate`` before it is returned (it raises
    :class:`~tui.mesh.actions.InvalidAction`, e.g. the curl target's ``InvalidInput``)."""

    DEFAULT_CSS = """
    AskDialog { align: center middle; }
    AskDialog > Vertical {
        width: 72; height: auto; border: thick $primary; background: $surface; padding: 0 1;
    }
    AskDialog .ask-title { text-style: bold; padding: 0 0 1 0; }
    AskDialog .ask-error { color: $text-error; height: auto; }
    AskDialog .ask-hint { color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "cancel", id="ask.cancel")]

    def __init__(self, title: str, hint: str, value: str, validate: Callable[[str], object]) -> None:
        super().__init__()
        self.title_text = title
        self.hint = hint
        self.value = value
        self.validate = validate

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(safe_text(self.title_text), classes="ask-title")
            yield Input(self.value, id="ask-input")
            yield Static("", classes="ask-error")
            yield Static(safe_text(f"{self.hint} · enter: ok · escape: cancel"), classes="ask-hint")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        try:
            self.validate(event.value)
        except InvalidAction as exc:
            self.query_one(".ask-error", Static).update(safe_text(str(exc), block=True))
            return
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
