"""Figures of the curl loops against the simulator (run it, it prints them).

    /work/venv/bin/python benchmarks/curl_bench.py                  # every figure, 100,000 answers
    /work/venv/bin/python benchmarks/curl_bench.py --answers 20000 --seconds 10

The simulator (seed scenario: two clusters, one userlist pod and one curltest pod each) runs as
a separate process (``meshtui sim``) so this process's CPU and memory are the app's alone.
Measured here:

* rate: both clusters' loops with interval 0, each over ONE exec stream, for ``--seconds``:
  answers per second per client cluster (goal >= 10/s), p50 / p95 latency, errors;
* CPU of the engine with two loops at 10/s (interval 0.09: a 0.09 s pause + a ~10 ms request)
  for ``--seconds``: this process's CPU time / wall time (the hub's thread included, as in the app);
* CPU of the whole app (``MeshtuiApp`` headless at 160x48 with the curl pane repainting) with
  the same two loops started by pressing ``c``;
* memory after ``--answers`` answers (interval 0, both clusters): RSS before the loops and at
  10 %, 50 % and 100 % of the answers, and the sizes of the session's rings.

Every step is bounded in time; the simulator is stopped at the end (or on error).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from kube_bench import Simulator, rss_mb  # noqa: E402

from tui.curl.session import CurlSession  # noqa: E402
from tui.curl.target import CurlTarget  # noqa: E402
from tui.kube.source import KubeSource  # noqa: E402
from tui.views.backends import expected_share  # noqa: E402

FIGURES: dict[str, Any] = {}
"""Every figure printed, by name, for ``--json`` (the runner, ``benchmarks/run.py``, reads it)."""

TARGET = CurlTarget("song", "userlist-svc", 80, "/users/1")
CONTEXTS = ("bastion02", "bastion03")


def cpu_seconds() -> float:
    """This process's CPU time, every thread included."""
    return time.process_time()


def thread_cpu() -> dict[str, float]:
    """CPU seconds per Python thread of this process (by thread name), from /proc."""
    import os
    import threading

    ticks = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for thread in threading.enumerate():
        try:
            stat = Path(f"/proc/self/task/{thread.native_id}/stat").read_text()
        except (OSError, TypeError):
            continue
        fields = stat.rsplit(")", 1)[1].split()
        out[thread.name] = out.get(thread.name, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    return out


def process_cpu(pid: int) -> float:
    """Another process's CPU seconds (user + system) from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    import os

    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


async def started_source(kubeconfig: Path) -> KubeSource:
    source = KubeSource(str(kubeconfig), threaded=True)
    await source.start()
    await source.wait_synced(30)
    return source


async def rate(kubeconfig: Path, seconds: float) -> None:
    source = await started_source(kubeconfig)
    try:
        session = CurlSession(source, TARGET, interval=0, timeout=2.0, window=1000, expected=expected_share)
        await session.start(list(CONTEXTS))
        await asyncio.sleep(1.0)  # attach and learn first
        before = {c: s.total for c, s in session.stats.items()}
        started = time.monotonic()
        await asyncio.sleep(seconds)
        elapsed = time.monotonic() - started
        after = {c: s.total for c, s in session.stats.items()}
        await session.stop()
    finally:
        await source.stop()
    print(f"rate, interval 0, one exec stream per client cluster, {seconds:g} s:")
    for context in CONTEXTS:
        stats = session.stats[context]
        per_second = (after[context] - before[context]) / elapsed
        p50, p95 = stats.latency()
        split = ", ".join(f"{k} {v}" for k, v in sorted(stats.split().items()))
        FIGURES.setdefault("rate", {})[context] = {
            "from": stats.from_cluster,
            "per_s": per_second,
            "p50_ms": p50,
            "p95_ms": p95,
            "errors": dict(stats.errors),
        }
        print(
            f"  from {stats.from_cluster}: {per_second:6.1f} answers/s  (goal >= 10/s)  "
            f"p50 {p50:.1f} ms  p95 {p95:.1f} ms  errors {dict(stats.errors) or 0}  "
            f"last {len(stats.recent)}: {split}"
        )
    unknown = sum(s.unknown for s in session.stats.values())
    FIGURES["rate_unknown"] = unknown
    FIGURES["rate_seconds"] = seconds
    print(f"  answers not identified: {unknown}; learned map: {len(session.fingerprints.rows)} backends")


async def engine_cpu(kubeconfig: Path, seconds: float, sim: Simulator) -> None:
    source = await started_source(kubeconfig)
    try:
        session = CurlSession(source, TARGET, interval=0.09, timeout=2.0, expected=expected_share)
        await session.start(list(CONTEXTS))
        await asyncio.sleep(2.0)
        gc.collect()
        before = {c: s.total for c, s in session.stats.items()}
        cpu0, sim0, wall0 = cpu_seconds(), process_cpu(sim.process.pid), time.monotonic()
        await asyncio.sleep(seconds)
        cpu1, sim1, wall1 = cpu_seconds(), process_cpu(sim.process.pid), time.monotonic()
        after = {c: s.total for c, s in session.stats.items()}
        await session.stop()
    finally:
        await source.stop()
    wall = wall1 - wall0
    rates = ", ".join(f"{c} {(after[c] - before[c]) / wall:.1f}/s" for c in CONTEXTS)
    print(f"CPU, engine only, two loops at interval 0.09 ({rates}), {seconds:g} s:")
    FIGURES["engine_cpu_pct"] = 100 * (cpu1 - cpu0) / wall
    FIGURES["engine_rates"] = {c: (after[c] - before[c]) / wall for c in CONTEXTS}
    print(f"  this process: {100 * (cpu1 - cpu0) / wall:.1f} % of one core")
    print(f"  (the simulator process meanwhile: {100 * (sim1 - sim0) / wall:.1f} %)")


async def app_cpu(kubeconfig: Path, seconds: float) -> None:
    from tui.app import MeshtuiApp

    source = KubeSource(str(kubeconfig), threaded=True)
    app = MeshtuiApp(source, kubeconfig_label=str(kubeconfig))
    async with app.run_test(headless=True, size=(160, 48)) as pilot:
        deadline = time.monotonic() + 30
        while (app.service is None or app.curl_pane is None) and time.monotonic() < deadline:
            await pilot.pause(0.1)
        pane, curl = app.curl_pane, app.curl
        await pilot.pause(2.0)
        gc.collect()
        idle0, idle_wall0 = cpu_seconds(), time.monotonic()
        await pilot.pause(seconds / 2)
        idle = (cpu_seconds() - idle0) / (time.monotonic() - idle_wall0)
        curl.interval = 0.09
        await pilot.press("c")
        await pilot.pause(3.0)
        session = curl.session
        assert session is not None
        before = {c: s.total for c, s in session.stats.items()}
        repaints0 = pane.repaints
        gc.collect()
        cpu0, wall0, threads0 = cpu_seconds(), time.monotonic(), thread_cpu()
        await pilot.pause(seconds)
        cpu1, wall1, threads1 = cpu_seconds(), time.monotonic(), thread_cpu()
        wall = wall1 - wall0
        after = {c: s.total for c, s in session.stats.items()}
        rates = ", ".join(f"{c} {(after[c] - before[c]) / wall:.1f}/s" for c in after)
        print(f"CPU, the app (headless 160x48, curl pane live), two loops at interval 0.09 ({rates}):")
        FIGURES["app_cpu_pct"] = 100 * (cpu1 - cpu0) / wall
        FIGURES["app_idle_cpu_pct"] = 100 * idle
        FIGURES["app_rates"] = {c: (after[c] - before[c]) / wall for c in after}
        FIGURES["app_repaints_per_s"] = (pane.repaints - repaints0) / wall
        print(
            f"  this process: {100 * (cpu1 - cpu0) / wall:.1f} % of one core "
            f"(the same app without loops: {100 * idle:.1f} %); "
            f"pane repaints {(pane.repaints - repaints0) / wall:.1f}/s"
        )
        per_thread = {name: 100 * (threads1[name] - threads0.get(name, 0.0)) / wall for name in threads1}
        busy = ", ".join(f"{name} {pct:.1f} %" for name, pct in sorted(per_thread.items()) if pct >= 0.5)
        print(f"  by thread: {busy}")
        await pilot.press("c")
        await pilot.pause(0.5)
        await pilot.press("q")


async def memory(kubeconfig: Path, answers: int, limit: float) -> None:
    source = await started_source(kubeconfig)
    gc.collect()
    base = rss_mb()
    marks = {int(answers * f): f for f in (0.1, 0.5, 1.0)}
    seen: dict[float, float] = {}
    try:
        session = CurlSession(source, TARGET, interval=0, timeout=2.0, expected=expected_share)
        await session.start(list(CONTEXTS))
        started = time.monotonic()
        while time.monotonic() - started < limit:
            total = sum(s.total for s in session.stats.values())
            for mark, fraction in marks.items():
                if total >= mark and fraction not in seen:
                    gc.collect()
                    seen[fraction] = rss_mb()
            if len(seen) == len(marks):
                break
            await asyncio.sleep(0.5)
        elapsed = time.monotonic() - started
        total = sum(s.total for s in session.stats.values())
        await session.stop()
    finally:
        await source.stop()
    print(f"memory, {total:,} answers (interval 0, both clusters, {elapsed:.0f} s):")
    FIGURES["memory"] = {
        "target": answers,
        "answers": total,
        "seconds": elapsed,
        "base_mb": base,
        "marks_mb": {str(int(f * answers)): mb for f, mb in sorted(seen.items())},
    }
    print(f"  RSS before the loops {base:.1f} MB; " + "; ".join(
        f"after {int(f * answers):,}: {mb:.1f} MB (+{mb - base:.1f})" for f, mb in sorted(seen.items())
    ))  # fmt: skip
    rings = {c: (len(s.recent), len(s.latencies)) for c, s in session.stats.items()}
    print(f"  kept: log {len(session.log)} answers, per loop (ring, sparkline) {rings}, "
          f"events {len(session.events)}, dropped exec lines "
          f"{sum(loop.dropped_lines for loop in session.loops.values())}")  # fmt: skip
    if len(seen) < len(marks):
        print(f"  (stopped after {limit:g} s before reaching {answers:,} answers)")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the rate and CPU runs")
    parser.add_argument("--answers", type=int, default=100_000, help="answers for the memory figure")
    parser.add_argument("--memory-limit", type=float, default=1800.0, help="give the memory run this long")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to PATH as JSON")
    parser.add_argument("--skip", action="append", default=[], choices=("rate", "engine", "app", "memory"))
    args = parser.parse_args()
    # ``timeout`` / ``kill`` send SIGTERM: unwind like Ctrl-C so the simulator is stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        run_all(args)
    finally:
        if args.json:
            Path(args.json).write_text(json.dumps(FIGURES, indent=1))
    return 0


def run_all(args: argparse.Namespace) -> None:
    """Every figure not skipped, against one seed simulator that is stopped on every way out."""
    with tempfile.TemporaryDirectory(prefix="meshtui-curl-bench-") as folder:
        sim = Simulator(["--scenario", "seed", "--seed", "1", "--sync-delay", "0.1"], Path(folder), 60)
        try:
            print(f"simulator started in {sim.started_in:.2f} s (a separate process)")
            if "rate" not in args.skip:
                asyncio.run(rate(sim.kubeconfig, args.seconds))
            if "engine" not in args.skip:
                asyncio.run(engine_cpu(sim.kubeconfig, args.seconds, sim))
            if "app" not in args.skip:
                asyncio.run(app_cpu(sim.kubeconfig, args.seconds))
            if "memory" not in args.skip:
                asyncio.run(memory(sim.kubeconfig, args.answers, args.memory_limit))
        finally:
            sim.stop()


if __name__ == "__main__":
    sys.exit(main())
