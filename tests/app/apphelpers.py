"""Shared helpers for the app tests: a fixture-source app, a frozen clock, the panes' texts.

Waiting (``until``, ``settle``) lives in :mod:`testkit` (``tests/testkit.py``), which
tools/screenshots.py uses too.
"""

from __future__ import annotations

from typing import Any

from meshmodels import SEED_TIME, agent_service_list, seed_snapshot
from staticsource import StaticSource
from testkit import until
from textual.pilot import Pilot

from tui.app import MeshtuiApp
from tui.mesh.model import MeshSnapshot
from widgets.activity import ActivityLog
from widgets.backends import BackendsPane
from widgets.contexts import ContextList
from widgets.mesh import MeshPane
from widgets.services import ServicesPane


def frozen_clock() -> float:
    return SEED_TIME + 1


def make_app(
    snapshot: MeshSnapshot | None = None,
    *,
    read_only: bool = False,
    apply_delay: float = 0.05,
    agent_lists: Any = agent_service_list,
    **kwargs: Any,
) -> tuple[MeshtuiApp, StaticSource]:
    source = StaticSource(
        snapshot or seed_snapshot(), read_only=read_only, apply_delay=apply_delay, agent_lists=agent_lists
    )
    kwargs.setdefault("refresh_interval", 0.02)
    app = MeshtuiApp(
        source,
        kubeconfig_label="~/.kube/config-multi",
        read_only=read_only,
        clock=frozen_clock,
        **kwargs,
    )
    return app, source


async def wait_for(pilot: Pilot, predicate: Any, timeout: float = 5.0) -> None:
    """``predicate()`` true on a settled screen (:func:`testkit.until`, settling between polls)."""
    await until(predicate, timeout, 0.05, pilot=pilot, settled=True)


def contexts_text(app: MeshtuiApp) -> str:
    pane = app.query_one(ContextList)
    return "\n".join(str(pane.get_option_at_index(i).prompt) for i in range(pane.option_count))


def mesh_text(app: MeshtuiApp) -> str:
    return app.query_one(MeshPane).text.plain


def services_rows(app: MeshtuiApp) -> dict[str, list[str]]:
    table = app.query_one(ServicesPane).table
    return {key: [str(c) for c in cells] for key, cells in table.shown.items()}


def backends_rows(app: MeshtuiApp) -> dict[str, list[str]]:
    """The Backends rows by what they show (``ip:port``, ``agent:ip:port`` for one only the
    agent lists), in row order: the table's own keys are positions."""
    pane = app.query_one(BackendsPane)
    cells = list(pane.table.shown.values())
    assert len(cells) == len(pane.row_ids)
    return {key: [str(c) for c in row] for key, row in zip(pane.row_ids, cells, strict=True)}


def backends_summary(app: MeshtuiApp) -> str:
    pane = app.query_one(BackendsPane)
    return f"{pane.border_title}\n{pane.border_subtitle}\n{pane.summary.plain}"


def activity(app: MeshtuiApp) -> list[list[str]]:
    return list(app.query_one(ActivityLog).entries.values())
