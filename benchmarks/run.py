"""Every figure the issues ask for, in one table: ``python benchmarks/run.py [--quick]``.

    /work/venv/bin/python benchmarks/run.py            # full: seed and 64 clusters x 2,000 services
    /work/venv/bin/python benchmarks/run.py --quick    # seed and small sizes only (< 3 min)
    /work/venv/bin/python benchmarks/run.py --only kube --only services --markdown
    /work/venv/bin/python benchmarks/run.py --huge     # also 255 clusters x 200 (several minutes)
    /work/venv/bin/python benchmarks/run.py --only huge

Why a runner over the area scripts rather than one big script: each area (simulator, cluster
access, app, curl loops, headless ``services`` vs kubectl) already has a script that takes its
figures its own way, in its own process (so RSS and CPU are that area's alone). This runs them
one after another as child processes, each with ``--json PATH`` and a timeout, reads the figures
they wrote (also those written before a failure) and prints one table: area, figure, value, goal,
ok/✗. A step that fails or times out shows as such; the others still run.

Every child runs in its own session. On a timeout, Ctrl-C or SIGTERM the child's process group
gets SIGTERM (the scripts unwind and stop their simulators), then every process the child
started (seen while it ran, by parent pid, including simulators in sessions of their own) that
is still alive is stopped, SIGKILL last. Nothing else is touched.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

OK, FAIL = "ok", "✗"


@dataclass(frozen=True)
class Row:
    """One line of the table; ``ok`` is None where the issues set no goal."""

    area: str
    figure: str
    value: str
    goal: str = ""
    ok: bool | None = None

    @property
    def verdict(self) -> str:
        return "" if self.ok is None else OK if self.ok else FAIL


@dataclass(frozen=True)
class Step:
    """One area script: its arguments (``--json`` is added) and the bound of its whole run."""

    area: str
    script: str
    args: tuple[str, ...]
    timeout: float
    rows: Callable[[dict[str, Any]], list[Row]]


# --- formatting ----------------------------------------------------------------------------


def fmt_s(seconds: float) -> str:
    """Milliseconds below 1 s (where the goals are in ms), seconds above."""
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile, the same as the area scripts use."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def size_label(doc: dict[str, Any]) -> str:
    return f"{doc['clusters']} × {doc['services']:,}"


# --- rows per area -----------------------------------------------------------------------------


def within(area: str, figure: str, shown: str, value: float, limit: float, goal: str) -> Row:
    """A row judged against an upper bound (every goal of the issues but the curl rate is one)."""
    return Row(area, figure, shown, goal, value <= limit)


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def sim_rows(doc: dict[str, Any]) -> list[Row]:
    """``sim_bench.py``: issue 3's figures (seed start <= 1 s, 64 x 2,000 <= 15 s and <= 1 GB...)."""
    ready = doc["cli_ready_s"]
    rows = [within("sim", "`meshtui sim` exec → ready (seed)", fmt_s(ready), ready, 1.0, "≤ 1 s")]
    for item in doc["rows"]:
        seed = item["scenario"] == "seed"
        size = "seed" if seed else f"{item['clusters']} clusters"
        label = "seed" if seed else f"{size}, {item['objects']:,} objects"
        limit = 1.0 if seed else 15.0
        start = item["start_s"]
        rows.append(within("sim", f"mesh start ({label})", fmt_s(start), start, limit, f"≤ {limit:g} s"))
        if not seed:
            rss = item["rss_mb"]
            rows.append(within("sim", f"simulator RSS ({label})", f"{rss:.0f} MB", rss, 1024, "≤ 1024 MB"))
        listed, list_ms = item["services_listed"], item["list_ms"]
        figure = f"list {plural(listed, 'service')} of one namespace ({size})"
        if listed >= 2000:  # the goal is for 2,000 services
            rows.append(within("sim", figure, f"{list_ms:.1f} ms", list_ms, 100, "≤ 100 ms"))
        else:
            rows.append(Row("sim", figure, f"{list_ms:.1f} ms"))
        watch = item["watch_ms"]
        rows.append(
            within("sim", f"patch → watch event ({size}, median)", f"{watch:.1f} ms", watch, 20, "≤ 20 ms")
        )
    return rows


def kube_rows(doc: dict[str, Any]) -> list[Row]:
    """``kube_bench.py``: issue 5's figures for the cluster-access layer."""
    rows = []
    if "seed_first_snapshot_s" in doc:
        value = doc["seed_first_snapshot_s"]
        rows.append(within("kube", "first complete snapshot (seed)", fmt_s(value), value, 0.5, "≤ 500 ms"))
    if "first_snapshot_s" not in doc:
        return rows
    label = size_label(doc)
    value, cpu, rss = doc["first_snapshot_s"], doc["first_snapshot_cpu_s"], doc["layer_rss_mb"]
    shown = f"{value:.2f} s (CPU {cpu:.1f} s)"
    rows.append(within("kube", f"first complete snapshot ({label})", shown, value, 3, "≤ 3 s"))  # issue 16
    figure = f"layer RSS ({label}, settled − before the hub)"
    rows.append(within("kube", figure, f"{rss:.0f} MB", rss, 300, "≤ 300 MB"))
    rows.append(Row("kube", f"threads (OS) / sockets ({label})", f"{doc['threads_os']} / {doc['sockets']}"))
    if "patch_p95_s" in doc:
        p50, p95 = doc["patch_p50_s"], doc["patch_p95_s"]
        figure = f"patch → notification ({label}, n={doc['patches']})"
        rows.append(within("kube", figure, f"p50 {fmt_s(p50)}  p95 {fmt_s(p95)}", p95, 0.1, "p95 ≤ 100 ms"))
    if "one_context_sync_s" in doc:
        kubectl = doc.get("kubectl")
        versus = f"{kubectl['s']:.2f} s" if isinstance(kubectl, dict) else str(kubectl)
        figure = "one cluster: layer's full sync / `kubectl get svc -A -o json`"
        rows.append(Row("kube", figure, f"{doc['one_context_sync_s']:.2f} s / {versus}"))
    return rows


def app_rows(doc: dict[str, Any]) -> list[Row]:
    """``app_bench.py``: issue 6's figures for the TUI (first frame <= 1 s, keys <= 100 ms...)."""
    rows = []
    seed = doc.get("seed")
    if seed:
        first, populated = statistics.median(seed["first_frame_s"]), statistics.median(seed["populated_s"])
        runs = len(seed["first_frame_s"])
        figure = f"start → first frame (seed, median of {runs})"
        rows.append(within("app", figure, fmt_s(first), first, 1.0, "≤ 1 s"))
        rows.append(Row("app", f"start → all panes populated (seed, median of {runs})", fmt_s(populated)))
        rows.append(Row("app", "RSS at populated (seed, simulator in-process)", f"{seed['rss_mb']:.0f} MB"))
    label = size_label(doc)
    large = doc.get("large")
    if large:
        first = large["first_frame"]
        rows.append(within("app", f"start → first frame ({label})", fmt_s(first), first, 1.0, "≤ 1 s"))
        populated, rss = large["populated"], large["rss_mb"]
        figure = f"start → all panes populated ({label})"
        rows.append(within("app", figure, fmt_s(populated), populated, 10, "≤ 10 s"))  # issue 16
        figure = f"RSS at populated ({label}, app only)"
        rows.append(within("app", figure, f"{rss:.0f} MB", rss, 300, "≤ 300 MB"))  # issue 16
    patch = doc.get("patch")
    if patch:
        p50, p95 = pct(patch, 0.5), pct(patch, 0.95)
        figure = f"annotation patch → on screen ({label}, n={len(patch)})"
        rows.append(within("app", figure, f"p50 {fmt_s(p50)}  p95 {fmt_s(p95)}", p95, 0.3, "p95 ≤ 300 ms"))
    busy = f"{doc.get('events_per_s', 0):g} events/s streaming"
    for name, what in (("keys_idle", "at rest"), ("keys_busy", busy)):
        values = doc.get(name)
        if values:
            p50, p95 = pct(values, 0.5), pct(values, 0.95)
            shown = f"p50 {fmt_s(p50)}  p95 {fmt_s(p95)}  max {fmt_s(max(values))}"
            figure = f"key → frame ({label}, {what}, n={len(values)})"
            rows.append(within("app", figure, shown, p95, 0.1, "p95 ≤ 100 ms"))
    if "repaints_per_s" in doc:
        value = doc["repaints_per_s"]
        rows.append(within("app", "repaints per second while events stream", f"{value:.1f}", value, 4, "≤ 4"))
    return rows


MEMORY_GROWTH_MB = 10.0
"""Allowed RSS growth of the curl engine from 10 % to 100 % of the answers: the rings are full
long before 10 %, so memory that is bounded (the issue's word) stays flat after it."""


def curl_rows(doc: dict[str, Any]) -> list[Row]:
    """``curl_bench.py``: issue 7's figures for the curl loops (seed, one exec stream per loop)."""
    rows = []
    for context, item in sorted(doc.get("rate", {}).items()):
        errors = sum(item["errors"].values())
        rows.append(
            Row(
                "curl",
                f"answers/s from {item['from']} ({context}), interval 0, one exec stream",
                f"{item['per_s']:.1f}/s  p95 {item['p95_ms']:.0f} ms  errors {errors}",
                "≥ 10/s",
                item["per_s"] >= 10,
            )
        )
    if "engine_cpu_pct" in doc:
        rates = ", ".join(f"{r:.1f}/s" for r in doc["engine_rates"].values())
        figure = f"CPU of the curl engine, two loops ({rates})"
        rows.append(Row("curl", figure, f"{doc['engine_cpu_pct']:.1f} % of a core"))
    if "app_cpu_pct" in doc:
        rates = ", ".join(f"{r:.1f}/s" for r in doc["app_rates"].values())
        shown = f"{doc['app_cpu_pct']:.1f} % of a core (idle {doc['app_idle_cpu_pct']:.1f} %)"
        rows.append(Row("curl", f"CPU of the app, curl pane live, two loops ({rates})", shown))
    memory = doc.get("memory")
    if memory:
        marks = sorted((int(k), v) for k, v in memory["marks_mb"].items())
        complete = memory["answers"] >= memory["target"] and len(marks) == 3
        shown = f"{marks[-1][1]:.0f} MB" if marks else "no reading"
        growth = marks[-1][1] - marks[0][1] if len(marks) >= 2 else None
        if growth is not None:
            shown += f" (+{growth:.1f} MB from {marks[0][0]:,} to {marks[-1][0]:,} answers)"
        figure = f"RSS after {memory['answers']:,} answers ({memory['seconds']:.0f} s; "
        figure += f"before the loops {memory['base_mb']:.0f} MB)"
        rows.append(
            Row(
                "curl",
                figure,
                shown,
                f"{memory['target']:,} answers, flat: ≤ +{MEMORY_GROWTH_MB:g} MB after 10 %",
                complete and growth is not None and growth <= MEMORY_GROWTH_MB,
            )
        )
    return rows


def rules_rows(doc: dict[str, Any]) -> list[Row]:
    """``rules_bench.py``: the rules core and the view builders (bounds once held by unit tests)."""
    rows = []
    for key, figure, limit in (
        ("cidr_overlap_s", "pod-CIDR overlap check, 64 clusters × 200 nodes", 2.0),
        ("one_client_64x150_s", "index, matrix, merge and shares for one client, 64 × 150", 5.0),
        ("one_changed_service_s", "services view after one changed service, 64 × 1,200", 0.5),
    ):
        if key in doc:
            value = doc[key]
            rows.append(within("rules", figure, fmt_s(value), value, limit, f"≤ {fmt_s(limit)}"))
    return rows


def services_rows(doc: dict[str, Any]) -> list[Row]:
    """``services_bench.py``: ``meshtui services -o json`` (N clusters) vs kubectl (one cluster)."""
    rows = []
    for result in doc.get("results", []):
        label, n = result["label"], result["clusters"]
        everyone, one, kubectl = result["meshtui_all"], result["meshtui_one"], result["kubectl_one"]

        def both(fig: dict[str, Any]) -> str:
            return f"{fmt_s(fig['median_s'])} (best {fmt_s(fig['best_s'])})"

        runs = f"median of {everyone['runs']}"
        figure = f"`meshtui services -o json`, {n} clusters ({label}, {runs})"
        rows.append(Row("headless", figure, f"{both(everyone)}, {plural(everyone['items'], 'service')}"))
        figure = f"`kubectl get svc -A -o json`, 1 cluster ({label}, {runs})"
        rows.append(Row("headless", figure, f"{both(kubectl)}, {plural(kubectl['items'], 'service')}"))
        ratio, best = result["ratio_median"], result["ratio_best"]
        shown = f"{ratio:.1f}× ({best:.1f}× best; {ratio / n:.2f}× per cluster)"
        figure = f"ratio meshtui ({n} clusters) / kubectl (1 cluster), {label}"
        rows.append(within("headless", figure, shown, ratio, 5, "≤ 5×"))  # issue 16
        figure = f"`meshtui services -o json --context` (1 cluster), {label}"
        shown = f"{both(one)}; {result['ratio_one_median']:.1f}× kubectl"
        rows.append(Row("headless", figure, shown))
    return rows


def huge_rows(doc: dict[str, Any]) -> list[Row]:
    """``huge_bench.py``: issue 16's 255-cluster row (simulator start <= 30 s, app populated
    <= 20 s, app and simulator together <= 600 MB)."""
    rows = []
    label = size_label(doc)
    if "sim_ready_s" in doc:
        ready = doc["sim_ready_s"]
        figure = f"`meshtui sim` exec → ready ({label})"
        rows.append(within("huge", figure, fmt_s(ready), ready, 30, "≤ 30 s"))
        rows.append(Row("huge", f"simulator RSS at ready ({label})", f"{doc['sim_rss_ready_mb']:.0f} MB"))
    inner = doc.get("in_process")
    if inner:
        figure = f"mesh start in-process ({label}, {inner['objects']:,} objects)"
        rows.append(Row("huge", figure, fmt_s(inner["start_s"])))
    app = doc.get("app")
    if app:
        populated = app["populated"]
        figure = f"start → all panes populated ({label}, app)"
        rows.append(within("huge", figure, fmt_s(populated), populated, 20, "≤ 20 s"))
        sim = doc["sim_rss_populated_mb"]
        together = app["rss_mb"] + sim
        shown = f"{together:.0f} MB (app {app['rss_mb']:.0f} + simulator {sim:.0f})"
        rows.append(
            within("huge", f"RSS at populated, app + simulator ({label})", shown, together, 600, "≤ 600 MB")
        )
        figure = f"simulator RSS peak while the app synced ({label})"
        rows.append(Row("huge", figure, f"{doc['sim_rss_peak_mb']:.0f} MB"))
        if "sim_cpu_s" in doc:
            shown = f"{doc['sim_cpu_s']:.1f} s in {doc['app_run_s']:.0f} s"
            rows.append(Row("huge", f"simulator CPU while the app ran ({label})", shown))
    return rows


# --- steps ---------------------------------------------------------------------------------------

HUGE = Step(
    "huge", "huge_bench.py", ("--clusters", "255", "--services", "200", "--timeout", "600"), 1500, huge_rows
)
"""Issue 16's 255-cluster row: only with ``--huge`` (or ``--only huge``), it takes minutes."""


def steps(quick: bool, clusters: int, services: int, huge: bool = False) -> list[Step]:
    """The area scripts in the order they run; ``quick``: seed and small sizes, short samples;
    ``huge``: and the 255-cluster row last."""
    chosen = _steps(quick, clusters, services)
    return [*chosen, HUGE] if huge else chosen


def _steps(quick: bool, clusters: int, services: int) -> list[Step]:
    if quick:
        clusters, services = min(clusters, 8), min(services, 200)
    size = ("--clusters", str(clusters), "--services", str(services))
    if quick:
        return [
            Step("rules", "rules_bench.py", ("--quick",), 120, rules_rows),
            Step("sim", "sim_bench.py", size, 120, sim_rows),
            Step(
                "kube",
                "kube_bench.py",
                (*size, "--patches", "10", "--settle", "1", "--timeout", "60"),
                150,
                kube_rows,
            ),
            Step(
                "app",
                "app_bench.py",
                (*size, "--samples", "6", "--runs", "1", "--events", "20", "--timeout", "60"),
                240,
                app_rows,
            ),
            Step(
                "curl",
                "curl_bench.py",
                ("--seconds", "4", "--answers", "3000", "--memory-limit", "40"),
                180,
                curl_rows,
            ),
            Step(
                "headless", "services_bench.py", (*size, "--runs", "2", "--timeout", "60"), 240, services_rows
            ),
        ]
    return [
        Step("rules", "rules_bench.py", (), 300, rules_rows),
        Step("sim", "sim_bench.py", size, 420, sim_rows),
        Step("kube", "kube_bench.py", (*size, "--timeout", "180"), 480, kube_rows),
        Step("app", "app_bench.py", (*size, "--timeout", "240"), 1200, app_rows),
        Step(
            "curl",
            "curl_bench.py",
            ("--seconds", "15", "--answers", "100000", "--memory-limit", "900"),
            1200,
            curl_rows,
        ),
        Step(
            "headless", "services_bench.py", (*size, "--runs", "3", "--timeout", "240"), 1200, services_rows
        ),
    ]


# --- running children and stopping everything they started -----------------------------------


def _proc_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, start time) of every live process (zombies are done: left out).

    The start time tells a reused pid from the process seen before.
    """
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            table[int(entry)] = (int(fields[1]), fields[19])
    return table


def descendants(root: int) -> set[tuple[int, str]]:
    """(pid, start time) of every live process below ``root``."""
    table = _proc_table()
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found, todo = set(), list(children.get(root, ()))
    while todo:
        pid = todo.pop()
        found.add((pid, table[pid][1]))
        todo.extend(children.get(pid, ()))
    return found


def alive(known: Iterable[tuple[int, str]]) -> list[int]:
    """Those of ``known`` still running as the same process (same pid and start time)."""
    table = _proc_table()
    return [pid for pid, start in known if pid in table and table[pid][1] == start]


def signal_all(pids: Iterable[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def stop_child(
    process: subprocess.Popen[bytes], seen: set[tuple[int, str]], grace: float = 20.0, reap_grace: float = 5.0
) -> list[int]:
    """SIGTERM the child's group (the scripts stop their simulators), then whatever it left.

    ``seen``: every descendant noticed while the child ran (a simulator started in a session of
    its own is not in the child's group, and once its parent is gone no longer below it).
    Returns the pids that had to be stopped after the child itself was gone.
    """
    seen |= descendants(process.pid)
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(grace)
    left = reap(seen, grace=reap_grace)
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)
    return left


def reap(seen: set[tuple[int, str]], grace: float) -> list[int]:
    """Stop the processes of ``seen`` still alive: SIGTERM, then SIGKILL after ``grace``."""
    left = alive(seen)
    if not left:
        return []
    signal_all(left, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while alive(seen) and time.monotonic() < deadline:
        time.sleep(0.1)
    signal_all(alive(seen), signal.SIGKILL)
    return left


def run_step(step: Step, folder: Path, log: Path) -> tuple[dict[str, Any] | None, str | None, float]:
    """Run one area script to its end or its timeout; (figures, error, seconds)."""
    out = folder / f"{step.area}.json"
    command = [sys.executable, str(HERE / step.script), *step.args, "--json", str(out)]
    started = time.monotonic()
    seen: set[tuple[int, str]] = set()
    error = None
    with log.open("ab") as sink:
        sink.write(f"\n$ {' '.join(command)}\n".encode())
        sink.flush()
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        left: list[int] = []
        try:
            while True:
                try:
                    code = process.wait(1.0)
                    break
                except subprocess.TimeoutExpired:
                    seen |= descendants(process.pid)
                    if time.monotonic() - started > step.timeout:
                        error = f"timed out after {step.timeout:g} s"
                        break
        finally:  # a timeout, Ctrl-C or SIGTERM here: nothing of the child outlives this
            left = stop_child(process, seen)
        if left:
            sink.write(f"(stopped {len(left)} processes the step left running: {left})\n".encode())
    if error is None and code != 0:
        error = f"exited {code} (see the log)"
    figures = json.loads(out.read_text()) if out.exists() and out.stat().st_size else None
    return figures, error, time.monotonic() - started


def collect(step: Step, figures: dict[str, Any] | None, error: str | None) -> list[Row]:
    """The step's rows; a failure is a row of its own (the figures taken before it still count)."""
    rows: list[Row] = []
    if figures:
        try:
            rows = step.rows(figures)
        except (KeyError, TypeError, ValueError) as exc:
            error = f"{error + '; ' if error else ''}figures unreadable ({type(exc).__name__}: {exc})"
    if error:
        rows.append(Row(step.area, f"{step.script}", f"FAILED: {error}", "runs to the end", False))
    return rows


# --- the table -------------------------------------------------------------------------------------

HEADER = ("area", "figure", "value", "goal", "ok")


def cells(row: Row) -> tuple[str, str, str, str, str]:
    return (row.area, row.figure, row.value, row.goal, row.verdict)


def text_table(rows: list[Row]) -> str:
    lines = [HEADER, *(cells(r) for r in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADER))]
    out = []
    for index, line in enumerate(lines):
        out.append("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())
        if index == 0:
            out.append("  ".join("-" * width for width in widths))
    return "\n".join(out)


def markdown_table(rows: list[Row]) -> str:
    def escape(text: str) -> str:
        return text.replace("|", "\\|")

    out = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    out += ["| " + " | ".join(escape(c) for c in cells(r)) + " |" for r in rows]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="seed and small sizes only (< 3 min)")
    parser.add_argument("--clusters", type=int, default=64, help="clusters of the large mesh (full run)")
    parser.add_argument("--services", type=int, default=2000, help="services per cluster (full run)")
    parser.add_argument(
        "--only",
        action="append",
        choices=("sim", "kube", "app", "curl", "headless", "huge"),
        help="run only these areas (repeatable; huge implies --huge)",
    )
    parser.add_argument(
        "--huge",
        action="store_true",
        help="also 255 clusters x 200 services: simulator start, app populated, RSS (several minutes)",
    )
    parser.add_argument(
        "--timeout-factor", type=float, default=1.0, help="multiply every step's bound (a slower machine)"
    )
    parser.add_argument("--markdown", action="store_true", help="also print the table as Markdown")
    parser.add_argument("--json", metavar="PATH", help="also write every row and raw figure as JSON")
    parser.add_argument("--log", metavar="PATH", help="the scripts' own output (default: a temp file)")
    args = parser.parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so the running step's processes are stopped
    signal.signal(signal.SIGTERM, interrupt)

    chosen = [
        dataclasses.replace(s, timeout=s.timeout * args.timeout_factor)
        for s in steps(args.quick, args.clusters, args.services, args.huge or "huge" in (args.only or ()))
        if not args.only or s.area in args.only
    ]
    rows: list[Row] = []
    raw: dict[str, Any] = {}
    failures = 0
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="meshtui-run-") as folder:
        log = Path(args.log) if args.log else Path(folder) / "bench.log"
        if args.log:
            log.write_text("")
        print(
            f"meshtui benchmarks ({'quick' if args.quick else 'full'}; {os.cpu_count()} CPUs); "
            f"scripts' output: {log if args.log else '(use --log PATH to keep it)'}",
            flush=True,
        )
        for step in chosen:
            print(f"  {step.area:<9} {step.script} (≤ {step.timeout:g} s) ...", end=" ", flush=True)
            try:
                figures, error, seconds = run_step(step, Path(folder), log)
            except KeyboardInterrupt:  # the step's processes are stopped; show what was measured
                print("interrupted", flush=True)
                rows.append(Row(step.area, step.script, "INTERRUPTED", "runs to the end", False))
                failures += 1
                break
            raw[step.area] = {"figures": figures, "error": error, "seconds": seconds}
            step_rows = collect(step, figures, error)
            rows += step_rows
            failures += any(r.value.startswith("FAILED") for r in step_rows)
            failed = sum(1 for r in step_rows if r.ok is False)
            print(
                f"{seconds:.0f} s{f', {failed} ✗' if failed else ''}{f' ({error})' if error else ''}",
                flush=True,
            )
            if error and not args.log:
                print("    " + "\n    ".join(log.read_text(errors="replace").splitlines()[-15:]), flush=True)
    print(f"\n{text_table(rows)}\n")
    print(f"total {time.monotonic() - started:.0f} s; p95 = nearest rank; ✗ = goal missed or step failed")
    if args.markdown:
        print(f"\n{markdown_table(rows)}")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": [r.__dict__ for r in rows], "raw": raw}, indent=1))
    return 1 if failures else 0


def interrupt(*_: object) -> None:
    """SIGTERM handler: raise where Ctrl-C would, so the same clean-up runs."""
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
