"""CPU of the app's process per key that moves the selection, at 64 × 2,000, without a cluster.

    /work/venv/bin/python benchmarks/keys_cpu_bench.py                  # 64 x 2,000, 40 keys
    /work/venv/bin/python benchmarks/keys_cpu_bench.py --clusters 8 --services 200 --keys 20

``app_bench.py`` times key → frame by the wall clock against the simulator: on a machine other
processes share, waiting for a core dominates it. This measures what the app itself spends: the
app runs under Textual's ``run_test`` at 160×48 on the fixture mesh (``tests/meshmodels.py``'s
``large_snapshot``, every service in every cluster), the services table focused; for each key
(down, then up, eight at a time) the process CPU time (``time.process_time``: every thread)
from just before the key until the Backends pane shows the new service and the next frame was
drawn. Prints p50 / p95 / mean; asserts nothing. Compare two trees on the same machine.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the fixture meshes and source
sys.path.insert(0, str(ROOT / "tests" / "app"))


async def measure(clusters: int, services: int, keys: int) -> list[float]:
    from apphelpers import make_app
    from meshmodels import large_snapshot

    from widgets.backends import BackendsPane
    from widgets.services import ServicesPane

    app, _ = make_app(large_snapshot(clusters, services), agent_lists=None)
    cpu: list[float] = []
    async with app.run_test(size=(160, 48)) as pilot:
        deadline = time.monotonic() + 120
        while not (app.views and app.views.services.rows and app.views.backends):
            if time.monotonic() > deadline:
                raise TimeoutError("the app did not draw the mesh")
            await pilot.pause(0.1)
        await pilot.pause(1.0)
        app.query_one(ServicesPane).table.focus()
        await pilot.pause(0.2)
        pane = app.query_one(BackendsPane)
        for index in range(keys):
            key = "down" if (index // 8) % 2 == 0 else "up"
            before = pane.border_title
            started = time.process_time()
            await pilot.press(key)
            while pane.border_title == before:
                await asyncio.sleep(0.001)
            drawn = asyncio.Event()
            app.call_after_refresh(drawn.set)
            await asyncio.wait_for(drawn.wait(), 10)
            cpu.append(time.process_time() - started)
            await asyncio.sleep(0.1)
    return cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clusters", type=int, default=64)
    parser.add_argument("--services", type=int, default=2000)
    parser.add_argument("--keys", type=int, default=40)
    args = parser.parse_args(argv)
    cpu = sorted(asyncio.run(measure(args.clusters, args.services, args.keys)))
    p95 = cpu[min(len(cpu) - 1, round(0.95 * (len(cpu) - 1)))]
    print(
        f"CPU per key ({args.clusters} × {args.services:,}, n={len(cpu)}): "
        f"p50 {statistics.median(cpu) * 1000:.0f} ms  p95 {p95 * 1000:.0f} ms  "
        f"mean {statistics.fmean(cpu) * 1000:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
