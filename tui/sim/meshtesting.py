"""Helpers for tests that drive the simulated mesh through kubectl (no pytest import here).

``mesh_sim()`` starts a simulator whose Cilium is fast (sync and connect delays of a few ms,
black-holed connections give up after half a second); :func:`curl_loop` runs the field guide's
``while`` loop in a curl pod with real ``kubectl exec``, bounded by a count; :func:`userlist_owners`
tells which cluster each userlist answer comes from, by curling every userlist pod directly.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, NamedTuple

from tui.sim.mesh import SimThread
from tui.sim.scenario import Scenario
from tui.sim.testing import Kubectl, fast_sim

FAST_MESH = {"sync_delay": 0.02, "connect_delay": 0.02, "syn_timeout": 0.5, "link_latency": 0.002}


def mesh_sim(scenario: Scenario | str = "seed", **kwargs: Any) -> SimThread:
    """A started simulator with fast pods (see ``fast_sim``) and a fast ClusterMesh."""
    for key, value in FAST_MESH.items():
        kwargs.setdefault(key, value)
    return fast_sim(scenario, **kwargs)


def curl_loop(
    kubectl: Kubectl,
    context: str,
    url: str,
    count: int,
    *,
    namespace: str = "song",
    target: str = "deploy/curltest",
    options: str = "-sS -m 2",
    timeout: float = 60.0,
) -> list[str]:
    """The field guide's loop, ``count`` times without sleeping; one output line per request."""
    script = f"i=0; while [ $i -lt {count} ]; do curl {options} {url}; echo; i=$((i+1)); done"
    result = kubectl(
        "exec", target, "-n", namespace, "--", "sh", "-c", script, context=context, timeout=timeout
    )
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line.strip()]


def names(lines: list[str]) -> Counter[str]:
    """``/users/1`` answers counted by user name (non-JSON lines count as themselves)."""
    counted: Counter[str] = Counter()
    for line in lines:
        try:
            counted[json.loads(line)["name"]] += 1
        except (ValueError, KeyError, TypeError):
            counted[line] += 1
    return counted


def pod_ips(kubectl: Kubectl, context: str, namespace: str, selector: str) -> list[str]:
    result = kubectl("get", "pods", "-n", namespace, "-l", selector, "-o", "json", context=context)
    assert result.returncode == 0, result.stderr
    return [
        item["status"]["podIP"]
        for item in json.loads(result.stdout)["items"]
        if item["status"].get("podIP") and not item["metadata"].get("deletionTimestamp")
    ]


def userlist_owners(kubectl: Kubectl, clusters: dict[str, str]) -> dict[str, str]:
    """User name of ``/users/1`` → Cilium cluster name, for every userlist pod of every cluster.

    ``clusters`` maps context → cluster name; each cluster's pods are curled directly by IP from
    that cluster's own curltest pod (one exec per cluster), so a cut link does not matter.
    """
    owners: dict[str, str] = {}
    for context, cluster in clusters.items():
        ips = pod_ips(kubectl, context, "song", "app=userlist")
        if not ips:
            continue
        script = "; ".join(f"curl -sS -m 2 {ip}:8181/users/1; echo" for ip in ips)
        result = kubectl("exec", "deploy/curltest", "-n", "song", "--", "sh", "-c", script, context=context)
        for line in result.stdout.splitlines():
            if line.strip():
                owners[json.loads(line)["name"]] = cluster
    return owners


class Answers:
    """Counts curl-loop answers per cluster, learning which pod is whose when new ones appear."""

    def __init__(self, kubectl: Kubectl, clusters: dict[str, str]) -> None:
        self.kubectl = kubectl
        self.clusters = clusters
        self.owners: dict[str, str] = {}

    def count(self, context: str, url: str, count: int, **kwargs: Any) -> Counter[str]:
        lines = curl_loop(self.kubectl, context, url, count, **kwargs)
        if any(name not in self.owners for name in names(lines)):
            self.owners = userlist_owners(self.kubectl, self.clusters)
        return by_cluster(lines, self.owners)


def by_cluster(lines: list[str], owners: dict[str, str]) -> Counter[str]:
    """Answers counted by the cluster that gave them (``?`` for anything else)."""
    counted: Counter[str] = Counter()
    for name, count in names(lines).items():
        counted[owners.get(name, "?")] += count
    return counted


def agent_exec(kubectl: Kubectl, context: str, *command: str) -> Any:
    """``kubectl exec -n kube-system ds/cilium -c cilium-agent -- <command>`` (CompletedProcess)."""
    return kubectl(
        "exec", "-n", "kube-system", "ds/cilium", "-c", "cilium-agent", "--", *command, context=context
    )


class ExecResult(NamedTuple):
    code: int | None
    """The exit code; ``None`` when the runtime could not start the command (no ExitCode)."""
    stdout: str
    stderr: str
    status: dict[str, Any] | None = None
    """The channel-3 Status as sent."""


class Http:
    """The simulated API servers over HTTPS and WebSocket exec, without a subprocess per call.

    ``async with Http(sim) as http:`` then ``await http.get(context, path)``,
    ``await http.patch(context, path, body)``, ``await http.exec(context, ns, pod, command)``.
    """

    def __init__(self, sim: SimThread) -> None:
        self.sim = sim
        self._sessions: dict[str, Any] = {}

    async def __aenter__(self) -> Http:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for session in self._sessions.values():
            await session.close()
        self._sessions.clear()

    def _cluster(self, context: str) -> Any:
        assert self.sim.mesh is not None
        return self.sim.mesh.cluster(context)

    def _session(self, context: str) -> Any:
        import ssl

        import aiohttp

        session = self._sessions.get(context)
        if session is None:
            cluster = self._cluster(context)
            ssl_context = ssl.create_default_context(cadata=cluster.tls.ca_pem.decode())
            session = self._sessions[context] = aiohttp.ClientSession(
                base_url=cluster.url,
                headers={"Authorization": f"Bearer {cluster.admin_token}"},
                connector=aiohttp.TCPConnector(ssl=ssl_context),
                timeout=aiohttp.ClientTimeout(total=30),
            )
        return session

    async def get(self, context: str, path: str, **params: str) -> Any:
        async with self._session(context).get(path, params=params) as response:
            return await response.json()

    async def patch(self, context: str, path: str, body: dict[str, Any]) -> Any:
        headers = {"Content-Type": "application/merge-patch+json"}
        async with self._session(context).patch(path, data=json.dumps(body), headers=headers) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def post(self, context: str, path: str, body: dict[str, Any]) -> Any:
        async with self._session(context).post(path, json=body) as response:
            assert response.status == 201, await response.text()
            return await response.json()

    async def pod(self, context: str, namespace: str, selector: str) -> str:
        """Name of the first running pod matching ``selector``."""
        listing = await self.get(context, f"/api/v1/namespaces/{namespace}/pods", labelSelector=selector)
        running = [p for p in listing["items"] if p["status"].get("phase") == "Running"]
        return sorted(p["metadata"]["name"] for p in running)[0]

    async def exec(
        self, context: str, namespace: str, pod: str, command: list[str], container: str | None = None
    ) -> ExecResult:
        """Run ``command`` over ``v5.channel.k8s.io``; the exit code comes from channel 3."""
        import aiohttp

        query = [("command", c) for c in command] + [("stdout", "true"), ("stderr", "true")]
        if container:
            query.append(("container", container))
        out, err = bytearray(), bytearray()
        code: int | None = -1
        status: dict[str, Any] | None = None
        async with self._session(context).ws_connect(
            f"/api/v1/namespaces/{namespace}/pods/{pod}/exec", params=query, protocols=("v5.channel.k8s.io",)
        ) as ws:
            async for message in ws:
                if message.type != aiohttp.WSMsgType.BINARY or not message.data:
                    continue
                channel, payload = message.data[0], message.data[1:]
                if channel == 1:
                    out += payload
                elif channel == 2:
                    err += payload
                elif channel == 3:
                    status = json.loads(payload)
                    if status.get("status") == "Success":
                        code = 0
                    else:
                        causes = (status.get("details") or {}).get("causes") or []
                        found = next((c["message"] for c in causes if c.get("reason") == "ExitCode"), None)
                        code = int(found) if found is not None else None
        return ExecResult(code, out.decode(), err.decode(), status)

    async def sh(
        self, context: str, script: str, namespace: str = "song", selector: str = "app=curltest"
    ) -> ExecResult:
        """``sh -c script`` in the first running pod matching ``selector``."""
        pod = await self.pod(context, namespace, selector)
        return await self.exec(context, namespace, pod, ["sh", "-c", script])

    async def agent(self, context: str, *command: str) -> ExecResult:
        """A command in the first Cilium agent pod of ``context``."""
        pod = await self.pod(context, "kube-system", "k8s-app=cilium")
        return await self.exec(context, "kube-system", pod, list(command), container="cilium-agent")
