"""The simulator at Cilium's scale limits: 255 clusters (511 with max-connected-clusters 511).

Starting 255 clusters takes several seconds, so it is measured in ``benchmarks/`` (``sim_bench.py
--huge``); here: the generated scenarios' IDs, names and address ranges, IDs up to 511 in a
running mesh, and the pieces that make a big mesh cheap (TLS read buffers, the agents' indented
JSON, the paused and frozen garbage collector).
"""

from __future__ import annotations

import asyncio
import gc
import ipaddress
import itertools
import json
import ssl
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from tui.mesh.checks import CLUSTER_NAME_MAX, CLUSTER_NAME_RE
from tui.sim import mesh as simmesh
from tui.sim.agent import AgentState, run_cli
from tui.sim.cilium import settings_of
from tui.sim.jsonindent import dumps_indented
from tui.sim.mesh import SimMesh
from tui.sim.scenario import Scenario, ScenarioError, from_dict, generated
from tui.sim.serverloop import TLS_READ_BUFFER, SimEventLoop
from tui.sim.tls import make_server_tls

Network = ipaddress.IPv4Network


def ranges_of(scenario: Scenario) -> list[tuple[str, Network]]:
    """Every address range a scenario hands out: pods, services, load balancers, node IPs."""
    out: list[tuple[str, Network]] = []
    for spec in scenario.clusters:
        out.append((f"{spec.name} pods", ipaddress.IPv4Network(spec.pod_cidr)))
        out.append((f"{spec.name} services", ipaddress.IPv4Network(spec.service_cidr)))
        out.append((f"{spec.name} load balancers", ipaddress.IPv4Network(spec.load_balancer_cidr)))
        for node in spec.nodes:
            out.append((f"{node.name} address", ipaddress.IPv4Network(f"{node.internal_ip}/32")))
    return out


def assert_disjoint(ranges: list[tuple[str, Network]]) -> None:
    ordered = sorted(ranges, key=lambda item: int(item[1].network_address))
    for (name_a, a), (name_b, b) in itertools.pairwise(ordered):
        assert int(a.broadcast_address) < int(b.network_address), f"{name_a} {a} overlaps {name_b} {b}"


def assert_valid_mesh(scenario: Scenario, count: int) -> None:
    specs = scenario.clusters
    assert [s.id for s in specs] == list(range(1, count + 1))
    assert len({s.name for s in specs}) == count and len({s.context for s in specs}) == count
    for spec in specs:
        assert len(spec.name) <= CLUSTER_NAME_MAX and CLUSTER_NAME_RE.match(spec.name), spec.name
        pods = ipaddress.IPv4Network(spec.pod_cidr)
        assert pods.is_private
        for node in spec.nodes:  # each node's pod range lies in its cluster's
            assert ipaddress.IPv4Network(node.pod_cidr).subnet_of(pods)
    assert_disjoint(ranges_of(scenario))


def test_generated_255_clusters_have_unique_valid_ids_names_and_ranges() -> None:
    scenario = generated(255, 200, nodes=2)
    assert_valid_mesh(scenario, 255)
    settings = settings_of(scenario)
    assert {c.max_connected_clusters for c in settings.clusters.values()} == {255}
    assert len(settings.connect) == 255 * 254 // 2


def test_generated_meshes_keep_their_small_layout() -> None:
    """Up to 255 clusters cluster ``i`` keeps ``10.<i>.0.0/16`` (readable in a demo)."""
    scenario = generated(3, 10)
    assert [c.pod_cidr for c in scenario.clusters] == ["10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16"]
    assert [c.context for c in scenario.clusters] == ["mesh01", "mesh02", "mesh03"]
    assert scenario.extra == {}


def test_generated_above_255_clusters_uses_max_connected_511() -> None:
    scenario = generated(511, 0)
    assert_valid_mesh(scenario, 511)
    settings = settings_of(scenario)
    assert {c.max_connected_clusters for c in settings.clusters.values()} == {511}
    with pytest.raises(ScenarioError, match="between 1 and 511"):
        generated(512, 0)
    with pytest.raises(ScenarioError, match="between 1 and 511"):
        generated(0, 0)


def test_generated_services_must_fit_the_service_range() -> None:
    generated(2, 4078)
    with pytest.raises(ScenarioError, match="between 0 and 4078"):
        generated(2, 4079)
    with pytest.raises(ScenarioError, match="between 0 and 2030"):
        generated(300, 2031)


@pytest.mark.parametrize("bad", [512, -1, "two", True, 1.5, None])
def test_scenario_cluster_ids_beyond_any_cilium_are_refused(bad: Any) -> None:
    with pytest.raises(ScenarioError, match="cluster c1: id"):
        from_dict({"clusters": [{"name": "c1", "id": bad}]})


def test_scenario_accepts_ids_up_to_511() -> None:
    scenario = from_dict(
        {"clusters": [{"name": "c1", "id": 0}, {"name": "c2", "id": "255"}, {"name": "c3", "id": 511}]}
    )
    assert [c.id for c in scenario.clusters] == [0, 255, 511]


async def test_ids_above_255_connect_with_max_connected_clusters_511() -> None:
    """Cluster IDs 300 and 511 under ``max-connected-clusters: 511``: connected, and each agent's
    identity range uses 15 bits (Cilium's ``GetClusterIDShift`` with a 9-bit cluster ID)."""
    scenario = from_dict(
        {
            "cilium": {"maxConnectedClusters": 511, "syncDelay": 0.01, "connectDelay": 0.01},
            "clusters": [
                {"name": "east", "id": 300, "nodes": [{"name": "east-node1", "internalIP": "100.64.1.10"}]},
                {"name": "west", "id": 511, "nodes": [{"name": "west-node1", "internalIP": "100.64.2.10"}]},
            ],
        }
    )
    mesh = SimMesh(scenario, ready_delay=0.01)
    await mesh.start()
    try:
        cm = mesh.cilium
        for name, own, remote, remote_id in (("east", 300, "west", 511), ("west", 511, "east", 300)):
            config = mesh.cluster(name).store.get("configmaps", "kube-system", "cilium-config").obj["data"]
            assert (config["cluster-id"], config["max-connected-clusters"]) == (str(own), "511")
            code, out, _ = run_cli(
                AgentState(cm, name, cm.agent_pods(name)[0]), ["cilium", "status", "-o", "json"]
            )
            doc = json.loads(out)
            assert code == 0
            assert doc["identity-range"] == {"min-identity": own << 15, "max-identity": ((own + 1) << 15) - 1}
            [entry] = doc["cluster-mesh"]["clusters"]
            assert entry["name"] == remote and entry["ready"] is True
            assert entry["config"]["cluster-id"] == remote_id
    finally:
        await mesh.stop()


async def test_ids_up_to_255_keep_16_identity_bits() -> None:
    mesh = SimMesh(
        from_dict({"clusters": [{"name": "c1", "id": 255}, {"name": "c2", "id": 7}]}), ready_delay=0.01
    )
    await mesh.start()
    try:
        doc = AgentState(mesh.cilium, "c1", mesh.cilium.agent_pods("c1")[0]).document()
        assert doc["identity-range"] == {"min-identity": 255 << 16, "max-identity": (256 << 16) - 1}
    finally:
        await mesh.stop()


# -- the agents' indented JSON -------------------------------------------------------------------

DOCUMENTS: list[Any] = [
    {},
    [],
    {"a": {}, "b": [], "c": [{}], "d": [[], {}]},
    {"status": 'etcd: 1/1 connected, has-quorum=true: https://[::1]:2379 - 3.5.4 {"x": [1, 2]}, ok'},
    {'quote"key': "back\\slash \u00e9\u2713 \n\t\u0001", "n": [1, -2.5, 1e300, True, False, None]},
    {"clusters": [{"name": f"c{i}", "num-nodes": i, "config": {"required": True}} for i in range(5)] * 3},
    {"deep": {"a": {"b": {"c": {"d": {"e": [1, {"f": [2, 3]}]}}}}}},
    {"tuple": (1, 2, {"x": (3,)}), 7: "int key", "mixed": [None, "", 0, {"": ""}]},
    ["top", "level", ["list"], {"k": "v"}],
    "just a string",
    42,
]


@pytest.mark.parametrize("document", DOCUMENTS, ids=range(len(DOCUMENTS)))
@pytest.mark.parametrize("depth", [0, 1, 3, 8])
def test_dumps_indented_is_exactly_the_stdlib_text(document: Any, depth: int) -> None:
    expected = json.dumps(document, indent=2)
    assert dumps_indented(document, depth=depth) == expected
    assert dumps_indented(document, depth=depth) == expected  # again, from the cache
    assert dumps_indented(document, level=1, depth=depth) == textwrap.indent(expected, "  ")


def test_agent_status_text_is_the_indented_document() -> None:
    """What ``cilium status -o json`` prints: Go's MarshalIndent layout, two spaces."""

    async def main() -> None:
        mesh = SimMesh(generated(3, 2), ready_delay=0.01)
        await mesh.start()
        try:
            state = AgentState(mesh.cilium, "cluster1", mesh.cilium.agent_pods("cluster1")[0])
            _, out, _ = run_cli(state, ["cilium", "status", "-o", "json"])
            assert out == json.dumps(json.loads(out), indent=2) + "\n"
            assert [c["name"] for c in json.loads(out)["cluster-mesh"]["clusters"]] == [
                "cluster2",
                "cluster3",
            ]
        finally:
            await mesh.stop()

    asyncio.run(main())


# -- TLS read buffers ----------------------------------------------------------------------------


def test_simulator_loop_reads_tls_in_small_buffers_and_loses_nothing(tmp_path) -> None:
    """A server on the simulator's loop holds a small receive buffer per connection, and a body
    many times that size still arrives whole."""
    tls = make_server_tls("scale")
    ca = tmp_path / "ca.pem"
    ca.write_bytes(tls.ca_pem)
    body = bytes(range(256)) * 4096  # 1 MiB
    seen: dict[str, Any] = {}

    async def main() -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            seen["buffer"] = len(writer.transport._ssl_protocol._ssl_buffer)  # type: ignore[attr-defined]
            data = await reader.readexactly(len(body))
            writer.write(str(len(data)).encode() + b" " + str(data == body).encode())
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=tls.ssl_context())
        port = server.sockets[0].getsockname()[1]
        context = ssl.create_default_context(cafile=str(ca))
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
        writer.write(body)
        await writer.drain()
        seen["answer"] = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        server.close()
        await server.wait_closed()

    with asyncio.Runner(loop_factory=SimEventLoop) as runner:
        runner.run(main())
    assert seen["buffer"] == TLS_READ_BUFFER < 256 * 1024
    assert seen["answer"] == f"{len(body)} True".encode()


# -- the collector -------------------------------------------------------------------------------


async def test_big_mesh_starts_with_the_collector_paused_then_frozen(monkeypatch) -> None:
    monkeypatch.setattr(simmesh, "BIG_MESH_OBJECTS", 10)  # the seed counts as big here
    states: list[bool] = []
    frozen_before = gc.get_freeze_count()

    mesh = SimMesh("seed", ready_delay=0.01)
    for cluster in mesh.clusters.values():
        load = cluster.load

        def watched(load: Any = load) -> None:
            states.append(gc.isenabled())
            load()

        cluster.load = watched  # type: ignore[method-assign]
    assert mesh.big
    await mesh.start()
    try:
        assert states == [False, False], "loading with the collector paused"
        assert gc.isenabled()
        assert gc.get_freeze_count() > frozen_before
    finally:
        await mesh.stop()
    assert gc.get_freeze_count() == 0, "stopping gives the mesh back to the collector"
    assert gc.isenabled()


async def test_small_mesh_leaves_the_collector_alone() -> None:
    mesh = SimMesh("seed", ready_delay=0.01)
    assert not mesh.big
    frozen = gc.get_freeze_count()
    await mesh.start()
    try:
        assert gc.isenabled() and gc.get_freeze_count() == frozen
    finally:
        await mesh.stop()


# -- the allocator of ``meshtui sim`` ------------------------------------------------------------

FREE_AFTER_PEAK = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from tui.sim import allocator

    def rss():
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024

    if sys.argv[1] == "tuned":
        assert allocator.tune()
    big = bytearray(1 << 20)
    del big  # freeing a mapped 1 MiB block raises glibc's own mmap threshold past it
    blocks, keep = [], []
    for _ in range(200):  # 39 MB of response-sized blocks, small long-lived ones between them
        blocks.append(bytearray(200 * 1024))
        keep.append(bytearray(600))
    before = rss()
    del blocks
    print(round(before - rss()))
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_tuned_allocator_gives_freed_blocks_back() -> None:
    """What a burst of answers leaves behind: glibc alone keeps the 39 MB; tuned, it is returned."""

    def freed(mode: str) -> int:
        done = subprocess.run(
            [sys.executable, "-c", FREE_AFTER_PEAK, mode],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return int(done.stdout.strip())

    assert freed("plain") < 10
    assert freed("tuned") > 30


def test_a_list_answer_leaves_no_second_copy_of_the_objects(sim, kubectl) -> None:
    """Listing returns every object's JSON without keeping those bytes beside the stored dict."""
    result = kubectl("get", "deployments", "-n", "song", "-o", "json", context="bastion02")
    assert result.returncode == 0, result.stderr
    listed = {item["metadata"]["name"]: item for item in json.loads(result.stdout)["items"]}

    def stored() -> dict[str, tuple[dict[str, Any], bool]]:
        store = sim.mesh.cluster("bastion02").store  # type: ignore[union-attr]
        return {e.name: (e.obj, e._raw is None) for e in store.items("deployments.apps", "song")}

    entries = sim.call(stored)
    assert set(listed) == set(entries) and listed
    for name, (obj, no_bytes) in entries.items():
        assert listed[name] == obj and no_bytes, name
