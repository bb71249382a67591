"""Write SVG screenshots of meshtui's screens into ``screenshots/`` (run from the repo root).

    python tools/screenshots.py            # every screen
    python tools/screenshots.py main help  # some of them

Each screen is taken from the simulator, as ``meshtui --demo`` shows it: a seeded simulated
mesh (so pod names, IPs and load-balancing choices are the same on every run) read through
``KubeSource`` — the same path as a real kubeconfig — with a frozen clock and UTC. Faults
(an API server down) are the simulator's own. The files change only when the UI does.
The fixture-based snapshot tests (``tests/app/test_app_snapshots.py``) check the same screens.

One screen cannot be frozen entirely: ``curl`` shows live curl loops, and what the loops
measure is real — each request's latency (the ms column, p50/p95, the sparkline) and, within
a request or two, how many answers there were when the picture was taken. Everything else in
it is fixed: the seed picks the same pods and bodies, the loops run until each has
:data:`CURL_ANSWERS` answers, and the log's clock is the frozen one of the other screens.
So ``screenshots/curl*.svg`` change on every run in those numbers only; regenerate them with
the others when the pane changes (``python tools/screenshots.py curl``), not to refresh numbers.

The SVGs render with correct spacing without Fira Code (:func:`portable_svg`): the text keeps
its spaces (``xml:space="preserve"``: renderers such as librsvg otherwise drop the leading
spaces of each run, which slid whole runs left), and the font falls back through a stack of
common monospace fonts (DejaVu Sans Mono, Liberation Mono, Menlo, Consolas) to ``monospace``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the test kit and the fixture meshes (never in the product)

from meshmodels import SEED_TIME  # noqa: E402
from testkit import FAST_HUB, SIM_KWARGS, settle, until  # noqa: E402
from textual.pilot import Pilot  # noqa: E402

from tui.app import MeshtuiApp  # noqa: E402
from tui.appcore.launch import quiet_logging  # noqa: E402
from tui.kube.client import Timeouts  # noqa: E402
from tui.kube.settings import HubSettings  # noqa: E402
from tui.kube.source import KubeSource  # noqa: E402
from tui.sim.mesh import SimThread  # noqa: E402
from tui.sim.scenario import Scenario, generated  # noqa: E402
from widgets import curl_pane  # noqa: E402
from widgets.backends import BackendsPane  # noqa: E402
from widgets.contexts import ContextList  # noqa: E402

Steps = Callable[[Pilot, SimThread], Awaitable[None]]

SETTINGS = HubSettings(
    timeouts=Timeouts(connect=5.0, read=10.0, exec=5.0),
    backoff=FAST_HUB.backoff,
    probe_interval=0.5,
    kube_system_poll=0.5,
    cilium_interval=0.5,
    coalesce=FAST_HUB.coalesce,
    startup_gc_pause=0.0,
)
"""The tests' retries (:data:`testkit.FAST_HUB`), but polls half as often and patient
timeouts: at 64 clusters one process runs both the app and the simulator, and at the tests'
pace (or on a busy machine) 1 s connects time out and contexts go stale. A screenshot waits
for every pane anyway; it measures nothing."""
FONT_STACK = '"Fira Code", "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace'
"""The font the SVGs ask for: Fira Code where present (Rich's choice), else a monospace font
every desktop has, with the same advance width to within 2 %."""
CURL_ANSWERS = 12
"""Answers each curl loop has before the ``curl`` screenshot is taken."""


def backends(app: MeshtuiApp) -> str:
    pane = app.query_one(BackendsPane)
    return f"{pane.border_title}\n{pane.summary.plain}"


def contexts(app: MeshtuiApp) -> str:
    pane = app.query_one(ContextList)
    return "\n".join(str(pane.get_option_at_index(i).prompt) for i in range(pane.option_count))


def synced(app: MeshtuiApp) -> bool:
    """Every context is ok and the agent's list of the selected service was read after its last
    change (a screen that expects a context down says so with its own ``ready``)."""
    snapshot = app.snapshot
    if not snapshot.clusters or any(c.phase != "ok" for c in snapshot.clusters):
        return False
    agents_read = all(a.status for c in snapshot.clusters if c.phase == "ok" for a in c.cilium.agents)
    text = backends(app)
    fresh = not app.agent_outdated(app.viewing)
    return agents_read and fresh and ("agent     cilium service list" in text or "agent     not read" in text)


def keys(*pressed: str, then: Callable[[MeshtuiApp], bool] | None = None) -> Steps:
    async def run(pilot: Pilot, sim: SimThread) -> None:
        await pilot.press(*pressed)
        await settle(pilot, 60.0, started=True)
        if then is not None:
            await until(
                lambda: then(pilot.app), 60, describe=lambda: f"after {pressed}", pilot=pilot, settled=True
            )  # type: ignore[arg-type]

    return run


async def nothing(pilot: Pilot, sim: SimThread) -> None:
    return None


def api_down(cluster: str) -> Callable[[SimThread], None]:
    def fault(sim: SimThread) -> None:
        assert sim.mesh is not None
        sim.call(sim.mesh.faults.api_down, cluster)

    return fault


@dataclass(frozen=True)
class Screen:
    name: str
    what: str
    scenario: str | Callable[[], Scenario] = "seed"
    steps: Steps = nothing
    size: tuple[int, int] = (160, 48)
    read_only: bool = False
    theme: str | None = None
    before: Callable[[SimThread], None] | None = None
    """Done to the simulator before the app starts (a fault)."""
    ready: Callable[[MeshtuiApp], bool] = synced
    sim: dict[str, Any] = field(default_factory=dict)


def _take_out(app: MeshtuiApp) -> bool:
    rows = app.views.services.rows if app.views else ()
    return any("cluster2: shared=false" in "; ".join(r.warnings) for r in rows) and "agrees" in backends(app)


def _unreachable(app: MeshtuiApp) -> bool:
    return "unreachable" in contexts(app) and bool(app.views and app.views.services.rows)


class _FrozenClockTime:
    """``time`` for the curl pane with ``localtime`` on the screenshots' frozen clock: answer
    times are real (they come from the loops), the stamps drawn from them are not."""

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    @staticmethod
    def localtime(_seconds: float | None = None) -> time.struct_time:
        return time.localtime(SEED_TIME + 1)


def portable_svg(svg: str) -> str:
    """Rich's SVG made to render the same without Fira Code (see the module docstring)."""
    svg = svg.replace("font-family: Fira Code, monospace;", f"font-family: {FONT_STACK};")
    if 'xml:space="preserve"' not in svg:
        svg = svg.replace("<svg ", '<svg xml:space="preserve" ', 1)
    return svg


async def curl_loops(pilot: Pilot, sim: SimThread) -> None:
    """``c``: loops from both clusters, every 0.2 s, until each has :data:`CURL_ANSWERS` answers
    and the learned map names every backend."""
    app = pilot.app
    assert isinstance(app, MeshtuiApp)
    await until(
        lambda: app.curl_pane is not None, 60, describe=lambda: "the curl pane", pilot=pilot, settled=True
    )
    app.curl.interval = 0.2
    await pilot.press("c")

    def enough() -> bool:
        session = app.curl.session
        if session is None or len(session.stats) < 2 or not session.fingerprints.rows:
            return False
        return all(s.answered >= CURL_ANSWERS and not s.unknown for s in session.stats.values())

    await until(
        enough, 60, describe=lambda: f"{CURL_ANSWERS} curl answers per loop", pilot=pilot, settled=True
    )
    await pilot.pause(curl_pane.REPAINT * 2)


async def curl_then_local(pilot: Pilot, sim: SimThread) -> None:
    """The curl loops, then ``a l y`` (affinity local in cluster1) until cluster1's loop has
    :data:`CURL_ANSWERS` answers since the change: the ``┃`` on the timelines and the split."""
    await curl_loops(pilot, sim)
    app = pilot.app
    assert isinstance(app, MeshtuiApp)
    await pilot.press("a", "l")
    await until(lambda: len(app.screen_stack) > 1, 30, pilot=pilot)
    await pilot.press("y")

    def local() -> bool:
        since = app.curl.since.get("bastion02", {})
        return app.curl.changed_at is not None and since.get("cluster1", 0) >= CURL_ANSWERS

    await until(local, 60, describe=lambda: "answers since the change", pilot=pilot, settled=True)
    await pilot.pause(curl_pane.REPAINT * 2)


async def _presenter(pilot: Pilot, sim: SimThread) -> None:
    await curl_loops(pilot, sim)
    await pilot.press("P")
    await pilot.pause(curl_pane.REPAINT * 3)


SCREENS = (
    Screen("main", "meshtui --demo: the seed scenario at 160×48", steps=nothing),
    Screen("main-100x30", "the seed scenario at 100×30", size=(100, 30)),
    Screen("help", "the ? help screen", steps=keys("question_mark")),
    Screen("confirm", "a → local: the confirmation dialog", steps=keys("a", "l")),
    Screen(
        "take-out",
        "h on cluster2: shared=false takes its backends out of cluster1's choice",
        steps=keys("2", "h", "enter", "1", then=_take_out),
    ),
    Screen(
        "unreachable",
        "bastion03's API server down (simulator fault)",
        before=api_down("cluster2"),
        ready=_unreachable,
    ),
    Screen("curl", "c: curl loops from both clusters, who answered and the split", steps=curl_loops),
    Screen(
        "curl-80x24",
        "c at 80×24: the curl pane takes the room, split rows, timelines and answers",
        steps=curl_loops,
        size=(80, 24),
    ),
    Screen(
        "curl-change",
        "c, then a l y: affinity local in cluster1, the change on the timelines, local-only since",
        steps=curl_then_local,
        size=(120, 40),
    ),
    Screen(
        "curl-presenter",
        "P: the presenter layout, big bars",
        steps=lambda pilot, sim: _presenter(pilot, sim),
        size=(120, 32),
    ),
    Screen("findings", "the dup-id scenario: a third cluster with cluster2's id", scenario="dup-id"),
    Screen("read-only", "--read-only: write keys removed", read_only=True),
    Screen("main-light", "the seed scenario in a light theme", theme="textual-light"),
    Screen(
        "large",
        "64 clusters × 500 services from the simulator (compact services layout)",
        scenario=lambda: generated(64, 500),
        sim={"sync_delay": 0.5},
    ),
)


async def shoot(screen: Screen) -> str:
    scenario = screen.scenario() if callable(screen.scenario) else screen.scenario
    sim = SimThread(scenario, **{**SIM_KWARGS, **screen.sim}).start()
    try:
        if screen.before is not None:
            screen.before(sim)
        source = KubeSource(
            str(sim.kubeconfig_path), read_only=screen.read_only, settings=SETTINGS, threaded=True
        )
        name = scenario if isinstance(scenario, str) else scenario.name
        app = MeshtuiApp(
            source,
            kubeconfig_label=f"simulated ({name})",
            read_only=screen.read_only,
            clock=lambda: SEED_TIME + 1,
            theme=screen.theme,
            refresh_interval=0.05,
        )
        curl_pane.time = _FrozenClockTime()  # type: ignore[assignment]
        async with app.run_test(size=screen.size) as pilot:
            await until(
                lambda: screen.ready(app), 120, describe=lambda: "the first sync", pilot=pilot, settled=True
            )
            await screen.steps(pilot, sim)
            await pilot.pause(0.2)
            await settle(pilot, 60.0, started=True)
            return app.export_screenshot(title=f"meshtui — {screen.what}")
    finally:
        curl_pane.time = time
        sim.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    names = ", ".join(s.name for s in SCREENS)
    parser.add_argument("names", nargs="*", help=f"screens to write (default all: {names})")
    parser.add_argument("--out", default=str(ROOT / "screenshots"), help="output directory")
    args = parser.parse_args(argv)
    os.environ["TZ"] = "UTC"
    time.tzset()
    quiet_logging()  # as meshtui does: the simulator's server logs stay off the output
    wanted = [s for s in SCREENS if not args.names or s.name in args.names]
    unknown = set(args.names) - {s.name for s in SCREENS}
    if unknown:
        parser.error(f"unknown screens: {', '.join(sorted(unknown))}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for screen in wanted:
        started = time.perf_counter()
        svg = asyncio.run(shoot(screen))
        path = out / f"{screen.name}.svg"
        path.write_text(portable_svg(svg), encoding="utf-8")
        print(f"{path}  ({screen.what}, {time.perf_counter() - started:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
