"""Figures of the simulated API servers: start-up, memory, big lists and watch latency.

    python benchmarks/sim_bench.py                      # seed vs --clusters 64 --services 2000
    python benchmarks/sim_bench.py --clusters 8 --services 500

Each scenario runs in a child process (so RSS is its own): start the mesh, list the services of
the biggest namespace of one cluster over HTTPS (5 times, median), then patch a service and time
until the watch event arrives (10 times, median). Also times ``meshtui sim`` (the command) from
exec to its ``ready`` line for the seed scenario. Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUDGETS = {
    "start_s": (1.0, 15.0),
    "rss_mb": (None, 1024.0),
    "list_ms": (None, 100.0),
    "watch_ms": (20.0, 20.0),
}


def current_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def measure(clusters: int, services: int) -> dict[str, float | int | str]:
    import aiohttp

    from tui.sim.mesh import SimMesh
    from tui.sim.scenario import generated, load

    scenario = generated(clusters, services) if clusters else load("seed")
    with tempfile.TemporaryDirectory() as folder:
        t0 = time.perf_counter()
        mesh = SimMesh(scenario, kubeconfig_path=Path(folder) / "kubeconfig", ready_delay=0.05)
        await mesh.start()
        start_s = time.perf_counter() - t0
        rss_mb = current_rss_mb()
        cluster = next(iter(mesh.clusters.values()))
        namespace = max(
            cluster.store.namespaces_with("services"), key=lambda ns: len(cluster.store.items("services", ns))
        )
        count = len(cluster.store.items("services", namespace))
        context = ssl.create_default_context(cadata=cluster.tls.ca_pem.decode())
        headers = {"Authorization": f"Bearer {cluster.admin_token}"}
        base = f"{cluster.url}/api/v1/namespaces/{namespace}/services"
        async with aiohttp.ClientSession(headers=headers) as session:
            async with session.get(base, ssl=context) as response:  # warm the connection
                await response.read()
            lists = []
            for _ in range(5):
                t1 = time.perf_counter()
                async with session.get(base, ssl=context) as response:
                    body = await response.read()
                lists.append(time.perf_counter() - t1)
            assert len(json.loads(body)["items"]) == count
            target = json.loads(body)["items"][0]["metadata"]["name"]
            watches = []
            async with aiohttp.ClientSession(headers=headers) as watcher:
                rv = json.loads(body)["metadata"]["resourceVersion"]
                params = {"watch": "true", "resourceVersion": rv, "timeoutSeconds": "30"}
                async with watcher.get(base, params=params, ssl=context) as stream:
                    for n in range(10):
                        patch = {"metadata": {"annotations": {"bench.meshtui.io/n": str(n)}}}
                        t2 = time.perf_counter()
                        async with session.patch(
                            f"{base}/{target}",
                            json=patch,
                            ssl=context,
                            headers={"Content-Type": "application/merge-patch+json"},
                        ) as r:
                            await r.read()
                        line = await asyncio.wait_for(stream.content.readline(), 10)
                        watches.append(time.perf_counter() - t2)
                        assert b'"MODIFIED"' in line
        await mesh.stop()
    objects = sum(sum(c.store.count(t.key) for t in c.registry.types) for c in mesh.clusters.values())
    return {
        "scenario": scenario.name,
        "clusters": len(mesh.clusters),
        "objects": objects,
        "services_listed": count,
        "start_s": start_s,
        "rss_mb": rss_mb,
        "list_ms": statistics.median(lists) * 1000,
        "watch_ms": statistics.median(watches) * 1000,
    }


def cli_ready_seconds() -> float:
    """``meshtui sim`` from exec to its ``ready`` line (Python start-up and imports included)."""
    with tempfile.TemporaryDirectory() as folder:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "tui", "sim", "--kubeconfig-out", f"{folder}/k.yaml"],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                line = proc.stdout.readline()
                if not line or line.strip() == "ready":
                    break
            return time.perf_counter() - t0
        finally:
            proc.terminate()
            proc.wait(15)
            proc.stdout.close()


def run_child(clusters: int, services: int) -> dict[str, float | int | str]:
    result = subprocess.run(
        [sys.executable, __file__, "--child", str(clusters), str(services)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    if result.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clusters", type=int, default=64)
    parser.add_argument("--services", type=int, default=2000)
    parser.add_argument("--json", metavar="PATH", help="also write the figures to PATH as JSON")
    parser.add_argument("--child", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        from tui.sim.serverloop import new_loop

        with asyncio.Runner(loop_factory=new_loop) as runner:  # the simulator's own loop
            print(json.dumps(runner.run(measure(*args.child))))
        return
    rows = [run_child(0, 0), run_child(args.clusters, args.services)]
    cli = cli_ready_seconds()
    if args.json:  # for benchmarks/run.py
        Path(args.json).write_text(json.dumps({"cli_ready_s": cli, "rows": rows}, indent=1))
    print(f"meshtui sim (seed), exec to 'ready': {cli:.2f} s   (budget 1 s for the mesh start itself)")
    print()
    header = f"{'scenario':<24}{'clusters':>9}{'objects':>10}{'svc listed':>11}{'start s':>9}{'RSS MB':>9}"
    header += f"{'list ms':>9}{'watch ms':>10}"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['scenario']:<24}{row['clusters']:>9}{row['objects']:>10}{row['services_listed']:>11}"
            f"{row['start_s']:>9.2f}{row['rss_mb']:>9.0f}{row['list_ms']:>9.1f}{row['watch_ms']:>10.1f}"
        )
    print()
    print(
        "budgets: seed start <= 1 s; 64x2000 start <= 15 s, RSS <= 1024 MB; list of 2,000 services <= 100 ms;"
    )
    print("         watch event after a patch <= 20 ms (median over 10; the list is median over 5).")


if __name__ == "__main__":
    main()
