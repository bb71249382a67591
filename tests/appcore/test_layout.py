"""Which pane gets how many rows (tui/appcore/layout.py): the curl pane first once loops run."""

from __future__ import annotations

import pytest

from tui.appcore.layout import (
    BORDER,
    LINES_PER_CLIENT,
    MIN_ANSWER_LINES,
    Layout,
    curl_min,
    plan_layout,
)

SIZES = [(80, 24), (100, 30), (120, 40), (160, 48), (200, 50)]
SEED = {"clients": 2, "services_want": 5, "backends_want": 8, "top_want": 14}


def used(plan: Layout, height: int, width: int) -> int:
    """Rows the plan takes with the header, the footer and the ticker."""
    return plan.top + plan.services + plan.middle + plan.curl + 2 + (1 if plan.ticker else 0)


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_running_loops_always_get_their_rows_and_three_answers_and_the_footer_stays(
    width: int, height: int
) -> None:
    plan = plan_layout(width, height, running=True, **SEED)
    assert plan.curl >= curl_min(2) == BORDER + 2 * LINES_PER_CLIENT + MIN_ANSWER_LINES
    assert plan.answer_lines >= MIN_ANSWER_LINES
    assert used(plan, height, width) == height  # every row used, none beyond the footer
    assert plan.services >= 4  # the selected service stays on screen


def test_at_80x24_the_contexts_row_gives_way_and_the_ticker_too() -> None:
    plan = plan_layout(80, 24, running=True, **SEED)
    assert plan.top == 0 and not plan.ticker
    assert (plan.services, plan.middle, plan.curl) == (5, 8, 9)


def test_free_rows_go_to_the_curl_pane_not_to_empty_panes() -> None:
    big = plan_layout(200, 50, running=True, **SEED)
    assert (big.top, big.services, big.middle) == (14, 5, 8)  # what their contents fill
    assert big.curl == 50 - 2 - 14 - 5 - 8 and big.answer_lines == big.curl - 2 - 4
    more = plan_layout(200, 50, running=True, **{**SEED, "services_want": 20, "backends_want": 30})
    assert more.services == 50 - 2 - 14 - 13 - 9  # what is left once the curl pane has its minimum
    assert more.middle == 13 and more.curl == curl_min(2)  # panes up to their want, curl its min


def test_without_loops_the_slot_is_a_line_and_services_fill() -> None:
    for width, height in SIZES:
        plan = plan_layout(width, height, running=False, **SEED)
        assert plan.curl == (3 if height >= 30 else 0) and plan.answer_lines == 0
        assert used(plan, height, width) == height
        assert plan.top >= 6 and plan.middle >= 10 and plan.services >= 5  # every pane shows
    assert plan_layout(160, 48, running=False, **SEED) == Layout(14, 16, 13, 3, False, 0)


def test_presenter_gives_the_curl_pane_all_but_the_selected_service() -> None:
    plan = plan_layout(120, 40, running=True, presenter=True, big_lines=6, **SEED)
    assert (plan.top, plan.middle, plan.services, plan.big) == (0, 0, 4, True)
    assert plan.curl == 40 - 2 - 1 - 4 and plan.answer_lines == plan.curl - 2 - 4 - 6


def test_many_clients_on_a_short_screen_keep_their_split_rows_before_their_timelines() -> None:
    plan = plan_layout(80, 24, running=True, clients=8, services_want=5, backends_want=8)
    assert used(plan, 24, 80) == 24 and plan.top == 0 and plan.middle == 0
    assert not plan.timelines and plan.curl == 24 - 2 - 5 and plan.answer_lines == plan.curl - 2 - 8
    assert plan_layout(120, 40, running=True, clients=8, services_want=5).timelines  # room for both
    huge = plan_layout(80, 24, running=True, clients=16, services_want=5, backends_want=8)
    assert used(huge, 24, 80) <= 24  # the footer stays, whatever the loops
