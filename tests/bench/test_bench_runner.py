"""benchmarks/run.py: the figures the area scripts write become the right rows and verdicts, a
failed step is a row of its own, and a step's processes are stopped even outside its group."""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

RUN_PY = Path(__file__).resolve().parents[2] / "benchmarks" / "run.py"
_spec = importlib.util.spec_from_file_location("bench_run", RUN_PY)
assert _spec is not None and _spec.loader is not None
run = importlib.util.module_from_spec(_spec)
sys.modules["bench_run"] = run  # dataclasses look their module up by name
_spec.loader.exec_module(run)


def by_figure(rows: list) -> dict[str, object]:
    return {row.figure: row for row in rows}


KUBE = {
    "seed_first_snapshot_s": 0.14,
    "clusters": 64,
    "services": 2000,
    "first_snapshot_s": 22.49,
    "first_snapshot_cpu_s": 12.3,
    "layer_rss_mb": 249.0,
    "threads_os": 2,
    "sockets": 586,
    "patch_p50_s": 0.09,
    "patch_p95_s": 0.771,
    "patches": 40,
    "one_context_sync_s": 0.38,
    "kubectl": {"s": 1.11, "items": 2003},
}


def test_kube_figures_are_judged_against_the_issue_goals() -> None:
    rows = by_figure(run.kube_rows(KUBE))
    seed = rows["first complete snapshot (seed)"]
    assert (seed.value, seed.goal, seed.verdict) == ("140 ms", "≤ 500 ms", "ok")
    large = rows["first complete snapshot (64 × 2,000)"]
    assert large.value.startswith("22.49 s") and large.verdict == "✗"
    assert rows["layer RSS (64 × 2,000, settled − before the hub)"].verdict == "ok"
    patch = rows["patch → notification (64 × 2,000, n=40)"]
    assert (patch.value, patch.verdict) == ("p50 90 ms  p95 771 ms", "✗")
    kubectl = rows["one cluster: layer's full sync / `kubectl get svc -A -o json`"]
    assert (kubectl.value, kubectl.verdict) == ("0.38 s / 1.11 s", "")


def test_a_step_that_failed_keeps_its_figures_and_adds_a_failed_row() -> None:
    step = run.Step("kube", "kube_bench.py", (), 10, run.kube_rows)
    partial = {"seed_first_snapshot_s": 0.7}
    rows = run.collect(step, partial, "timed out after 10 s")
    assert [(r.figure, r.verdict) for r in rows] == [
        ("first complete snapshot (seed)", "✗"),
        ("kube_bench.py", "✗"),
    ]
    assert rows[1].value == "FAILED: timed out after 10 s"
    # figures the rows cannot read are a failure too, not a crash of the runner
    broken = run.collect(step, {"first_snapshot_s": 1.0}, None)
    assert broken[-1].value.startswith("FAILED: figures unreadable (KeyError")


def test_app_percentiles_curl_rate_and_memory_verdicts() -> None:
    app = {
        "clusters": 8,
        "services": 200,
        "events_per_s": 20.0,
        "keys_idle": [0.01 * i for i in range(1, 21)],
    }
    (keys,) = run.app_rows(app)
    assert keys.figure == "key → frame (8 × 200, at rest, n=20)"
    assert keys.value == "p50 110 ms  p95 190 ms  max 200 ms" and keys.verdict == "✗"
    curl = {
        "rate": {"bastion02": {"from": "cluster1", "per_s": 9.5, "p50_ms": 5, "p95_ms": 17, "errors": {}}},
        "memory": {"target": 1000, "answers": 1000, "seconds": 9, "base_mb": 90,
                   "marks_mb": {"100": 91.0, "500": 92.0, "1000": 104.0}},
    }  # fmt: skip
    rate, memory = run.curl_rows(curl)
    assert rate.verdict == "✗" and rate.goal == "≥ 10/s"
    assert memory.value == "104 MB (+13.0 MB from 100 to 1,000 answers)" and memory.verdict == "✗"
    curl["memory"]["marks_mb"]["1000"] = 95.0
    assert run.curl_rows(curl)[1].verdict == "ok"
    curl["memory"]["answers"] = 900  # stopped by its time bound before the target: not met
    assert run.curl_rows(curl)[1].verdict == "✗"


def test_services_ratio_rows() -> None:
    fig = {"best_s": 2.0, "median_s": 2.5, "runs": 3, "items": 2000}
    kubectl = {"best_s": 0.5, "median_s": 1.0, "runs": 3, "items": 2003}
    doc = {"results": [{"label": "64 × 2,000", "clusters": 64, "context": "mesh01", "meshtui_all": fig,
                        "meshtui_one": fig, "kubectl_one": kubectl, "ratio_median": 2.5, "ratio_best": 4.0,
                        "ratio_one_median": 2.5}]}  # fmt: skip
    rows = run.services_rows(doc)
    assert rows[0].value == "2.50 s (best 2.00 s), 2,000 services"
    assert rows[2].value == "2.5× (4.0× best; 0.04× per cluster)"
    assert (rows[2].goal, rows[2].verdict) == ("≤ 5×", "ok")  # issue 16
    doc["results"][0]["ratio_median"] = 19.8
    assert run.services_rows(doc)[2].verdict == "✗"


def test_issue_16_goals_judge_the_large_mesh_rows() -> None:
    app = {
        "clusters": 64,
        "services": 2000,
        "large": {"first_frame": 0.9, "populated": 38.8, "rss_mb": 451.0},
    }
    rows = by_figure(run.app_rows(app))
    populated = rows["start → all panes populated (64 × 2,000)"]
    assert (populated.value, populated.goal, populated.verdict) == ("38.80 s", "≤ 10 s", "✗")
    rss = rows["RSS at populated (64 × 2,000, app only)"]
    assert (rss.goal, rss.verdict) == ("≤ 300 MB", "✗")
    app["large"].update(populated=9.5, rss_mb=290.0)
    assert {r.verdict for r in run.app_rows(app)} == {"ok"}
    kube = by_figure(run.kube_rows({**KUBE, "first_snapshot_s": 2.9}))
    assert kube["first complete snapshot (64 × 2,000)"].goal == "≤ 3 s"
    assert kube["first complete snapshot (64 × 2,000)"].verdict == "ok"


HUGE = {
    "clusters": 255,
    "services": 200,
    "in_process": {"objects": 104_000, "start_s": 6.5, "rss_mb": 380.0},
    "sim_ready_s": 8.2,
    "sim_rss_ready_mb": 379.0,
    "app": {"first_frame": 0.6, "populated": 50.3, "rss_mb": 813.7, "contexts": 255, "services": 201},
    "sim_rss_populated_mb": 580.0,
    "sim_rss_peak_mb": 690.0,
    "sim_cpu_s": 12.0,
    "app_run_s": 57.4,
}


def test_huge_rows_are_the_issue_16_row() -> None:
    rows = by_figure(run.huge_rows(HUGE))
    ready = rows["`meshtui sim` exec → ready (255 × 200)"]
    assert (ready.value, ready.goal, ready.verdict) == ("8.20 s", "≤ 30 s", "ok")
    populated = rows["start → all panes populated (255 × 200, app)"]
    assert (populated.goal, populated.verdict) == ("≤ 20 s", "✗")
    together = rows["RSS at populated, app + simulator (255 × 200)"]
    assert together.value == "1394 MB (app 814 + simulator 580)" and together.verdict == "✗"
    assert rows["mesh start in-process (255 × 200, 104,000 objects)"].value == "6.50 s"
    assert rows["simulator CPU while the app ran (255 × 200)"].value == "12.0 s in 57 s"
    # a run that failed after the simulator started still shows what it measured
    partial = {k: HUGE[k] for k in ("clusters", "services", "sim_ready_s", "sim_rss_ready_mb")}
    assert [r.figure for r in run.huge_rows(partial)] == [
        "`meshtui sim` exec → ready (255 × 200)",
        "simulator RSS at ready (255 × 200)",
    ]


def test_huge_step_runs_only_when_asked() -> None:
    assert "huge" not in [s.area for s in run.steps(False, 64, 2000)]
    assert [s.area for s in run.steps(True, 64, 2000, huge=True)][-1] == "huge"
    huge = run.steps(True, 8, 200, huge=True)[-1]
    assert huge.args[:4] == ("--clusters", "255", "--services", "200")  # whatever the run's size


def test_tables_align_and_escape() -> None:
    rows = [run.Row("a", "x|y", "1 ms", "≤ 2 ms", True), run.Row("bb", "z", "3")]
    text = run.text_table(rows).splitlines()
    assert text[0].split() == ["area", "figure", "value", "goal", "ok"]
    assert text[2].index("x|y") == text[3].index("z") == text[0].index("figure")
    assert text[2].endswith("ok") and text[3].endswith("3")
    assert run.markdown_table(rows).splitlines()[2] == "| a | x\\|y | 1 ms | ≤ 2 ms | ok |"


GRANDCHILD = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True)
print(child.pid, flush=True)
time.sleep(30)
"""


@pytest.fixture
def step_with_grandchild():
    """A child (own session, like a step) that started a grandchild in a session of its own."""
    process = subprocess.Popen(
        [sys.executable, "-c", GRANDCHILD], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    assert process.stdout is not None
    grandchild = int(process.stdout.readline())
    table = run._proc_table()
    ours = {(pid, table[pid][1]) for pid in (process.pid, grandchild) if pid in table}
    yield process, grandchild
    run.signal_all(run.alive(ours), signal.SIGKILL)  # only if the test failed before stopping them
    process.wait(5)
    process.stdout.close()


def test_stop_child_stops_what_the_child_started_outside_its_group(step_with_grandchild) -> None:
    process, grandchild = step_with_grandchild
    seen: set = set()
    started = time.monotonic()
    left = run.stop_child(process, seen, grace=2.0, reap_grace=1.0)
    assert process.returncode is not None
    assert grandchild in left  # not in the child's group: stopped from the pids seen
    assert run.alive(seen) == []
    assert time.monotonic() - started < 2.0
