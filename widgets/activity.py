"""The Activity log: every action with time, context, object, old → new, and its outcome.

Writes appear when sent (``sent…``), their outcome replaces that text when the source
answers, and ``applied`` once the change is seen in a later snapshot (the panes update from
the watch, not from a guess). Cluster state changes (a context turning unreachable) are
logged too, so the log tells what happened while the operator looked elsewhere.

Two lines per entry (time, context, object / change, outcome) so it fits beside the Backends
pane; entries are keyed and their prompt replaced in place when the outcome changes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.text import Text
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui.safetext import safe_line
from widgets.palette import palette

MAX_ENTRIES = 500

OUTCOME_KINDS = {
    "ok": "ok",
    "applied": "ok",
    "failed": "err",
    "refused": "err",
    "sent": "warn",
    "event": "muted",
}


class ActivityLog(OptionList):
    DEFAULT_CSS = """
    ActivityLog {
        height: 1fr;
        border: round $foreground 30%;
        border-title-color: $foreground;
    }
    ActivityLog:focus { border: round $primary; }
    """

    def __init__(self, *, clock: Callable[[], float] = time.time, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Activity"
        self.clock = clock
        self._next = 0
        self.entries: dict[str, list[str]] = {}
        """Entry id → [time, context, object, change, outcome, kind] (tests read it)."""
        self.ticker: Static | None = None
        """A one-line widget that shows the newest entry where the log has no room (narrow)."""

    def on_mount(self) -> None:
        self.border_subtitle = "writes and cluster changes"

    def _prompt(self, entry: list[str]) -> Text:
        colors = palette(self.app)
        stamp, context, obj, change, outcome, kind = entry
        style = {"ok": colors.ok, "err": colors.err, "warn": colors.warn, "muted": colors.muted}
        first = Text.assemble((stamp, colors.muted), " ", (context, "bold"), "  ", obj)
        second = Text.assemble("  ", change, "  ", (outcome, style[OUTCOME_KINDS.get(kind, "muted")]))
        return Text("\n").join([first, second])

    def add_entry(self, context: str, obj: str, change: str, outcome: str, kind: str = "sent") -> str:
        """Append an entry; returns its id for :meth:`set_outcome`."""
        self._next += 1
        entry_id = f"a{self._next}"
        stamp = time.strftime("%H:%M:%S", time.localtime(self.clock()))
        # Server messages and cluster reasons: one display-safe line each (never markup).
        entry = [stamp, *(safe_line(v) for v in (context, obj, change, outcome)), kind]
        self.entries[entry_id] = entry
        self.add_option(Option(self._prompt(entry), id=entry_id))
        while len(self.entries) > MAX_ENTRIES:
            oldest = next(iter(self.entries))
            del self.entries[oldest]
            self.remove_option(oldest)
        self.highlighted = self.option_count - 1
        count = len(self.entries)
        self.border_subtitle = Text(f"{count} entr{'y' if count == 1 else 'ies'}")
        self._tick()
        return entry_id

    def latest_line(self) -> Text:
        """The newest entry on one line (for the ticker): the key and the outcome first, so a
        narrow screen cuts the least needed end (with "…"), and ``L`` shows the whole log."""
        colors = palette(self.app)
        if not self.entries:
            return Text("activity: nothing yet (L shows the log)", style=colors.muted)
        stamp, context, obj, change, outcome, kind = self.entries[next(reversed(self.entries))]
        style = {"ok": colors.ok, "err": colors.err, "warn": colors.warn, "muted": colors.muted}
        return Text.assemble(
            ("L ", "bold"),
            (stamp, colors.muted),
            " ",
            (outcome, style[OUTCOME_KINDS.get(kind, "muted")]),
            " · ",
            (context, "bold"),
            f"  {obj}  {change}",
        )

    def _tick(self) -> None:
        if self.ticker is not None:
            self.ticker.update(self.latest_line())

    def set_outcome(self, entry_id: str, outcome: str, kind: str) -> None:
        entry = self.entries.get(entry_id)
        if entry is None:
            return
        entry[4], entry[5] = safe_line(outcome), kind
        self.replace_option_prompt(entry_id, self._prompt(entry))
        if entry_id == next(reversed(self.entries)):
            self._tick()
