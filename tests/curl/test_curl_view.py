"""The curl view on screen: whole at every size, one colour per cluster, the timeline, and the
split since the last change (after ``a l y`` the audience sees local-only within a second)."""

from __future__ import annotations

import re
import time

import pytest
from rich.text import Text
from testkit import until
from textual.pilot import Pilot

from tui.app import MeshtuiApp
from tui.compat.textual_private import notifications, screen_lines, screen_strips
from tui.sim.mesh import SimThread
from tui.views.clustercolors import DARK, LIGHT
from widgets.curl_pane import LOG_HISTORY, CurlLog, CurlRow

KEY = ("song", "userlist-svc")
ANSWER = re.compile(r"\d\d:\d\d:\d\d  cluster[12] → . cluster[12] +userlist-")
SPLIT = re.compile(r"cluster([12]) +→ . cluster\1 .*%  . cluster[12] .*%")
TIMELINE = re.compile(r"^│ {13}[●■?×┃]+ *│$")


async def start_curl(app: MeshtuiApp, pilot: Pilot, *, interval: float = 0.1) -> None:
    await until(lambda: app.curl_pane is not None, 5, pilot=pilot)
    await until(lambda: app.service == KEY and app.viewing == "bastion02", 10, pilot=pilot)
    app.curl.interval = interval
    await pilot.press("c")
    await until(
        lambda: (
            app.curl.session is not None
            and len(app.curl.session.stats) == 2
            and all(
                {"cluster1", "cluster2"} <= set(s.split()) and s.unknown == 0
                for s in app.curl.session.stats.values()
            )
        ),
        15,
        pilot=pilot,
    )


def answers_shown(lines: list[str]) -> int:
    return sum(1 for line in lines if ANSWER.search(line))


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 50)])
async def test_the_curl_pane_is_whole_at_every_size(
    sim: SimThread, app: MeshtuiApp, size: tuple[int, int]
) -> None:
    async with app.run_test(size=size) as pilot:
        await start_curl(app, pilot)

        def whole() -> bool:
            lines = screen_lines(app)
            return answers_shown(lines) >= 3 and sum(1 for line in lines if SPLIT.search(line)) == 2

        await until(whole, 10, pilot=pilot, describe=lambda: "\n".join(screen_lines(app)))
        lines = screen_lines(app)
        text = "\n".join(lines)
        # each client cluster's split row is followed by its timeline
        for index, line in enumerate(lines):
            if SPLIT.search(line):
                assert TIMELINE.match(lines[index + 1]), text
        # the pane's bottom border is on screen, right above the footer, which is whole (its right
        # end may be under a notification toast)
        toasts = [n.message for n in notifications(app)]
        assert lines[-2].startswith("╰") and ("m map" in lines[-2] or toasts), (text, toasts)
        assert lines[-1].lstrip().startswith("a affinity") and "curl" in lines[-1], text
        assert "q quit" in lines[-1] or toasts, text  # every key fits, 80 columns too
        assert len(lines) == size[1]
        if size[0] >= 120:  # p50 stays (issue 14, bug 4)
            assert all("p50 " in line for line in lines if SPLIT.search(line)), text
        if size == (80, 24):
            assert "Contexts" not in text  # gave way
            assert "song/userlist-svc" in text  # the selected service stays
        else:
            assert "Contexts" in text


def cell_colors(app: MeshtuiApp, word: str) -> set[str]:
    """The foreground colours of every cell run on screen whose text is ``word``."""
    found = set()
    for strip in screen_strips(app):
        for segment in strip:
            if segment.text.strip() == word and segment.style is not None and segment.style.color is not None:
                found.add(segment.style.color.triplet.hex.upper() if segment.style.color.triplet else "")
    return found


async def test_one_colour_per_cluster_in_the_curl_pane_and_the_light_theme(
    sim: SimThread, app: MeshtuiApp
) -> None:
    async with app.run_test(size=(160, 48)) as pilot:
        await start_curl(app, pilot)
        await until(lambda: answers_shown(screen_lines(app)) >= 3, 10, pilot=pilot)
        await pilot.pause(0.3)
        assert app.cluster_colors.order == ("cluster1", "cluster2")
        log = app.query_one(CurlLog)
        assert log.plain.count("cluster") > 0
        colors = {c.upper() for c in (DARK[0], DARK[1])}
        seen = cell_colors(app, "cluster1") | cell_colors(app, "cluster2")
        assert {DARK[0].upper(), DARK[1].upper()} <= seen, seen
        assert colors <= seen
        app.theme = "textual-light"
        await pilot.pause(0.6)
        seen = cell_colors(app, "cluster1") | cell_colors(app, "cluster2")
        assert {LIGHT[0].upper(), LIGHT[1].upper()} <= seen, seen


async def test_after_affinity_local_the_split_since_the_change_is_local_only_within_a_second(
    sim: SimThread, app: MeshtuiApp
) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await start_curl(app, pilot)
        curl = app.curl
        await until(lambda: any(r.context == "bastion02" for r in app.query(CurlRow)), 5, pilot=pilot)
        row = next(r for r in app.query(CurlRow) if r.context == "bastion02")
        await until(lambda: "50/50" in row.text.plain, 5, pilot=pilot)
        await pilot.press("a", "l")
        await pilot.pause(0.2)
        sent = time.monotonic()
        await pilot.press("y")
        changed = await until(lambda: curl.changed_at is not None, 5, pilot=pilot, since=sent)
        print(f"change seen {changed:.2f} s after y")

        def local_only() -> bool:
            plain = row.text.plain
            since = curl.since.get("bastion02", {})
            first = plain.split("\n")[0]
            return (
                re.search(r"● cluster1 █+ 100%  ■ cluster2 ░+   0%", first) is not None
                and "100/0" in first
                and since.get("cluster1", 0) >= 2
                and since.get("cluster2", 0) == 0
            )

        took = await until(local_only, 5, pilot=pilot, describe=lambda: row.text.plain, since=sent)
        print(f"local-only shown {took:.2f} s after y")
        # 0.4-1.0 s measured on an idle machine (the write's round trip, the watch, a repaint);
        # the bound leaves room for a loaded one and is still far below what the rolling window
        # (100 answers at this interval: 10 s) would take to show 100 %
        assert took < 3.5, took
        timeline = row.text.plain.split("\n")[1]
        assert timeline.count("┃") == 1, timeline  # one change: the write and its landing merged
        after = timeline.split("┃")[1]
        # only cluster1's mark once the rules landed (an answer in flight at the write may not)
        assert after.rstrip().endswith("●") and after.strip().count("■") <= 1, timeline
        assert "┃ service.cilium.io/affinity" in app.query_one(CurlLog).plain


async def test_presenter_layout_gives_the_curl_pane_the_screen_with_big_bars(
    sim: SimThread, app: MeshtuiApp
) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await start_curl(app, pilot)
        await pilot.press("P")
        await until(lambda: app.layout_plan is not None and app.layout_plan.big, 5, pilot=pilot)
        await until(lambda: "●" in app.query(CurlRow).first().text.plain.split("\n")[-1], 5, pilot=pilot)
        await pilot.pause(0.3)
        text = "\n".join(screen_lines(app))
        assert "Contexts" not in text and "Backends" not in text and "song/userlist-svc" in text
        bars = re.findall(r"[●■] cluster[12] ([█░]+) +\d+%", text)
        assert len(bars) == 4 and all(len(bar) >= 60 for bar in bars), text
        await pilot.press("P")  # and back
        await until(lambda: "Backends" in "\n".join(screen_lines(app)), 5, pilot=pilot)


def test_the_presenter_flag_starts_the_app_in_presenter_layout() -> None:
    from tui.cli import build_parser

    assert build_parser().parse_args(["--demo", "--presenter"]).presenter is True
    assert build_parser().parse_args(["--demo"]).presenter is False


async def test_the_curl_log_scrolls_when_focused_and_keeps_a_bounded_history(
    sim: SimThread, app: MeshtuiApp
) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await start_curl(app, pilot, interval=0.02)
        log = app.query_one(CurlLog)
        await until(lambda: len(log.lines) > log.size.height + 20, 15, pilot=pilot)
        await until(lambda: log.scroll_y >= log.max_scroll_y - 1, 1, pilot=pilot)  # follows the newest
        log.focus()
        await pilot.pause(0.1)
        await pilot.press("pageup")
        await pilot.pause(0.3)
        scrolled = log.scroll_y
        assert scrolled < log.max_scroll_y, (app.focused, scrolled, log.max_scroll_y)
        written = log.written
        await until(lambda: log.written > written + 5, 5, pilot=pilot)
        assert log.scroll_y == scrolled  # new answers do not pull the operator back down
        await pilot.press("home")
        await until(lambda: log.scroll_y == 0, 2, pilot=pilot)
        await pilot.press("end")  # back to the newest, and following them again
        await until(lambda: log.scroll_y >= log.max_scroll_y - 1, 2, pilot=pilot)
        written = log.written
        await until(lambda: log.written > written + 5, 5, pilot=pilot)
        await until(lambda: log.scroll_y >= log.max_scroll_y - 1, 1, pilot=pilot)
        log.add([Text(f"line {i}") for i in range(1200)])
        assert len(log.lines) == LOG_HISTORY and log.plain.endswith("line 1199")
