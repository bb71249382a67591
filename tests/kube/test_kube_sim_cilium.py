"""The simulator's own Cilium read through the layer, and the mesh faults the agents report.

A link down between two clusters does not touch their API servers: the layer must keep both
clusters ``ok`` and let the agents' status documents say it (the rules read them).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from kubehelp import Hubs, fault, phase_of, wait_snapshot

from tui.mesh.model import MeshSnapshot
from tui.sim.mesh import SimThread


@pytest.fixture
def cilium_sim() -> Iterator[SimThread]:
    """The seed mesh with the simulator's Cilium: agents, clustermesh-apiserver, CA, links."""
    with SimThread("seed", ready_delay=0.01, termination_grace=0.05) as running:
        yield running


def remote(snapshot: MeshSnapshot, index: int) -> dict[str, Any]:
    """The first agent's view of its one remote cluster."""
    agent = snapshot.clusters[index].cilium.agents[0]
    assert agent.status is not None
    return agent.status["cluster-mesh"]["clusters"][0]


def all_read(snapshot: MeshSnapshot) -> bool:
    return all(c.cilium.agents and all(a.read_at for a in c.cilium.agents) for c in snapshot.clusters)


async def test_the_simulators_cilium_is_read(cilium_sim: SimThread, hubs: Hubs) -> None:
    hub = await hubs.start(cilium_sim.kubeconfig_path)
    snapshot = await wait_snapshot(hub, all_read, timeout=5)
    one, two = (c.cilium for c in snapshot.clusters)
    assert (one.cluster_name, one.cluster_id, two.cluster_name, two.cluster_id) == (
        "cluster1",
        1,
        "cluster2",
        2,
    )
    assert one.version == two.version and one.version is not None
    assert one.ca_ski and two.ca_ski  # compared by the rules' CA check
    assert one.clustermesh_secret_remotes == ("cluster2",) and two.clustermesh_secret_remotes == ("cluster1",)
    assert one.clustermesh_service is not None and one.clustermesh_deployment is not None
    assert remote(snapshot, 0)["name"] == "cluster2" and remote(snapshot, 0).get("ready") is True
    listing = await hub.agent_service_list("bastion02")
    assert listing.error is None and any(
        dict(e["spec"]["flags"]).get("name") == "userlist-svc" for e in listing.entries
    )


async def test_a_link_down_is_seen_by_the_agents_and_heals(cilium_sim: SimThread, hubs: Hubs) -> None:
    hub = await hubs.start(cilium_sim.kubeconfig_path)
    await wait_snapshot(hub, all_read, timeout=5)
    fault_id = await fault(cilium_sim, "link_down", "cluster1", "cluster2")
    await hub.refresh_cilium()
    snapshot = hub.snapshot()
    for index in (0, 1):
        view = remote(snapshot, index)
        assert not view.get("connected") and not view.get("ready")
        assert "context deadline exceeded" in view["status"]
    assert phase_of(snapshot, "bastion02") == "ok" and phase_of(snapshot, "bastion03") == "ok"
    await fault(cilium_sim, "heal", fault_id)
    # the agents reconnect on their own schedule ("Waiting for initial connection..." first)
    deadline = time.monotonic() + 5
    while not (remote(hub.snapshot(), 0).get("connected") and remote(hub.snapshot(), 1).get("connected")):
        assert time.monotonic() < deadline, remote(hub.snapshot(), 0)
        await asyncio.sleep(0.1)
        await hub.refresh_cilium()


async def test_an_unchanged_answer_keeps_its_document_and_a_changed_one_replaces_it(
    cilium_sim: SimThread, hubs: Hubs
) -> None:
    """Views compare agent documents by identity: a re-read must not look like a change."""
    hub = await hubs.start(cilium_sim.kubeconfig_path)
    before = (await wait_snapshot(hub, all_read, timeout=5)).clusters[0].cilium.agents[0]
    await hub.refresh_cilium("bastion02")
    again = hub.snapshot().clusters[0].cilium.agents[0]
    assert again.read_at is not None and before.read_at is not None and again.read_at > before.read_at
    assert again.status is before.status
    fault_id = await fault(cilium_sim, "link_down", "cluster1", "cluster2")
    try:
        await hub.refresh_cilium("bastion02")
        changed = hub.snapshot().clusters[0].cilium.agents[0]
        assert changed.status is not before.status and changed.status != before.status
    finally:
        await fault(cilium_sim, "heal", fault_id)


async def test_agents_not_ready_show_on_the_pods_and_in_their_status(
    cilium_sim: SimThread, hubs: Hubs
) -> None:
    hub = await hubs.start(cilium_sim.kubeconfig_path)
    await wait_snapshot(hub, all_read, timeout=5)
    fault_id = await fault(cilium_sim, "agent_not_ready", "cluster2")
    snapshot = await wait_snapshot(hub, lambda s: not s.clusters[1].cilium.agents[0].pod_ready, timeout=5)
    assert snapshot.clusters[0].cilium.agents[0].pod_ready
    await fault(cilium_sim, "heal", fault_id)
    await wait_snapshot(hub, lambda s: s.clusters[1].cilium.agents[0].pod_ready, timeout=5)


async def test_a_read_asked_for_during_the_start_up_round_joins_it(cilium_sim: SimThread, hubs: Hubs) -> None:
    """The first round starts once every list answered; a read asked for while it runs (what a
    headless command does right after the sync) is that round, not a second one after it."""
    from kubehelp import add_hook

    status_execs: list[str] = []

    async def slow_status(request: Any) -> None:
        if request.path.endswith("/exec") and "command=status" in request.query_string:
            status_execs.append(request.path)
            await asyncio.sleep(0.4)  # the round is still running when the read is asked for

    removers = [add_hook(cilium_sim, context, slow_status) for context in ("bastion02", "bastion03")]
    try:
        hub = await hubs.start(cilium_sim.kubeconfig_path)
        deadline = time.monotonic() + 5
        while not status_execs:
            assert time.monotonic() < deadline, "the start-up round did not begin"
            await asyncio.sleep(0.01)
        await hub.refresh_cilium()
        assert all_read(hub.snapshot())
        assert len(status_execs) == len(set(status_execs)), status_execs  # each agent once
    finally:
        for remove in removers:
            remove()
