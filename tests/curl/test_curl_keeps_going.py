"""A curl loop stops only when the operator stops it (issue 14, bug 1).

Turning the service's global annotation off in the viewing cluster leaves its namespace without
a global service, so the pod watch of that namespace stops and the client pod drops out of the
snapshot although it still runs. The loop must not take that for a deletion and give up: it
asks the API server, keeps answering, and says on screen whenever it waits.
"""

from __future__ import annotations

from testkit import until
from textual.pilot import Pilot

from tui.app import MeshtuiApp
from tui.curl.session import CurlSession

KEY = ("song", "userlist-svc")


def client_in_snapshot(app: MeshtuiApp, context: str) -> bool:
    state = app.source.snapshot().by_context(context)
    return state is not None and any(p.owner == "curltest" for p in state.pods.values())


def is_global(app: MeshtuiApp, context: str) -> bool:
    state = app.source.snapshot().by_context(context)
    service = state.services.get(KEY) if state is not None else None
    return service is not None and (service.annotations.get("service.cilium.io/global") == "true")


async def curl_here(app: MeshtuiApp, pilot: Pilot) -> CurlSession:
    """``C`` on userlist-svc viewed from bastion02 (a loop every 50 ms), once it has answered."""
    await until(lambda: app.curl_pane is not None, 5, pilot=pilot)
    await until(lambda: app.service == KEY and app.viewing == "bastion02", 10, pilot=pilot)
    await until(lambda: client_in_snapshot(app, "bastion02"), 10, pilot=pilot)
    curl = app.curl
    assert curl is not None
    curl.interval = 0.05
    await pilot.press("C")
    await until(lambda: curl.session is not None and "bastion02" in curl.session.stats, 10, pilot=pilot)
    session = curl.session
    assert session is not None
    await until(lambda: session.stats["bastion02"].total >= 3, 10, pilot=pilot)
    return session


async def test_the_loop_answers_again_after_global_is_toggled_off_and_on(app: MeshtuiApp) -> None:
    async with app.run_test(size=(160, 48)) as pilot:
        session = await curl_here(app, pilot)
        curl = app.curl
        assert curl is not None
        stats = session.stats["bastion02"]

        await pilot.press("g", "y")  # global off: no global service left in song on bastion02
        await until(lambda: not is_global(app, "bastion02"), 10, pilot=pilot)
        await until(lambda: not client_in_snapshot(app, "bastion02"), 10, pilot=pilot)
        await pilot.pause(0.5)
        await pilot.press("g", "y")  # and on again
        await until(lambda: is_global(app, "bastion02"), 10, pilot=pilot)
        await until(lambda: client_in_snapshot(app, "bastion02"), 10, pilot=pilot)

        before = stats.total
        await until(
            lambda: stats.total >= before + 5,
            10,
            pilot=pilot,
            describe=lambda: (
                f"state {session.loops['bastion02'].state}, events "
                f"{[e.text for e in session.loops['bastion02'].events]}"
            ),
        )
        loop = session.loops["bastion02"]
        assert loop.state == "running"
        assert session.running
        # The pod was never deleted: the API server said so, and the loop was never moved.
        assert not [e.text for e in loop.events if e.kind in ("ended", "reattached")]
        await curl.stop()


async def test_a_loop_without_a_client_pod_says_it_waits_and_answers_again(app: MeshtuiApp) -> None:

    from tui.mesh.actions import Scale
    from widgets.curl_pane import CurlRow

    async with app.run_test(size=(160, 48)) as pilot:
        session = await curl_here(app, pilot)
        curl = app.curl
        assert curl is not None and app.curl_pane is not None
        stats = session.stats["bastion02"]

        assert (await app.source.write(Scale("bastion02", "song", "curltest", 0))).ok

        def row_text() -> str:
            rows = [r for r in app.curl_pane.query(CurlRow) if r.context == "bastion02"]
            return rows[0].text.plain if rows else ""

        def title() -> str:
            return str(app.curl_pane.slot.border_title)

        await until(
            lambda: "waiting: curltest pod not seen in song" in row_text() and "cluster1 waiting" in title(),
            15,
            pilot=pilot,
            describe=lambda: f"row {row_text()!r}, title {title()!r}",
        )
        assert session.running and session.loops["bastion02"].state == "waiting"

        assert (await app.source.write(Scale("bastion02", "song", "curltest", 1))).ok
        before = stats.total
        await until(lambda: stats.total >= before + 3, 20, pilot=pilot)
        await until(lambda: "waiting" not in title(), 5, pilot=pilot)
        assert session.loops["bastion02"].state == "running"
        await curl.stop()
