"""The selection is sticky: ``A`` and filters never move it to another service under the
operator, and a filter that matches nothing says so in both panes (and blocks writes)."""

from __future__ import annotations

from apphelpers import backends_rows, backends_summary, make_app, services_rows, wait_for, with_second_service
from testkit import settle

from tui.compat.textual_private import notifications
from widgets.services import ServicesPane

SIZE = (160, 48)
USERLIST = ("song", "userlist-svc")


async def test_show_all_keeps_the_selected_service() -> None:
    app, _ = make_app(with_second_service())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("down")
        await wait_for(pilot, lambda: "song/userlist-svc" in backends_summary(app))
        await pilot.press("A")
        await wait_for(pilot, lambda: "default/kubernetes" in services_rows(app))
        await settle(pilot)
        # More rows above it, columns measured again: still the same service, both panes.
        assert app.query_one(ServicesPane).selected == USERLIST and app.service == USERLIST
        assert "Backends  song/userlist-svc" in backends_summary(app)
        await pilot.press("A")
        await wait_for(pilot, lambda: "default/kubernetes" not in services_rows(app))
        await settle(pilot)
        assert app.query_one(ServicesPane).selected == USERLIST and app.service == USERLIST


async def test_a_filter_matching_nothing_says_so_and_hides_the_backends() -> None:
    app, source = make_app(with_second_service())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("down")
        await wait_for(pilot, lambda: "song/userlist-svc" in backends_summary(app))
        pane = app.query_one(ServicesPane)
        pane.set_filter("zzz")
        await wait_for(pilot, lambda: not services_rows(app))
        message = str(pane.query_one("#services-message").render())
        assert "No service matches 'zzz'" in message
        await wait_for(pilot, lambda: "userlist" not in backends_summary(app))
        assert "No service matches the filter 'zzz'" in backends_summary(app)
        assert backends_rows(app) == {}
        # A write key names why it does nothing: it would hit a service no longer shown.
        await pilot.press("g")
        await pilot.pause()
        assert any("no service shown" in str(n.message) for n in notifications(app))
        assert len(app.screen_stack) == 1 and source.writes == []
        # curl neither: no loops for a service no longer on screen
        await pilot.press("c")
        await pilot.pause()
        assert sum("no service shown" in str(n.message) for n in notifications(app)) == 2
        # Cleared: the same service as before, not the first row.
        pane.set_filter("")
        await wait_for(pilot, lambda: "Backends  song/userlist-svc" in backends_summary(app))
        assert pane.selected == USERLIST and app.service == USERLIST
        assert "10.2.0.33:8181" in backends_rows(app)
