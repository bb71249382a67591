"""The region the curl pane fills (separate issue): a bottom strip, placeholder until then.

The curl helper mounts its widget into ``#curl`` (``CurlSlot.mount_pane``); until one is
mounted the slot shows a one-line hint so the layout at 160×48 already has the room.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Static


class CurlSlot(Vertical):
    DEFAULT_CSS = """
    CurlSlot {
        height: auto;
        max-height: 9;
        border: round $foreground 30%;
        border-title-color: $foreground;
    }
    CurlSlot > #curl-placeholder { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, *, id: str | None = "curl") -> None:
        super().__init__(id=id)
        self.border_title = "Curl"

    def compose(self) -> ComposeResult:
        yield Static(
            "c: curl from every cluster to the selected service (curl pane not built yet)",
            id="curl-placeholder",
        )

    async def mount_pane(self, pane: Widget) -> None:
        """Replace the placeholder with the real curl pane."""
        await self.query("#curl-placeholder").remove()
        await self.mount(pane)
