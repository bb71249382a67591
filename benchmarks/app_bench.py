"""Figures of the app (the TUI) against the simulator: run it, it prints a table.

    /work/venv/bin/python benchmarks/app_bench.py                      # seed + 64 x 2,000
    /work/venv/bin/python benchmarks/app_bench.py --clusters 8 --services 200 --samples 10

How each figure is taken (every wait is bounded; simulators and children are stopped at the end):

* **start → first frame** and **start → all panes populated**: a child process runs the real
  entry point (``tui.app.make_source`` + ``MeshtuiApp``, as ``meshtui`` does) headless at
  160×48; the clock starts in the parent just before the child is spawned (so it includes the
  interpreter and every import) and stops when the child's first frame is drawn, then when
  every context has left "syncing", the services table has rows, the Backends pane shows the
  selected service and every reachable agent's ``cilium status`` has been read. The seed figure
  is ``meshtui --demo`` (the simulator starts inside the child, as for a user); the large one is
  ``meshtui --kubeconfig`` against ``meshtui sim --clusters N --services M`` running as a
  separate process. The child's RSS is read at "populated". The repo's modules are run from
  compiled bytecode, as after ``pip install`` (one uncounted start writes it; this machine's
  environment sets PYTHONDONTWRITEBYTECODE, under which every start compiled ~17,000 lines
  again: ~0.2 s more).
* **annotation patch → visible**: the app runs in this process under Textual's headless
  ``run_test`` against the large simulator, once every context synced and every agent
  answered once (steady state; the way there is the "populated" figure); an independent
  HTTPS client (its own TLS and token, its connections opened before the clock starts)
  merge-patches ``service.cilium.io/affinity`` of the selected service in one cluster; the
  clock stops when the services table holds the new value *and* the next frame was drawn
  (``call_after_refresh``). p50 / p95 over ``--samples`` patches (goal p95 <= 300 ms).
* **key → frame**: keys are injected into the app's driver the way a terminal delivers them
  (``down``/``up`` in the services table, ``1``/``2`` to switch the viewing cluster); the clock
  stops when the Backends pane shows the new service or cluster and the next frame was drawn.
  Measured at rest and while a separate process streams patches to random services of random
  clusters (``--events`` per second), so every cluster's watches keep delivering: half change
  a label (nothing on screen changes), half set the affinity annotation (a cell changes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from kube_bench import Patcher, Simulator  # noqa: E402

CHILD = textwrap.dedent(
    """
    import asyncio, json, sys, time
    started = float(sys.argv[1])
    argv = json.loads(sys.argv[2])
    offset = time.time() - time.perf_counter()
    from tui.cli import build_parser
    from tui import app as appmod
    from tui.appcore.launch import make_source

    args = build_parser().parse_args(argv)
    source, label = make_source(args)
    app = appmod.MeshtuiApp(source, kubeconfig_label=label)
    result = {}

    def rss_mb():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return -1.0

    def populated():
        views, snap = app.views, app.snapshot
        if views is None or not snap.clusters or any(c.phase == "syncing" for c in snap.clusters):
            return False
        if not views.services.rows or views.backends is None:
            return False
        return all(a.status for c in snap.clusters if c.phase == "ok" for a in c.cilium.agents)

    async def main():
        async with app.run_test(size=(160, 48)) as pilot:
            deadline = time.monotonic() + float(sys.argv[3])
            while "populated" not in result:
                if time.monotonic() > deadline:
                    result["error"] = "timeout"
                    break
                if "first_frame" not in result and app.first_frame_at is not None:
                    result["first_frame"] = app.first_frame_at + offset - started
                if "first_frame" in result and populated():
                    await pilot.pause()  # the frame that shows it
                    result["populated"] = time.time() - started
                    result["rss_mb"] = rss_mb()
                    result["contexts"] = len(app.snapshot.clusters)
                    result["services"] = len(app.views.services.rows)
                    break
                await asyncio.sleep(0.005)
            await pilot.press("q")

    asyncio.run(main())
    print("RESULT " + json.dumps(result), flush=True)
    """
)


def run_child(argv: list[str], timeout: float) -> dict[str, Any]:
    """The app in a child process; its first frame and "populated" times from spawn."""
    # As installed: pip compiles the bytecode at install; this machine's environment sets
    # PYTHONDONTWRITEBYTECODE, under which every start would compile the repo's modules again.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {"TZ": "UTC"}
    started = time.time()
    process = subprocess.run(
        [sys.executable, "-c", CHILD, repr(started), json.dumps(argv), str(timeout)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout + 30,
        env=env,
        check=False,
    )
    for line in process.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"child failed ({process.returncode}): {process.stderr[-2000:]}")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ms(value: float) -> str:
    return f"{value * 1000:.0f} ms"


EVENTS = textwrap.dedent(
    """
    import asyncio, json, random, sys, time
    sys.path.insert(0, sys.argv[3])
    from kube_bench import Patcher
    from pathlib import Path

    import signal
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))

    AFFINITIES = ("local", "remote", "none")

    async def main():
        patcher = Patcher(Path(sys.argv[1]))
        rate = float(sys.argv[2])
        contexts = list(patcher.targets)
        names = [f"svc-{i:04d}" for i in range(int(sys.argv[4]))]
        deadline = time.monotonic() + float(sys.argv[5])
        sent = 0
        try:
            while time.monotonic() < deadline:
                tick = time.monotonic()
                ctx = random.choice(contexts)
                server, token, ssl_ctx = patcher.targets[ctx]
                url = f"{server}/api/v1/namespaces/bench/services/{random.choice(names)}"
                if sent % 2:  # every other event changes what the services table shows
                    change = {"annotations": {"service.cilium.io/affinity": random.choice(AFFINITIES)}}
                else:  # the others change nothing on screen (labels), as most real events
                    change = {"labels": {"bench-tick": str(sent)}}
                body = json.dumps({"metadata": change})
                headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/merge-patch+json"}
                async with patcher.session.patch(url, data=body, headers=headers, ssl=ssl_ctx) as r:
                    await r.read()
                sent += 1
                await asyncio.sleep(max(0.0, 1.0 / rate - (time.monotonic() - tick)))
        finally:
            await patcher.close()
            print(sent, flush=True)

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    """
)


async def measure_in_process(
    kubeconfig: Path, samples: int, events: float, services: int, timeout: float
) -> dict[str, Any]:
    """Patch → visible and key → frame with the app under ``run_test`` in this process."""
    from textual import events as tevents

    from tui.app import MeshtuiApp
    from tui.compat.textual_private import driver
    from tui.kube.source import KubeSource
    from widgets.backends import BackendsPane
    from widgets.services import ServicesPane

    source = KubeSource(str(kubeconfig))
    app = MeshtuiApp(source, kubeconfig_label=str(kubeconfig))
    out: dict[str, Any] = {}
    async with app.run_test(size=(160, 48)) as pilot:
        deadline = time.monotonic() + timeout
        while not (
            app.views is not None
            and app.views.services.rows
            and app.views.backends is not None
            and all(c.phase != "syncing" for c in app.snapshot.clusters)
            and app.snapshot.clusters
            # steady state: every agent answered once (at 64 clusters that round ends well
            # after the lists; "populated" above is the figure for it)
            and all(a.status for c in app.snapshot.clusters if c.phase == "ok" for a in c.cilium.agents)
        ):
            if time.monotonic() > deadline:
                raise TimeoutError("the app did not sync")
            await pilot.pause(0.1)
        await pilot.pause(2.0)  # the GC thaw

        async def frame() -> None:
            drawn = asyncio.Event()
            app.call_after_refresh(drawn.set)
            await asyncio.wait_for(drawn.wait(), 10)

        async def wait_until(predicate: Callable[[], bool], limit: float = 10.0) -> None:
            end = time.monotonic() + limit
            while not predicate():
                if time.monotonic() > end:
                    raise TimeoutError("not visible in time")
                await asyncio.sleep(0.001)

        # --- annotation patch -> visible ---------------------------------------------------
        patcher = Patcher(kubeconfig)
        await patcher.warm()
        table = app.query_one(ServicesPane).table
        key = app.service
        assert key is not None
        row_key = f"{key[0]}/{key[1]}"
        contexts = [c.context for c in app.snapshot.clusters]
        latencies = []
        try:
            for index in range(samples):
                context = contexts[index % len(contexts)]
                value = "local" if (index // len(contexts)) % 2 == 0 else "remote"
                state = app.snapshot.by_context(context)
                assert state is not None
                before = state.services[key].annotations.get("service.cilium.io/affinity")
                if before == value:
                    value = "none"
                before_cells = table.shown.get(row_key)
                started = time.monotonic()
                await patcher.annotate(context, key[0], key[1], "service.cilium.io/affinity", value)

                def visible(ctx: str = context, v: str = value, old: Any = before_cells) -> bool:
                    s = app.views.snapshot.by_context(ctx) if app.views else None
                    shown = table.shown.get(row_key)
                    return (
                        s is not None
                        and s.services[key].annotations.get("service.cilium.io/affinity") == v
                        and shown is not None
                        and shown != old
                    )

                await wait_until(visible)
                await frame()
                latencies.append(time.monotonic() - started)
                await asyncio.sleep(0.2)
        finally:
            await patcher.close()
        out["patch"] = latencies

        # --- key -> frame ------------------------------------------------------------------
        backends = app.query_one(BackendsPane)

        async def keys(count: int) -> list[float]:
            results = []
            for index in range(count):
                if index % 4 == 3:
                    key_name = "2" if app.viewing == contexts[0] else "1"
                else:
                    key_name = "down" if (index // 4) % 2 == 0 else "up"
                before_title = backends.border_title
                event = tevents.Key(key_name, key_name if len(key_name) == 1 else None)
                event.set_sender(app)
                started = time.monotonic()
                driver(app).send_message(event)  # as a terminal's key arrives
                try:
                    await wait_until(lambda b=before_title: backends.border_title != b)
                except TimeoutError:
                    table = app.query_one(ServicesPane).table
                    raise TimeoutError(
                        f"key {key_name!r}: still {before_title!r}; app service {app.service} "
                        f"viewing {app.viewing}; cursor {table.cursor_key} focus {app.focused}"
                    ) from None
                await frame()
                results.append(time.monotonic() - started)
                await asyncio.sleep(0.15 + random.random() * 0.1)
            return results

        app.query_one(ServicesPane).table.focus()
        await pilot.pause(0.2)
        out["keys_idle"] = await keys(samples)
        generator = subprocess.Popen(
            [
                sys.executable,
                "-c",
                EVENTS,
                str(kubeconfig),
                str(events),
                str(ROOT / "benchmarks"),
                str(max(1, services)),
                str(samples * 0.5 + 20),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            await asyncio.sleep(2.0)  # let the stream reach every cluster's watches
            repaints = app.repaints
            busy_started = time.monotonic()
            out["keys_busy"] = await keys(samples)
            out["repaints_per_s"] = (app.repaints - repaints) / (time.monotonic() - busy_started)
        finally:
            generator.terminate()
            try:
                sent, _ = generator.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                generator.kill()
                sent, _ = generator.communicate()
        out["events_sent"] = sent.strip()
        await pilot.press("q")
    return out


def write_figures(path: str | None, figures: dict[str, Any]) -> None:
    """Write the figures taken so far as JSON (for ``benchmarks/run.py``), also after a failure."""
    if path:
        Path(path).write_text(json.dumps(figures, indent=1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clusters", type=int, default=64)
    parser.add_argument("--services", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=20, help="patches and keys measured")
    parser.add_argument("--events", type=float, default=100.0, help="label patches per second while busy")
    parser.add_argument("--runs", type=int, default=3, help="child runs of the seed start")
    parser.add_argument("--timeout", type=float, default=180.0, help="bound for each start and sync")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to PATH as JSON")
    args = parser.parse_args(argv)
    # ``timeout`` / ``kill`` send SIGTERM: unwind like Ctrl-C so the simulator is stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    out: dict[str, Any] = {"clusters": args.clusters, "services": args.services}
    try:
        return report(args, out)
    finally:
        write_figures(args.json, out)


def report(args: argparse.Namespace, out: dict[str, Any]) -> int:
    """Take every figure (into ``out`` as soon as it is known), then print the table."""
    rows: list[tuple[str, str, str]] = []

    warm_up = run_child(["--demo"], 30)  # not counted: writes the bytecode (see run_child)
    if "error" in warm_up:
        raise RuntimeError(f"seed start: {warm_up}")
    seed = [run_child(["--demo"], 30) for _ in range(args.runs)]
    for item in seed:
        if "error" in item:
            raise RuntimeError(f"seed start: {item}")
    first = [s["first_frame"] for s in seed]
    populated = [s["populated"] for s in seed]
    out["seed"] = {"first_frame_s": first, "populated_s": populated, "rss_mb": seed[0]["rss_mb"]}
    rows.append(
        (
            "start → first frame (seed, --demo)",
            f"{ms(statistics.median(first))} (max {ms(max(first))})",
            "≤ 1 s",
        )
    )
    rows.append(("start → all panes populated (seed, --demo)", ms(statistics.median(populated)), ""))
    rows.append(("RSS at populated (seed, --demo, with the simulator)", f"{seed[0]['rss_mb']:.0f} MB", ""))

    label = f"{args.clusters} × {args.services:,}"
    with tempfile.TemporaryDirectory(prefix="meshtui-app-bench-") as folder:
        sim_args = ["--clusters", str(args.clusters), "--services", str(args.services), "--seed", "1"]
        simulator = Simulator(sim_args, Path(folder), args.timeout)
        try:
            large = run_child(["--kubeconfig", str(simulator.kubeconfig)], args.timeout)
            if "error" in large:
                raise RuntimeError(f"large start: {large}")
            out["large"] = {k: large[k] for k in ("first_frame", "populated", "rss_mb", "contexts")}
            rows.append((f"start → first frame ({label})", ms(large["first_frame"]), "≤ 1 s"))
            rows.append((f"start → all panes populated ({label})", f"{large['populated']:.1f} s", ""))
            rows.append((f"RSS at populated ({label}, app only)", f"{large['rss_mb']:.0f} MB", ""))
            figures = asyncio.run(
                measure_in_process(
                    simulator.kubeconfig, args.samples, args.events, args.services, args.timeout
                )
            )
        finally:
            simulator.stop()
    out.update({k: figures[k] for k in ("patch", "keys_idle", "keys_busy", "repaints_per_s", "events_sent")})
    out["events_per_s"] = args.events
    patch = figures["patch"]
    rows.append(
        (
            f"annotation patch → visible ({label}, n={len(patch)})",
            f"p50 {ms(pct(patch, 0.5))}  p95 {ms(pct(patch, 0.95))}",
            "p95 ≤ 300 ms",
        )
    )
    for name, what in (("keys_idle", "at rest"), ("keys_busy", f"while {args.events:g} events/s stream")):
        values = figures[name]
        rows.append(
            (
                f"key → frame ({label}, {what}, n={len(values)})",
                f"p50 {ms(pct(values, 0.5))}  p95 {ms(pct(values, 0.95))}  max {ms(max(values))}",
                "≤ 100 ms",
            )
        )
    rows.append(("repaints per second while busy", f"{figures['repaints_per_s']:.1f}", "≤ 4"))

    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    print(f"{'figure':<{width}}  {'measured':<{value_width}}  goal")
    for name, value, goal in rows:
        print(f"{name:<{width}}  {value:<{value_width}}  {goal}")
    print(f"(events sent by the stream: {figures['events_sent']}; machine: {os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
