"""Which panes get how many rows at a terminal size: the curl pane first once loops run.

Textual-free so the decision is unit-tested at every size; the app applies the result as the
heights of its four stacked regions (``#top``: Contexts and Mesh, ``#services``, ``#middle``:
Backends and Activity, ``#curl``) whenever the size, the curl loops or the panes' contents
change. The rules, in order:

1. The header and the footer always keep their row (the footer is never cut).
2. Once loops run, the curl pane gets what it needs to show every client cluster's split row
   and timeline plus :data:`MIN_ANSWER_LINES` answer lines (its minimum), before anything else.
3. Then the selected service stays visible (Services: one row), then the Backends pane at its
   smallest useful size (expected split, header, two rows).
4. Then the Contexts/Mesh row if at least :data:`MIN_TOP` rows remain (else it hides).
5. What is left goes to the panes up to what their content needs (empty rows give way), and
   the rest to the curl pane (more answer lines).

Presenter mode gives the curl pane everything but one Services row. Without loops the curl
slot is one line (its hint; hidden below 30 rows, where the footer's ``c`` says it) and the
Services pane takes the free space.
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_ANSWER_LINES = 3
"""Answer lines the curl pane shows at least (at 80×24 too)."""
MIN_TOP = 6
"""Rows below which the Contexts/Mesh row hides (border, two clusters of two lines)."""
TOP_TALL = 14
TOP_SHORT = 8
MIDDLE_TALL = 13
MIDDLE_SHORT = 10
TALL = 40
"""Rows from which the screen is "tall" (the app's vertical breakpoint)."""
WIDE = 140
"""Columns from which the activity log has its own pane (no ticker line)."""
SERVICES_MIN = 4
"""Border, header and the selected row."""
BACKENDS_MIN = 8
"""Border, the expected split, the agent line, header, two rows, a scrollbar."""
BORDER = 2
LINES_PER_CLIENT = 2
"""A client cluster's split row and its timeline."""


@dataclass(frozen=True, slots=True)
class Layout:
    """Heights in rows, borders included; 0 means hidden."""

    top: int
    services: int
    middle: int
    curl: int
    ticker: bool
    """The one-line activity ticker (narrow screens) is shown."""
    answer_lines: int
    """Rows of the curl pane below its split rows (answer log), 0 when idle."""
    big: bool = False
    """Presenter mode: big bars, one line per answering cluster."""
    timelines: bool = True
    """Each client's timeline has its row (many loops on a short screen: the split rows only)."""


def curl_min(clients: int, *, answer_lines: int = MIN_ANSWER_LINES) -> int:
    """The curl pane's minimum height with ``clients`` loops."""
    return BORDER + LINES_PER_CLIENT * max(1, clients) + answer_lines


def plan_layout(
    width: int,
    height: int,
    *,
    running: bool,
    clients: int = 2,
    services_want: int = SERVICES_MIN,
    backends_want: int = BACKENDS_MIN,
    top_want: int = TOP_TALL,
    presenter: bool = False,
    big_lines: int = 0,
) -> Layout:
    """The heights of the four regions for a ``width`` × ``height`` terminal (see the module).

    ``services_want`` / ``backends_want`` / ``top_want``: rows the panes' contents fill (with
    borders); ``clients``: curl loops (rows in the pane); ``big_lines``: in presenter mode, the
    extra rows big bars need (one per answering cluster per client).
    """
    # the activity ticker gives its row to the curl pane on short screens (the curl log
    # shows each change itself)
    ticker = width < WIDE and not (running and height < 30)
    room = max(0, height - 2 - (1 if ticker else 0))
    tall = height >= TALL
    top_default = TOP_TALL if tall else TOP_SHORT
    middle_default = MIDDLE_TALL if tall else MIDDLE_SHORT
    top_want = min(top_want, top_default)
    if not running:
        # the curl slot's hint line gives way on short screens (the footer names ``c``)
        curl = min(3, room) if height >= 30 else 0
        left = room - curl
        floor = min(max(SERVICES_MIN, services_want), SERVICES_MIN + 1)
        middle = min(middle_default, max(0, left - floor))
        middle = middle if middle >= 5 else 0
        left -= middle
        top = min(top_want, max(0, left - floor))
        top = top if top >= MIN_TOP else 0
        services = left - top
        return Layout(top, services, middle, curl, ticker, 0)
    if presenter:
        services = min(SERVICES_MIN, max(0, room - curl_min(clients)))
        curl = room - services
        answers = max(0, curl - BORDER - LINES_PER_CLIENT * max(1, clients) - big_lines)
        return Layout(0, services, 0, curl, ticker, answers, big=True)
    per_client = LINES_PER_CLIENT
    if curl_min(clients) > room - SERVICES_MIN:  # many loops, short screen: split rows first
        per_client = 1
    need = BORDER + per_client * max(1, clients) + MIN_ANSWER_LINES
    curl = min(need, room)
    left = room - curl
    # the selected row stays visible (one more row when its table shows a scrollbar)
    services = min(max(SERVICES_MIN, min(services_want, SERVICES_MIN + 1)), left)
    left -= services
    middle = min(BACKENDS_MIN, backends_want, left)
    if middle < 5:  # a border and a header alone are no use
        middle = 0
    left -= middle
    top = min(top_want, left)
    top = top if top >= MIN_TOP else 0
    left -= top
    grow = min(left, max(0, min(backends_want, middle_default) - middle)) if middle else 0
    middle += grow
    left -= grow
    grow = min(left, max(0, services_want - services))
    services += grow
    left -= grow
    curl += left
    answers = curl - BORDER - per_client * max(1, clients)
    return Layout(top, services, middle, curl, ticker, max(0, answers), timelines=per_client > 1)
