"""A few lines of text whose updates repaint, not re-lay out, the screen.

``Static.update()`` asks for a layout of the whole screen on every call (its size might
change); at 64 clusters that costs tens of milliseconds per key press. A ``TextBlock`` knows
its height (the wrapped line count at its width) and asks for a layout only when that count
changes; otherwise an update is a repaint of its own region. With ``grow_only`` it keeps the
most lines it needed so far (until a resize): the Backends summary is 1 to 6 lines from one
service to the next, and every change of its height re-laid out the screen on a key press.
"""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from tui.safetext import clean_text, safe_block
from widgets.looks import same_look


class TextBlock(Widget):
    DEFAULT_CSS = """
    TextBlock { height: 1; }
    """

    def __init__(
        self,
        text: Text | str = "",
        *,
        id: str | None = None,
        classes: str | None = None,
        grow_only: bool = False,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.text = Text(safe_block(text)) if isinstance(text, str) else clean_text(text)
        self._lines = 1
        self.grow_only = grow_only

    def render(self) -> Text:
        return self.text

    def _height_for(self, width: int) -> int:
        if width <= 0:
            return max(1, self.text.plain.count("\n") + 1)
        return max(1, len(self.text.wrap(self.app.console, width)))

    def _fit(self, *, resized: bool = False) -> None:
        width = self.content_region.width or self.size.width
        lines = self._height_for(width)
        if self.grow_only and not resized:
            lines = max(lines, self._lines)
        if lines != self._lines:
            self._lines = lines
            self.styles.height = lines  # the only case that re-lays out the screen

    def update(self, text: Text | str) -> None:
        """Show ``text``; a repaint unless the number of lines changed. Any control character a
        cluster's text still carries is shown as a placeholder (:func:`tui.safetext.clean_text`)."""
        text = Text(safe_block(text)) if isinstance(text, str) else clean_text(text)
        if same_look(self.text, text):
            return
        self.text = text
        self._fit()
        self.refresh()

    def on_resize(self) -> None:
        self._fit(resized=True)
