"""The one sanitizer (``tui/safetext.py``): what it replaces, what it keeps, and that it keeps
clean text as the same object (the panes' caches compare by identity)."""

from __future__ import annotations

from hostilehelp import PAYLOAD, RAW_CONTROL
from rich.text import Text

from tui.safetext import (
    clean_text,
    is_safe,
    markup_escaped,
    safe_block,
    safe_line,
    safe_text,
)


def test_controls_become_visible_placeholders_one_for_one() -> None:
    assert safe_line("a\x1b[2Jb") == "a␛[2Jb"
    assert safe_line("t\x07\r\x00\x7f") == "t␇␍␀␡"
    assert safe_line("c1\x9b2J") == "c1\ufffd2J"
    assert safe_line("rtl\u202eevil\u2066") == "rtl\ufffdevil\ufffd"
    assert safe_line("line\nnext\ttab") == "line␤next tab"
    assert safe_line("lone \ud800 surrogate") == "lone \ufffd surrogate"
    assert RAW_CONTROL.search(safe_line(PAYLOAD)) is None
    assert len(safe_line(PAYLOAD)) == len(PAYLOAD)  # one character for one


def test_blocks_keep_their_lines_and_expand_tabs() -> None:
    assert safe_block("a\r\nb\rc\n\td") == "a\nb␍c\n    d"
    assert safe_block("x\x1b]52;c;AAAA\x07") == "x␛]52;c;AAAA␇"
    assert is_safe(safe_block(PAYLOAD + "\nsecond"))


def test_clean_text_is_the_same_object_and_other_types_are_read() -> None:
    clean = "bastion02 song/userlist-svc"
    assert safe_line(clean) is clean and safe_block(clean) is clean
    assert safe_line(None) == "" and safe_line(b"\x1bx") == "␛x" and safe_line(3) == "3"
    assert safe_line("abcdef", 4) == "abc…"


def test_markup_stays_text() -> None:
    text = safe_text("[/][bold red]x\x1b[2J", "bold")
    assert isinstance(text, Text) and text.plain == "[/][bold red]x␛[2J" and text.style == "bold"
    assert markup_escaped("[/]\x07") == "\\[/]␇"


def test_clean_text_fixes_a_text_in_place_keeping_styles() -> None:
    text = Text("ok ")
    text.append("\x1b[2Jred", style="red")
    assert clean_text(text) is text
    assert text.plain == "ok ␛[2Jred"
    assert [(s.start, s.end, s.style) for s in text.spans] == [(3, 10, "red")]
