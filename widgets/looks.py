"""Whether two cells or lines look the same on screen (text *and* styles).

``rich.text.Text.__eq__`` compares the plain text and the spans but not the base style (nor
justify/overflow), so ``Text("differs", style="red") == Text("differs", style="green")``:
a cell whose words stay the same while its colour changes (the AGENT cell once the agent
agrees again) would keep its old colour if updates were skipped on ``==``.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text


def same_look(old: Any, new: Any) -> bool:
    """``True`` when drawing ``new`` in place of ``old`` would change nothing."""
    if old is new:
        return True
    if isinstance(old, Text) and isinstance(new, Text):
        return (
            old.plain == new.plain
            and old.style == new.style
            and old.spans == new.spans
            and old.justify == new.justify
            and old.overflow == new.overflow
            and old.no_wrap == new.no_wrap
            and old.end == new.end
        )
    if isinstance(old, Text) or isinstance(new, Text):
        return False
    return bool(old == new)


def same_cells(old: tuple[Any, ...], new: tuple[Any, ...]) -> bool:
    """Every cell of one row looks the same (:func:`same_look`)."""
    return len(old) == len(new) and all(same_look(a, b) for a, b in zip(old, new, strict=True))
