"""Conventions operators bring from k9s and Textual: palette jumps, one escape, ctrl+c, help."""

from __future__ import annotations

from apphelpers import backends_summary, make_app, screen_text, wait_for, with_second_service
from testkit import settle
from textual.command import CommandPalette

from tui.screens.help import HelpScreen
from widgets.services import ServicesPane

SIZE = (120, 40)


async def jump(pilot, query: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("colon")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, CommandPalette))
    await pilot.press(*(" " if ch == " " else ch for ch in query))
    await pilot.pause(0.3)  # the providers search as the query is typed
    await pilot.press("enter")
    await wait_for(pilot, lambda: not isinstance(pilot.app.screen, CommandPalette))


async def test_palette_jumps_to_a_service_a_context_and_a_namespace() -> None:
    app, _ = make_app(with_second_service())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.service == ("song", "rebel-base")  # the first row
        await jump(pilot, "svc user")
        await wait_for(pilot, lambda: "Backends  song/userlist-svc" in backends_summary(app))
        assert app.query_one(ServicesPane).selected == ("song", "userlist-svc")
        await jump(pilot, "ctx 03")
        await wait_for(pilot, lambda: "seen from cluster2 (bastion03)" in backends_summary(app))
        await jump(pilot, "ns so")
        await wait_for(pilot, lambda: app.query_one(ServicesPane).filter_text == "song/")


async def test_one_escape_closes_the_palette_even_with_a_query() -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("colon", "s", "v", "c", "down")
        await pilot.pause(0.2)
        assert isinstance(app.screen, CommandPalette)
        await pilot.press("escape")
        await pilot.pause()
        assert len(app.screen_stack) == 1


async def test_ctrl_c_quits_even_from_the_filter_box() -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await pilot.pause()
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert not app.is_running
    assert app.return_code == 0


async def test_help_lists_keys_before_panes_on_short_screens() -> None:
    for size, keys_first in (((80, 24), True), ((160, 48), False)):
        app, _ = make_app()
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            await pilot.press("question_mark")
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)
            screen = screen_text(app.export_screenshot())
            assert "Keys" in screen and "affinity" in screen
            if keys_first:
                assert "Panes" not in screen or screen.index("Keys") < screen.index("Panes")
            else:
                assert screen.index("Panes") < screen.index("Keys")
