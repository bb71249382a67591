"""The message a table pane posts when enter is pressed on a row: every field, uncut.

Narrow panes shorten what they show (pod names cut in the middle, IP:PORT left out, long
reasons cut after a few lines); the app answers this message with a dialog holding each
field whole (:class:`tui.screens.details.DetailsDialog`), so nothing is lost by the cuts.
"""

from __future__ import annotations

from textual.message import Message


class RowDetails(Message):
    """Enter on a row: ``fields`` (label, value) of that row, none of them cut."""

    def __init__(self, title: str, fields: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title = title
        self.fields = fields
