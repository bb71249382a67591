"""Figures of the cluster-access layer against the simulator (run it, it prints them).

    /work/venv/bin/python benchmarks/kube_bench.py                 # 64 clusters x 2,000 services
    /work/venv/bin/python benchmarks/kube_bench.py --clusters 8 --services 500 --patches 20
    /work/venv/bin/python benchmarks/kube_bench.py --decoder json      # the stdlib path, to compare

The simulator runs as a separate process (``meshtui sim``) so that this process's RSS and
threads are the layer's alone. Measured here:

* seed scenario: time from ``MeshHub.start()`` to the first snapshot with no context syncing
  (goal <= 0.5 s);
* N clusters x M services: the same (goal <= 5 s), CPU time, RSS (goal <= 300 MB for the
  layer: RSS after the sync minus RSS before the hub started), threads, open sockets;
* patch-to-notification latency: a separate HTTPS client (its connection to every cluster
  opened beforehand, so no handshake is timed) merge-patches an annotation of a random service
  in a random cluster; the time from sending the patch until a listener receives a snapshot
  with the new value (p50 / p95, goal p95 <= 100 ms);
* ``kubectl get svc -A -o json`` against one cluster, beside the layer's own list + parse of
  the same services and its full sync of that one cluster.

``--decoder json`` runs the layer on the stdlib path (``json`` + ``tui.kube.parse``) instead of
msgspec's structs (``tui.kube.wire``), for comparing the two on the same machine.

Every step is bounded in time; the simulators are stopped at the end (or on error).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tui.kube import parse, wire  # noqa: E402
from tui.kube.hub import MeshHub  # noqa: E402
from tui.kube.settings import HubSettings  # noqa: E402
from tui.kube.watch import WatchSettings  # noqa: E402
from tui.mesh.model import MeshSnapshot  # noqa: E402


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def os_threads() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return -1


def open_sockets() -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                count += 1
        except OSError:
            pass
    return count


class Simulator:
    """``meshtui sim`` in a subprocess, with its kubeconfig in a private folder."""

    def __init__(self, args: list[str], folder: Path, timeout: float) -> None:
        self.kubeconfig = folder / "kubeconfig"
        command = [sys.executable, "-m", "tui", "sim", *args, "--kubeconfig-out", str(self.kubeconfig)]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        started = time.monotonic()
        assert self.process.stdout is not None
        lines: list[str] = []
        while True:
            if time.monotonic() - started > timeout:
                self.stop()
                raise TimeoutError(f"the simulator did not start within {timeout:g} s")
            line = self.process.stdout.readline()
            if not line:
                self.stop()
                raise RuntimeError("the simulator exited:\n" + "".join(lines[-20:]))
            lines.append(line)
            if line.strip() == "ready":
                break
        self.started_in = time.monotonic() - started
        # keep draining its output so it never blocks on a full pipe
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for _ in self.process.stdout:
            pass

    def rss_mb(self) -> float:
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return float("nan")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


SETTINGS = HubSettings()
"""The layer's settings (``--decoder`` changes them)."""


async def first_snapshot(
    kubeconfig: Path, contexts: list[str] | None, timeout: float
) -> tuple[MeshHub, float, float]:
    hub = MeshHub(str(kubeconfig), contexts, settings=SETTINGS)
    started, cpu = time.monotonic(), time.process_time()
    await hub.start()
    snapshot = await hub.wait_synced(timeout)
    elapsed, cpu_used = time.monotonic() - started, time.process_time() - cpu
    bad = [(c.context, c.phase, c.reason) for c in snapshot.clusters if c.phase != "ok"]
    if bad:
        print(f"  note: not ok: {bad[:5]}{' ...' if len(bad) > 5 else ''}")
    return hub, elapsed, cpu_used


class Patcher:
    """An independent HTTPS client (its own TLS and token per cluster), as another operator."""

    def __init__(self, kubeconfig: Path) -> None:
        doc = yaml.safe_load(kubeconfig.read_text())
        clusters = {c["name"]: c["cluster"] for c in doc["clusters"]}
        users = {u["name"]: u["user"] for u in doc["users"]}
        self.targets: dict[str, tuple[str, str, ssl.SSLContext]] = {}
        for ctx in doc["contexts"]:
            cluster = clusters[ctx["context"]["cluster"]]
            ca = base64.b64decode(cluster["certificate-authority-data"]).decode()
            token = users[ctx["context"]["user"]]["token"]
            self.targets[ctx["name"]] = (cluster["server"], token, ssl.create_default_context(cadata=ca))
        # kept alive for the whole run: a patch must not pay for a new TLS handshake
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(keepalive_timeout=600))

    async def warm(self) -> None:
        """Open (and keep) one connection per cluster before anything is timed.

        Why: the figure is patch -> notification. A cold connection adds the patcher's own TCP
        and TLS handshake (tens of ms, ~100 ms on a busy simulator) to every first patch of a
        cluster, which is neither the server's work nor the layer's.
        """

        async def one(server: str, token: str, context_ssl: ssl.SSLContext) -> None:
            headers = {"Authorization": f"Bearer {token}"}
            async with self.session.get(f"{server}/version", headers=headers, ssl=context_ssl) as response:
                await response.read()

        await asyncio.gather(*(one(*target) for target in self.targets.values()))

    async def annotate(self, context: str, namespace: str, name: str, key: str, value: str) -> None:
        server, token, context_ssl = self.targets[context]
        url = f"{server}/api/v1/namespaces/{namespace}/services/{name}"
        body = json.dumps({"metadata": {"annotations": {key: value}}})
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/merge-patch+json"}
        async with self.session.patch(url, data=body, headers=headers, ssl=context_ssl) as response:
            await response.read()
            if response.status != 200:
                raise RuntimeError(f"patch failed: HTTP {response.status}")

    async def close(self) -> None:
        await self.session.close()


class EventClock:
    """When the watch event of a benchmark patch reached the layer (the simulator's share ends)."""

    def __init__(self) -> None:
        from tui.kube import watch

        self.seen: dict[bytes, float] = {}
        original = watch.Reflector._event

        def timed(reflector: Any, line: bytes, changed: set[Any]) -> None:
            if b"bench/seq" in line:
                start = line.find(b'"bench/seq":"') + len(b'"bench/seq":"')
                self.seen.setdefault(bytes(line[start : line.find(b'"', start)]), time.monotonic())
            original(reflector, line, changed)

        watch.Reflector._event = timed  # type: ignore[method-assign]
        self._restore = lambda: setattr(watch.Reflector, "_event", original)

    def close(self) -> None:
        self._restore()


async def patch_latencies(
    hub: MeshHub, kubeconfig: Path, count: int, gap: float
) -> tuple[list[float], list[float]]:
    """Patch, then wait for the listener to see it; one at a time, ``gap`` seconds apart.

    Returns (end-to-end latencies, the layer's share: watch event read -> listener called).
    """
    patcher = Patcher(kubeconfig)
    await patcher.warm()
    clock = EventClock()
    pending: dict[tuple[str, tuple[str, str], str], tuple[float, asyncio.Future[float]]] = {}
    loop = asyncio.get_running_loop()

    def listener(snapshot: MeshSnapshot) -> None:
        now = time.monotonic()
        for (context, key, value), (sent, future) in list(pending.items()):
            state = snapshot.by_context(context)
            service = state.services.get(key) if state else None
            if service is not None and service.annotations.get("bench/seq") == value and not future.done():
                future.set_result(now - sent)
                del pending[(context, key, value)]

    hub.listen(listener)
    rng = random.Random(7)
    latencies: list[float] = []
    shares: list[float] = []
    try:
        snapshot = hub.snapshot()
        candidates = [
            (c.context, k) for c in snapshot.clusters for k in list(c.services)[:50] if k[0] != "default"
        ]
        for i in range(count):
            context, key = rng.choice(candidates)
            value = f"{i}-{rng.random():.6f}"
            future: asyncio.Future[float] = loop.create_future()
            pending[(context, key, value)] = (time.monotonic(), future)
            sent = time.monotonic()
            await patcher.annotate(context, key[0], key[1], "bench/seq", value)
            latency = await asyncio.wait_for(future, 10)
            latencies.append(latency)
            arrived = clock.seen.get(value.encode())
            if arrived is not None:
                shares.append(sent + latency - arrived)
            await asyncio.sleep(gap)
    finally:
        hub.unlisten(listener)
        clock.close()
        await patcher.close()
    return latencies, shares


async def raw_service_list(hub: MeshHub, context: str) -> tuple[float, int]:
    """The layer's own read of one cluster's services: request + JSON + parse (no watches)."""
    from tui.kube.client import Action

    client = hub.clusters[context].client
    assert client is not None
    started = time.monotonic()
    data = await client.request("GET", "/api/v1/services", action=Action("list", "services", ""))
    if SETTINGS.watch.decoder == "json":
        services = [parse.service(item) for item in json.loads(data)["items"]]
    else:
        services = [wire.service(item) for item in wire.SERVICES.list_decoder.decode(data).items or ()]
    return time.monotonic() - started, len(services)


def kubectl_services(kubeconfig: Path, context: str, timeout: float) -> tuple[float, int] | str:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return "kubectl not found"
    with tempfile.TemporaryDirectory() as cache:
        command = [kubectl, "--kubeconfig", str(kubeconfig), "--context", context, "--cache-dir", cache]
        command += ["get", "svc", "-A", "-o", "json"]
        started = time.monotonic()
        try:
            done = subprocess.run(
                command, capture_output=True, timeout=timeout, env={**os.environ, "HOME": cache}
            )
        except subprocess.TimeoutExpired:
            return f"timed out after {timeout:g} s"
        elapsed = time.monotonic() - started
    if done.returncode != 0:
        return f"failed: {done.stderr.decode(errors='replace').strip()[:200]}"
    return elapsed, len(json.loads(done.stdout)["items"])


FIGURES: dict[str, Any] = {}
"""Every figure printed, by name, for ``--json`` (the runner, ``benchmarks/run.py``, reads it)."""


def write_figures(path: str | None) -> None:
    """Write :data:`FIGURES` as JSON (also after a failure: the figures taken so far count)."""
    if path:
        Path(path).write_text(json.dumps(FIGURES, indent=1))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(args: argparse.Namespace, folder: Path) -> None:
    print(
        f"meshtui cluster-access benchmark  (python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"decoder {SETTINGS.watch.decoder})"
    )
    FIGURES["decoder"] = SETTINGS.watch.decoder
    if not args.skip_seed:
        sim = Simulator(["--scenario", "seed"], folder / "seed", args.timeout)
        try:
            hub, elapsed, _cpu = await first_snapshot(sim.kubeconfig, None, args.timeout)
            clusters = len(hub.snapshot().clusters)
            await hub.stop()
        finally:
            sim.stop()
        print(
            f"seed ({clusters} clusters): first complete snapshot {elapsed * 1000:.0f} ms   (goal <= 500 ms)"
        )
        FIGURES["seed_first_snapshot_s"] = elapsed
        FIGURES["seed_clusters"] = clusters

    print(f"starting the simulator: {args.clusters} clusters x {args.services} services ...", flush=True)
    sim = Simulator(
        ["--clusters", str(args.clusters), "--services", str(args.services)], folder / "big", args.timeout
    )
    try:
        print(f"  simulator ready in {sim.started_in:.1f} s (its RSS {sim.rss_mb():.0f} MB, another process)")
        FIGURES.update(clusters=args.clusters, services=args.services, sim_ready_s=sim.started_in)
        baseline = rss_mb()
        hub, elapsed, cpu = await first_snapshot(sim.kubeconfig, None, args.timeout)
        snapshot = hub.snapshot()
        services = sum(len(c.services) for c in snapshot.clusters)
        backends = sum(len(s.backends) for c in snapshot.clusters for s in c.services.values())
        after_sync = rss_mb()
        await asyncio.sleep(args.settle)
        settled = rss_mb()
        print(f"{args.clusters} x {args.services}: first complete snapshot {elapsed:.2f} s (CPU {cpu:.2f} s)"
              f"   (goal <= 5 s)")  # fmt: skip
        print(f"  {len(snapshot.clusters)} contexts, {services} services, {backends} backends")
        layer = settled - baseline
        print(f"  RSS: {baseline:.0f} MB before the hub, {after_sync:.0f} MB at first snapshot, ", end="")
        print(f"{settled:.0f} MB after {args.settle:g} s -> layer {layer:.0f} MB   (goal <= 300 MB)")
        threads = f"{threading.active_count()} Python / {os_threads()} OS"
        FIGURES.update(
            first_snapshot_s=elapsed,
            first_snapshot_cpu_s=cpu,
            contexts=len(snapshot.clusters),
            services_total=services,
            rss_before_mb=baseline,
            rss_settled_mb=settled,
            layer_rss_mb=layer,
            threads_os=os_threads(),
            sockets=open_sockets(),
        )
        print(f"  threads: {threads};  sockets open: {open_sockets()}")

        latencies, shares = await patch_latencies(hub, sim.kubeconfig, args.patches, args.gap)
        p50, p95, worst = (pct(latencies, 0.5) * 1000, pct(latencies, 0.95) * 1000, max(latencies) * 1000)
        print(f"  patch -> notification over {len(latencies)} patches: p50 {p50:.0f} ms, ", end="")
        print(f"p95 {p95:.0f} ms, max {worst:.0f} ms   (goal p95 <= 100 ms)")
        FIGURES.update(patch_p50_s=p50 / 1000, patch_p95_s=p95 / 1000, patch_max_s=worst / 1000)
        FIGURES["patches"] = len(latencies)
        if shares:
            s50, s95 = pct(shares, 0.5) * 1000, pct(shares, 0.95) * 1000
            print(
                f"    of which the layer (watch event read -> listener): p50 {s50:.1f} ms, p95 {s95:.1f} ms"
            )

        context = snapshot.clusters[0].context
        raw_elapsed, raw_count = await raw_service_list(hub, context)
        await hub.stop()
        one_hub, one_elapsed, _ = await first_snapshot(sim.kubeconfig, [context], args.timeout)
        await one_hub.stop()
        kubectl = kubectl_services(sim.kubeconfig, context, args.timeout)
        print(f"one cluster ({context}):")
        FIGURES.update(one_context=context, raw_list_s=raw_elapsed, raw_list_count=raw_count)
        FIGURES["one_context_sync_s"] = one_elapsed
        FIGURES["kubectl"] = kubectl if isinstance(kubectl, str) else {"s": kubectl[0], "items": kubectl[1]}
        if isinstance(kubectl, str):
            print(f"  kubectl get svc -A -o json: {kubectl}")
        else:
            print(
                f"  kubectl get svc -A -o json: {kubectl[0]:.2f} s for {kubectl[1]} services (a new process)"
            )
        print(f"  layer, services list + JSON + parse: {raw_elapsed:.2f} s for {raw_count} services")
        print(f"  layer, complete sync of the context (all resources): {one_elapsed:.2f} s")
    finally:
        sim.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--clusters", type=int, default=64)
    parser.add_argument("--services", type=int, default=2000)
    parser.add_argument("--patches", type=int, default=40, help="patches for the latency figure")
    parser.add_argument("--gap", type=float, default=0.1, help="seconds between patches")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds before the second RSS reading")
    parser.add_argument("--timeout", type=float, default=180.0, help="bound of every step, seconds")
    parser.add_argument("--skip-seed", action="store_true")
    parser.add_argument(
        "--decoder",
        choices=("msgspec", "json"),
        default="msgspec",
        help="how the layer decodes lists and events (json: the stdlib path, to compare)",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the figures to PATH as JSON")
    args = parser.parse_args()
    global SETTINGS
    SETTINGS = HubSettings(watch=WatchSettings(decoder=args.decoder))
    # ``timeout`` / ``kill`` send SIGTERM: unwind like Ctrl-C so every simulator is stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    folder = Path(tempfile.mkdtemp(prefix="meshtui-bench-"))
    try:
        asyncio.run(run(args, folder))
    finally:
        write_figures(args.json)
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
