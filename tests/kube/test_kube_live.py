"""Live state: snapshots match the simulator's objects, changes reach listeners fast and coalesced."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
import time
from typing import Any

import pytest
from aiohttp import web
from kubehelp import FAST, Hubs, add_hook, sim_cluster, sim_patch, wait_snapshot

from tui.kube.source import KubeSource
from tui.kube.watch import WatchSettings
from tui.mesh.actions import SetAnnotation
from tui.mesh.model import MeshSnapshot
from tui.sim.mesh import SimThread
from tui.source import AgentServiceReader, MeshSource

KEY = ("song", "userlist-svc")


def sim_objects(sim: SimThread, context: str, key: str, namespace: str | None = None) -> list[dict[str, Any]]:
    cluster = sim_cluster(sim, context)
    return sim.call(lambda: [json.loads(e.raw) for e in cluster.store.items(key, namespace)])


@pytest.mark.smoke
async def test_snapshot_matches_the_simulators_objects(sim: SimThread, hubs: Hubs) -> None:
    hub = await hubs.start(sim.kubeconfig_path)
    snapshot = hub.snapshot()
    assert snapshot.generation > 0 and snapshot.taken_at > 0
    for state in snapshot.clusters:
        assert state.phase == "ok", state.reason
        services = sim_objects(sim, state.context, "services")
        assert set(state.services) == {(s["metadata"]["namespace"], s["metadata"]["name"]) for s in services}
        userlist = state.services[KEY]
        assert userlist.annotations["service.cilium.io/global"] == "true"
        assert userlist.ports[0].port == 80 and userlist.ports[0].target_port == 8181
        pods = [
            p
            for p in sim_objects(sim, state.context, "pods", "song")
            if p["metadata"]["name"].startswith("userlist")
        ]
        assert sorted(b.ip for b in userlist.backends) == sorted(p["status"]["podIP"] for p in pods)
        assert {b.pod for b in userlist.backends} == {p["metadata"]["name"] for p in pods}
        assert all(b.port == 8181 and b.ready and not b.terminating for b in userlist.backends)
        deployments = sim_objects(sim, state.context, "deployments.apps")
        assert set(state.deployments) == {
            (d["metadata"]["namespace"], d["metadata"]["name"]) for d in deployments
        }
        assert state.deployments[("song", "userlist")].replicas == 1
        nodes = sim_objects(sim, state.context, "nodes")
        assert [n.name for n in state.nodes] == sorted(n["metadata"]["name"] for n in nodes)
        assert all(n.internal_ip.startswith("172.30.") and n.ready for n in state.nodes)
        # pods of the namespace holding a global service are watched (clients and backends)
        assert {p.owner for p in state.pods.values() if p.namespace == "song"} == {"userlist", "curltest"}
    # access reviews follow the first sync (empty until answered)
    reviewed = await wait_snapshot(hub, lambda s: all("patch services" in c.allowed for c in s.clusters))
    for state in reviewed.clusters:
        assert all(state.allowed.get(a) for a in ("patch services", "patch deployments/scale"))


async def test_a_change_reaches_listeners_and_unchanged_objects_keep_their_identity(
    sim: SimThread, hubs: Hubs
) -> None:
    hub = await hubs.start(sim.kubeconfig_path)
    received: list[tuple[float, MeshSnapshot]] = []
    hub.listen(lambda s: received.append((time.monotonic(), s)))
    before = hub.snapshot()
    sim_patch(
        sim, "bastion02", "services", "song", "userlist-svc", {"metadata": {"annotations": {"x/y": "1"}}}
    )
    after = await wait_snapshot(
        hub, lambda s: s.clusters[0].services[KEY].annotations.get("x/y") == "1", timeout=3
    )
    # delivered to the listener (how fast: kube_bench.py's "patch → notification" figure)
    assert any(s is after for _, s in received)
    assert after.generation > before.generation
    assert after.clusters[1] is before.clusters[1]  # the other cluster did not change at all
    old, new = before.clusters[0], after.clusters[0]
    assert new.services[("default", "kubernetes")] is old.services[("default", "kubernetes")]
    assert new.services[KEY] is not old.services[KEY]
    assert new.services[KEY].backends == old.services[KEY].backends
    assert new.deployments is old.deployments and new.nodes is old.nodes


async def test_scaling_and_deleting_in_the_cluster_show_up(sim: SimThread, hubs: Hubs) -> None:
    hub = await hubs.start(sim.kubeconfig_path)
    sim_patch(sim, "bastion03", "deployments.apps", "song", "userlist", {"spec": {"replicas": 3}})
    snapshot = await wait_snapshot(
        hub,
        lambda s: (
            len(s.clusters[1].services[KEY].backends) == 3
            and s.clusters[1].deployments[("song", "userlist")].replicas == 3
        ),
    )
    assert len({b.ip for b in snapshot.clusters[1].services[KEY].backends}) == 3
    cluster = sim_cluster(sim, "bastion03")
    rtype = cluster.registry.by_key("services")
    sim.call(lambda: cluster.delete(rtype, "song", "userlist-svc"))
    snapshot = await wait_snapshot(hub, lambda s: KEY not in s.clusters[1].services)
    assert KEY in snapshot.clusters[0].services


async def test_a_burst_of_changes_gives_a_bounded_number_of_notifications(sim: SimThread, hubs: Hubs) -> None:
    settings = dataclasses.replace(FAST, coalesce=0.1)
    hub = await hubs.start(sim.kubeconfig_path, settings=settings)
    received: list[MeshSnapshot] = []
    hub.listen(received.append)
    cluster = sim_cluster(sim, "bastion02")
    rtype = cluster.registry.by_key("services")

    async def burst() -> None:
        for i in range(200):
            body = json.dumps({"metadata": {"annotations": {"burst/n": str(i)}}}).encode()
            cluster.patch(rtype, "song", "userlist-svc", "merge", body)
            if i % 20 == 0:
                await asyncio.sleep(0.02)

    started = time.monotonic()
    sim.call(burst)
    last = await wait_snapshot(hub, lambda s: s.clusters[0].services[KEY].annotations.get("burst/n") == "199")
    elapsed = time.monotonic() - started
    # 200 events: at most one notification per 0.1 s (plus the leading and trailing edges)
    assert 1 <= len(received) <= elapsed / 0.1 + 3
    assert received[-1] is last  # the trailing edge carries the final state


async def test_watch_expiry_relists_and_keeps_the_data_current(sim: SimThread, hubs: Hubs) -> None:
    settings = dataclasses.replace(FAST, watch=WatchSettings(timeout=1.0, min_stream=0.2))
    hub = await hubs.start(sim.kubeconfig_path, settings=settings)
    seen: list[str] = []
    expired = {"http": 0, "stream": 0}

    async def expire(request: web.Request) -> web.StreamResponse | None:
        if request.path != "/api/v1/services":
            return None
        is_watch = request.query.get("watch") == "true"
        seen.append("watch" if is_watch else "list")
        if is_watch and expired["http"] == 0:
            expired["http"] += 1
            status = {
                "kind": "Status",
                "status": "Failure",
                "reason": "Expired",
                "code": 410,
                "message": "too old",
            }
            return web.json_response(status, status=410)
        if is_watch and expired["stream"] == 0:
            expired["stream"] += 1
            event = {"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired"}}
            return web.Response(text=json.dumps(event) + "\n", content_type="application/json")
        return None

    remove = add_hook(sim, "bastion02", expire)
    try:
        sim_patch(sim, "bastion02", "services", "song", "userlist-svc", {"metadata": {"labels": {"v": "2"}}})
        await wait_snapshot(hub, lambda s: s.clusters[0].services[KEY].labels.get("v") == "2", timeout=6)
        deadline = time.monotonic() + 6
        while seen.count("list") < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    finally:
        remove()
    assert expired == {"http": 1, "stream": 1}
    assert seen.count("list") >= 2  # one relist after each expiry
    assert hub.snapshot().clusters[0].phase == "ok"


async def test_pods_are_watched_where_global_services_live(sim: SimThread, hubs: Hubs) -> None:
    hub = await hubs.start(sim.kubeconfig_path)
    cluster = sim_cluster(sim, "bastion02")
    sim.call(
        lambda: cluster.create_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    )
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "cart", "namespace": "shop"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "cart"}},
            "template": {
                "metadata": {"labels": {"app": "cart"}},
                "spec": {"containers": [{"name": "cart", "image": "nginx"}]},
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "cart", "namespace": "shop"},
        "spec": {"selector": {"app": "cart"}, "ports": [{"port": 80}]},
    }
    sim.call(lambda: cluster.create_object(deployment))
    sim.call(lambda: cluster.create_object(service))
    snapshot = await wait_snapshot(hub, lambda s: _backends(s, ("shop", "cart")) == 1)
    assert not any(p.namespace == "shop" for p in snapshot.clusters[0].pods.values())
    sim_patch(
        sim,
        "bastion02",
        "services",
        "shop",
        "cart",
        {"metadata": {"annotations": {"service.cilium.io/global": "true"}}},
    )
    snapshot = await wait_snapshot(
        hub, lambda s: any(p.namespace == "shop" and p.owner == "cart" for p in s.clusters[0].pods.values())
    )
    assert snapshot.clusters[0].phase == "ok"


async def test_threaded_source_runs_the_hub_on_its_own_thread(sim: SimThread) -> None:
    source = KubeSource(str(sim.kubeconfig_path), threaded=True, settings=FAST)
    assert isinstance(source, MeshSource) and isinstance(source, AgentServiceReader)
    assert source.snapshot().clusters == ()  # nothing before start, and no error
    threads: set[str] = set()
    source.listen(lambda s: threads.add(threading.current_thread().name))
    await source.start()
    try:
        snapshot = await source.wait_synced(10)
        assert [c.phase for c in snapshot.clusters] == ["ok", "ok"]
        assert threads == {"meshtui-kube"}
        result = await source.write(
            SetAnnotation("bastion03", "song", "userlist-svc", "service.cilium.io/affinity", "remote")
        )
        assert result.ok, result.message
        assert (
            source.snapshot().clusters[1].services[KEY].annotations["service.cilium.io/affinity"] == "remote"
        )
    finally:
        await source.stop()
    assert not any(t.name == "meshtui-kube" for t in threading.enumerate())


def _backends(snapshot: MeshSnapshot, key: tuple[str, str]) -> int:
    service = snapshot.clusters[0].services.get(key)
    return -1 if service is None else len(service.backends)


async def test_many_contexts_load_together(hubs: Hubs) -> None:
    from tui.sim.scenario import generated

    with SimThread(generated(12, 50), ready_delay=0.01, cilium=False) as sim:
        hub = await hubs.start(sim.kubeconfig_path)  # how fast: kube_bench.py's first snapshot
        snapshot = hub.snapshot()
        assert [c.phase for c in snapshot.clusters] == ["ok"] * 12
        assert [c.context for c in snapshot.clusters] == [f"mesh{i:02d}" for i in range(1, 13)]
        for state in snapshot.clusters:
            bench = [s for s in state.services.values() if s.namespace == "bench"]
            assert len(bench) == 50 and all(len(s.backends) == 1 for s in bench)
        await hub.stop()


async def test_the_start_up_gc_pause_ends_after_the_first_snapshot(sim: SimThread, hubs: Hubs) -> None:
    """The collection that ends the pause holds the GIL: it waits until the first frame could be drawn."""
    import gc

    from tui.kube import hub as hub_module

    if not gc.isenabled():  # another part of this process paused it: nothing to observe
        gc.enable()
    await hubs.start(sim.kubeconfig_path)  # returns at the first complete snapshot
    assert not gc.isenabled()
    ended = time.monotonic() + hub_module.GC_END_DELAY + 2
    while not gc.isenabled() and time.monotonic() < ended:
        await asyncio.sleep(0.05)
    assert gc.isenabled()


async def test_the_first_probe_waits_until_every_context_is_listed(sim: SimThread, hubs: Hubs) -> None:
    """A probe during the start-up lists would cost one more TLS connection per cluster."""
    settings = dataclasses.replace(FAST, probe_interval=1.0)
    probes: list[float] = []
    held = asyncio.Event()

    async def count_probes(request: web.Request) -> None:
        if request.path == "/version":
            probes.append(time.monotonic())
        return None

    async def hold_deployments(request: web.Request) -> None:
        if request.path == "/apis/apps/v1/deployments" and not held.is_set():
            held.set()
            await asyncio.sleep(3.0)  # bastion03's first list of deployments answers late
        return None

    removers = [add_hook(sim, "bastion02", count_probes), add_hook(sim, "bastion03", hold_deployments)]
    try:
        hub = await hubs.start(sim.kubeconfig_path, settings=settings, sync=False)
        await wait_snapshot(hub, lambda s: s.clusters[0].phase == "ok", timeout=5)
        await asyncio.sleep(settings.probe_interval * 1.2)  # one interval: a probe would have run
        assert hub.snapshot().clusters[1].phase == "syncing"  # still held
        assert probes == []
        await hub.wait_synced(5)
        deadline = time.monotonic() + settings.probe_interval * 3
        while not probes and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert probes  # probing once the watches may open
    finally:
        for remove in removers:
            remove()


async def test_wait_synced_answers_without_waiting_for_the_coalesced_snapshot(
    sim: SimThread, hubs: Hubs
) -> None:
    """``wait_synced`` returns once the last list is in, not when the notifier next publishes
    (a headless command would otherwise wait up to ``coalesce`` seconds for its answer)."""
    slow = dataclasses.replace(FAST, coalesce=20.0)
    started = time.monotonic()
    hub = await hubs.start(sim.kubeconfig_path, settings=slow, sync=False)
    snapshot = await hub.wait_synced(15)
    assert time.monotonic() - started < 10.0
    assert [s.phase for s in snapshot.clusters] == ["ok", "ok"]
    assert snapshot is hub.snapshot() and all(s.services for s in snapshot.clusters)


@pytest.mark.parametrize("follow", [False, True])
async def test_a_one_shot_hub_freezes_its_big_load_when_it_stops(
    sim: SimThread, hubs: Hubs, follow: bool
) -> None:
    """A hub that lists once (a headless answer) ends its start-up GC pause at stop by
    freezing its load, without a full collection, so no collection walks it just before it is
    freed; a watching hub hands its load back to the collector."""
    import gc

    settings = dataclasses.replace(
        FAST, gc_freeze_above=1, watch=dataclasses.replace(FAST.watch, follow=follow)
    )
    hub = await hubs.start(sim.kubeconfig_path, settings=settings)
    if follow:  # its own pause ends with collect + freeze a second after the first snapshot
        hub._end_gc_pause()
    collections: list[str] = []
    callback = lambda phase, info: collections.append(phase)  # noqa: E731
    gc.callbacks.append(callback)
    frozen = gc.get_freeze_count()
    try:
        await hub.stop()
        grew = gc.get_freeze_count() - frozen
    finally:
        gc.callbacks.remove(callback)
        gc.unfreeze()  # the other tests' collector as before
    assert gc.isenabled()
    if follow:
        assert grew <= 0  # nothing frozen (frozen objects it dropped are freed: fewer)
    else:
        assert grew > 1000 and collections == []
