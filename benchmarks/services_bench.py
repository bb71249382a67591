"""``meshtui services -o json`` over every cluster vs ``kubectl get svc -A -o json`` of one cluster.

    /work/venv/bin/python benchmarks/services_bench.py                 # seed, then 64 x 2,000
    /work/venv/bin/python benchmarks/services_bench.py --clusters 8 --services 200 --runs 5

The question an operator asks: "what does the global-services answer for the whole mesh cost
me compared with the one command I know?". Both run here as a user runs them, as new processes
timed by the wall clock from spawn to exit, against the same simulator (``meshtui sim`` in a
separate process) in the same run:

* ``meshtui services -o json --kubeconfig K --timeout T`` (every context: N clusters), checked to
  have answered for every cluster (no cell still ``syncing``/``unreachable``) with every service;
* ``meshtui services -o json --context C``: the same for one cluster (the like-for-like figure);
* ``kubectl get svc -A -o json --context C`` (``/usr/bin/kubectl`` unless ``--kubectl``) with a
  warm discovery cache (its own ``--cache-dir``, filled by one untimed run, as on a user's host);
* with ``--also status,backends``: ``meshtui status -o json`` (every context) and ``meshtui
  backends NS/SVC -o json --from C`` (a global service seen from the first context, with that
  agent's ``cilium service list``), timed the same way.

One untimed warm-up of each, then ``--runs`` timed runs interleaved; best and median of each, and
the ratio of the medians (meshtui over N clusters / kubectl over one). Every run is bounded by
``--timeout``; the simulator is stopped on every way out (SIGTERM included).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from kube_bench import Simulator  # noqa: E402

KUBECTL = "/usr/bin/kubectl"


def meshtui_command() -> list[str]:
    """The installed ``meshtui`` entry point beside this interpreter, else ``python -m tui``."""
    script = Path(sys.executable).with_name("meshtui")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tui"]


def timed(
    command: list[str], timeout: float, env: dict[str, str] | None = None, ok: tuple[int, ...] = (0,)
) -> tuple[float, bytes]:
    """Wall-clock seconds from spawn to exit; raises on another exit code than ``ok`` or the timeout."""
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, timeout=timeout, env=env, cwd=ROOT, check=False)
    elapsed = time.monotonic() - started
    if done.returncode not in ok:
        tail = done.stderr.decode(errors="replace").strip()[-400:]
        raise RuntimeError(f"{Path(command[0]).name} exited {done.returncode}: {tail}")
    return elapsed, done.stdout


def check_services(stdout: bytes, contexts: int, expected: int | None) -> int:
    """Count the services answered; fail when a cluster did not answer or services are missing.

    A cell with ``state`` is a cluster the command could not read in time (``syncing``,
    ``unreachable``...): a fast answer that left clusters out must not count as a figure.
    """
    services = json.loads(stdout)["services"]
    clusters = {name for row in services for name in row["clusters"]}
    unread = {name for row in services for name, cell in row["clusters"].items() if cell.get("state")}
    if unread:
        raise RuntimeError(f"clusters not read: {sorted(unread)[:5]}")
    if len(clusters) < contexts:
        raise RuntimeError(f"answered for {len(clusters)} clusters of {contexts}")
    if expected is not None and len(services) < expected:
        raise RuntimeError(f"{len(services)} services, expected at least {expected}")
    return len(services)


def kubectl_count(stdout: bytes) -> int:
    return len(json.loads(stdout)["items"])


def status_count(stdout: bytes, contexts: int) -> int:
    """Clusters answered by ``meshtui status``: every context, each read (not syncing)."""
    clusters = json.loads(stdout)["clusters"]
    unread = [c["context"] for c in clusters if c.get("state") not in ("ok", "forbidden")]
    if len(clusters) != contexts or unread:
        raise RuntimeError(f"status: {len(clusters)} of {contexts} clusters, not read: {unread[:5]}")
    return len(clusters)


def backends_count(stdout: bytes) -> int:
    """Backends listed by ``meshtui backends --from C`` (with the agent's own list read)."""
    doc = json.loads(stdout)
    text = json.dumps(doc)
    if '"agent_backends": null' in text:
        raise RuntimeError("backends: the agent's cilium service list was not read")
    return text.count('"selected"')


def summary(values: list[float]) -> dict[str, float]:
    return {"best_s": min(values), "median_s": statistics.median(values), "runs": len(values)}


def compare(
    label: str,
    sim_args: list[str],
    folder: Path,
    runs: int,
    timeout: float,
    expected: int | None,
    also: tuple[str, ...] = (),
    service: str = "song/userlist-svc",
) -> dict[str, Any]:
    """One simulator; kubectl on its first context and meshtui on all of them and on that one."""
    sim = Simulator(sim_args, folder, timeout)
    try:
        doc = yaml.safe_load(sim.kubeconfig.read_text())
        contexts = [c["name"] for c in doc["contexts"]]
        first = contexts[0]
        cache = folder / "kubectl-cache"
        # As installed: pip compiles the bytecode at install, and run 0 writes it here; this
        # machine's environment sets PYTHONDONTWRITEBYTECODE, under which every meshtui run
        # would compile the repo's modules again (about 0.2 s each, not meshtui's own cost).
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env |= {"NO_COLOR": "1", "TZ": "UTC"}
        base = [*meshtui_command(), "services", "-o", "json", "--kubeconfig", str(sim.kubeconfig)]
        base += ["--timeout", f"{timeout:g}"]
        commands = {
            "meshtui_all": base,
            "meshtui_one": [*base, "--context", first],
            "kubectl_one": [
                KUBECTL,
                "--kubeconfig",
                str(sim.kubeconfig),
                "--context",
                first,
                "--cache-dir",
                str(cache),
                "get",
                "svc",
                "-A",
                "-o",
                "json",
            ],
        }
        checks = {
            "meshtui_all": lambda out: check_services(out, len(contexts), expected),
            "meshtui_one": lambda out: check_services(out, 1, expected),
            "kubectl_one": kubectl_count,
        }
        common = ["-o", "json", "--kubeconfig", str(sim.kubeconfig), "--timeout", f"{timeout:g}"]
        if "status" in also:
            commands["status_all"] = [*meshtui_command(), "status", *common]
            checks["status_all"] = lambda out: status_count(out, len(contexts))
        if "backends" in also:
            commands["backends_one"] = [*meshtui_command(), "backends", service, "--from", first, *common]
            checks["backends_one"] = backends_count
        times: dict[str, list[float]] = {name: [] for name in commands}
        counts: dict[str, int] = {}
        for run in range(runs + 1):  # run 0 warms caches (kubectl discovery, bytecode)
            for name, command in commands.items():
                # status exits 1 when a finding is an error: the answer is printed all the same
                ok = (0, 1) if name == "status_all" else (0,)
                elapsed, stdout = timed(command, timeout + 30, env, ok)
                counts[name] = checks[name](stdout)
                if run:
                    times[name].append(elapsed)
            print(f"  {label}: run {run}/{runs} done", file=sys.stderr, flush=True)
    finally:
        sim.stop()
    result: dict[str, Any] = {"label": label, "clusters": len(contexts), "context": first}
    for name, values in times.items():
        result[name] = {**summary(values), "items": counts[name]}
    result["ratio_median"] = result["meshtui_all"]["median_s"] / result["kubectl_one"]["median_s"]
    result["ratio_best"] = result["meshtui_all"]["best_s"] / result["kubectl_one"]["best_s"]
    result["ratio_one_median"] = result["meshtui_one"]["median_s"] / result["kubectl_one"]["median_s"]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clusters", type=int, default=64)
    parser.add_argument("--services", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each command")
    parser.add_argument("--timeout", type=float, default=120.0, help="bound of the start and each run")
    parser.add_argument("--kubectl", default=KUBECTL, help="the kubectl binary to compare with")
    parser.add_argument("--skip-seed", action="store_true")
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument(
        "--also",
        default="",
        help="comma-separated: status, backends (also time `meshtui status` and `meshtui backends`)",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the figures to PATH as JSON")
    args = parser.parse_args(argv)
    globals()["KUBECTL"] = args.kubectl
    if not shutil.which(args.kubectl):
        print(f"kubectl not found: {args.kubectl}", file=sys.stderr)
        return 2
    # ``timeout`` / ``kill`` send SIGTERM: unwind like Ctrl-C so the simulator is stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    also = tuple(name for name in args.also.split(",") if name)
    unknown = set(also) - {"status", "backends"}
    if unknown:
        parser.error(f"--also: unknown {sorted(unknown)}")
    results: list[dict[str, Any]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="meshtui-services-bench-") as folder:
            if not args.skip_seed:
                results.append(compare("seed", ["--scenario", "seed"], Path(folder) / "seed", args.runs,
                                       args.timeout, None, also))  # fmt: skip
            if not args.skip_large:
                label = f"{args.clusters} × {args.services:,}"
                sim_args = ["--clusters", str(args.clusters), "--services", str(args.services), "--seed", "1"]
                results.append(
                    compare(
                        label,
                        sim_args,
                        Path(folder) / "large",
                        args.runs,
                        args.timeout,
                        args.services,
                        also,
                        "bench/svc-0000",
                    )
                )
    finally:
        if args.json:
            Path(args.json).write_text(json.dumps({"results": results}, indent=1))
    print(f"{'scenario':<14}{'command':<46}{'best':>8}{'median':>8}{'items':>7}")
    for r in results:
        rows = (
            (f"meshtui services -o json ({r['clusters']} clusters)", r["meshtui_all"]),
            (f"meshtui services -o json --context {r['context']}", r["meshtui_one"]),
            (f"kubectl get svc -A -o json --context {r['context']}", r["kubectl_one"]),
        )
        extra = [(f"meshtui status -o json ({r['clusters']} clusters)", r.get("status_all")),
                 (f"meshtui backends -o json --from {r['context']}", r.get("backends_one"))]  # fmt: skip
        for name, fig in [*rows, *((n, f) for n, f in extra if f)]:
            print(
                f"{r['label']:<14}{name:<46}{fig['best_s']:>7.2f}s{fig['median_s']:>7.2f}s{fig['items']:>7}"
            )
        print(
            f"{'':<14}ratio meshtui (all {r['clusters']}) / kubectl (one): median {r['ratio_median']:.2f}, "
            f"best {r['ratio_best']:.2f}; meshtui (one) / kubectl (one): {r['ratio_one_median']:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
