"""The one sanitizer: anything a cluster sends becomes display-safe text before it is shown.

Everything meshtui draws comes from the clusters (names, annotations, agent output, curl
answers, error bodies), and a member cluster, or one hostile API endpoint in the kubeconfig,
controls all of it. Two things must never reach a terminal from there:

* **control characters**: ESC (CSI, OSC: window title, clipboard via OSC 52, hyperlinks), the
  8-bit C1 forms (``0x9b`` is a CSI on its own), BEL, CR, backspace, DEL, the bidirectional
  overrides that reorder what is shown (a name that reads as another), and lone surrogates
  (which cannot even be encoded for the terminal). Each is replaced by a visible placeholder,
  one character for one (the Unicode control pictures ``␛ ␇ ␍`` for C0 and DEL, ``�`` for the
  rest), so the text still says that something was there and where;
* **markup**: Textual and Rich parse ``[bold]`` in plain strings. This module never builds
  markup; :func:`safe_text` returns a ``rich.text.Text`` (never parsed), and
  :func:`markup_escaped` exists for the few APIs that only take markup (the command palette).

Two forms: :func:`safe_line` for cells, titles and one-line messages (a newline or a tab
becomes a placeholder / a space, so one value cannot forge a second row or log line), and
:func:`safe_block` for logs and bodies (newlines kept, ``\\r\\n`` read as a newline, tabs
expanded). Clean strings come back as the same object: callers that compare by identity keep
their caches. JSON and YAML output never go through here (they escape on their own and must
stay exact).

Imports nothing of meshtui's, so every layer (cluster access, headless, widgets) may use it;
``rich`` is imported only by :func:`safe_text` / :func:`clean_text`.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.style import Style
    from rich.text import Text

REPLACEMENT = "\ufffd"
"""``�``: the placeholder for C1 controls, bidi controls and lone surrogates."""

BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
"""Bidirectional marks, embeddings, overrides and isolates (Trojan Source, CVE-2021-42574)."""

_MAP: dict[int, str] = {code: chr(0x2400 + code) for code in range(0x20)}  # ␀ … ␟
_MAP[0x7F] = "\u2421"  # ␡
_MAP.update({code: REPLACEMENT for code in range(0x80, 0xA0)})  # C1: no pictures exist
_MAP.update({ord(c): REPLACEMENT for c in BIDI})
_MAP[0x2028] = "\u2424"  # line separator: ␤
_MAP[0x2029] = "\u2424"  # paragraph separator

_LINE = dict(_MAP)
_LINE[0x09] = " "  # a tab in a cell: one space (columns stay aligned)
_LINE[0x0A] = "\u2424"  # a newline in a cell or a log line: ␤, never a second row

_BLOCK = dict(_MAP)
del _BLOCK[0x0A]  # kept
del _BLOCK[0x09]  # expanded first (see safe_block)

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f" + BIDI + "\u2028\u2029\ud800-\udfff]")
"""Anything :func:`safe_line` would change (a fast check: most text is clean)."""
_UNSAFE_BLOCK = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f" + BIDI + "\u2028\u2029\ud800-\udfff]")
_SURROGATES = re.compile("[\ud800-\udfff]")

TAB_SIZE = 4


def _text_of(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    return "" if value is None else str(value)


def _cut(text: str, limit: int | None) -> str:
    if limit is not None and len(text) > limit:
        return text[: max(0, limit - 1)] + "…"
    return text


def safe_line(value: Any, limit: int | None = None) -> str:
    """``value`` as one line of display-safe text (cells, titles, notifications, log lines).

    Every control character (newline and CR included) becomes a visible placeholder, a tab a
    space. ``limit``: at most this many characters (``…`` marks a cut). ``None`` is ``""``,
    bytes are read as UTF-8. A clean string is returned as is (the same object).
    """
    text = _text_of(value)
    if _UNSAFE.search(text) is not None:
        text = _SURROGATES.sub(REPLACEMENT, text).translate(_LINE)
    return _cut(text, limit)


def safe_block(value: Any, limit: int | None = None) -> str:
    """``value`` as display-safe text that keeps its lines (logs, bodies, dialogs' paragraphs).

    ``\\r\\n`` is a newline; tabs are expanded to :data:`TAB_SIZE` columns; every other
    control character becomes a placeholder (a lone CR shows as ``␍``, never returns the
    cursor to overwrite the line).
    """
    text = _text_of(value)
    if _UNSAFE_BLOCK.search(text) is not None:
        text = text.replace("\r\n", "\n")
        if "\t" in text:
            text = "\n".join(line.expandtabs(TAB_SIZE) for line in text.split("\n"))
        text = _SURROGATES.sub(REPLACEMENT, text).translate(_BLOCK)
    return _cut(text, limit)


def is_safe(text: str, *, block: bool = True) -> bool:
    """No character :func:`safe_block` (``block``) or :func:`safe_line` would replace."""
    return (_UNSAFE_BLOCK if block else _UNSAFE).search(text) is None


def markup_escaped(value: Any, limit: int | None = None) -> str:
    """:func:`safe_line` with every ``[`` escaped, for the few APIs that only accept Textual
    content markup (the command palette's titles and help). Prefer :func:`safe_text`."""
    return safe_line(value, limit).replace("[", "\\[")


def safe_text(value: Any, style: str | Style = "", *, block: bool = False, limit: int | None = None) -> Text:
    """A ``rich.text.Text`` of ``value`` in ``style``: never parsed as markup, never a control
    character (:func:`safe_line`, or :func:`safe_block` with ``block``)."""
    from rich.text import Text

    clean = safe_block(value, limit) if block else safe_line(value, limit)
    return Text(clean, style=style)


def clean_str(text: str, *, block: bool = True) -> str:
    """``text`` with every control character replaced one for one (a newline kept with
    ``block``, a tab a space): lengths and offsets stay as they were, for text already laid out
    (rendered segments, a ``Text`` with styles). Prefer :func:`safe_line` / :func:`safe_block`."""
    if (_UNSAFE_BLOCK if block else _UNSAFE).search(text) is None:
        return text
    return _SURROGATES.sub(REPLACEMENT, text).translate(_BLOCK | {0x09: " "} if block else _LINE)


def clean_text(text: Text, *, block: bool = True) -> Text:
    """The last line of defence at a widget's sink: ``text`` with any control character left in
    it replaced in place, one character for one (its styles stay where they were).

    Rich's ``Text()`` already drops BEL, CR, backspace, VT and FF, but not ESC, C1 or bidi
    controls: a Text built from an unsanitized value still carries those. Returns ``text``.
    """
    plain = text.plain
    clean = clean_str(plain, block=block)
    if clean is not plain:
        text.plain = clean
    return text


class SafeLogFormatter(logging.Formatter):
    """A log formatter whose lines carry no control character: a message is one line
    (:func:`safe_line`: a cluster's text cannot forge a second record or reach a terminal
    that tails the log), a traceback keeps its lines (:func:`safe_block`). For ``-v`` on
    stderr and the ``MESHTUI_LOG`` file."""

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        out = safe_line(self.formatMessage(record))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            out += "\n" + safe_block(record.exc_text)
        if record.stack_info:
            out += "\n" + safe_block(self.formatStack(record.stack_info))
        return out
