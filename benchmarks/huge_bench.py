"""Cilium's limit, 255 clusters: the simulator's start, the app populated, both processes' RSS.

    /work/venv/bin/python benchmarks/huge_bench.py                          # 255 clusters x 200
    /work/venv/bin/python benchmarks/huge_bench.py --clusters 32 --services 50   # a quick trial

Issue 16's row "255 clusters × 200 services: simulator start ≤ 30 s, app populated ≤ 20 s,
≤ 600 MB together", taken as a user meets it (every wait bounded; everything started is stopped):

* **simulator start**: ``meshtui sim --clusters N --services M`` as a separate process, from exec
  to its ``ready`` line (interpreter, imports, every cluster loaded and listening, kubeconfig
  written); its RSS then;
* **mesh start in-process**: ``SimMesh.start()`` alone in a child (``sim_bench.py``'s measure:
  also one big list and patch → watch event at that size);
* **app populated**: the app's real entry point against that simulator in a child process, from
  spawn until every context synced, the services table has rows, the Backends pane shows the
  selected service and every reachable agent's ``cilium status`` was read (``app_bench.py``'s
  child); the app's RSS then, and the simulator's at the same moment (sampled every 0.2 s while
  the app runs; the sample nearest "populated"), their sum, and the simulator's peak meanwhile;
  the simulator's CPU time over the app's run (is the simulator what the app waits for?).

Prints a table; asserts nothing. ``--json PATH`` writes the figures (also those taken before a
failure) for ``benchmarks/run.py --huge``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import sim_bench  # noqa: E402
from app_bench import run_child  # noqa: E402
from kube_bench import Simulator  # noqa: E402


class RssSampler:
    """The RSS of one process every ``interval`` seconds, in a thread, until stopped."""

    def __init__(self, read: Any, interval: float = 0.2) -> None:
        self.read, self.interval = read, interval
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), self.read()))
            self._stop.wait(self.interval)

    def at(self, moment: float) -> float:
        """The sample nearest ``moment`` (wall clock)."""
        return min(self.samples, key=lambda s: abs(s[0] - moment))[1]

    def peak(self) -> float:
        return max(value for _, value in self.samples)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(clusters: int, services: int, timeout: float, out: dict[str, Any]) -> None:
    """Take every figure into ``out`` as soon as it is known."""
    out["in_process"] = sim_bench.run_child(clusters, services)
    with tempfile.TemporaryDirectory(prefix="meshtui-huge-bench-") as folder:
        sim_args = ["--clusters", str(clusters), "--services", str(services), "--seed", "1"]
        simulator = Simulator(sim_args, Path(folder), timeout)
        try:
            out["sim_ready_s"] = simulator.started_in
            out["sim_rss_ready_mb"] = simulator.rss_mb()
            cpu = cpu_seconds(simulator.process.pid)
            with RssSampler(simulator.rss_mb) as sampler:
                spawned = time.time()
                app = run_child(["--kubeconfig", str(simulator.kubeconfig)], timeout)
            out["sim_cpu_s"] = cpu_seconds(simulator.process.pid) - cpu
            out["app_run_s"] = time.time() - spawned
            if "error" in app:
                out["app_error"] = app["error"]
                raise RuntimeError(f"the app did not populate: {app}")
            out["app"] = {k: app[k] for k in ("first_frame", "populated", "rss_mb", "contexts", "services")}
            out["sim_rss_populated_mb"] = sampler.at(spawned + app["populated"])
            out["sim_rss_peak_mb"] = sampler.peak()
        finally:
            simulator.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clusters", type=int, default=255)
    parser.add_argument("--services", type=int, default=200)
    parser.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        help="bound of the start and of the app (a loaded machine: minutes)",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the figures to PATH as JSON")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind: the simulator is stopped
    out: dict[str, Any] = {"clusters": args.clusters, "services": args.services}
    try:
        measure(args.clusters, args.services, args.timeout, out)
    finally:
        if args.json:
            Path(args.json).write_text(json.dumps(out, indent=1))
    label = f"{args.clusters} × {args.services:,}"
    app, inner = out["app"], out["in_process"]
    together = app["rss_mb"] + out["sim_rss_populated_mb"]
    rows = [
        (f"`meshtui sim` exec → ready ({label})", f"{out['sim_ready_s']:.1f} s", "≤ 30 s"),
        (f"simulator RSS at ready ({label})", f"{out['sim_rss_ready_mb']:.0f} MB", ""),
        (f"mesh start in-process ({inner['objects']:,} objects)", f"{inner['start_s']:.1f} s", ""),
        (f"start → all panes populated ({label}, app)", f"{app['populated']:.1f} s", "≤ 20 s"),
        (
            "RSS at populated: app + simulator",
            f"{app['rss_mb']:.0f} + {out['sim_rss_populated_mb']:.0f} = {together:.0f} MB",
            "≤ 600 MB",
        ),
        ("simulator RSS peak while the app synced", f"{out['sim_rss_peak_mb']:.0f} MB", ""),
        ("simulator CPU while the app ran", f"{out['sim_cpu_s']:.1f} s of {out['app_run_s']:.0f} s", ""),
    ]
    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    print(f"{'figure':<{width}}  {'measured':<{value_width}}  goal")
    for name, value, goal in rows:
        print(f"{name:<{width}}  {value:<{value_width}}  {goal}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
