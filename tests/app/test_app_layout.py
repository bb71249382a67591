"""Without curl loops every pane shows and the footer is whole, at 80x24, 120x40 and 200x50."""

from __future__ import annotations

import pytest
from apphelpers import make_app, wait_for

from tui.compat.textual_private import screen_lines


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 50)])
async def test_every_pane_shows_and_the_footer_is_whole(size: tuple[int, int]) -> None:
    app, _source = make_app()
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: "9kq2z" in "\n".join(screen_lines(app)))  # pods: middle-cut when narrow
        lines = screen_lines(app)
        text = "\n".join(lines)
        assert len(lines) == size[1]
        for pane in ("Contexts", "Mesh", "Global services", "Backends", "song/userlist-svc"):
            assert pane in text, (pane, text)
        assert "bastion02" in lines[0] and lines[-1].lstrip().startswith("a affinity"), text
        assert lines[-1].rstrip().endswith("q quit"), text  # the last key too: nothing cut
        assert ("no curl loops" in text) == (size[1] >= 30)  # the hint gives way on short screens
        # both backends' rows are whole
        assert sum(1 for line in lines if "x2x8q" in line or "9kq2z" in line) == 2, text
