"""The data plane through exec: DNS as each cluster sees it, Cilium's balancing, errors, latency.

Every request is a ``curl`` in a simulated pod (WebSocket exec); the expectations come from
cilium-semantics.md §3 and curl 8's exit codes (6 resolve, 7 connect, 28 timeout).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator

import pytest

from tui.sim.mesh import SimThread
from tui.sim.meshtesting import Http, mesh_sim

SVC = "/api/v1/namespaces/song/services/userlist-svc"
LINK_LATENCY = 0.2
SYNC_DELAY = 1.0
LOOP = "for i in $(seq {n}); do curl -sS -m 1 --connect-timeout 0.3 {url}; echo; done"


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


async def userlist_ips(http: Http, context: str) -> list[str]:
    pods = await http.get(context, "/api/v1/namespaces/song/pods", labelSelector="app=userlist")
    return [p["status"]["podIP"] for p in pods["items"] if p["status"].get("podIP")]


async def owner_names(http: Http) -> dict[str, str]:
    """``/users/1`` name → cluster, each pod curled by IP from its own cluster."""
    owners = {}
    for context, cluster in (("bastion02", "cluster1"), ("bastion03", "cluster2")):
        for ip in await userlist_ips(http, context):
            answer = await http.sh(context, f"curl -s {ip}:8181/users/1")
            owners[json.loads(answer.stdout)["name"]] = cluster
    return owners


async def loop(
    http: Http, context: str, n: int, url: str = "userlist-svc.song.svc/users/1", script: str = LOOP
) -> list[str]:
    result = await http.sh(context, script.format(n=n, url=url))
    return [line for line in result.stdout.splitlines() if line.strip()]


def clusters_of(lines: list[str], owners: dict[str, str]) -> Counter[str]:
    return Counter(owners.get(json.loads(line)["name"], "?") for line in lines)


async def test_dns_as_each_cluster_sees_it(http: Http) -> None:
    service = await http.get("bastion02", SVC)
    ip = service["spec"]["clusterIP"]
    forms = [
        "userlist-svc",
        "userlist-svc.song",
        "userlist-svc.song.svc",
        "userlist-svc.song.svc.cluster.local",
    ]
    script = "; ".join(f"curl -s -o /dev/null -w '%{{remote_ip}}\\n' {name}/users/1" for name in forms)
    result = await http.sh("bastion02", script)
    assert result.stdout.split() == [ip] * 4
    # cluster2 resolves the same name to its own ClusterIP
    other = await http.get("bastion03", SVC)
    result = await http.sh(
        "bastion03", "curl -s -o /dev/null -w '%{remote_ip}' userlist-svc.song.svc/users/1"
    )
    assert result.stdout == other["spec"]["clusterIP"] != ip
    missing = await http.sh("bastion02", "curl -sS nope.song.svc/users/1")
    assert missing.code == 6 and "curl: (6) Could not resolve host: nope.song.svc" in missing.stderr
    pod_ip = (await userlist_ips(http, "bastion02"))[0]
    dashed = pod_ip.replace(".", "-")
    by_pod_name = await http.sh("bastion02", f"nslookup {dashed}.song.pod.cluster.local")
    assert by_pod_name.code == 0 and f"Address: {pod_ip}" in by_pod_name.stdout


async def test_balancing_follows_the_rules_and_the_seed_decides(seed: SimThread, http: Http) -> None:
    owners = await owner_names(http)
    assert sorted(owners.values()) == ["cluster1", "cluster2"]
    seen = clusters_of(await loop(http, "bastion02", 120), owners)
    assert sum(seen.values()) == 120 and 35 <= seen["cluster1"] <= 85, seen  # 60 ± 4.5 sd
    # a third backend in cluster1: now two thirds local
    await http.patch(
        "bastion02", "/apis/apps/v1/namespaces/song/deployments/userlist/scale", {"spec": {"replicas": 2}}
    )
    for _ in range(50):
        await asyncio.sleep(0.05)
        if len(await userlist_ips(http, "bastion02")) == 2:
            break
    await asyncio.sleep(0.1)
    owners = await owner_names(http)
    seen = clusters_of(await loop(http, "bastion03", 90), owners)
    assert seen["?"] == 0 and 42 <= seen["cluster1"] <= 78, seen  # 60 ± 4 sd of 90


async def test_pod_ips_node_ports_and_latency() -> None:
    sim = mesh_sim("seed", link_latency=LINK_LATENCY)
    try:
        async with Http(sim) as http:
            await pod_ips_node_ports_and_latency(http)
    finally:
        sim.stop()


async def pod_ips_node_ports_and_latency(http: Http) -> None:
    local_ip = (await userlist_ips(http, "bastion02"))[0]
    remote_ip = (await userlist_ips(http, "bastion03"))[0]
    timing = "-s -o /dev/null -w '%{http_code} %{time_total}\\n'"
    result = await http.sh(
        "bastion02", f"curl {timing} {local_ip}:8181/users/1; curl {timing} {remote_ip}:8181/users/1"
    )
    (local_code, local_time), (remote_code, remote_time) = (
        line.split() for line in result.stdout.splitlines()
    )
    assert local_code == remote_code == "200"
    # ~1 ms vs the link's latency (long enough that a loaded machine does not blur the two)
    assert float(local_time) < LINK_LATENCY / 2 <= float(remote_time)
    # cluster2's clustermesh-apiserver by its node and NodePort, from cluster1
    apiserver = await http.sh("bastion02", "curl -sS 172.30.1.85:32379")
    assert apiserver.code == 0 and apiserver.stdout.startswith("clustermesh-apiserver-")
    closed = await http.sh("bastion02", "curl -sS 172.30.1.85:31999")
    assert closed.code == 7 and "Couldn't connect to server" in closed.stderr
    refused = await http.sh("bastion02", f"curl -sS {remote_ip}:9999")
    assert refused.code == 7 and "Failed to connect" in refused.stderr


async def test_no_backend_wrong_port_and_black_holes(http: Http) -> None:
    wrong_port = await http.sh("bastion02", "curl -sS --connect-timeout 0.2 userlist-svc.song.svc:81/")
    assert wrong_port.code == 28 and "Connection timed out after" in wrong_port.stderr
    started = time.monotonic()
    kernel = await http.sh("bastion02", "curl -sS 10.99.1.1/")  # nobody's address: the SYN is lost
    assert kernel.code == 7 and time.monotonic() - started >= 0.45  # the kernel gave up (syn_timeout)
    for context in ("bastion02", "bastion03"):
        await http.patch(
            context, "/apis/apps/v1/namespaces/song/deployments/userlist/scale", {"spec": {"replicas": 0}}
        )
    for _ in range(40):
        await asyncio.sleep(0.05)
        if not await userlist_ips(http, "bastion02") and not await userlist_ips(http, "bastion03"):
            break
    await asyncio.sleep(0.1)
    refused = await http.sh("bastion02", "curl -sS userlist-svc.song.svc/users/1")
    assert refused.code == 7
    assert "Failed to connect to userlist-svc.song.svc port 80 after" in refused.stderr


async def test_changes_reach_the_data_plane_after_the_sync_delay() -> None:
    # The delay leaves a loaded machine time to see the old state before the agents catch up.
    sim = mesh_sim("seed", sync_delay=SYNC_DELAY)
    try:
        async with Http(sim) as http:
            owners = await owner_names(http)
            await http.patch(
                "bastion02", SVC, {"metadata": {"annotations": {"service.cilium.io/affinity": "remote"}}}
            )
            patched = time.monotonic()
            early = clusters_of(await loop(http, "bastion02", 20), owners)
            assert time.monotonic() - patched < SYNC_DELAY - 0.1, "the loop was too slow to see the old state"
            assert early["cluster1"] > 0, early  # the agents still balance over both
            await asyncio.sleep(max(0.0, SYNC_DELAY + 0.1 - (time.monotonic() - patched)))
            late = clusters_of(await loop(http, "bastion02", 20), owners)
            assert late == Counter({"cluster2": 20})
            # a new service resolves at once (DNS reads the API) but the agents program it later
            await http.post(
                "bastion02",
                "/api/v1/namespaces/song/services",
                {
                    "metadata": {"name": "fresh", "namespace": "song"},
                    "spec": {"selector": {"app": "userlist"}, "ports": [{"port": 80, "targetPort": 8181}]},
                },
            )
            created = time.monotonic()
            early = await http.sh("bastion02", "curl -sS --connect-timeout 0.2 fresh/users/1")
            assert time.monotonic() - created < SYNC_DELAY and early.code == 28, early
            await asyncio.sleep(max(0.0, SYNC_DELAY + 0.1 - (time.monotonic() - created)))
            late_answer = await http.sh("bastion02", "curl -sS fresh/users/1")
            assert late_answer.code == 0 and json.loads(late_answer.stdout)["id"] == 1
    finally:
        sim.stop()


async def test_headless_service_answers_pod_ips(http: Http) -> None:
    headless = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "userlist-pods", "namespace": "song"},
        "spec": {"clusterIP": "None", "selector": {"app": "userlist"}, "ports": [{"port": 8181}]},
    }
    await http.post("bastion02", "/api/v1/namespaces/song/services", headless)
    await asyncio.sleep(0.05)
    result = await http.sh("bastion02", "nslookup userlist-pods; curl -s userlist-pods:8181/users/1")
    assert f"Address: {(await userlist_ips(http, 'bastion02'))[0]}" in result.stdout
    assert '"id":1' in result.stdout


async def test_overlapping_pod_cidrs_send_remote_traffic_to_the_wrong_place() -> None:
    sim = mesh_sim("overlapping-cidrs")
    try:
        async with Http(sim) as http:
            remote_ip = (await userlist_ips(http, "bastion03"))[0]
            assert remote_ip.startswith("10.1.")  # the same CIDR as cluster1's pods
            theirs = json.loads((await http.sh("bastion03", f"curl -s {remote_ip}:8181/users/1")).stdout)[
                "name"
            ]
            quick = LOOP.replace("0.3", "0.1")
            lines = await loop(http, "bastion02", 12, script=quick)
            answered = [json.loads(line)["name"] for line in lines if line.startswith("{")]
            assert theirs not in answered  # cluster2's pod is never reached from cluster1
            assert len(answered) < 12  # some requests went to a local address that is not a backend
    finally:
        sim.stop()


async def test_load_balancer_ips_are_reachable_from_other_clusters() -> None:
    sim = mesh_sim("loadbalancer")
    try:
        async with Http(sim) as http:
            svc = await http.get("bastion03", "/api/v1/namespaces/kube-system/services/clustermesh-apiserver")
            ip = svc["status"]["loadBalancer"]["ingress"][0]["ip"]
            answer = await http.sh("bastion02", f"curl -sS {ip}:2379")
            assert answer.code == 0 and answer.stdout.startswith("clustermesh-apiserver-")
            other = await http.get("bastion03", SVC)  # a ClusterIP of another cluster routes nowhere
            lost = await http.sh("bastion02", f"curl -sS --connect-timeout 0.1 {other['spec']['clusterIP']}")
            assert lost.code == 28
    finally:
        sim.stop()
