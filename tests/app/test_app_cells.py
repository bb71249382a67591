"""A cell whose words stay the same while its colour changes is drawn in its new colour."""

from __future__ import annotations

from apphelpers import backends_rows, make_app, services_rows, wait_for
from meshmodels import agent_service_list, apply_write, seed_snapshot
from rich.text import Text
from testkit import settle
from textual.app import App, ComposeResult

from tui.mesh.actions import SetAnnotation
from widgets.backends import BackendsPane
from widgets.looks import same_look
from widgets.palette import palette
from widgets.tables import Column, KeyedTable
from widgets.textblock import TextBlock


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield KeyedTable(id="t")
        yield TextBlock("", id="b")


def test_same_look_compares_styles_that_text_equality_ignores() -> None:
    assert Text("differs", style="red") == Text("differs", style="green")  # why same_look exists
    assert not same_look(Text("differs", style="red"), Text("differs", style="green"))
    assert same_look(Text("x", style="red"), Text("x", style="red"))
    assert not same_look(Text("x", justify="right"), Text("x"))
    assert not same_look(Text("x"), "x") and same_look("x", "x")


async def test_a_cell_and_a_text_block_take_their_new_colour() -> None:
    app = TableApp()
    async with app.run_test(size=(40, 8)) as pilot:
        table = app.query_one(KeyedTable)
        table.set_columns([Column("k", "K", 4), Column("v", "V", 10)])
        table.sync_rows([("a", (Text("a"), Text("differs", style="red")))])
        stats = table.sync_rows([("a", (Text("a"), Text("differs", style="green")))])
        await pilot.pause()
        assert stats.updated_cells == 1
        assert table.get_cell("a", "v").style == "green"
        block = app.query_one(TextBlock)
        block.update(Text("agrees", style="red"))
        block.update(Text("agrees", style="green"))
        assert block.text.style == "green"


async def test_agent_cell_loses_its_red_once_the_agent_agrees_again() -> None:
    """The agent's list is fixed (read for affinity none): ``local`` makes cluster2's backend
    differ (a coloured "active"); back to none the agent agrees and the same word turns muted."""
    seed = seed_snapshot()
    doc = agent_service_list(seed, "bastion02")
    app, source = make_app(seed, agent_lists={"bastion02": doc})
    remote = "10.2.0.33:8181"

    def agent_cell() -> Text:
        pane = app.query_one(BackendsPane)  # rows are keyed by position; row_ids says whose
        return pane.table.get_cell(str(pane.row_ids.index(remote)), "agent")

    # Wide enough for every reason on one line: the rows are updated in place, not rebuilt.
    async with app.run_test(size=(200, 48)) as pilot:
        await settle(pilot)
        await wait_for(pilot, lambda: remote in backends_rows(app) and len(backends_rows(app)[remote]) == 7)
        colors = palette(app)
        assert agent_cell().plain == "active" and agent_cell().style == colors.muted
        local = SetAnnotation("bastion02", "song", "userlist-svc", "service.cilium.io/affinity", "local")
        source.push(apply_write(seed, local))
        # Read before the change, the difference is shown as the list's age: the warning colour
        # (red only once re-reads still disagree); either way the same word changes colour.
        await wait_for(pilot, lambda: agent_cell().style == colors.warn)
        assert agent_cell().plain == "active"
        source.push(seed)
        await wait_for(pilot, lambda: agent_cell().style == colors.muted)
        assert agent_cell().plain == "active"


async def test_services_pane_tells_an_unset_affinity_from_the_word_none() -> None:
    """No annotation and ``affinity: none`` are different facts (1.18.x reads ``none`` as
    local-only): the pane writes ``(unset)`` for the first, ``none`` for the second."""
    none = SetAnnotation("bastion03", "song", "userlist-svc", "service.cilium.io/affinity", "none")
    app, _ = make_app(apply_write(seed_snapshot(), none))
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        row = services_rows(app)["song/userlist-svc"]
        assert row[1] == "global shared (unset)  1 rdy"
        assert row[2] == "global shared none  1 rdy"
