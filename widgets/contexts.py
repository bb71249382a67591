"""The Contexts pane: every kube context with its Cilium identity, state and mesh summary.

Two lines per context; the highlighted one is the *viewing cluster*
the Backends pane looks from. ``1``–``9`` pick one directly (the number is shown in front).
Options are keyed by context and their prompts replaced in place, never rebuilt.
"""

from __future__ import annotations

from rich.text import Text
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tui.safetext import clean_text, safe_line, safe_text
from tui.views.clustercolors import ClusterColors, color_of
from tui.views.status import ClusterView, StatusView
from widgets.palette import Palette, cluster_colors, palette
from widgets.wrap import hanging

PHASE_MARK = {"ok": "●", "syncing": "◌", "stale": "◐", "unreachable": "✗", "forbidden": "⊘", "error": "✗"}


def context_prompt(
    index: int,
    view: ClusterView,
    colors: Palette,
    viewing: bool,
    width: int = 54,
    clusters: ClusterColors | None = None,
) -> Text:
    """The two lines of one context; narrower panes drop the Cilium version from line one.
    The cluster's name is in its colour (the one its answers and backends have elsewhere)."""
    number = f"{index}" if index <= 9 else " "
    line = Text()
    line.append(number, style=colors.muted)
    line.append("▸" if viewing else " ", style=f"bold {colors.accent}")
    line.append(PHASE_MARK.get(view.phase, "?") + " ", style=colors.phase(view.phase))
    line.append(f"{safe_line(view.context):<12} ", style="bold" if viewing else "")
    cluster = safe_line(view.cluster)
    ident = cluster if view.cluster_id is None else f"{cluster} #{view.cluster_id}"
    line.append(f"{ident:<13} ", style=color_of(clusters, view.cluster))
    state = Text(f" {view.phase}", style=colors.phase(view.phase))
    version = Text(f"cilium {safe_line(view.cilium_version or '?'):<8}", style=colors.muted)
    # Two lines exactly: the version goes first when the line would wrap (unreachable...).
    if width >= 50 and line.cell_len + version.cell_len + state.cell_len <= width:
        line.append_text(version)
    line.append_text(state)
    detail = Text("    ")
    if view.phase in ("unreachable", "forbidden", "error"):
        detail.append(safe_line(view.reason or view.state), style=colors.err)
    elif view.phase == "syncing":
        detail.append("Synchronizing…", style=colors.warn)
    elif view.phase == "stale":
        # The data shown is the last known; say since when and why, nothing else fits.
        since = view.state.removeprefix("stale ")
        detail.append(safe_line(f"{since}: {view.reason}" if view.reason else since), style=colors.warn)
        detail.append("  (last known)", style=colors.muted)
    else:
        counts = f"nodes {view.nodes}  agents {view.agents_ready}/{view.agents_total}  "
        if len(detail) + len(counts) + len(view.mesh_text) > width:
            counts = " ".join(counts.split()) + " "  # narrow pane: one space keeps it one line
        detail.append(counts)
        good = sum(1 for r in view.remotes if r.ok)
        style = colors.ok if view.remotes and good == len(view.remotes) else colors.warn
        detail.append(safe_line(view.mesh_text), style=style)
    # A long reason (a dial error) continues under itself, not under the context's number.
    return clean_text(Text("\n").join([line, hanging(detail, width, 4)]))


class ContextList(OptionList):
    """The Contexts pane."""

    DEFAULT_CSS = """
    ContextList {
        height: 1fr;
        border: round $foreground 30%;
        border-title-color: $foreground;
        padding: 0 0;
    }
    ContextList:focus { border: round $primary; }
    /* A tint, not the solid block cursor: the rows carry each cluster's colour and the status
       colours, which must stay readable on the highlight in the light theme too. */
    ContextList > .option-list--option-highlighted {
        color: $foreground;
        background: $primary 15%;
        text-style: bold;
    }
    ContextList:focus > .option-list--option-highlighted {
        color: $foreground;
        background: $primary 30%;
        text-style: bold;
    }
    /* On a light theme any darker tint costs the cluster colours their contrast: lighten. */
    ContextList:light > .option-list--option-highlighted { background: white 50%; }
    ContextList:light:focus > .option-list--option-highlighted { background: white 70%; }
    """

    class ViewingChanged(Message):
        """The operator picked another viewing cluster."""

        def __init__(self, context: str) -> None:
            super().__init__()
            self.context = context

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Contexts"
        self._shown: dict[str, Text] = {}
        self.viewing: str | None = None
        self._quiet = False
        self._status: StatusView | None = None
        self._prompts: dict[str, tuple[ClusterView, tuple[object, ...], Text]] = {}
        self._drawn_with: tuple[object, ...] = ()

    def on_resize(self) -> None:
        if self._status is not None:
            status, self._status = self._status, None
            self.show(status, self.viewing)

    def _prompt(self, index: int, view: ClusterView, colors: Palette, viewing: bool, width: int) -> Text:
        """:func:`context_prompt`, cached per ClusterView object (64 contexts, every repaint)."""
        clusters = cluster_colors(self.app)
        key = (index, viewing, width, colors, clusters)
        hit = self._prompts.get(view.context)
        if hit is not None and hit[0] is view and hit[1] == key:
            return hit[2]
        prompt = context_prompt(index, view, colors, viewing, width, clusters)
        self._prompts[view.context] = (view, key, prompt)
        return prompt

    def show(self, status: StatusView, viewing: str | None, *, note: str = "") -> None:
        """Draw ``status``; only changed prompts are replaced. ``note`` is shown while there is
        no context yet (``Synchronizing… starting the simulator``)."""
        colors = palette(self.app)
        width = (self.size.width or 56) - 2
        drawn_with = (width, colors, note)
        if status is self._status and viewing == self.viewing and drawn_with == self._drawn_with:
            return
        self.viewing = viewing
        self._status = status
        self._drawn_with = drawn_with
        if not status.clusters:
            self._quiet = True
            self.clear_options()
            self._shown = {}
            if note:
                style = colors.err if note.startswith("could not") else colors.warn
                text = safe_text(note, style, block=True)
            else:
                lines = ["No contexts.", *(f"✗ {safe_line(error)}" for error in status.config_errors)]
                text = Text("\n".join(lines), style=colors.err)
            self.add_option(Option(text, disabled=True))
            self._quiet = False
            self.border_subtitle = ""
            return
        contexts = [c.context for c in status.clusters]
        if contexts != list(self._shown):
            self._quiet = True
            self.clear_options()
            self._shown = {}
            for index, view in enumerate(status.clusters, start=1):
                prompt = self._prompt(index, view, colors, view.context == viewing, width)
                self.add_option(Option(prompt, id=view.context))
                self._shown[view.context] = prompt
            self._quiet = False
        else:
            for index, view in enumerate(status.clusters, start=1):
                prompt = self._prompt(index, view, colors, view.context == viewing, width)
                if prompt != self._shown.get(view.context):
                    self.replace_option_prompt(view.context, prompt)
                    self._shown[view.context] = prompt
        if viewing in self._shown:
            index = self.get_option_index(viewing)
            if self.highlighted != index:
                self._quiet = True
                self.highlighted = index
                self._quiet = False
        ok = sum(1 for c in status.clusters if c.phase == "ok")
        self.border_subtitle = Text(f"{ok}/{len(status.clusters)} ok")

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if self._quiet or event.option.id is None or event.option.id == self.viewing:
            return
        self.post_message(self.ViewingChanged(event.option.id))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None and event.option.id != self.viewing:
            self.post_message(self.ViewingChanged(event.option.id))
