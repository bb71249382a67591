"""A hostile API endpoint in the kubeconfig: bounded responses, bounded execs, and one bad
peer that only hurts itself (issue 17, points 3 and 4, and "keep it so").

Each misbehaviour of :mod:`hostileapi` (its own process on 127.0.0.1) is put in a kubeconfig as
context ``evil``; the cluster-access layer must report it on that context with a reason that
says what went wrong, within a bound, and stop cleanly. With the simulator's healthy clusters
beside a flooding peer, their agents' ``cilium status`` reads must keep their cadence. Last,
the app runs with every hostile mode at once beside the simulator: it keeps going, shows each
bad context and still follows the healthy ones.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from apphelpers import backends_summary, contexts_text, mesh_text
from hostileapi import MODES, hostile_server, hostile_servers, kubeconfig_beside
from hostilehelp import raw_controls
from kubernetes.aio.client import Configuration
from reliabilityhelp import REL_HUB, seed_sim, set_affinity
from testkit import FAST_HUB, until

from tui.app import MeshtuiApp
from tui.kube.client import KubeClient, Timeouts
from tui.kube.exec import MAX_BUFFERED, run_exec, start_stream
from tui.kube.hub import MeshHub
from tui.kube.settings import HubSettings
from tui.kube.source import KubeSource
from tui.mesh.model import ClusterState
from tui.sim.mesh import SimThread

HUB = dataclasses.replace(
    FAST_HUB,
    timeouts=Timeouts(connect=1.0, read=1.0, exec=2.0, max_body=16 * 2**20),
    watch=dataclasses.replace(FAST_HUB.watch, max_items=5_000, max_pages=20, misbehaving_pause=0.1),
    exec_timeout=2.0,
)
"""Short waits, a 16 MB answer cap, lists of at most 5,000 objects or 20 pages."""

REPORTED = {
    "malformed-json": "bad JSON listing",
    "html": "HTML instead of JSON",
    "429": "HTTP 429 Too Many Requests",
    "500": "HTTP 500 Internal Server Error: x[/]",
    "endless-continue": "list of services has more than 5,000 objects",
    "repeated-continue": "list of services did not end: the server repeated a continue token",
    "short-pages": "list of services did not end after 20 pages",
    "huge-body": "answer larger than 16 MB",
    "garbage-watch": "malformed watch event",
    "wrong-types": "unexpected answer listing services: Expected `str | null`, got `int` - at "
    "`$.items[1].metadata.name`",
    "wrong-types-watch": "malformed watch event for services: Expected `object | null`, got `str` - at "
    "`$.metadata.labels`",
    "slowloris": "(sent too slowly)",
}
"""The cluster's reason for each misbehaviour of its API."""
AGENT_ERRORS = {"exec-hang": "cilium status: timeout after 2 s", "exec-flood": "output larger than 2 MB"}
"""The agents' error for each misbehaviour of exec (the cluster itself stays usable)."""
WITHIN = 15.0


def reason(state: ClusterState | None) -> str:
    return "" if state is None or state.phase not in ("unreachable", "stale", "error") else state.reason


async def run_hub(kubeconfig: Path, settings: HubSettings, check, within: float = WITHIN) -> float:
    """Start a hub on ``kubeconfig``; seconds until ``check(snapshot)`` holds; the hub must stop
    within 5 s whatever the peer is doing."""
    hub = MeshHub(str(kubeconfig), settings=settings)
    started = time.monotonic()
    await hub.start()
    try:
        while not check(hub.snapshot()):
            assert time.monotonic() - started < within, f"not reported within {within:g} s: {hub.snapshot()}"
            await asyncio.sleep(0.05)
        return time.monotonic() - started
    finally:
        stopping = time.monotonic()
        await asyncio.wait_for(hub.stop(), 5.0)
        assert time.monotonic() - stopping < 5.0


@pytest.mark.parametrize("mode", sorted(REPORTED))
async def test_a_misbehaving_api_is_reported_on_its_context(mode: str, tmp_path: Path) -> None:
    options = {"body_mb": 40} if mode == "huge-body" else {"trickle": 0.3} if mode == "slowloris" else {}
    with hostile_server(mode, lifetime=40, **options) as server:
        kubeconfig = kubeconfig_beside(None, {"evil": server.url}, tmp_path / "kubeconfig")
        words = REPORTED[mode]
        took = await run_hub(kubeconfig, HUB, lambda s: words in reason(s.by_context("evil")))
    if mode == "short-pages":  # 20 pages of one object, 0.1 s apart: slowed down, not spun
        assert took >= 19 * HUB.watch.misbehaving_pause


async def test_a_refused_answer_is_not_kept_in_memory(tmp_path: Path) -> None:
    """A 40 MB answer sent without a length, over the 16 MB cap: each list fails, and what it had
    read is freed (the errors kept for the reason carry no traceback: 8 lists × the cap stayed
    alive through their tracebacks, 600 MB with the default cap)."""
    with hostile_server("huge-body", lifetime=40, body_mb=40, chunked=1) as server:
        kubeconfig = kubeconfig_beside(None, {"evil": server.url}, tmp_path / "kubeconfig")
        hub = MeshHub(str(kubeconfig), settings=HUB)
        await hub.start()
        try:
            await until(
                lambda: "answer larger than 16 MB" in reason(hub.snapshot().by_context("evil")), WITHIN
            )
            reflectors = hub.clusters["evil"].reflectors.values()
            await until(lambda: all(r.error is not None for r in reflectors), WITHIN)
            assert all(r.error.__traceback__ is None for r in reflectors)
        finally:
            await asyncio.wait_for(hub.stop(), 5.0)


@pytest.mark.parametrize("mode", sorted(AGENT_ERRORS))
async def test_a_misbehaving_exec_is_reported_on_its_agents(mode: str, tmp_path: Path) -> None:
    with hostile_server(mode, lifetime=40, frame=4000) as server:
        kubeconfig = kubeconfig_beside(None, {"evil": server.url}, tmp_path / "kubeconfig")

        def agents_failed(snapshot) -> bool:
            state = snapshot.by_context("evil")
            agents = state.cilium.agents if state is not None else ()
            return bool(agents) and all(AGENT_ERRORS[mode] in (a.error or "") for a in agents)

        await run_hub(kubeconfig, HUB, agents_failed)


@pytest.mark.parametrize("mode", ["exec-hang", "exec-flood"])
async def test_closing_an_exec_is_bounded(mode: str) -> None:
    """The peer never answers our CLOSE: the exec still ends within its timeout plus a short
    grace, and a flood does not keep the client reading (production timeouts: 5 s for CLOSE)."""
    with hostile_server(mode, lifetime=40, frame=4000) as server:
        configuration = Configuration()
        configuration.host = server.url
        client = KubeClient("evil", configuration, Timeouts())
        try:
            for _ in range(2):
                started, cpu = time.monotonic(), time.process_time()
                result = await run_exec(
                    client, "kube-system", "cilium-hostile0", ["cilium", "status"], timeout=1.0
                )
                took, used = time.monotonic() - started, time.process_time() - cpu
                assert result.error, result
                # 1 s and a short grace, far from the 1 + 5 s of waiting for the CLOSE answer
                assert took < 4.0, f"{mode}: the exec took {took:.2f} s"
                assert used < 2.0, f"{mode}: the exec used {used:.2f} s of CPU"
        finally:
            await client.close()


async def test_an_unread_exec_stream_stays_bounded() -> None:
    """A curl client pod that floods: unread lines are dropped past 8 MB, and closing is bounded."""
    with hostile_server("exec-flood", lifetime=40, frame=60_000, max_mb=64) as server:
        configuration = Configuration()
        configuration.host = server.url
        client = KubeClient("evil", configuration, Timeouts())
        try:
            stream = await start_stream(
                client,
                "song",
                "curltest",
                ["sh", "-c", "loop"],
                container=None,
                max_lines=100_000,
                idle_timeout=5.0,
                consumer_loop=asyncio.get_running_loop(),
            )
            await until(lambda: stream.dropped > 0 or stream.done, 10.0)
            assert stream.buffered <= MAX_BUFFERED and stream.dropped > 0
            started = time.monotonic()
            await stream.close()
            assert time.monotonic() - started < 4.0  # not the 5 s wait for the CLOSE answer
        finally:
            await client.close()


@pytest.fixture
def sim() -> Iterator[SimThread]:
    with seed_sim() as running:
        yield running


async def test_a_flooding_peer_does_not_slow_the_healthy_clusters(sim: SimThread, tmp_path: Path) -> None:
    """Agents read every 0.25 s: with a peer flooding every exec, the healthy clusters' reads
    keep coming (no gap over 3 s in 4 s), and the peer's own reads fail with its reason.
    (benchmarks/hostile_bench.py measures the cadence and the longest gap over a longer run.)"""
    settings = dataclasses.replace(HubSettings(), cilium_interval=0.25, startup_watch_delay=0.5)
    with hostile_server("exec-flood", lifetime=60, frame=4000) as server:
        kubeconfig = kubeconfig_beside(sim.kubeconfig_path, {"evil": server.url}, tmp_path / "kubeconfig")
        hub = MeshHub(str(kubeconfig), settings=settings)
        await hub.start()
        reads: dict[str, list[float]] = {"bastion02": [], "bastion03": []}
        try:
            started = time.monotonic()
            while time.monotonic() - started < 4.0:
                await asyncio.sleep(0.05)
                for state in hub.snapshot().clusters:
                    if state.context in reads and state.cilium.agents:
                        read_at = state.cilium.agents[0].read_at
                        if read_at and (not reads[state.context] or reads[state.context][-1] != read_at):
                            reads[state.context].append(read_at)
            evil = hub.snapshot().by_context("evil")
        finally:
            await asyncio.wait_for(hub.stop(), 5.0)
    for context, times in reads.items():
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert len(times) >= 6 and max(gaps) < 3.0, f"{context}: reads at {times}"
    assert evil is not None and all("output larger than" in (a.error or "") for a in evil.cilium.agents)


async def test_the_app_with_every_hostile_peer_beside_the_simulator(sim: SimThread, tmp_path: Path) -> None:
    """Every mode at once, each its own context beside bastion02/bastion03: the app keeps
    drawing, names each bad context with its reason, and follows a change in a healthy one."""
    modes = [m for m in MODES if m != "ok"]
    with hostile_servers(modes, lifetime=90, body_mb=40, frame=4000, trickle=0.3) as entered:
        kubeconfig = kubeconfig_beside(
            sim.kubeconfig_path, {m: s.url for m, s in zip(modes, entered, strict=True)}, tmp_path / "k"
        )
        settings = dataclasses.replace(REL_HUB, timeouts=HUB.timeouts, watch=HUB.watch)
        source = KubeSource(str(kubeconfig), settings=settings, threaded=True)
        app = MeshtuiApp(source, kubeconfig_label=str(kubeconfig), refresh_interval=0.05)
        async with app.run_test(size=(200, 60), notifications=True) as pilot:
            await until(
                lambda: "mesh 1/1 connected" in contexts_text(app), 30.0, describe=lambda: contexts_text(app)
            )
            broken = [m for m in REPORTED if m != "slowloris"]
            await until(
                lambda: all(f" {m} " in mesh_text(app) or m in mesh_text(app) for m in broken),
                30.0,
                describe=lambda: mesh_text(app),
            )
            await asyncio.to_thread(set_affinity, sim, "bastion02", "remote")
            await pilot.press("1")  # the Backends pane looks from bastion02
            await until(
                lambda: "affinity remote" in backends_summary(app),
                15.0,
                describe=lambda: backends_summary(app),
            )
            await pilot.press("2")
            await pilot.pause(0.3)
            svg = app.export_screenshot()
            assert raw_controls(svg) == []
            assert app.is_running and app.view_failures == 0
