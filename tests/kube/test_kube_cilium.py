"""Cilium reads: kube-system objects → CiliumInfo, agents' ``cilium status`` / ``service list`` via exec.

The simulator's own Cilium is not used: these tests create the kube-system objects
themselves and register a stand-in agent program for pods labelled ``meshtui.test/fake-agent``.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime
import json
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from kubehelp import FAST, Hubs, add_hook, phase_of, sim_cluster, wait_snapshot

from tui.mesh.model import MeshSnapshot
from tui.mesh.x509 import ca_subject_key_id
from tui.sim.mesh import SimThread
from tui.sim.programs import STDERR, STDOUT, ExecIO, ExecRequest, register_program

FAKE = "meshtui.test/fake-agent"
STATUS = {
    "cilium": {"state": "Ok"},
    "cluster-mesh": {
        "num-global-services": 1,
        "clusters": [{"name": "cluster2", "connected": True, "ready": True, "status": "etcd: 1/1 connected"}],
    },
}
SERVICE_LIST = [
    {
        "spec": {"id": 1, "frontend-address": {"ip": "10.96.0.10", "port": 80}, "backend-addresses": []},
        "status": {"realized": {"id": 1}},
    }
]
running = {"now": 0, "max": 0, "calls": 0}
BIG_SERVICE_LIST = [
    {
        "spec": {
            "id": i,
            "frontend-address": {"ip": f"10.{i // 65536}.{i // 256 % 256}.{i % 256}", "port": 80},
            "backend-addresses": [{"ip": "10.1.2.3", "port": 8080, "state": "active", "x": "p" * 380}],
        },
        "status": {"realized": {"id": i}},
    }
    for i in range(20_000)
]
"""About 9.5 MB of JSON: what one agent of a 64 × 2,000-service mesh answers is ~30 MB."""


async def fake_agent(request: ExecRequest, io: ExecIO) -> int:
    """``cilium status -o json`` / ``cilium service list -o json``, behaviour chosen by pod label."""
    mode = request.pod["metadata"]["labels"].get(FAKE, "ok")
    running["now"] += 1
    running["calls"] += 1
    running["max"] = max(running["max"], running["now"])
    try:
        if mode == "dbg-only" and request.command[0] == "cilium":
            await io.write(STDERR, b"sh: cilium: not found\n")
            return 127
        if mode == "slow":
            await asyncio.sleep(0.25)
        if mode == "hang":
            await asyncio.sleep(30)
        if mode == "broken":
            await io.write(STDOUT, b"{not json")
            return 0
        if request.command[1:] == ["status", "-o", "json"]:
            await io.write(STDOUT, json.dumps(STATUS).encode())
            return 0
        if request.command[1:] == ["service", "list", "-o", "json"]:
            entries = BIG_SERVICE_LIST if mode == "big" else SERVICE_LIST
            await io.write(STDOUT, json.dumps(entries).encode())
            return 0
        await io.write(STDERR, b"unknown command\n")
        return 1
    finally:
        running["now"] -= 1


def _matcher(request: ExecRequest) -> Any:
    labels = request.pod.get("metadata", {}).get("labels") or {}
    return fake_agent if FAKE in labels and request.container == "cilium-agent" else None


@pytest.fixture(autouse=True)
def agent_program() -> Iterator[None]:
    register_program("test-fake-cilium-agent", _matcher, first=True)
    running.update(now=0, max=0, calls=0)
    yield


def ca_pem() -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Cilium CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def agent_pod(name: str, mode: str = "ok", image: str = "quay.io/cilium/cilium:v1.14.1") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "kube-system", "labels": {"k8s-app": "cilium", FAKE: mode}},
        "spec": {"containers": [{"name": "cilium-agent", "image": image}]},
    }


def install_cilium(sim: SimThread, context: str, cluster_name: str, agents: list[dict[str, Any]]) -> bytes:
    cluster = sim_cluster(sim, context)
    cert, key = ca_pem()
    objects = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "cilium-config", "namespace": "kube-system"},
            "data": {"cluster-name": cluster_name, "cluster-id": "7", "max-connected-clusters": "255"},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "cilium-ca", "namespace": "kube-system"},
            "data": {"ca.crt": b64(cert), "ca.key": b64(key)},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "cilium-clustermesh", "namespace": "kube-system"},
            "data": {
                cluster_name: b64("endpoints:\n- https://self:2379\n"),
                "cluster2": b64("endpoints:\n- https://cluster2.mesh.cilium.io:2379\n"),
                "junk": b64("nothing here"),
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "clustermesh-apiserver", "namespace": "kube-system"},
            "spec": {
                "type": "NodePort",
                "selector": {"k8s-app": "clustermesh-apiserver"},
                "ports": [{"port": 2379}],
            },
        },
        *agents,
    ]
    for obj in objects:
        sim.call(lambda o=obj: cluster.create_object(o))
    return cert


def agents_read(snapshot: MeshSnapshot, count: int) -> bool:
    agents = snapshot.clusters[0].cilium.agents
    return len(agents) == count and all(a.read_at is not None or a.error for a in agents)


async def test_cilium_objects_and_agent_status(sim: SimThread, hubs: Hubs) -> None:
    cert = install_cilium(
        sim, "bastion02", "cluster1", [agent_pod("cilium-aaaaa"), agent_pod("cilium-bbbbb")]
    )
    hub = await hubs.start(sim.kubeconfig_path)
    snapshot = await wait_snapshot(hub, lambda s: agents_read(s, 2), timeout=5)
    state = snapshot.clusters[0]
    cilium = state.cilium
    assert (cilium.cluster_name, cilium.cluster_id, cilium.max_connected_clusters) == ("cluster1", 7, 255)
    assert cilium.config_present and cilium.version == "1.14.1"
    assert cilium.ca_ski == ca_subject_key_id(cert) and cilium.ca_ski
    assert cilium.clustermesh_secret_remotes == ("cluster2",)
    assert cilium.clustermesh_service is not None and cilium.clustermesh_service.type == "NodePort"
    assert [a.pod for a in cilium.agents] == ["cilium-aaaaa", "cilium-bbbbb"]
    for agent in cilium.agents:
        assert agent.error is None and agent.pod_ready and agent.node == "cluster1-node1"
        assert agent.status is not None and agent.status["cluster-mesh"]["clusters"][0]["name"] == "cluster2"
    # the cluster is now known by its Cilium name, and every backend says so
    assert state.cluster == "cluster1"
    assert {b.cluster for s in state.services.values() for b in s.backends} == {"cluster1"}
    # the second cluster has no Cilium: everything unknown, nothing invented
    other = snapshot.clusters[1].cilium
    assert other.cluster_name is None and not other.config_present and other.agents == ()
    # no key material anywhere in the snapshot
    assert "PRIVATE KEY" not in repr(snapshot) and b64(cert)[:40] not in repr(snapshot)


async def test_failed_reads_keep_the_last_answer_and_say_why(sim: SimThread, hubs: Hubs) -> None:
    install_cilium(
        sim,
        "bastion02",
        "cluster1",
        [agent_pod("cilium-good"), agent_pod("cilium-broken", "broken"), agent_pod("cilium-hung", "hang")],
    )
    hub = await hubs.start(sim.kubeconfig_path, settings=dataclasses.replace(FAST, exec_timeout=0.5))
    snapshot = await wait_snapshot(
        hub, lambda s: agents_read(s, 3) and s.clusters[0].cilium.agents[2].error, 8
    )
    by_pod = {a.pod: a for a in snapshot.clusters[0].cilium.agents}
    assert by_pod["cilium-good"].error is None and by_pod["cilium-good"].status is not None
    assert by_pod["cilium-broken"].error == "cilium status: output is not JSON"
    assert by_pod["cilium-broken"].status is None and by_pod["cilium-broken"].read_at is None
    assert by_pod["cilium-hung"].error is not None and "timeout after 0.5 s" in by_pod["cilium-hung"].error
    # make the good one fail: its previous document and read time stay, with the error beside
    first_read = by_pod["cilium-good"].read_at
    cluster = sim_cluster(sim, "bastion02")
    rtype = cluster.registry.by_key("pods")
    patch = json.dumps({"metadata": {"labels": {FAKE: "broken"}}}).encode()
    sim.call(lambda: cluster.patch(rtype, "kube-system", "cilium-good", "merge", patch))
    await hub.refresh_cilium("bastion02")
    good = next(a for a in hub.snapshot().clusters[0].cilium.agents if a.pod == "cilium-good")
    assert good.error == "cilium status: output is not JSON"
    assert good.status is not None and good.read_at == first_read


async def test_reads_are_bounded_in_parallelism_and_fall_back_to_cilium_dbg(
    sim: SimThread, hubs: Hubs
) -> None:
    agents = [agent_pod(f"cilium-slow{i}", "slow") for i in range(7)] + [agent_pod("cilium-dbg", "dbg-only")]
    install_cilium(sim, "bastion02", "cluster1", agents)
    hub = await hubs.start(sim.kubeconfig_path)
    snapshot = await wait_snapshot(hub, lambda s: agents_read(s, 8), timeout=8)
    assert all(a.error is None for a in snapshot.clusters[0].cilium.agents)
    assert 1 <= running["max"] <= FAST.cilium_per_cluster
    listing = await hub.agent_service_list("bastion02", "cilium-dbg")
    assert listing.error is None and listing.pod == "cilium-dbg" and listing.read_at is not None
    assert [dict(e)["spec"]["frontend-address"]["port"] for e in listing.entries] == [80]
    default = await hub.agent_service_list("bastion02")
    assert default.pod == "cilium-dbg" and default.entries  # the first running agent by name
    none = await hub.agent_service_list("bastion03")
    assert none.error == "no running Cilium agent pod"


async def test_a_service_list_larger_than_the_default_exec_cap_is_read_whole(
    sim: SimThread, hubs: Hubs
) -> None:
    """A big mesh's ``cilium service list -o json`` is tens of MB: it has its own, larger cap."""
    install_cilium(sim, "bastion02", "cluster1", [agent_pod("cilium-big", "big")])
    hub = await hubs.start(sim.kubeconfig_path)
    assert len(json.dumps(BIG_SERVICE_LIST)) > 8 * 2**20
    listing = await hub.agent_service_list("bastion02", "cilium-big")
    assert listing.error is None
    assert len(listing.entries) == len(BIG_SERVICE_LIST)
    assert dict(listing.entries[-1])["spec"]["id"] == len(BIG_SERVICE_LIST) - 1


async def test_agents_are_read_once_every_context_is_listed_or_when_asked(sim: SimThread, hubs: Hubs) -> None:
    """At start-up the execs (a TLS connection each) wait for the lists of every context."""
    install_cilium(sim, "bastion02", "cluster1", [agent_pod("cilium-aaaaa")])
    held = asyncio.Event()

    async def hold_deployments(request: Any) -> None:
        if request.path == "/apis/apps/v1/deployments" and not held.is_set():
            held.set()
            await asyncio.sleep(1.5)  # bastion03's first list of deployments answers late
        return None

    remove = add_hook(sim, "bastion03", hold_deployments)
    try:
        hub = await hubs.start(sim.kubeconfig_path, sync=False)
        listed = await wait_snapshot(hub, lambda s: phase_of(s, "bastion02") == "ok", timeout=5)
        assert phase_of(listed, "bastion03") == "syncing"
        await asyncio.sleep(FAST.cilium_interval * 1.5)  # a round would have run by now
        assert running["calls"] == 0 and phase_of(hub.snapshot(), "bastion03") == "syncing"
        await hub.refresh_cilium("bastion02")  # asked for: read at once
        assert running["calls"] == 1
        assert hub.snapshot().clusters[0].cilium.agents[0].status is not None
        assert phase_of(hub.snapshot(), "bastion03") == "syncing"
        await hub.wait_synced(5)
    finally:
        remove()
