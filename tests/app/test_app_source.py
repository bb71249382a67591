"""StaticSource plays writes back like a cluster: refusals, delayed apply, listeners."""

from __future__ import annotations

import asyncio
import threading

from meshmodels import (
    WriteRejected,
    apply_write,
    forbidden_snapshot,
    seed_snapshot,
    unreachable_snapshot,
)
from staticsource import StaticSource

from tui.mesh.actions import Scale, SetAnnotation
from tui.mesh.annotations import ANNOTATION_AFFINITY as AFFINITY
from tui.source import AgentServiceReader, MeshSource

KEY = ("song", "userlist-svc")


def test_static_source_is_a_mesh_source() -> None:
    source = StaticSource(seed_snapshot())
    assert isinstance(source, MeshSource) and isinstance(source, AgentServiceReader)


async def test_write_answers_then_the_watch_delivers() -> None:
    source = StaticSource(seed_snapshot(), apply_delay=0.05)
    seen = []
    source.listen(seen.append)
    await source.start()
    try:
        action = SetAnnotation("bastion02", "song", "userlist-svc", AFFINITY, "local")
        result = await source.write(action)
        assert result.ok and source.writes == [action]
        assert AFFINITY not in source.snapshot().clusters[0].services[KEY].annotations
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.01)
        assert seen and seen[-1].clusters[0].services[KEY].annotations[AFFINITY] == "local"
        assert seen[-1].generation > 1
    finally:
        await source.stop()


async def test_refusals_match_a_cluster() -> None:
    forbidden = StaticSource(forbidden_snapshot(), apply_delay=None)
    result = await forbidden.write(Scale("bastion03", "song", "userlist", 0))
    assert not result.ok and result.status == 403 and "deployments/scale" in result.message
    down = StaticSource(unreachable_snapshot(), apply_delay=None)
    result = await down.write(Scale("bastion03", "song", "userlist", 0))
    assert not result.ok and "connection refused" in result.message
    missing = StaticSource(seed_snapshot(), apply_delay=None)
    result = await missing.write(Scale("bastion02", "song", "nope", 0))
    assert not result.ok and result.status == 404 and missing.writes == []
    invalid = await missing.write(Scale("bastion02", "song", "userlist", -1))
    assert invalid.refused and not invalid.ok


async def test_held_writes_wait_for_release() -> None:
    source = StaticSource(seed_snapshot(), apply_delay=None)
    await source.write(Scale("bastion02", "song", "userlist", 3))
    assert source.snapshot().clusters[0].deployments[("song", "userlist")].replicas == 1
    source.release()
    state = source.snapshot().clusters[0]
    assert state.deployments[("song", "userlist")].replicas == 3
    assert len(state.services[KEY].backends) == 3


def test_push_notifies_from_any_thread() -> None:
    source = StaticSource(seed_snapshot())
    got: list[int] = []
    source.listen(lambda snap: got.append(snap.generation))
    worker = threading.Thread(target=source.push, args=(unreachable_snapshot(),))
    worker.start()
    worker.join(timeout=5)
    assert got == [source.snapshot().generation] and got[0] > 1


def test_scale_to_zero_and_back_follows_pods_and_endpoints() -> None:
    snap = apply_write(seed_snapshot(), Scale("bastion02", "song", "userlist", 0))
    state = snap.clusters[0]
    assert state.services[KEY].backends == ()
    assert not [p for p in state.pods.values() if p.owner == "userlist"]
    snap = apply_write(snap, Scale("bastion02", "song", "userlist", 2))
    backends = snap.clusters[0].services[KEY].backends
    assert len(backends) == 2 and all(b.ip.startswith("10.1.0.") for b in backends)
    try:
        apply_write(snap, SetAnnotation("bastion02", "song", "missing", AFFINITY, "local"))
    except WriteRejected as exc:
        assert exc.status == 404
    else:
        raise AssertionError("a write to a missing service must be rejected")


async def test_agent_lists_follow_the_snapshot() -> None:
    from meshmodels import agent_service_list

    source = StaticSource(seed_snapshot(), agent_lists=agent_service_list)
    entries = await source.agent_service_list("bastion02")
    assert entries is not None
    mine = [e for e in entries if e["spec"]["flags"]["name"] == "userlist-svc"]
    assert {b["ip"] for b in mine[0]["spec"]["backend-addresses"]} == {"10.1.0.12", "10.2.0.33"}
    assert (
        await StaticSource(unreachable_snapshot(), agent_lists=agent_service_list).agent_service_list(
            "bastion03"
        )
        is None
    )
