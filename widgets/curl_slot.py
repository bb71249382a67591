"""The bottom strip the curl pane fills (``widgets/curl_pane.py``).

The app sizes the slot (:func:`tui.appcore.layout.plan_layout`: one line for the hint while no
loop runs, the free space once loops run) and mounts the pane into ``#curl``
(``CurlSlot.mount_pane``) right after the first frame when its source can exec into pods (a
cluster, the simulator). Until then, and for good with a source that cannot (the fixture data
of tests and snapshots), the slot shows one line: a hint, then why there are no curl loops
(:meth:`CurlSlot.unavailable`).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Static

from tui.safetext import safe_text


class CurlSlot(Vertical):
    DEFAULT_CSS = """
    CurlSlot {
        height: 3;
        border: round $foreground 30%;
        border-title-color: $foreground;
    }
    CurlSlot > #curl-placeholder { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, *, id: str | None = "curl") -> None:
        super().__init__(id=id)
        self.border_title = "Curl"

    def compose(self) -> ComposeResult:
        yield Static("c: curl from every cluster to the selected service", id="curl-placeholder")

    def unavailable(self, reason: str) -> None:
        """No pane will come: say why in place of the hint."""
        for placeholder in self.query("#curl-placeholder").results(Static):
            placeholder.update(safe_text(f"no curl loops: {reason}"))

    async def mount_pane(self, pane: Widget) -> None:
        """Replace the placeholder with the real curl pane."""
        await self.query("#curl-placeholder").remove()
        await self.mount(pane)
