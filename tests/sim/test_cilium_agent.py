"""The simulated Cilium agent, through exec only: status documents, text and service lists.

The documents must read right through meshtui's own rules (``tui.mesh.status``,
``tui.mesh.agentlist``), which follow cilium-cli: field names and omitempty exactly as
cilium-semantics.md §2, service lists as §4, for both rule families.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from agentoutput import compare_with_selection, parse_service_list_text

from tui.mesh.agentlist import parse_service_list_json
from tui.mesh.model import AgentStatus, Backend, Service, ServicePort, frozen_map
from tui.mesh.selection import select_backends
from tui.mesh.status import clustermesh_status
from tui.sim.mesh import SimThread
from tui.sim.meshtesting import Http, mesh_sim
from tui.sim.scenario import load

REMOTE_KEYS = {
    "name", "connected", "ready", "status", "num-nodes", "num-endpoints", "num-identities",
    "num-shared-services", "num-failures", "last-failure", "config", "synced",
}  # fmt: skip
CONFIG_KEYS = {"required", "retrieved", "cluster-id", "kvstoremesh", "sync-canaries"}
SYNCED_KEYS = {"nodes", "endpoints", "identities", "services"}


@pytest.fixture
def seed() -> Iterator[SimThread]:
    sim = mesh_sim("seed")
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
async def http(seed: SimThread) -> AsyncIterator[Http]:
    async with Http(seed) as client:
        yield client


def falsy_values(document: Any, path: str = "") -> list[str]:
    """Every false / 0 / empty value: an omitempty document has none."""
    found = []
    if isinstance(document, dict):
        for key, value in document.items():
            found += falsy_values(value, f"{path}.{key}")
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found += falsy_values(value, f"{path}[{index}]")
    elif document in (False, 0, "", None):
        found.append(path)
    return found


async def status_of(http: Http, context: str) -> dict[str, Any]:
    result = await http.agent(context, "cilium", "status", "-o", "json")
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)


async def test_status_document_of_a_connected_mesh(http: Http) -> None:
    document = await status_of(http, "bastion02")
    assert document["cilium"] == {"state": "Ok"}
    assert document["kvstore"] == {"msg": "Disabled", "state": "Ok"}  # 1.14: CRD mode
    assert document["cluster"]["self"] == "cluster1/cluster1-node1"
    mesh = document["cluster-mesh"]
    assert mesh["num-global-services"] == 1 and falsy_values(mesh) == []
    (remote,) = mesh["clusters"]
    assert set(remote) <= REMOTE_KEYS and set(remote["config"]) <= CONFIG_KEYS
    assert set(remote["synced"]) == SYNCED_KEYS
    assert remote["name"] == "cluster2" and remote["connected"] and remote["ready"]
    assert remote["status"] == (
        "etcd: 1/1 connected, leases=0, lock leases=0, has-quorum=true: "
        "https://172.30.1.85:32379 - 3.5.4 (Leader)"
    )
    assert remote["config"] == {"required": True, "retrieved": True, "cluster-id": 2, "sync-canaries": True}
    # cluster2: one node, userlist + curltest + clustermesh-apiserver pods + the node's health endpoint
    assert (remote["num-nodes"], remote["num-endpoints"], remote["num-shared-services"]) == (1, 4, 1)
    # 1.14's image has no cilium-dbg (1.15 renamed the CLI and kept a cilium link): containerd
    # fails such an exec without an exit code
    dbg = await http.agent("bastion02", "cilium-dbg", "status", "-o", "json")
    assert dbg.code is None and dbg.stdout == ""
    assert 'exec: "cilium-dbg": executable file not found in $PATH' in dbg.status["message"]
    status = clustermesh_status([AgentStatus("cilium-x", status=document)], ["cluster2"], "1.14.1")
    assert status.lines[0] == "All 1 nodes are connected to all clusters [min:1 / avg:1.0 / max:1]"


async def test_status_text_brief_and_errors(http: Http) -> None:
    text = await http.agent("bastion03", "cilium", "status")
    assert text.code == 0
    lines = text.stdout.splitlines()
    mesh = next(line for line in lines if line.startswith("ClusterMesh:"))
    assert mesh.split(None, 1)[1] == "1/1 remote clusters ready, 1 global-services"
    assert any(line.startswith("Cilium:") and "Ok   1.14.1 (v1.14.1-" in line for line in lines)
    verbose = await http.agent("bastion03", "cilium", "status", "--all-clusters")
    assert "   cluster1: ready, 1 nodes, 4 endpoints" in verbose.stdout
    assert "   └  remote configuration: expected=true, retrieved=true, cluster-id=1" in verbose.stdout
    brief = await http.agent("bastion03", "cilium", "status", "--brief")
    assert (brief.code, brief.stdout) == (0, "OK\n")
    unknown = await http.agent("bastion03", "cilium", "frobnicate")
    assert unknown.code == 1 and 'unknown command "frobnicate"' in unknown.stderr
    flag = await http.agent("bastion03", "cilium", "status", "--nope")
    assert flag.code == 1 and "unknown flag: --nope" in flag.stderr
    via_sh = await http.agent("bastion03", "sh", "-c", "cilium status --brief")
    assert (via_sh.code, via_sh.stdout) == (0, "OK\n")
    other = await http.agent("bastion03", "frobctl")
    assert other.code is None and other.status is not None  # containerd: no exit code at all
    assert 'exec: "frobctl": executable file not found in $PATH' in other.status["message"]
    # the agent image has a shell (loops, pipes) with the agent CLI on its path
    looped = await http.agent("bastion03", "sh", "-c", "for i in 1 2; do cilium status --brief; done | wc -l")
    assert (looped.code, looped.stdout.strip()) == (0, "2")
    version = await http.agent("bastion03", "cilium", "version")
    assert version.stdout.startswith("Client: 1.14.1 ") and "\nDaemon: 1.14.1 " in version.stdout


async def test_service_list_json_and_affinity_text_agree_with_the_rules(seed: SimThread, http: Http) -> None:
    annotated = await http.patch(
        "bastion02",
        "/api/v1/namespaces/song/services/userlist-svc",
        {"metadata": {"annotations": {"service.cilium.io/affinity": "local"}}},
    )
    await asyncio.sleep(0.1)  # the agents realize the change after the sync delay
    listing = await http.agent("bastion02", "cilium", "service", "list", "-o", "json")
    frontends = parse_service_list_json(json.loads(listing.stdout))
    ours = [f for f in frontends if (f.namespace, f.name) == ("song", "userlist-svc")]
    assert len(ours) == 1 and ours[0].ip == annotated["spec"]["clusterIP"] and ours[0].port == 80
    assert ours[0].type == "ClusterIP" and len(ours[0].backends) == 2
    assert {f.name for f in frontends} >= {"kubernetes", "clustermesh-apiserver", "userlist-svc"}
    nodeports = [f for f in frontends if f.name == "clustermesh-apiserver" and f.type == "NodePort"]
    assert {(f.ip, f.port) for f in nodeports} == {("172.30.1.89", 32379), ("0.0.0.0", 32379)}
    # the expected selection, from each cluster's EndpointSlices as seen through the API
    services = {}
    for context, cluster in (("bastion02", "cluster1"), ("bastion03", "cluster2")):
        svc = await http.get(context, "/api/v1/namespaces/song/services/userlist-svc")
        slices = await http.get(
            context,
            "/apis/discovery.k8s.io/v1/namespaces/song/endpointslices",
            labelSelector="kubernetes.io/service-name=userlist-svc",
        )
        backends = tuple(
            Backend(cluster, ep["addresses"][0], 8181, ready=ep["conditions"]["ready"])
            for s in slices["items"]
            for ep in s["endpoints"]
        )
        services[cluster] = Service(
            "song", "userlist-svc", annotations=frozen_map(svc["metadata"]["annotations"]),
            cluster_ip=svc["spec"]["clusterIP"], ports=(ServicePort(80, 8181),), backends=backends,
        )  # fmt: skip
    selection = select_backends(("song", "userlist-svc"), "cluster1", services, "1.14.1")
    rows = compare_with_selection(selection, ours[0].backends)
    assert rows and all(row.agrees for row in rows), rows
    text = await http.agent("bastion02", "cilium", "service", "list", "--clustermesh-affinity")
    assert text.stdout.splitlines()[0].split() == ["ID", "Frontend", "Service", "Type", "Backend"]
    (parsed,) = [f for f in parse_service_list_text(text.stdout) if f.ip == ours[0].ip]
    assert [(b.ip, b.state, b.preferred) for b in parsed.backends] == [
        (b.ip, b.state, b.preferred) for b in ours[0].backends
    ]
    assert sum(b.preferred for b in parsed.backends) == 1  # the local one, affinity local
    plain = await http.agent("bastion02", "cilium", "service", "list")
    assert "(preferred)" not in plain.stdout


async def test_a_1_18_agent_lists_only_what_it_selected() -> None:
    sim = mesh_sim("mixed-versions")
    try:
        async with Http(sim) as http:
            await http.patch(
                "bastion03",
                "/api/v1/namespaces/song/services/userlist-svc",
                {"metadata": {"annotations": {"service.cilium.io/affinity": "local"}}},
            )
            await asyncio.sleep(0.1)
            listing = await http.agent("bastion03", "cilium", "service", "list", "-o", "json")
            (ours,) = [
                f for f in parse_service_list_json(json.loads(listing.stdout)) if f.name == "userlist-svc"
            ]
            assert [(b.ip.startswith("10.2."), b.preferred) for b in ours.backends] == [(True, True)]
            text = await http.agent("bastion03", "cilium", "service", "list", "--clustermesh-affinity")
            assert ":80/TCP" in text.stdout and ":8181/TCP (active) (preferred)" in text.stdout
            document = json.loads((await http.agent("bastion03", "cilium", "status", "-o", "json")).stdout)
            assert document["kvstore"] == {"state": "Disabled"}
            # the 1.14 side of the same mesh still lists both, marking none (no affinity there)
            old = await http.agent("bastion02", "cilium", "service", "list", "-o", "json")
            (theirs,) = [
                f for f in parse_service_list_json(json.loads(old.stdout)) if f.name == "userlist-svc"
            ]
            assert len(theirs.backends) == 2 and not any(b.preferred for b in theirs.backends)
    finally:
        sim.stop()


async def test_1_19_agents_drop_num_global_services() -> None:
    scenario = load("seed")
    scenario.extra["cilium"] = {**scenario.extra["cilium"], "version": "1.19.1"}
    sim = mesh_sim(scenario)
    try:
        async with Http(sim) as http:
            document = await status_of(http, "bastion02")
            assert "num-global-services" not in document["cluster-mesh"]
            assert document["cluster-mesh"]["clusters"][0]["ready"] is True
            text = await http.agent("bastion02", "cilium", "status")
            mesh_line = next(line for line in text.stdout.splitlines() if line.startswith("ClusterMesh:"))
            assert mesh_line.split(None, 1)[1] == "1/1 remote clusters ready"
            status = clustermesh_status([AgentStatus("a", status=document)], ["cluster2"], "1.19.1")
            assert status.global_services is None
    finally:
        sim.stop()


async def test_unmeshed_then_connected() -> None:
    sim = mesh_sim("unmeshed", connect_delay=0.3)
    try:
        async with Http(sim) as http:
            document = await status_of(http, "bastion02")
            assert document["cluster-mesh"] == {}  # ClusterMesh on, no remote: nothing to list
            status = clustermesh_status([AgentStatus("a", status=document)], [], "1.14.1")
            assert status.lines == ("No cluster connected", "Global services: [ min:0 / avg:0.0 / max:0 ]")
            secret = await http.get("bastion02", "/api/v1/namespaces/kube-system/secrets/cilium-clustermesh")
            assert not secret.get("data")
            await asyncio.to_thread(sim.call, sim.mesh.faults.connect, "bastion02", "bastion03")
            secret = await http.get("bastion02", "/api/v1/namespaces/kube-system/secrets/cilium-clustermesh")
            assert set(secret["data"]) == {"cluster2"}
            waiting = (await status_of(http, "bastion02"))["cluster-mesh"]["clusters"][0]
            assert waiting == {
                "name": "cluster2",
                "status": "Waiting for initial connection to be established",
            }
            for _ in range(40):
                await asyncio.sleep(0.05)
                remote = (await status_of(http, "bastion03"))["cluster-mesh"]["clusters"][0]
                if remote.get("ready"):
                    break
            assert remote["name"] == "cluster1" and remote["connected"] and remote["ready"]
            # and the data plane follows: cluster2's client now reaches both clusters
            answers = await http.sh(
                "bastion03", "for i in $(seq 30); do curl -s userlist-svc.song.svc/users/1; echo; done"
            )
            assert len({json.loads(line)["name"] for line in answers.stdout.splitlines() if line}) == 2
    finally:
        sim.stop()


async def test_troubleshoot_names_the_failing_step() -> None:
    sim = mesh_sim("ca-mismatch")
    try:
        async with Http(sim) as http:
            result = await http.agent("bastion02", "cilium", "troubleshoot", "clustermesh")
            assert result.code == 1
            assert "✅ TCP connection successfully established to 172.30.1.85:32379" in result.stdout
            assert (
                "❌ Cannot establish TLS connection to 172.30.1.85:32379: tls: failed to verify"
                in result.stdout
            )
            document = await status_of(http, "bastion02")
            remote = document["cluster-mesh"]["clusters"][0]
            assert remote["status"].endswith("x509: certificate signed by unknown authority")
            assert "connected" not in remote and remote["num-failures"] >= 1
            unknown = await http.agent("bastion02", "cilium", "troubleshoot", "clustermesh", "cluster9")
            assert unknown.code == 1 and "cluster9" in unknown.stdout
    finally:
        sim.stop()
