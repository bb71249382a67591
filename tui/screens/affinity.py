"""Affinity menu: local / remote / none / remove, for the viewing cluster or every cluster.

Returns ``(choice, everywhere)`` — ``choice`` one of ``local``, ``remote``, ``none``,
``remove`` (:func:`tui.mesh.actions.affinity_action` turns it into the write; ``none`` and
``remove`` both remove the annotation, since the word ``none`` blackholes on Cilium 1.18/1.19)
— or ``None`` when cancelled. Keys: ``l`` ``r`` ``n`` ``x`` pick, ``*`` toggles "every cluster
that has the service", enter picks the highlighted entry, escape cancels.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui.safetext import safe_text

CHOICES = (
    ("local", "local", "l", "prefer this cluster's backends"),
    ("remote", "remote", "r", "prefer the other clusters' backends"),
    ("none", None, "n", "no preference: removes the annotation"),
    ("remove", None, "x", "remove the annotation (same as none)"),
)


class AffinityMenu(ModalScreen["tuple[str | None, bool] | None"]):
    DEFAULT_CSS = """
    AffinityMenu { align: center middle; }
    AffinityMenu > Vertical {
        width: 72; height: auto; border: thick $primary; background: $surface; padding: 0 1;
    }
    AffinityMenu #affinity-title { text-style: bold; padding: 0 0 1 0; }
    AffinityMenu OptionList { height: auto; border: none; }
    AffinityMenu #affinity-scope { padding: 1 0 0 0; }
    AffinityMenu #affinity-hint { color: $text-muted; }
    AffinityMenu #affinity-note { color: $text-muted; padding: 1 0 0 0; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "cancel", id="affinity.cancel"),
        Binding("l", "pick('local')", "local", id="affinity.local"),
        Binding("r", "pick('remote')", "remote", id="affinity.remote"),
        Binding("n", "pick('none')", "none", id="affinity.none"),
        Binding("x", "pick('remove')", "remove", id="affinity.remove"),
        Binding("asterisk", "toggle_scope", "all clusters", id="affinity.scope"),
    ]

    def __init__(
        self, service: str, cluster: str, current: str | None, *, clusters_with_service: int = 1
    ) -> None:
        """``current``: the affinity annotation's value now (``None`` when not set)."""
        super().__init__()
        self.service = service
        self.cluster = cluster
        self.current = "remove" if current is None else current
        self.everywhere = False
        self.clusters_with_service = clusters_with_service

    def compose(self) -> ComposeResult:
        with Vertical():
            now = "not set (none)" if self.current == "remove" else repr(self.current)
            # Two lines, each short enough for the dialog: one long line broke mid-phrase.
            title = safe_text(f"Affinity of {self.service}")
            title.append("\n")
            title.append_text(safe_text(f"in {self.cluster} · now: {now}", "not bold"))
            yield Static(title, id="affinity-title")
            options = []
            for ident, _value, key, help_text in CHOICES:
                mark = "●" if ident == self.current else " "
                options.append(Option(Text(f"{mark} {key}  {ident:<7} {help_text}"), id=ident))
            yield OptionList(*options, id="affinity-options")
            yield Static(self._scope_text(), id="affinity-scope")
            yield Static(
                "the word 'none' is never written: Cilium 1.18/1.19 read it as 'local only' "
                "(cilium/cilium#46623)",
                id="affinity-note",
            )
            yield Static("enter/key picks · * toggles every cluster · escape cancels", id="affinity-hint")

    def _scope_text(self) -> Text:
        if self.everywhere:
            return Text(f"[*] in every cluster that has the service ({self.clusters_with_service})")
        return Text("[ ] in this cluster only (* for every cluster that has the service)")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = next((i for i, c in enumerate(CHOICES) if c[0] == self.current), 0)
        options.focus()

    def action_toggle_scope(self) -> None:
        self.everywhere = not self.everywhere
        self.query_one("#affinity-scope", Static).update(self._scope_text())

    def action_pick(self, ident: str) -> None:
        self.dismiss((ident, self.everywhere))

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.action_pick(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
