"""Write SVG screenshots of meshtui's screens into ``screenshots/`` (run from the repo root).

    python tools/screenshots.py            # every screen
    python tools/screenshots.py main help  # some of them

Each screen runs the app headless on a fixture snapshot (the seed scenario and its variants,
``tui.fixtures``) with a frozen clock and UTC, so the files only change when the UI does.
The same screens are checked by the snapshot tests in ``tests/app/test_app_snapshots.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textual.pilot import Pilot  # noqa: E402
from textual.widgets import Input  # noqa: E402

from tui.app import MeshtuiApp  # noqa: E402
from tui.fixtures import (  # noqa: E402
    SEED_TIME,
    agent_service_list,
    findings_snapshot,
    large_snapshot,
    seed_snapshot,
    unreachable_snapshot,
)
from tui.mesh.model import MeshSnapshot  # noqa: E402
from tui.source import StaticSource  # noqa: E402

Steps = Callable[[Pilot], Awaitable[None]]


async def settle(pilot: Pilot, timeout: float = 60.0) -> None:
    """Wait until the views are drawn and no snapshot is pending."""
    app = pilot.app
    assert isinstance(app, MeshtuiApp)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause(0.05)
        busy = [w for w in app.workers if w.group != "writes" and w.is_running]
        if busy:
            await app.workers.wait_for_complete(busy)
        if app.is_settled() and app.views is not None:
            for box in app.query(Input):
                box.cursor_blink = False
            await pilot.pause()
            return
    raise TimeoutError("the app did not settle")


def keys(*pressed: str) -> Steps:
    async def run(pilot: Pilot) -> None:
        await pilot.press(*pressed)
        await settle(pilot)

    return run


async def nothing(pilot: Pilot) -> None:
    return None


@dataclass(frozen=True)
class Screen:
    name: str
    what: str
    snapshot: Callable[[], MeshSnapshot]
    steps: Steps = nothing
    size: tuple[int, int] = (160, 48)
    read_only: bool = False
    theme: str | None = None


SCREENS = (
    Screen("main", "the seed scenario at 160×48", seed_snapshot),
    Screen("main-100x30", "the seed scenario at 100×30", seed_snapshot, size=(100, 30)),
    Screen("help", "the ? help screen", seed_snapshot, keys("question_mark")),
    Screen("confirm", "a → local: the confirmation dialog", seed_snapshot, keys("a", "l")),
    Screen("unreachable", "bastion03 unreachable, seen from it (2)", unreachable_snapshot, keys("2")),
    Screen("findings", "a third cluster with a duplicate id and its own CA", findings_snapshot),
    Screen("read-only", "--read-only: write keys removed", seed_snapshot, read_only=True),
    Screen("main-light", "the seed scenario in a light theme", seed_snapshot, theme="textual-light"),
    Screen("large", "64 clusters × 2,000 services (compact services layout)", large_snapshot),
)


async def shoot(screen: Screen) -> str:
    source = StaticSource(screen.snapshot(), read_only=screen.read_only, agent_lists=agent_service_list)
    app = MeshtuiApp(
        source,
        kubeconfig_label="~/.kube/config-multi",
        read_only=screen.read_only,
        clock=lambda: SEED_TIME + 1,
        theme=screen.theme,
    )
    async with app.run_test(size=screen.size) as pilot:
        await settle(pilot)
        await screen.steps(pilot)
        await pilot.pause(0.1)
        return app.export_screenshot(title=f"meshtui — {screen.what}")


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
        path.write_text(svg, encoding="utf-8")
        print(f"{path}  ({screen.what}, {time.perf_counter() - started:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
