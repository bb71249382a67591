"""Profiles of the cluster-access layer's first complete snapshot (issue 16's notes).

    # against a running simulator (start one: python -m tui sim --clusters 64 --services 2000
    #   --seed 1 --kubeconfig-out /tmp/big.kubeconfig)
    python benchmarks/profile_layer.py --kubeconfig /tmp/big.kubeconfig --mode time
    python benchmarks/profile_layer.py --kubeconfig /tmp/big.kubeconfig --mode cprofile
    python benchmarks/profile_layer.py --kubeconfig /tmp/big.kubeconfig --mode memory

Why a script of its own: ``kube_bench.py`` takes the figures; this answers *where* they go.
``time`` prints wall / CPU to the first complete snapshot and the RSS the layer adds (the same
measure as ``kube_bench.py``, without the patches); ``cprofile`` runs the same under cProfile
(every thread of the layer is the one loop here) and prints the top entries by own time;
``memory`` takes a tracemalloc snapshot once settled (allocation sites grouped by line), counts
live objects by type and prints ``sys.getsizeof`` of one stored service, slice value and their
parts. The profile's own overhead inflates ``cprofile``'s times (about 2×): read the shares.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import cProfile
import gc
import io
import os
import pstats
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from kube_bench import rss_mb  # noqa: E402


def process_cpu(pid: int | None) -> float:
    """User + system CPU seconds of another process (the simulator), 0 without a pid."""
    if not pid:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


SIM_PID: int | None = None
"""``--sim-pid``: the simulator's CPU over the first snapshot is printed too."""


async def sync(kubeconfig: str, settle: float) -> tuple[Any, float, float, float]:
    """Start a hub, wait for its first complete snapshot; (hub, wall s, CPU s, layer RSS MB)."""
    from tui.kube.hub import MeshHub

    baseline = rss_mb()
    hub = MeshHub(kubeconfig)
    sim_cpu = process_cpu(SIM_PID)
    started, cpu = time.monotonic(), time.process_time()
    await hub.start()
    await hub.wait_synced(180)
    wall, cpu_used = time.monotonic() - started, time.process_time() - cpu
    if SIM_PID:
        print(f"  simulator CPU over the first snapshot: {process_cpu(SIM_PID) - sim_cpu:.2f} s")

    def agents_read(snapshot: Any) -> bool:
        return all(a.status for c in snapshot.clusters if c.phase == "ok" for a in c.cilium.agents)

    await hub.wait_for(agents_read, 180)
    agents = time.monotonic() - started
    cpu_agents = time.process_time() - cpu
    print(f"  every agent's cilium status read {agents:.2f} s after start (CPU {cpu_agents:.2f} s)")
    await asyncio.sleep(settle)
    return hub, wall, cpu_used, rss_mb() - baseline


def deep_size(value: Any, seen: set[int]) -> int:
    """``sys.getsizeof`` of ``value`` and everything it holds that was not counted yet."""
    if id(value) in seen:
        return 0
    seen.add(id(value))
    size = sys.getsizeof(value)
    if isinstance(value, dict) or type(value).__name__ == "mappingproxy":
        size += sum(deep_size(k, seen) + deep_size(v, seen) for k, v in value.items())
    elif isinstance(value, (tuple, list, set, frozenset)):
        size += sum(deep_size(v, seen) for v in value)
    elif hasattr(value, "__slots__"):
        for slot in getattr(type(value), "__slots__", ()):
            if hasattr(value, slot):
                size += deep_size(getattr(value, slot), seen)
    return size


def memory_report(hub: Any, snapshot_before: tracemalloc.Snapshot | None) -> None:
    snap = tracemalloc.take_snapshot()
    snap = snap.filter_traces((tracemalloc.Filter(False, tracemalloc.__file__),))
    stats = snap.compare_to(snapshot_before, "lineno") if snapshot_before else snap.statistics("lineno")
    total = sum(s.size for s in snap.statistics("filename"))
    print(f"tracemalloc: {total / 2**20:.1f} MiB traced in Python allocations")
    print("top 25 allocation sites (lineno):")
    for stat in stats[:25]:
        frame = stat.traceback[0]
        print(f"  {stat.size / 2**20:7.1f} MiB {stat.count:9,d} blocks  {frame.filename}:{frame.lineno}")
    print("by file (top 12):")
    for stat in snap.statistics("filename")[:12]:
        frame = stat.traceback[0]
        print(f"  {stat.size / 2**20:7.1f} MiB {stat.count:9,d} blocks  {frame.filename}")
    counts: collections.Counter[str] = collections.Counter()
    sizes: collections.Counter[str] = collections.Counter()
    for obj in gc.get_objects():
        name = type(obj).__name__
        counts[name] += 1
        sizes[name] += sys.getsizeof(obj)
    print("gc-tracked objects by type (top 20; untracked ones: str, int, gc=False structs, not here):")
    for name, count in counts.most_common(20):
        print(f"  {count:9,d}  {sizes[name] / 2**20:7.1f} MiB  {name}")
    cluster = next(iter(hub.clusters.values()))
    services = cluster.reflectors["services"]
    slices = cluster.reflectors["endpointslices"]
    key = next(k for k in services.items if k[0] == "bench")
    service = services.items[key]
    print(f"one stored service {key}: getsizeof {sys.getsizeof(service)} B, "
          f"deep (shared parts counted once here) {deep_size(service, set())} B")  # fmt: skip
    for slot in type(service).__slots__:
        value = getattr(service, slot)
        print(f"    .{slot}: {type(value).__name__} {sys.getsizeof(value)} B")
    slice_key = next(iter(slices.items))
    value = slices.items[slice_key]
    print(
        f"one slice value {slice_key}: getsizeof {sys.getsizeof(value)} B, deep {deep_size(value, set())} B"
    )
    per_cluster = {name: len(r.items) for name, r in cluster.reflectors.items()}
    print(f"objects stored per cluster: {per_cluster}")
    print(f"versions dict per cluster (services): {sys.getsizeof(services.versions) / 1024:.0f} KiB, "
          f"items dict {sys.getsizeof(services.items) / 1024:.0f} KiB")  # fmt: skip


async def main_async(args: argparse.Namespace) -> None:
    if args.mode == "memory":
        tracemalloc.start(1)
        before = tracemalloc.take_snapshot() if args.diff else None
        hub, wall, cpu, layer = await sync(args.kubeconfig, args.settle)
        print(f"first complete snapshot {wall:.2f} s (CPU {cpu:.2f} s, tracemalloc on)", end="")
        print(f"; layer RSS {layer:.0f} MB")
        memory_report(hub, before)
    elif args.mode == "cprofile":
        profile = cProfile.Profile()
        profile.enable()
        hub, wall, cpu, layer = await sync(args.kubeconfig, 0)
        profile.disable()
        print(f"first complete snapshot {wall:.2f} s (CPU {cpu:.2f} s, under cProfile)")
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out)
        stats.sort_stats("tottime").print_stats(args.top)
        print(out.getvalue())
        if args.dump:
            stats.dump_stats(args.dump)
    else:
        hub, wall, cpu, layer = await sync(args.kubeconfig, args.settle)
        print(f"first complete snapshot {wall:.2f} s (CPU {cpu:.2f} s); layer RSS {layer:.0f} MB")
    await hub.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--mode", choices=("time", "cprofile", "memory"), default="time")
    parser.add_argument("--settle", type=float, default=3.0)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--diff", action="store_true", help="memory: only what the hub added")
    parser.add_argument("--dump", help="cprofile: also write the stats here")
    parser.add_argument("--sim-pid", type=int, help="also print the simulator's CPU over the sync")
    args = parser.parse_args()
    global SIM_PID
    SIM_PID = args.sim_pid
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
