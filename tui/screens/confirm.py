"""The confirmation every write goes through: context, namespace, object, old → new, kubectl.

``ModalScreen[bool]``: enter / ``y`` confirm, escape / ``n`` cancel. The words come from the
actions themselves (``describe()``, ``kubectl()``), so the dialog, the activity log and the
headless ``--yes`` prompts say exactly the same thing. The sample apps' deploy and delete are
confirmed here too, with the words ``meshtui sample`` prompts with (``body``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.geometry import Size
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Static

from tui.mesh.actions import Scale, WriteAction
from tui.safetext import safe_line, safe_text
from widgets.palette import palette
from widgets.wrap import command_lines


def action_text(action: WriteAction, cluster: str | None, width: int = 0) -> Text:
    """The block describing one action in the dialog; with ``width`` (the dialog's) a long
    kubectl command is cut between words with `` \\`` so it still pastes and runs."""
    out = Text()
    context = action.context if cluster is None else f"{action.context} ({cluster})"
    kind, _, name = action.target.partition(" ")
    namespace, _, obj = name.partition("/")
    rows = [
        ("context", context),
        ("namespace", namespace),
        ("object", f"{kind} {obj}"),
        ("change", action.describe()),
    ]
    for label, value in rows:
        out.append(f"{label:<10} ", style="dim")
        out.append(safe_line(value) + "\n", style="bold")
    out.append("equivalent kubectl command:", style="dim")
    for index, (indented, line) in enumerate(command_lines(safe_line(action.kubectl()), width, 2, 4)):
        out.append("\n" + ("" if not indented else "  " if index == 0 else "    ") + line)
    return out


class ActionBlock(Widget):
    """One action's block, laid out for the width it gets (the command's cuts depend on it)."""

    DEFAULT_CSS = """
    ActionBlock { height: auto; }
    """

    def __init__(self, action: WriteAction, cluster: str | None, *, classes: str = "") -> None:
        super().__init__(classes=classes)
        self.action = action
        self.cluster = cluster

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(action_text(self.action, self.cluster, width).wrap(self.app.console, max(1, width)))

    def render(self) -> Text:
        return action_text(self.action, self.cluster, self.content_region.width)


class ConfirmDialog(ModalScreen[bool]):
    DEFAULT_CSS = """
    ConfirmDialog { align: center middle; }
    ConfirmDialog > Vertical {
        width: 124;
        max-width: 95%;
        height: auto;
        max-height: 90%;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    ConfirmDialog #confirm-title { text-style: bold; padding: 0 0 1 0; }
    ConfirmDialog VerticalScroll { height: auto; max-height: 24; }
    ConfirmDialog .confirm-action { padding: 0 0 1 0; }
    ConfirmDialog #confirm-warning { color: $text-warning; padding: 0 0 1 0; }
    ConfirmDialog Horizontal { height: auto; align-horizontal: right; }
    ConfirmDialog Button { margin-left: 2; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter,y", "confirm", "apply", id="confirm.yes"),
        Binding("escape,n", "cancel", "cancel", id="confirm.no"),
    ]

    def __init__(
        self,
        actions: Sequence[WriteAction] = (),
        *,
        clusters: Mapping[str, str] | None = None,
        warning: str = "",
        title: str = "",
        body: str = "",
        danger: bool = False,
    ) -> None:
        """``actions`` are shown one block each; a write that is not an action (a sample app)
        gives its ``title`` and ``body`` instead. ``danger``: the title in the warning colour
        (a scale to 0 is always)."""
        super().__init__()
        self.actions = tuple(actions)
        self.clusters = dict(clusters or {})
        self.warning = warning
        self.title_text = title
        self.body = body
        self.danger = danger

    def compose(self) -> ComposeResult:
        count = len(self.actions)
        title = self.title_text or ("Apply this change?" if count == 1 else f"Apply these {count} changes?")
        with Vertical(id="confirm-box"):
            yield Static(safe_text(title), id="confirm-title")
            if self.warning:
                yield Static(safe_text(self.warning, block=True), id="confirm-warning")
            with VerticalScroll():
                if self.body:
                    yield Static(safe_text(self.body, block=True), classes="confirm-action")
                for action in self.actions:
                    yield ActionBlock(action, self.clusters.get(action.context), classes="confirm-action")
            with Horizontal():
                yes = Button("Apply (enter/y)", variant="primary", id="confirm-yes")
                no = Button("Cancel (esc/n)", id="confirm-no")
                yes.can_focus = no.can_focus = False
                yield yes
                yield no

    def on_mount(self) -> None:
        colors = palette(self.app)
        if self.danger or any(isinstance(a, Scale) and a.replicas == 0 for a in self.actions):
            self.query_one("#confirm-title", Static).styles.color = colors.warn

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "confirm-yes")
