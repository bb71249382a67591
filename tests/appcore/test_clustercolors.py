"""One colour and one mark per cluster, by context order (tui/views/clustercolors.py)."""

from __future__ import annotations

from tui.views.clustercolors import DARK, LIGHT, MARKS, UNKNOWN_COLOR, ClusterColors, color_of


def luminance(hex_color: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_colours_follow_the_context_order_and_stay_stable() -> None:
    colors = ClusterColors.of(["cluster1", "cluster2", "cluster1", "cluster3"])
    assert colors.order == ("cluster1", "cluster2", "cluster3")
    assert [colors.color(c) for c in colors.order] == list(DARK[:3])
    assert [colors.mark(c) for c in colors.order] == list(MARKS[:3])
    assert colors.color("elsewhere") == UNKNOWN_COLOR and colors.mark(None) == "?"
    light = ClusterColors.of(["cluster1", "cluster2"], dark=False)
    assert light.color("cluster2") == LIGHT[1]
    assert color_of(None, "cluster1") == "" and color_of(colors, "cluster2") == DARK[1]
    many = ClusterColors.of(f"c{i}" for i in range(10))
    assert many.color("c7") == DARK[0] and many.mark("c7") == MARKS[0]  # cycles, the name is written


def test_each_palette_is_readable_on_its_background_and_the_colours_differ() -> None:
    assert all(contrast(c, "#1e1e1e") >= 3.0 for c in DARK), [round(contrast(c, "#1e1e1e"), 1) for c in DARK]
    assert all(contrast(c, "#ffffff") >= 3.0 for c in LIGHT), [
        round(contrast(c, "#ffffff"), 1) for c in LIGHT
    ]
    assert len(set(DARK)) == len(DARK) and len(set(LIGHT)) == len(LIGHT) and len(set(MARKS)) == len(MARKS)


def test_in_16_colours_the_first_three_clusters_still_differ() -> None:
    from rich.color import Color, ColorSystem

    for palette in (DARK, LIGHT):
        ansi = [Color.parse(c).downgrade(ColorSystem.STANDARD).number for c in palette[:3]]
        assert len(set(ansi)) == 3, ansi  # beyond three the marks and names tell them apart
