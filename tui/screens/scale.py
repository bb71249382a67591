"""Scale dialog: the replica count of a deployment, prefilled with the current one (k9s-style).

Returns the new count (``int``) or ``None`` when cancelled; the write still goes through the
confirmation dialog afterwards.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.validation import Integer
from textual.widgets import Input, Static

from tui.safetext import safe_text


class ScaleDialog(ModalScreen[int | None]):
    DEFAULT_CSS = """
    ScaleDialog { align: center middle; }
    ScaleDialog > Vertical {
        width: 64; height: auto; border: thick $primary; background: $surface; padding: 0 1;
    }
    ScaleDialog #scale-title { text-style: bold; padding: 0 0 1 0; }
    ScaleDialog #scale-error { color: $text-error; height: auto; }
    ScaleDialog #scale-hint { color: $text-muted; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "cancel", id="scale.cancel")]

    def __init__(self, context: str, namespace: str, deployment: str, current: int) -> None:
        super().__init__()
        self.context = context
        self.namespace = namespace
        self.deployment = deployment
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                safe_text(f"Scale deployment {self.namespace}/{self.deployment} in {self.context}"),
                id="scale-title",
            )
            yield Static(safe_text(f"replicas now: {self.current}"))
            yield Input(
                str(self.current),
                id="scale-replicas",
                validators=[Integer(minimum=0, maximum=1000)],
                type="integer",
            )
            yield Static("", id="scale-error")
            yield Static("enter: continue to confirmation · escape: cancel", id="scale-hint")

    def on_mount(self) -> None:
        box = self.query_one("#scale-replicas", Input)
        box.focus()
        box.select_all()

    @on(Input.Submitted, "#scale-replicas")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        result = event.validation_result
        if result is not None and not result.is_valid:
            self.query_one("#scale-error", Static).update("a whole number from 0 to 1000")
            return
        self.dismiss(int(event.value))

    def action_cancel(self) -> None:
        self.dismiss(None)
