"""The one sanitizer (``tui/safetext.py``): what it replaces, what it keeps, and that it keeps
clean text as the same object (the panes' caches compare by identity)."""

from __future__ import annotations

import ast
from pathlib import Path

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


MARKUP_SINKS = {"Static", "Option", "Label", "update", "add_column", "add_option", "SystemCommand"}
"""Calls whose first argument Textual parses as markup when it is a ``str``."""


def _markup_from_data(path: Path) -> list[str]:
    """f-strings and ``+``/``%`` built strings given to a markup-parsing call or title, in one file."""
    tree = ast.parse(path.read_text())
    found = []

    def built(node: ast.AST) -> bool:
        return isinstance(node, ast.JoinedStr) or (
            isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod)
        )

    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in MARKUP_SINKS and built(node.args[0]):
                found.append(f"{path.name}:{node.lineno} {name}(f'...')")
        if isinstance(node, ast.Assign) and built(node.value):
            for target in node.targets:
                if isinstance(target, ast.Attribute) and target.attr in ("border_title", "border_subtitle"):
                    found.append(f"{path.name}:{node.lineno} .{target.attr} = f'...'")
    return found


def test_no_markup_is_built_from_values_in_the_widgets() -> None:
    """A string built from values (a cluster's, mostly) and handed to a call that parses markup
    is how ``cluster2[/]`` crashed the app: every such place passes ``safe_text(...)`` instead."""
    root = Path(__file__).resolve().parents[2]
    files = [*root.glob("widgets/*.py"), *root.glob("tui/screens/*.py"), root / "tui" / "app.py"]
    assert len(files) > 10
    found = [hit for path in files for hit in _markup_from_data(path)]
    assert found == [], found
