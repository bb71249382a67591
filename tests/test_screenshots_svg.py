"""The screenshots' SVGs render with correct spacing without Fira Code (tools/screenshots.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from rich.console import Console
from rich.text import Text

ROOT = Path(__file__).resolve().parent.parent


def load_tool():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("screenshots_tool", ROOT / "tools" / "screenshots.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_spaces_are_preserved_and_the_font_falls_back_to_common_monospace_fonts() -> None:
    tool = load_tool()
    console = Console(record=True, width=40, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(Text.assemble((" meshtui ", "bold"), " bastion02", "    16:00:01"))
    raw = console.export_svg(title="t")
    assert "xml:space" not in raw and "font-family: Fira Code, monospace;" in raw  # Rich's, as is
    svg = tool.portable_svg(raw)
    assert svg.count('xml:space="preserve"') == 1 and svg.startswith("<svg xml:space")
    assert '"DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace;' in svg
    assert tool.portable_svg(svg) == svg  # idempotent
