"""Faults and healing, observed through the API and exec (and ``meshtui sim fault`` end to end)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from tui.cli import main
from tui.mesh.model import AgentStatus
from tui.mesh.status import clustermesh_status
from tui.sim.control import state_path_for
from tui.sim.faults import FaultError
from tui.sim.mesh import SimThread
from tui.sim.meshtesting import Http, agent_exec, mesh_sim
from tui.sim.testing import Kubectl

SVC = "/api/v1/namespaces/song/services/userlist-svc"
LOOP = "for i in $(seq 20); do curl -sS -m 1 --connect-timeout 0.2 userlist-svc.song.svc/users/1; echo; done"


@pytest.fixture
def sim() -> Iterator[SimThread]:
    running = mesh_sim("seed")
    running.call(lambda: setattr(running.mesh.cilium.settings, "retry_interval", 0.1))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
async def http(sim: SimThread) -> AsyncIterator[Http]:
    async with Http(sim) as client:
        yield client


async def fault(sim: SimThread, method: str, *args: object) -> object:
    """Call ``sim.mesh.faults.<method>(*args)`` on the simulator's loop."""
    return await asyncio.to_thread(sim.call, getattr(sim.mesh.faults, method), *args)


def aiohttp_session(http: Http, context: str) -> aiohttp.ClientSession:
    """A new session to ``context`` (the shared one's connection ended with the watch)."""
    cluster = http._cluster(context)
    import ssl

    ssl_context = ssl.create_default_context(cadata=cluster.tls.ca_pem.decode())
    return aiohttp.ClientSession(
        base_url=cluster.url,
        headers={"Authorization": f"Bearer {cluster.admin_token}"},
        connector=aiohttp.TCPConnector(ssl=ssl_context),
    )


async def remote_of(http: Http, context: str) -> dict:
    result = await http.agent(context, "cilium", "status", "-o", "json")
    return json.loads(result.stdout)["cluster-mesh"]["clusters"][0]


async def answer_names(http: Http, context: str) -> set[str]:
    result = await http.sh(context, LOOP)
    return {json.loads(line)["name"] for line in result.stdout.splitlines() if line.startswith("{")}


async def test_api_down_refuses_then_heals_on_the_same_port(sim: SimThread, http: Http) -> None:
    url = sim.mesh.cluster("bastion02").url
    ident = await fault(sim, "api_down", "bastion02")
    assert ident == await fault(sim, "api_down", "cluster1")  # the same fault, by context or name
    with pytest.raises(aiohttp.ClientConnectorError):
        await http.get("bastion02", "/api/v1/namespaces")
    assert (await http.get("bastion03", "/api/v1/namespaces"))["items"]  # the other cluster is fine
    assert await fault(sim, "heal", ident) == [ident]
    assert sim.mesh.cluster("bastion02").url == url
    assert (await http.get("bastion02", "/api/v1/namespaces"))["items"]


async def test_api_slow_and_api_errors(sim: SimThread, http: Http) -> None:
    slow = await fault(sim, "api_slow", "bastion03", 0.3)
    started = time.monotonic()
    await http.get("bastion03", "/api/v1/namespaces/song/services")
    assert time.monotonic() - started >= 0.3
    errors = await fault(sim, "api_errors", "bastion02", 1.0, 503)
    session = http._session("bastion02")
    async with session.get("/api/v1/namespaces/song/services") as response:
        body = await response.json()
        assert response.status == 503 and body["reason"] == "ServiceUnavailable" and body["kind"] == "Status"
    await fault(sim, "api_errors", "bastion02", 0.5, 500)  # same fault, new rate
    codes = []
    for _ in range(30):
        async with session.get("/api/v1/namespaces") as response:
            codes.append(response.status)
    assert set(codes) == {200, 500}
    listed = {f["id"]: f for f in sim.call(sim.mesh.faults.list)}
    assert listed[errors]["params"] == {"rate": 0.5, "code": 500} and listed[slow]["kind"] == "api-slow"
    assert sorted(await fault(sim, "heal", "all")) == sorted([slow, errors])
    started = time.monotonic()
    async with session.get("/api/v1/namespaces") as response:
        assert response.status == 200
    # healed: answered at once (a bound far above a request's ~10 ms, steady on a loaded machine)
    assert time.monotonic() - started < 2.0 and sim.call(sim.mesh.faults.list) == []
    with pytest.raises(FaultError, match="rate must be between 0 and 1"):
        sim.call(sim.mesh.faults.api_errors, "bastion02", 2.0)
    with pytest.raises(FaultError, match="no cluster 'nope'"):
        sim.call(sim.mesh.faults.api_down, "nope")


async def test_watch_expiry_ends_watches_with_410(sim: SimThread, http: Http) -> None:
    listing = await http.get("bastion02", "/api/v1/namespaces/song/services")
    rv = listing["metadata"]["resourceVersion"]
    session = http._session("bastion02")
    params = {"watch": "true", "resourceVersion": rv, "timeoutSeconds": "5"}
    async with session.get("/api/v1/namespaces/song/services", params=params) as response:
        await http.patch("bastion02", SVC, {"metadata": {"annotations": {"touched": "yes"}}})
        first = json.loads(await asyncio.wait_for(response.content.readline(), 5))
        assert first["type"] == "MODIFIED"
        await fault(sim, "expire_watches", "bastion02")
        event = json.loads(await asyncio.wait_for(response.content.readline(), 5))
        assert event["type"] == "ERROR" and event["object"]["code"] == 410
    assert sim.call(sim.mesh.faults.list) == []  # a one-shot: nothing stays in force
    fresh = aiohttp_session(http, "bastion02")
    async with fresh, fresh.get("/api/v1/namespaces/song/services", params=params) as response:
        if response.status == 200:  # the apiserver's way: an in-stream ERROR
            body = json.loads(await asyncio.wait_for(response.content.readline(), 5))["object"]
        else:
            body = await response.json()
    assert body["code"] == 410 and body["reason"] in ("Expired", "Gone")  # compacted: relist


async def test_link_down_keeps_the_remote_backends_whose_connections_time_out(
    sim: SimThread, http: Http
) -> None:
    """cilium/cilium#20729 (clustermesh-cache-ttl 0) and pkg/clustermesh/remote_cluster.go: a lost
    remote's services are never revoked, so the agents keep load-balancing to its backends;
    across a cut link those connections time out. The status shows the link down, with the
    cached counts left (what meshtui reads as "its backends are still used")."""
    assert len(await answer_names(http, "bastion02")) == 2
    ident = await fault(sim, "link_down", "cluster1", "bastion03")
    await asyncio.sleep(0.25)
    remote = await remote_of(http, "bastion02")
    assert "connected" not in remote and "ready" not in remote
    assert remote["status"].endswith("https://172.30.1.85:32379 - context deadline exceeded")
    assert remote["num-failures"] >= 2 and remote["last-failure"].endswith("Z")  # retrying every 0.1 s
    assert remote["num-shared-services"] >= 1 and remote["num-nodes"] >= 1  # caches kept
    document = json.loads((await http.agent("bastion02", "cilium", "status", "-o", "json")).stdout)
    status = clustermesh_status([AgentStatus("a", status=document)], ["cluster2"], "1.14.1")
    assert status.clusters[0].text == "cluster2: 1/1 configured, 0/1 connected"
    assert status.errors[0].error == remote["status"]
    (lost,) = status.lost_remotes()
    assert (lost.cluster, lost.cached) == ("cluster2", True)
    assert document["cluster-mesh"]["num-global-services"] == 1  # still held
    result = await http.sh("bastion02", LOOP)
    names = {json.loads(line)["name"] for line in result.stdout.splitlines() if line.startswith("{")}
    assert len(names) == 1  # only the local backend answers
    assert "curl: (28)" in result.stderr  # the cached remote backend is still picked, and times out
    assert await fault(sim, "heal", ident) == [ident]
    for _ in range(40):
        await asyncio.sleep(0.05)
        if (await remote_of(http, "bastion02")).get("ready"):
            break
    healed = await remote_of(http, "bastion02")
    assert healed["ready"] and healed["num-failures"] >= 2  # reconnections are remembered
    assert len(await answer_names(http, "bastion02")) == 2


async def test_clustermesh_apiserver_down_stops_updates_not_traffic(sim: SimThread, http: Http) -> None:
    ident = await fault(sim, "apiserver_down", "cluster2")
    await asyncio.sleep(0.1)
    deploy = await http.get(
        "bastion03", "/apis/apps/v1/namespaces/kube-system/deployments/clustermesh-apiserver"
    )
    assert deploy["status"].get("readyReplicas", 0) == 0
    remote = await remote_of(http, "bastion02")
    assert "connected" not in remote
    assert remote["status"].endswith("dial tcp 172.30.1.85:32379: connect: connection refused")
    assert len(await answer_names(http, "bastion02")) == 2  # the agents keep the last state they had
    await fault(sim, "heal", ident)
    for _ in range(40):
        await asyncio.sleep(0.05)
        if (await remote_of(http, "bastion02")).get("ready"):
            break
    assert (await remote_of(http, "bastion02"))["ready"]
    deploy = await http.get(
        "bastion03", "/apis/apps/v1/namespaces/kube-system/deployments/clustermesh-apiserver"
    )
    assert deploy["status"]["readyReplicas"] == 1


async def test_agent_not_ready(sim: SimThread, http: Http) -> None:
    ident = await fault(sim, "agent_not_ready", "bastion03")
    pods = await http.get("bastion03", "/api/v1/namespaces/kube-system/pods", labelSelector="k8s-app=cilium")
    ready = {c["type"]: c["status"] for c in pods["items"][0]["status"]["conditions"]}
    assert ready["Ready"] == "False"
    brief = await http.agent("bastion03", "cilium", "status", "--brief")
    assert brief.code == 1 and "not ready" in brief.stdout
    document = json.loads((await http.agent("bastion03", "cilium", "status", "-o", "json")).stdout)
    assert document["cilium"]["state"] == "Failure"
    assert len(await answer_names(http, "bastion03")) == 2  # it still forwards
    await fault(sim, "heal", ident)
    pods = await http.get("bastion03", "/api/v1/namespaces/kube-system/pods", labelSelector="k8s-app=cilium")
    assert {c["type"]: c["status"] for c in pods["items"][0]["status"]["conditions"]}["Ready"] == "True"
    assert (await http.agent("bastion03", "cilium", "status", "--brief")).stdout == "OK\n"


async def test_scenario_faults_can_be_healed() -> None:
    sim = mesh_sim("agent-not-ready")
    try:
        (listed,) = sim.call(sim.mesh.faults.list)
        assert (listed["kind"], listed["clusters"]) == ("agent-not-ready", ["cluster2"])
        async with Http(sim) as http:
            assert (await http.agent("bastion03", "cilium", "status", "--brief")).code == 1
            await fault(sim, "heal", listed["id"])
            assert (await http.agent("bastion03", "cilium", "status", "--brief")).code == 0
    finally:
        sim.stop()


def _process(kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``meshtui sim fault ...`` as its own process."""
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    return subprocess.run(
        [sys.executable, "-m", "tui", "sim", "fault", *args, "--kubeconfig", str(kubeconfig)],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip


def test_meshtui_sim_fault_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def _cli(kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
        """The same command through ``tui.cli.main`` in this process (a process costs ~0.4 s)."""
        capsys.readouterr()
        code = main(["sim", "fault", *args, "--kubeconfig", str(kubeconfig)])
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out, err)

    kubeconfig = tmp_path / "sim.yaml"
    state = state_path_for(kubeconfig)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "sim", "--kubeconfig-out", str(kubeconfig), "--sync-delay", "0.02"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    kubectl = Kubectl(kubeconfig)
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (not lines or lines[-1] != "ready"):
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
        assert lines[-1] == "ready", lines
        assert stat.S_IMODE(os.stat(state).st_mode) == 0o600
        saved = json.loads(state.read_text())
        assert saved["url"].startswith("http://127.0.0.1:")
        assert saved["token"] not in "\n".join(lines)  # never printed
        unauthorized = urllib.request.Request(saved["url"] + "/faults")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(unauthorized, timeout=5)
        assert refused.value.code == 401

        assert _process(kubeconfig, "list").stdout == "no faults in force\n"
        down = _process(kubeconfig, "link-down", "cluster1", "bastion03")
        assert down.returncode == 0 and down.stdout.startswith("f1  link-down")
        assert (
            "f1" in _cli(kubeconfig, "list").stdout
            and "cluster1 <-> cluster2" in _cli(kubeconfig, "list").stdout
        )
        time.sleep(0.1)
        status = agent_exec(kubectl, "bastion02", "cilium", "status", "-o", "json")
        remote = json.loads(status.stdout)["cluster-mesh"]["clusters"][0]
        assert "context deadline exceeded" in remote["status"] and "connected" not in remote
        api = _cli(kubeconfig, "api-down", "bastion03")
        assert api.returncode == 0
        refused_get = kubectl("get", "ns", context="bastion03", timeout=20)
        assert refused_get.returncode != 0 and "refused" in refused_get.stderr
        healed = _cli(kubeconfig, "heal", "all")
        assert healed.returncode == 0 and healed.stdout.startswith("healed f1, f2")
        assert kubectl("get", "ns", context="bastion03").returncode == 0
        bad = _cli(kubeconfig, "api-down", "nope")
        assert bad.returncode == 1 and "no cluster 'nope'" in bad.stderr
        assert _cli(kubeconfig, "heal", "f9").returncode == 1

        assert _cli(kubeconfig, "disconnect", "cluster1", "cluster2").returncode == 0
        status = agent_exec(kubectl, "bastion02", "cilium", "status", "-o", "json")
        assert json.loads(status.stdout)["cluster-mesh"] == {}
        assert _cli(kubeconfig, "connect", "bastion02", "bastion03").returncode == 0
        secret = kubectl(
            "get", "secret", "cilium-clustermesh", "-n", "kube-system", "-o", "json", context="bastion03"
        )
        assert set(json.loads(secret.stdout)["data"]) == {"cluster1"}

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        assert not state.exists()  # the state file goes with the simulator
        gone = _process(kubeconfig, "list")
        assert gone.returncode == 1 and "no running simulator found" in gone.stderr
    finally:
        kubectl.cleanup()
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        proc.stdout.close()
        proc.stderr.close()
