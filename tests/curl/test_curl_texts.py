"""The curl pane's lines (widgets/curl_pane.py): fitted to the width, p50 kept at 120 columns,
the split since the change, the timeline's marks, each cluster in its colour."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tui.views.clustercolors import DARK, ClusterColors
from tui.views.curl import CurlRowView
from widgets.curl_pane import big_text, summary_text, timeline_text
from widgets.palette import DEFAULT

COLORS = ClusterColors.of(["cluster1", "cluster2"])
ROW = CurlRowView(
    context="bastion02",
    from_cluster="cluster1",
    total=40,
    state="running",
    split=(("cluster1", 12), ("cluster2", 8)),
    expected={"cluster1": 0.5, "cluster2": 0.5},
    p50=3.2,
    p95=14.0,
    rate=1.0,
    since=(("cluster1", 6), ("cluster2", 0)),
    since_failed=1,
    timeline=(("answer", "cluster1"), ("answer", "cluster2"), ("change", "┃"), ("failed", "×"))
    + (("answer", "cluster1"),) * 6,
    window=20,
)


@pytest.mark.parametrize("width", [76, 116, 156, 196])
def test_the_split_line_fits_its_width_and_keeps_p50_from_120_columns(width: int) -> None:
    text = summary_text(ROW, DEFAULT, COLORS, width=width, changed_at=1_764_000_000.0)
    plain = text.plain
    assert text.cell_len <= width, (len(plain), plain)
    assert plain.startswith("cluster1  → ● cluster1 █")
    assert "100%  ■ cluster2 ░" in plain and "  0%" in plain  # since the change: all cluster1
    assert "exp" in plain and "50/50" in plain and "× failed 1" in plain
    if width == 76:  # without failures taking the room, the count since the change still fits
        calm = summary_text(replace(ROW, since_failed=0), DEFAULT, COLORS, width=76, changed_at=1.0)
        assert "6 since ┃" in calm.plain and calm.cell_len <= 76, calm.plain
    if width >= 116:
        assert "p50 3.2 ms" in plain and "6 since ┃ " in plain
    if width >= 156:
        assert "last 20 60/40" in plain and "p95 14 ms" in plain


def test_each_cluster_in_its_colour_and_a_share_far_from_the_rules_in_the_warning_colour() -> None:
    text = summary_text(ROW, DEFAULT, COLORS, width=156)
    styles = {text.plain[s.start : s.end]: str(s.style) for s in text.spans}
    assert styles["cluster2"] == f"bold {DARK[1]}" and styles["● "] == DARK[0]
    assert styles[" 100%"] == f"bold {DEFAULT.warn}"  # 100 % against the expected 50 %


def test_the_timeline_is_newest_right_bounded_and_marks_changes_and_failures() -> None:
    text = timeline_text(ROW, DEFAULT, COLORS, width=20, indent=2)
    assert text.plain == "  ●■┃×●●●●●●"
    assert timeline_text(ROW, DEFAULT, COLORS, width=8, indent=2).plain == "  ●●●●●●"  # the newest
    colours = {text.plain[s.start : s.end]: str(s.style) for s in text.spans}
    assert colours["■"] == DARK[1] and colours["┃"] == "bold" and colours["×"] == DEFAULT.err


def test_presenter_bars_are_long_and_two_rows_high() -> None:
    lines = big_text(ROW, DEFAULT, COLORS, width=116, changed_at=None).plain.split("\n")
    assert lines[0].startswith("cluster1 → 6 since start")
    assert lines[1].startswith("  ● cluster1 ") and lines[1].count("█") >= 70 and "expected 50%" in lines[1]
    assert lines[2].strip() == "█" * lines[1].count("█")  # the second row of the same bar
    assert lines[-1].strip().endswith("●●●●●●")
