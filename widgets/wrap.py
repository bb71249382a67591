"""Hanging indents: a long line wrapped so its continuation lines stay under its own text.

Textual wraps a widget's text at the left edge of the widget, so a finding's message or an
unreachable context's error that runs past the pane width would continue under the ``⚠``
mark or under the context's number, and read as a new item. Panes that know their width
pre-wrap such lines with :func:`hanging` instead.
"""

from __future__ import annotations

import io

from rich.console import Console
from rich.text import Text

_CONSOLE = Console(width=10_000, file=io.StringIO(), color_system=None, legacy_windows=False)
"""Only measures (wrapping needs a console); never prints."""

MIN_WIDTH = 12
"""Below this many cells left after the indent, the text is left to the widget to wrap."""


def hanging(text: Text, width: int, indent: int) -> Text:
    """``text`` wrapped at ``width`` cells, every continuation line indented by ``indent``.

    Each line of ``text`` (split at ``\\n``) is wrapped on its own; styles are kept. Lines
    that fit, or a width too small to indent into, come back unchanged.
    """
    if width - indent < MIN_WIDTH or (text.cell_len <= width and "\n" not in text.plain):
        return text
    trailing = text.plain.endswith("\n")
    body = text[:-1] if trailing else text
    out: list[Text] = []
    for line in body.split("\n", allow_blank=True):
        if line.cell_len <= width:
            out.append(line)
            continue
        first = line.wrap(_CONSOLE, width)[0]
        rest = line[len(first.plain) :]
        rest = rest[len(rest.plain) - len(rest.plain.lstrip(" ")) :]
        first.rstrip()
        out.append(first)
        for piece in rest.wrap(_CONSOLE, width - indent):
            piece.rstrip()
            out.append(Text(" " * indent) + piece)
    joined = Text("\n").join(out)
    if trailing:
        joined.append("\n")
    return joined
