"""One colour per cluster in Contexts, Services headers and Backends, in the dark and light themes."""

from __future__ import annotations

from apphelpers import make_app, wait_for

from tui.compat.textual_private import screen_strips
from tui.views.clustercolors import DARK, LIGHT


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
        # Mesh matrix keeps its own styles)
        assert colours_of(app, "cluster2").count(DARK[1].upper()) >= 3
        assert colours_of(app, "cluster1").count(DARK[0].upper()) >= 2  # its Backends row is the cursor's
        app.theme = "textual-light"
        await wait_for(pilot, lambda: colours_of(app, "cluster2").count(LIGHT[1].upper()) >= 3)
        assert DARK[1].upper() not in colours_of(app, "cluster2")
