"""Faults: each is reported on its own cluster, never delays the others, and heals.

API down, slow, 5xx and watch expiry come from the simulator's fault API (``mesh.faults``),
set and healed from this thread while the hub runs; broken TLS, rejected credentials, RBAC
hiding kube-system secrets and a hung server are made here. The mesh link down (agents' view)
is in test_kube_sim_cilium.py.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import time
from pathlib import Path
from typing import Any

from kubehelp import (
    FAST,
    Hubs,
    fault,
    free_port,
    hanging_server,
    phase_of,
    sim_cluster,
    sim_patch,
    wait_snapshot,
    write_yaml,
)

from tui.mesh.model import MeshSnapshot
from tui.sim.auth import Rule, User
from tui.sim.mesh import SimThread

KEY = ("song", "userlist-svc")


def label(snapshot: MeshSnapshot, index: int) -> str | None:
    service = snapshot.clusters[index].services.get(KEY)
    return service.labels.get("v") if service else None


def with_context(
    doc: dict[str, Any], name: str, cluster: dict[str, Any], user: dict[str, Any]
) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    doc["clusters"].append({"name": name, "cluster": cluster})
    doc["users"].append({"name": name, "user": user})
    doc["contexts"].append({"name": name, "context": {"cluster": name, "user": name}})
    return doc


async def test_api_down_goes_stale_keeps_data_and_heals(sim: SimThread, hubs: Hubs) -> None:
    hub = await hubs.start(sim.kubeconfig_path)
    fault_id = await fault(sim, "api_down", "cluster1")
    # (while the listener shuts down a connect may time out first; then it is refused)
    stale = await wait_snapshot(
        hub, lambda s: phase_of(s, "bastion02") == "stale" and s.clusters[0].reason == "connection refused", 5
    )
    state = stale.clusters[0]
    assert state.since is not None and state.since <= time.time()
    assert KEY in state.services  # last data kept
    # the other cluster stays live meanwhile
    sim_patch(sim, "bastion03", "services", "song", "userlist-svc", {"metadata": {"labels": {"v": "b"}}})
    during = await wait_snapshot(hub, lambda s: label(s, 1) == "b", timeout=3)
    assert phase_of(during, "bastion03") == "ok"
    # a change made while the API was down arrives after the heal
    sim_patch(sim, "bastion02", "services", "song", "userlist-svc", {"metadata": {"labels": {"v": "a"}}})
    await fault(sim, "heal", fault_id)
    healed = await wait_snapshot(
        hub, lambda s: phase_of(s, "bastion02") == "ok" and label(s, 0) == "a", timeout=5
    )
    assert healed.clusters[0].reason == ""


async def test_flapping_api_settles_and_the_other_cluster_never_waits(sim: SimThread, hubs: Hubs) -> None:
    hub = await hubs.start(sim.kubeconfig_path)
    for round_ in range(2):
        fault_id = await fault(sim, "api_down", "bastion02")
        await wait_snapshot(hub, lambda s: phase_of(s, "bastion02") == "stale", timeout=5)
        started = time.monotonic()
        sim_patch(
            sim, "bastion03", "services", "song", "userlist-svc", {"metadata": {"labels": {"v": str(round_)}}}
        )
        await wait_snapshot(hub, lambda s, r=round_: label(s, 1) == str(r), timeout=3)
        assert time.monotonic() - started < 2.0  # ~50 ms; loose for a loaded machine
        await fault(sim, "heal", fault_id)
        await wait_snapshot(hub, lambda s: phase_of(s, "bastion02") == "ok", timeout=5)


async def test_unreachable_tls_and_credential_failures_beside_good_contexts(
    sim: SimThread, kubeconfig_doc: dict[str, Any], tmp_path: Path, hubs: Hubs
) -> None:
    good_server = kubeconfig_doc["clusters"][0]["cluster"]
    other_ca = kubeconfig_doc["clusters"][1]["cluster"]["certificate-authority-data"]
    token = kubeconfig_doc["users"][0]["user"]["token"]
    doc = with_context(
        kubeconfig_doc, "refused", {"server": f"https://127.0.0.1:{free_port()}"}, {"token": token}
    )
    doc = with_context(
        doc,
        "wrong-ca",
        {"server": good_server["server"], "certificate-authority-data": other_ca},
        {"token": token},
    )
    doc = with_context(doc, "bad-token", dict(good_server), {"token": "not-a-valid-token-123456"})
    hub = await hubs.start(write_yaml(tmp_path / "config", doc))
    snapshot = hub.snapshot()
    by = {c.context: c for c in snapshot.clusters}
    assert by["bastion02"].phase == "ok" and by["bastion03"].phase == "ok"
    assert (by["refused"].phase, by["refused"].reason) == ("unreachable", "connection refused")
    assert by["wrong-ca"].phase == "unreachable"
    assert by["wrong-ca"].reason.startswith("TLS: certificate verify failed")
    assert by["bad-token"].phase == "unreachable"
    assert by["bad-token"].reason == "unauthorized (HTTP 401): the server rejected this context's credentials"


async def test_a_hung_server_times_out_without_delaying_the_others(
    kubeconfig_doc: dict[str, Any], tmp_path: Path, hubs: Hubs
) -> None:
    with hanging_server() as port:
        doc = with_context(
            kubeconfig_doc, "hung", {"server": f"https://127.0.0.1:{port}"}, {"token": "x" * 20}
        )
        # A 2 s connect timeout: time for the good contexts to sync on a loaded machine first.
        settings = dataclasses.replace(FAST, timeouts=dataclasses.replace(FAST.timeouts, connect=2.0))
        hub = await hubs.start(write_yaml(tmp_path / "config", doc), sync=False, settings=settings)
        good = await wait_snapshot(
            hub, lambda s: phase_of(s, "bastion02") == "ok" and phase_of(s, "bastion03") == "ok", timeout=3
        )
        # The others did not wait: they synced while the hung one still waits on its timeout.
        assert phase_of(good, "hung") == "syncing"
        hung = await wait_snapshot(hub, lambda s: phase_of(s, "hung") == "unreachable", timeout=5)
        assert hung.by_context("hung").reason == "timeout after 2 s (connecting)"  # type: ignore[union-attr]
        await hub.stop()


async def test_server_errors_make_the_cluster_stale_until_they_stop(sim: SimThread, hubs: Hubs) -> None:
    hub = await hubs.start(sim.kubeconfig_path)
    fault_id = await fault(sim, "api_errors", "cluster1", 1.0, 503)
    stale = await wait_snapshot(hub, lambda s: phase_of(s, "bastion02") == "stale", timeout=5)
    assert stale.clusters[0].reason == (
        "HTTP 503 Service Unavailable: the server is currently unable to handle the request"
    )
    assert phase_of(stale, "bastion03") == "ok"
    assert KEY in stale.clusters[0].services  # the last data is kept
    await fault(sim, "heal", fault_id)
    await wait_snapshot(hub, lambda s: phase_of(s, "bastion02") == "ok", timeout=5)


async def test_slow_answers_are_tolerated_and_too_slow_ones_time_out(sim: SimThread, hubs: Hubs) -> None:
    hub = await hubs.start(sim.kubeconfig_path)
    fault_id = await fault(sim, "api_slow", "cluster1", 0.3)
    sim_patch(sim, "bastion02", "services", "song", "userlist-svc", {"metadata": {"labels": {"v": "slow"}}})
    await wait_snapshot(hub, lambda s: label(s, 0) == "slow", timeout=3)
    await asyncio.sleep(0.6)  # a few probes, each slower than usual but within the timeout
    assert phase_of(hub.snapshot(), "bastion02") == "ok"
    await fault(sim, "api_slow", "cluster1", 3.0)  # beyond the probe's 1 s bound
    stale = await wait_snapshot(hub, lambda s: phase_of(s, "bastion02") == "stale", timeout=5)
    assert stale.clusters[0].reason.startswith("timeout after 1 s")
    started = time.monotonic()
    sim_patch(sim, "bastion03", "services", "song", "userlist-svc", {"metadata": {"labels": {"v": "fast"}}})
    await wait_snapshot(hub, lambda s: label(s, 1) == "fast", timeout=3)
    assert time.monotonic() - started < 2.0  # ~50 ms; loose for a loaded machine
    await fault(sim, "heal", fault_id)
    await wait_snapshot(hub, lambda s: phase_of(s, "bastion02") == "ok", timeout=8)


async def test_expired_watches_relist_and_stay_current(sim: SimThread, hubs: Hubs) -> None:
    hub = await hubs.start(sim.kubeconfig_path)
    services = hub.clusters["bastion02"].reflectors["services"]
    lists = services.lists
    sim_patch(sim, "bastion02", "services", "song", "userlist-svc", {"metadata": {"labels": {"v": "before"}}})
    await wait_snapshot(hub, lambda s: label(s, 0) == "before", timeout=3)
    await fault(sim, "expire_watches", "cluster1")
    sim_patch(sim, "bastion02", "services", "song", "userlist-svc", {"metadata": {"labels": {"v": "after"}}})
    snapshot = await wait_snapshot(hub, lambda s: label(s, 0) == "after", timeout=5)
    assert services.lists > lists  # relisted after the 410
    assert phase_of(snapshot, "bastion02") == "ok" and phase_of(snapshot, "bastion03") == "ok"


async def test_forbidden_secrets_keep_the_cluster_usable(
    sim: SimThread, kubeconfig_doc: dict[str, Any], tmp_path: Path, hubs: Hubs
) -> None:
    cluster = sim_cluster(sim, "bastion02")
    user = User("no-secrets", (Rule(("*",)),), denies=(Rule(("get", "list", "watch"), ("secrets",)),))
    token = sim.call(lambda: cluster.add_user(user))
    doc = copy.deepcopy(kubeconfig_doc)
    doc["users"][0]["user"]["token"] = token
    hub = await hubs.start(write_yaml(tmp_path / "config", doc))
    state = hub.snapshot().clusters[0]
    assert state.phase == "forbidden"
    assert (
        state.reason
        == "cannot list secrets in namespace kube-system (cilium-ca, cilium-clustermesh, cilium-kvstoremesh)"
    )
    assert KEY in state.services and state.deployments and state.nodes
    assert state.cilium.ca_ski is None
    assert phase_of(hub.snapshot(), "bastion03") == "ok"
