"""Hanging indents: a long line wrapped so its continuation lines stay under its own text.

Textual wraps a widget's text at the left edge of the widget, so a finding's message or an
unreachable context's error that runs past the pane width would continue under the ``⚠``
mark or under the context's number, and read as a new item. Panes that know their width
pre-wrap such lines with :func:`hanging` instead.
"""

from __future__ import annotations

import io
import shlex

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


CommandLine = tuple[bool, str]
"""(indented, text): ``False`` for the rest of a word cut with a bare ``\\`` — the shell
joins it to the line above only when it starts at the first column."""


def command_lines(command: str, width: int, first: int, indent: int) -> list[CommandLine]:
    """A shell command cut into lines of at most ``width`` cells that still paste and run:
    each line but the last ends with `` \\`` (the shell's continuation), cuts fall between
    words, an option stays with its value (``--context bastion02``) and a pipe starts a line.
    ``first`` cells precede the first line (``  fix: ``), ``indent`` the others. A word longer
    than a line is cut with a bare ``\\`` and goes on at the first column (not indented: the
    shell removes backslash-newline, and spaces there would split the word). A command that
    fits, or one that does not parse, comes back as one line.
    """
    if width <= 0 or first + len(command) <= width:
        return [(True, command)]
    words = _command_words(command)
    if words is None:
        return [(True, command)]
    lines: list[CommandLine] = []
    room = width - first

    def emit(text: str, continued: bool) -> None:
        tail = " \\" if continued else ""
        if len(text) + len(tail) <= room or room < 4 or " " in text or any(c in text for c in "'\"\\$"):
            lines.append((True, text + tail))
            return
        head, rest = text[: room - 1], text[room - 1 :]
        lines.append((True, head + "\\"))
        while len(rest) + len(tail) > width:
            lines.append((False, rest[: width - 1] + "\\"))
            rest = rest[width - 1 :]
        lines.append((False, rest + tail))

    # A group that cannot fit a line is cut into its words (an option apart from its value).
    room_after = width - indent - 2
    words = [part for word in words for part in (word.split(" ") if len(word) > room_after else [word])]
    current = ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        # A pipe starts a line of its own; 2: the " \\" that ends the line before.
        if current and (len(candidate) + 2 > room or word.startswith("| ")):
            emit(current, True)
            current = word
            room = width - indent
        else:
            current = candidate
    emit(current, False)
    return lines


def _command_words(command: str) -> list[str] | None:
    """Shell words (quotes kept as written) grouped so a cut never separates an option from
    its value or a ``|`` from the command after it; ``None`` when it does not parse."""
    lexer = shlex.shlex(command, posix=False)
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        tokens = list(lexer)
    except ValueError:
        return None
    words: list[str] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        takes_value = token.startswith("-") and token not in ("-", "--") and "=" not in token
        if following is not None and (
            token == "|"
            or (takes_value and following != "|" and (following == "-" or not following.startswith("-")))
        ):
            words.append(f"{token} {following}")
            index += 2
            continue
        words.append(token)
        index += 1
    return words
