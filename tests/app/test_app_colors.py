"""One colour per cluster in Contexts, Services headers, Backends and the Mesh matrix heads, in the
dark and light themes."""

from __future__ import annotations

from apphelpers import make_app, wait_for
from meshmodels import large_snapshot
from testkit import settle

from tui.compat.textual_private import screen_strips
from tui.views.clustercolors import DARK, LIGHT, ClusterColors
from tui.views.status import status_view
from widgets.contexts import ContextList
from widgets.mesh import MeshPane, render_mesh
from widgets.palette import Palette

PALETTE = Palette(ok="green", warn="yellow", err="red", accent="cyan", primary="blue")


def colours_of(app, word: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Foreground colours of the cell runs on screen that read exactly ``word``."""
    found = []
    for strip in screen_strips(app):
        for segment in strip:
            style = segment.style
            if segment.text.strip() == word and style is not None and style.color is not None:
                triplet = style.color.triplet
                found.append(triplet.hex.upper() if triplet else style.color.name)
    return found


async def test_each_cluster_has_one_colour_in_every_pane_and_theme() -> None:
    app, _source = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: DARK[1].upper() in colours_of(app, "cluster2"))
        # Services header, Backends row and expected bar (Contexts writes "cluster2 #2"; the
        # Mesh matrix heads are checked on the pane's text below)
        assert colours_of(app, "cluster2").count(DARK[1].upper()) >= 3
        assert colours_of(app, "cluster1").count(DARK[0].upper()) >= 2  # its Backends row is the cursor's
        app.theme = "textual-light"
        await wait_for(pilot, lambda: colours_of(app, "cluster2").count(LIGHT[1].upper()) >= 3)
        assert DARK[1].upper() not in colours_of(app, "cluster2")


def styles_of(text, word: str) -> set[str]:  # type: ignore[no-untyped-def]
    """Styles of the spans of a rich ``Text`` whose text is ``word`` once stripped."""
    return {str(span.style) for span in text.spans if text.plain[span.start : span.end].strip() == word}


async def test_the_mesh_matrix_heads_carry_the_cluster_colours_of_the_other_panes() -> None:
    app, _source = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        mesh = app.query_one(MeshPane)
        await wait_for(pilot, lambda: f"bold {DARK[1]}" in styles_of(mesh.text, "cluster2"))
        # Row head and column head, each in the cluster's own colour.
        assert sum(1 for span in mesh.text.spans if str(span.style) == f"bold {DARK[0]}") == 2
        app.theme = "textual-light"
        await wait_for(pilot, lambda: f"bold {LIGHT[1]}" in styles_of(mesh.text, "cluster2"))


def test_every_matrix_form_colours_its_heads() -> None:
    status = status_view(large_snapshot(3, 2))
    colors = ClusterColors.of(c.cluster for c in status.clusters)
    first = status.clusters[0].cluster
    wanted = colors.color(first)
    wide = render_mesh(status, PALETTE, 0, None, colors)
    narrow = render_mesh(status, PALETTE, 30, None, colors)  # numbered columns
    glyphs = render_mesh(status_view(large_snapshot(20, 2)), PALETTE, 0, None, colors)
    for text in (wide, narrow, glyphs):
        assert any(wanted in str(span.style) for span in text.spans), text.plain
    # Without a mapping (a pane drawn alone) the heads stay plain bold.
    assert not any(wanted in str(span.style) for span in render_mesh(status, PALETTE, 0).spans)


def contrast(one: tuple[int, int, int], two: tuple[int, int, int]) -> float:
    """WCAG 2 contrast ratio of two sRGB colours."""

    def luminance(rgb: tuple[int, int, int]) -> float:
        parts = [c / 255 for c in rgb]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in parts]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(one), luminance(two)), reverse=True)
    return (high + 0.05) / (low + 0.05)


async def test_the_highlighted_context_keeps_its_colours_readable_in_both_themes() -> None:
    """The Contexts cursor is a tint: the cluster's colour on it keeps ≥ 3:1 (bold text)."""
    app, _source = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        for theme in ("textual-dark", "textual-light"):
            app.theme = theme
            app.query_one(ContextList).focus()
            await pilot.pause(0.2)
            await settle(pilot)
            pairs = [
                (segment.style.color.triplet, segment.style.bgcolor.triplet)
                for strip in screen_strips(app)
                for segment in strip
                if segment.text.strip().startswith("cluster1 #1")
                and segment.style is not None
                and segment.style.color is not None
                and segment.style.bgcolor is not None
            ]
            assert pairs, theme
            for fg, bg in pairs:
                assert fg is not None and bg is not None
                assert contrast(tuple(fg), tuple(bg)) >= 3.0, (theme, fg.hex, bg.hex)
