"""Where answers go: ``-o json|yaml`` dumps and the rich console for tables; errors to stderr.

Colour only on a terminal and never with ``NO_COLOR`` set (rich checks both). Off a terminal the
table width is ``$COLUMNS`` or 160, not rich's 80: a piped table should not wrap like a narrow
window. Markup is off everywhere: messages carry brackets (``[min:1 / avg:1.0 / max:1]``).

Nothing a cluster sent reaches the terminal raw, table or not, terminal or pipe: the tables
are built from display-safe text (:mod:`tui.safetext`), messages on stderr are one safe line
each, and the console rewrites any control character left in a rendered segment (a last line
of defence). JSON and YAML are exact (their encoders escape control characters).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from tui.safetext import clean_str, safe_line

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult

PIPE_WIDTH = 160


def error(message: str) -> None:
    """One line on stderr (flushed: it may interleave with streamed answers); a cluster's words
    in it are display-safe (:func:`tui.safetext.safe_line`)."""
    print(safe_line(message), file=sys.stderr, flush=True)


def console(file: Any = None) -> Console:
    """A console on stdout (resolved at call time: tests swap ``sys.stdout``)."""
    from rich.console import Console

    out = file if file is not None else sys.stdout
    isatty = getattr(out, "isatty", None)
    tty = bool(isatty and isatty())
    width = None
    if not tty:
        try:
            width = int(os.environ.get("COLUMNS", "")) or PIPE_WIDTH
        except ValueError:
            width = PIPE_WIDTH
    made = Console(
        file=out,
        width=width,
        highlight=False,
        markup=False,
        emoji=False,
        soft_wrap=False,
        no_color=bool(os.environ.get("NO_COLOR")) or None,
    )
    made.push_render_hook(_SafeHook())  # type: ignore[arg-type]  # duck-typed: rich loads lazily
    return made


class _SafeSegments:
    """A renderable whose segments' text has no control character left (one for one: the
    layout, measured before, stays as it was)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.segment import Segment

        for segment in console.render(self.inner, options):
            if segment.control:
                yield segment
            else:
                clean = clean_str(segment.text)
                yield segment if clean is segment.text else Segment(clean, segment.style)


class _SafeHook:
    """Every renderable printed on a :func:`console` goes through :class:`_SafeSegments`."""

    def process_renderables(self, renderables: list[Any]) -> Iterable[Any]:
        return [_SafeSegments(r) for r in renderables]


def dump(data: Any, fmt: str) -> str:
    """The document as ``-o json`` (2-space indent) or ``-o yaml`` prints it."""
    if fmt == "yaml":
        import yaml

        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)
    import msgspec

    # msgspec's encoder writes what json.dumps(indent=2, ensure_ascii=False) writes (floats may
    # be spelled differently: 1e-7 for 1e-07) in a tenth of the time: 0.9 s of the 22 MB
    # answer of `meshtui services -o json` over 64 clusters x 2,000 services.
    return msgspec.json.format(msgspec.json.encode(data), indent=2).decode() + "\n"


def write(text: str) -> None:
    """``text`` on stdout, flushed; a closed pipe (``| head``) ends the command quietly."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        broken_pipe()


def broken_pipe() -> None:
    """The reader went away: point stdout at /dev/null (so the interpreter's final flush does
    not complain) and exit 1, as rich does for its own prints."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
    raise SystemExit(1)


def emit(data: Any, fmt: str, table: Any = None) -> None:
    """Print ``data`` as JSON/YAML, or ``table()`` (renderables) for ``-o table``."""
    if fmt in ("json", "yaml"):
        write(dump(data, fmt))
        return
    out = console()
    for item in table() if callable(table) else table or ():
        out.print(item)
