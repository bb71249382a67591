"""Shared helpers for the app tests: a fixture-source app, a frozen clock, the panes' texts.

Waiting (``until``, ``settle``) lives in :mod:`testkit` (``tests/testkit.py``), which
tools/screenshots.py uses too.
"""

from __future__ import annotations

import dataclasses
import html
import re
from typing import Any

from meshmodels import SEED_TIME, agent_service_list, seed_snapshot
from staticsource import StaticSource
from testkit import until
from textual.pilot import Pilot

from tui.app import MeshtuiApp
from tui.mesh.annotations import ANNOTATION_GLOBAL, ANNOTATION_SHARED
from tui.mesh.model import Backend, MeshSnapshot, Service, ServicePort, frozen_map
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


def with_second_service() -> MeshSnapshot:
    """The seed plus song/rebel-base: global in both, not shared in cluster2."""
    snap = seed_snapshot()
    states = []
    for index, state in enumerate(snap.clusters, start=1):
        shared = "true" if index == 1 else "false"
        svc = Service(
            "song",
            "rebel-base",
            annotations=frozen_map({ANNOTATION_GLOBAL: "true", ANNOTATION_SHARED: shared}),
            ports=(ServicePort(80, 80),),
            backends=(
                Backend(state.cluster, f"10.{index}.0.50", 80, pod=f"rebel-base-{index}a"),
                Backend(state.cluster, f"10.{index}.0.51", 80, pod=f"rebel-base-{index}b"),
            ),
        )
        services = dict(state.services)
        services[svc.key] = svc
        states.append(dataclasses.replace(state, services=frozen_map(services)))
    return dataclasses.replace(snap, clusters=tuple(states))


def screen_text(svg: str) -> str:
    """The characters of an exported screen (``app.export_screenshot()``), line by line (the
    SVG's text runs joined): what a user sees, wrapping included."""
    rows: dict[float, list[str]] = {}
    for y, body in re.findall(r'<text[^>]*?\by="([\d.]+)"[^>]*>(.*?)</text>', svg, re.S):
        rows.setdefault(float(y), []).append(html.unescape(body).replace("\xa0", " "))
    return "\n".join("".join(parts) for _, parts in sorted(rows.items()))
