"""Figures of the cluster-access layer against a hostile API endpoint (run it, it prints them).

    /work/venv/bin/python benchmarks/hostile_bench.py              # every mode (about 5 minutes)
    /work/venv/bin/python benchmarks/hostile_bench.py --only endless-continue huge-body

For each misbehaviour of ``tests/reliability/hostileapi.py`` (its own process on 127.0.0.1) a
fresh process runs the cluster-access layer (``MeshHub``, production settings) on a kubeconfig
holding that endpoint as context ``evil``, for a fixed time, and reports:

* *reported in*: seconds from the start to the first snapshot naming the failure on ``evil``
  (its state's reason, or its agents' error for the exec modes), and that reason;
* *peak RSS*: the measuring process's peak resident memory (``ru_maxrss``): the layer alone,
  next to the ``ok`` row (a quiet endpoint) as the baseline;
* *stop*: how long ``MeshHub.stop()`` took at the end, whatever the peer was doing.

``exec-flood`` and ``exec-hang`` also run with the seed simulator (``meshtui sim``, another
process) beside the bad peer, agents read every ``--interval`` seconds: the healthy clusters'
``cilium status`` reads per context and the longest gap between two of them, and the share of
a core the measuring process used. Every process is bounded in time and stopped by its pid.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import itertools
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "reliability"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from hostileapi import HostileServer, kubeconfig_beside  # noqa: E402
from kube_bench import Simulator  # noqa: E402

from tui.safetext import safe_line  # noqa: E402

RUNS: dict[str, dict[str, Any]] = {
    "ok": {"seconds": 10},
    "malformed-json": {"seconds": 10},
    "html": {"seconds": 10},
    "429": {"seconds": 10},
    "500": {"seconds": 10},
    "endless-continue": {"seconds": 30},
    "repeated-continue": {"seconds": 10},
    "short-pages": {"seconds": 60},
    "huge-body": {"seconds": 30, "server": {"body_mb": 600}},
    "huge-body-chunked": {"mode": "huge-body", "seconds": 30, "server": {"body_mb": 600, "chunked": 1}},
    "silent-watch": {"seconds": 20},
    "garbage-watch": {"seconds": 10},
    "slowloris": {"seconds": 100, "server": {"trickle": 0.5}},
    "exec-hang": {"seconds": 20, "sim": True},
    "exec-flood": {"seconds": 30, "sim": True, "server": {"frame": 4000}},
}
HEALTHY = ("bastion02", "bastion03")


# -- the measuring process ---------------------------------------------------------------------


async def measure(kubeconfig: str, seconds: float, interval: float) -> dict[str, Any]:
    from tui.kube.hub import MeshHub
    from tui.kube.settings import HubSettings

    settings = dataclasses.replace(HubSettings(), cilium_interval=interval)
    hub = MeshHub(kubeconfig, settings=settings)
    started, cpu = time.monotonic(), time.process_time()
    await hub.start()
    reported: float | None = None
    reason = ""
    reads: dict[str, list[float]] = {c: [] for c in HEALTHY}
    try:
        while time.monotonic() - started < seconds:
            await asyncio.sleep(0.05)
            snapshot = hub.snapshot()
            evil = snapshot.by_context("evil")
            if evil is not None and reported is None:
                agent_errors = [a.error for a in evil.cilium.agents if a.error]
                if evil.phase in ("unreachable", "stale", "error", "forbidden"):
                    reported, reason = time.monotonic() - started, f"{evil.phase}: {evil.reason}"
                elif agent_errors:
                    reported, reason = time.monotonic() - started, f"agents: {agent_errors[0]}"
            for state in snapshot.clusters:
                if state.context in reads and state.cilium.agents:
                    read_at = state.cilium.agents[0].read_at
                    if read_at and (not reads[state.context] or reads[state.context][-1] != read_at):
                        reads[state.context].append(read_at)
        used = (time.process_time() - cpu) / (time.monotonic() - started)
    finally:
        stopping = time.monotonic()
        await asyncio.wait_for(hub.stop(), 30)
        stopped_in = time.monotonic() - stopping
    cadence = {}
    for context, times in reads.items():
        if times:
            gaps = [b - a for a, b in itertools.pairwise(times)]
            cadence[context] = {"reads": len(times), "max_gap": round(max(gaps), 2) if gaps else None}
    return {
        "reported_in": None if reported is None else round(reported, 2),
        "reason": reason,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "stop_s": round(stopped_in, 2),
        "cpu_share": round(used, 2),
        "cadence": cadence,
    }


def child(args: argparse.Namespace) -> int:
    out = asyncio.run(measure(args.child, args.seconds, args.interval))
    print("RESULT " + json.dumps(out), flush=True)
    return 0


# -- the runner -----------------------------------------------------------------------------------


def run_mode(label: str, spec: dict[str, Any], args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    mode = spec.get("mode", label)
    seconds = spec["seconds"] * args.scale
    simulator = Simulator(["--seed", "1"], folder / label, 60) if spec.get("sim") else None
    server = HostileServer(mode, lifetime=seconds + 60, **spec.get("server", {}))
    try:
        server.start()
        base = simulator.kubeconfig if simulator is not None else None
        kubeconfig = kubeconfig_beside(base, {"evil": server.url}, folder / f"{label}.yaml")
        command = [sys.executable, __file__, "--child", str(kubeconfig), "--seconds", str(seconds)]
        command += ["--interval", str(args.interval if spec.get("sim") else 8.0)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 90, cwd=ROOT)
        lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        if not lines:
            return {"error": (done.stderr or done.stdout)[-500:]}
        return json.loads(lines[-1][len("RESULT ") :])
    finally:
        server.stop()
        if simulator is not None:
            simulator.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=sorted(RUNS), help="these modes only")
    parser.add_argument("--interval", type=float, default=1.0, help="agent reads (s) in the exec modes")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every run's duration")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=10.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in args.only or list(RUNS):
            started = time.monotonic()
            result = run_mode(mode, RUNS[mode], args, Path(tmp))
            figures[mode] = result
            print(
                f"{mode:<18} {json.dumps(result, ensure_ascii=True)}  ({time.monotonic() - started:.0f} s)",
                flush=True,
            )
    print()
    print("| mode | reported in | reason | peak RSS | stop | healthy reads (max gap) | CPU |")
    print("|---|---|---|---|---|---|---|")
    for mode, r in figures.items():
        if "error" in r:
            print(f"| {mode} | error: {r['error'][:80]!r} | | | | | |")
            continue
        shown = "—" if r["reported_in"] is None else f"{r['reported_in']:.2f} s"
        cadence = ", ".join(f"{c} {v['reads']} ({v['max_gap']} s)" for c, v in r["cadence"].items()) or "—"
        reason = safe_line(r["reason"], 70)
        print(
            f"| {mode} | {shown} | {reason} | {r['peak_rss_mb']} MB | {r['stop_s']:.2f} s | {cadence} "
            f"| {r['cpu_share']:.0%} |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
