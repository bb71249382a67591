"""Curl loops against the simulated mesh through KubeSource: the issue's scenarios.

Counts and waits are bounded; distributions are checked with tolerance (the simulator's data
plane is seeded, but two loops interleave differently from run to run).
"""

from __future__ import annotations

import asyncio
import time

import pytest
from curlhelp import BACKOFF, programs_running, userlist_oracle
from testkit import until

from tui.curl.loop import CurlLoop
from tui.curl.session import CurlSession
from tui.curl.target import CurlTarget, InvalidInput
from tui.kube.source import KubeSource
from tui.mesh.actions import Scale, SetAnnotation
from tui.sim.mesh import SimThread
from tui.views.backends import expected_share

USERLIST = CurlTarget("song", "userlist-svc", 80, "/users/1")
C1, C2 = "bastion02", "bastion03"
AFFINITY = "service.cilium.io/affinity"


def session(source: KubeSource, **kwargs: object) -> CurlSession:
    kwargs.setdefault("interval", 0)
    kwargs.setdefault("timeout", 2.0)
    kwargs.setdefault("expected", expected_share)
    return CurlSession(source, USERLIST, backoff=BACKOFF, **kwargs)  # type: ignore[arg-type]


async def run_counted(source: KubeSource, count: int, contexts: list[str] | None = None) -> CurlSession:
    made = session(source, count=count)
    try:
        await made.start(contexts)
        assert await made.wait(30), "the loops did not finish"
    finally:
        await made.stop()
    return made


async def agents_realized(source: KubeSource, context: str, predicate: object, timeout: float = 5.0) -> None:
    """Wait until the curl answers from ``context`` satisfy ``predicate`` (the agent synced)."""
    deadline = time.monotonic() + timeout
    while True:
        probe = await run_counted(source, 10, [context])
        split = probe.stats[context].split()
        if predicate(split):  # type: ignore[operator]
            return
        assert time.monotonic() < deadline, f"agents never realized the change: {split}"
        await asyncio.sleep(0.05)


async def test_both_clusters_answer_from_both_clients_without_affinity(source: KubeSource) -> None:
    done = await run_counted(source, 60)
    assert set(done.stats) == {C1, C2}
    for context in (C1, C2):
        stats = done.stats[context]
        assert stats.total == 60 and not stats.errors
        split = stats.split()
        assert set(split) == {"cluster1", "cluster2"}, split
        assert min(split.values()) >= 10, split
        assert stats.expected == {"cluster1": 0.5, "cluster2": 0.5}
        p50, p95 = stats.latency()
        assert p50 is not None and p95 is not None and 0 < p50 <= p95 < 2000
    assert done.summary()["loops"][0]["state"] == "done"


async def test_affinity_local_keeps_cluster1_answers_in_cluster1(source: KubeSource) -> None:
    result = await source.write(SetAnnotation(C1, "song", "userlist-svc", AFFINITY, "local"))
    assert result.ok, result.message
    await agents_realized(source, C1, lambda split: set(split) == {"cluster1"})
    done = await run_counted(source, 40)
    assert done.stats[C1].split() == {"cluster1": 40}
    assert done.stats[C1].expected == {"cluster1": 1.0}
    # cluster2's service has no affinity: its clients still use both clusters.
    assert set(done.stats[C2].split()) == {"cluster1", "cluster2"}


async def test_scaling_cluster1_to_zero_sends_everything_to_cluster2(source: KubeSource) -> None:
    result = await source.write(Scale(C1, "song", "userlist", 0))
    assert result.ok, result.message
    await agents_realized(source, C1, lambda split: set(split) == {"cluster2"})
    done = await run_counted(source, 40)
    for context in (C1, C2):
        assert done.stats[context].split() == {"cluster2": 40}
        assert done.stats[context].expected == {"cluster2": 1.0}


@pytest.mark.smoke
async def test_every_answer_is_identified_correctly(sim: SimThread, source: KubeSource) -> None:
    """Pods of both clusters (three backends): every answer names the pod that really answered."""
    assert (await source.write(Scale(C2, "song", "userlist", 2))).ok
    await source.wait_for(
        lambda s: (
            len(s.by_context(C1).services[USERLIST.key].backends) == 1  # type: ignore[union-attr]
            and sum(b.active for b in s.by_context(C2).services[USERLIST.key].backends) == 2
        ),  # type: ignore[union-attr]
        10,
    )
    oracle = userlist_oracle(sim)
    assert len(oracle) == 3
    done = session(source, count=150)
    answers = []
    done.on_answer = answers.append
    try:
        await done.start()
        assert await done.wait(30)
        await until(lambda: done.fingerprints.learned_at is not None)
    finally:
        await done.stop()
    assert {row.identifies for row in done.fingerprints.rows} == {"pod"}
    final = list(done.stats[C1].recent) + list(done.stats[C2].recent)
    assert len(final) == 200 and len(answers) == 300
    seen_pods = set()
    for answer in final:
        name = answer.label
        assert answer.to_cluster is not None, answer
        assert (answer.to_cluster, answer.pod) == oracle[name], answer
        seen_pods.add(answer.pod)
    assert len(seen_pods) == 3


async def test_stop_leaves_no_exec_running_in_the_simulator(sim: SimThread, source: KubeSource) -> None:
    baseline = programs_running(sim)
    running = session(source, interval=0.05)
    await running.start()
    await until(lambda: all(s.total >= 3 for s in running.stats.values()) and len(running.stats) == 2)
    await until(lambda: running.fingerprints.learned_at is not None)
    assert programs_running(sim) == baseline + 2
    await running.stop()
    await until(lambda: programs_running(sim) == baseline, timeout=3.0)
    assert not running.running
    assert all(loop.state == "stopped" for loop in running.loops.values())


async def test_a_consumer_that_breaks_out_and_stops_leaves_nothing(
    sim: SimThread, source: KubeSource
) -> None:
    baseline = programs_running(sim)
    loop = CurlLoop(source, C1, USERLIST, interval=0)
    got = 0
    try:
        async for _answer in loop:
            got += 1
            if got == 5:
                raise RuntimeError("the consumer crashed")
    except RuntimeError:
        pass
    finally:
        await loop.stop()
    await until(lambda: programs_running(sim) == baseline, timeout=3.0)


async def test_a_deleted_client_pod_is_replaced_and_the_loop_reattaches(source: KubeSource) -> None:
    running = session(source, interval=0.02)
    await running.start([C1])
    try:
        await until(lambda: running.stats[C1].total >= 5)
        loop = running.loops[C1]
        first = loop.pod
        assert first is not None
        gone = await source.delete_manifests(
            C1, [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": first, "namespace": "song"}}]
        )
        assert gone[0].ok, gone[0].message
        await until(lambda: loop.pod not in (None, first) and loop.state == "running", timeout=10)
        second = loop.pod
        assert any(e.kind == "reattached" and e.text == f"reattached to {second}" for e in running.events)
        before = running.stats[C1].total
        await until(lambda: running.stats[C1].total >= before + 5, timeout=5)
        assert running.log[-1].client_pod == second
    finally:
        await running.stop()


async def test_a_count_bounded_loop_survives_an_api_server_restart(
    sim: SimThread, source: KubeSource
) -> None:
    """The API server drops every exec (down, then up again): the loop reattaches and finishes."""
    assert sim.mesh is not None
    cluster = sim.mesh.cluster(C1)
    loop = CurlLoop(source, C1, USERLIST, interval=0.05, count=30, backoff=BACKOFF)
    answers = []
    try:
        async with asyncio.timeout(20):
            async for answer in loop:
                answers.append(answer)
                if len(answers) == 10:
                    await asyncio.to_thread(sim.call, cluster.stop_listening)
                    await asyncio.to_thread(sim.call, cluster.listen)
    finally:
        await loop.stop()
    assert len(answers) == 30 and loop.state == "done"
    assert [a.seq for a in answers] == list(range(1, 31))  # numbering goes on after reattaching
    assert loop.attaches >= 2
    assert any(e.kind == "reattached" for e in loop.events), list(loop.events)


async def test_errors_are_counted_by_kind(source: KubeSource) -> None:
    missing = CurlLoop(source, C1, CurlTarget("song", "nope-svc", 80, "/"), interval=0, count=3, timeout=1)
    try:
        answers = [a async for a in missing]
    finally:
        await missing.stop()
    assert [a.error_kind for a in answers] == ["resolve"] * 3
    assert all(a.to_cluster is None and a.code == 0 and "resolve" in a.error for a in answers)
    assert (await source.write(Scale(C1, "song", "userlist", 0))).ok
    assert (await source.write(Scale(C2, "song", "userlist", 0))).ok
    await source.wait_for(lambda s: all(not st.services[USERLIST.key].backends for st in s.clusters), 10)
    refused = CurlLoop(source, C1, USERLIST, interval=0, count=40, timeout=1)
    try:
        kinds = [a.error_kind async for a in refused]
    finally:
        await refused.stop()
    assert kinds[-1] == "refused", kinds  # once the agents dropped the last backends


async def test_injection_through_names_or_path_is_refused_before_anything_runs(
    sim: SimThread, source: KubeSource
) -> None:
    baseline = programs_running(sim)
    for bad in ("userlist-svc;touch /tmp/x", "userlist-svc$(id)", "userlist-svc\nid"):
        with pytest.raises(InvalidInput):
            CurlTarget("song", bad, 80, "/users/1")
    for bad_path in ("/users/1;id", "/users/$(id)", "/users/`id`", "/users/1'; id; '"):
        with pytest.raises(InvalidInput):
            CurlTarget("song", "userlist-svc", 80, bad_path)
    with pytest.raises(InvalidInput):
        CurlLoop(source, C1, USERLIST, client="curltest;id")
    with pytest.raises(InvalidInput):
        CurlLoop(source, C1, USERLIST, client_deployment="x && id")
    with pytest.raises(InvalidInput):
        CurlLoop(source, C1, USERLIST, interval="1; id")  # type: ignore[arg-type]
    assert programs_running(sim) == baseline


async def test_the_live_split_follows_affinity_shared_and_scale_within_seconds(source: KubeSource) -> None:
    """The seed's demo, live: one running session while the operator changes the mesh."""
    running = session(source, interval=0.05, window=20)
    await running.start()
    c1, c2 = running.stats[C1], running.stats[C2]

    async def settles(stats: object, split: dict[str, int], timeout: float = 6.0) -> None:
        await until(lambda: stats.split() == split, timeout=timeout)  # type: ignore[attr-defined]

    try:
        await until(lambda: {"cluster1", "cluster2"} <= set(c1.split()), timeout=6)
        assert (await source.write(SetAnnotation(C1, "song", "userlist-svc", AFFINITY, "local"))).ok
        await settles(c1, {"cluster1": 20})
        assert c1.expected == {"cluster1": 1.0}
        assert (await source.write(SetAnnotation(C1, "song", "userlist-svc", AFFINITY, None))).ok
        await until(lambda: {"cluster1", "cluster2"} <= set(c1.split()), timeout=6)
        shared = "service.cilium.io/shared"
        assert (await source.write(SetAnnotation(C2, "song", "userlist-svc", shared, "false"))).ok
        await settles(c1, {"cluster1": 20})  # cluster2 no longer exports its backends
        await until(lambda: c1.expected == {"cluster1": 1.0})
        assert (await source.write(SetAnnotation(C2, "song", "userlist-svc", shared, "true"))).ok
        assert (await source.write(Scale(C1, "song", "userlist", 0))).ok
        await settles(c1, {"cluster2": 20})
        await settles(c2, {"cluster2": 20})
        await until(lambda: c1.expected == {"cluster2": 1.0})
        assert not c1.errors or set(c1.errors) <= {"refused"}
    finally:
        await running.stop()


async def test_segments_follow_each_other_without_a_gap_in_the_answers(source: KubeSource) -> None:
    """Each exec's loop ends by itself after its segment; the next starts at once, silently."""
    loop = CurlLoop(source, C1, USERLIST, interval=0.05, count=70, segment=2, backoff=BACKOFF)
    try:
        async with asyncio.timeout(20):
            answers = [a async for a in loop]
    finally:
        await loop.stop()
    assert [a.seq for a in answers] == list(range(1, 71))
    assert loop.segments >= 1 and loop.attaches == loop.segments + 1
    assert not [e for e in loop.events if e.kind in ("ended", "reattached", "error")], list(loop.events)
    assert not any(a.error_kind for a in answers)


async def test_the_map_is_relearned_when_the_endpoints_change(sim: SimThread, source: KubeSource) -> None:
    running = session(source, interval=0.05, window=30)
    await running.start()
    try:
        await until(lambda: len(running.fingerprints.rows) == 2, timeout=5)
        first = running.fingerprints.generation
        assert (await source.write(Scale(C2, "song", "userlist", 2))).ok
        await until(lambda: len(running.fingerprints.rows) == 3, timeout=8)
        assert running.fingerprints.generation > first
        oracle = userlist_oracle(sim)
        pods = {pod for _cluster, pod in oracle.values()}
        assert len(pods) == 3 and {r.pod for r in running.fingerprints.rows} == pods

        def answered_by_all() -> bool:
            recent = list(running.log)[-60:]
            return {a.pod for a in recent} == pods and all(a.to_cluster for a in recent)

        await until(answered_by_all, timeout=8)
        for answer in list(running.log)[-60:]:
            assert (answer.to_cluster, answer.pod) == oracle[answer.label]
    finally:
        await running.stop()
