"""Faults an operator must be able to diagnose, set and healed at run time (``mesh.faults``).

Each fault gets an id (``f1``, ``f2``...) and stays in force until healed; setting the same
fault twice returns the first one's id (with its parameters updated). All methods are
coroutines to await on the simulator's loop (``sim.call(sim.mesh.faults.api_down, "cluster1")``
from another thread); ``meshtui sim fault ...`` reaches them through :mod:`tui.sim.control`.

==================  ================================================================================
kind                effect
==================  ================================================================================
``api-down``        the cluster's API server stops listening: connections are refused (same port
                    when healed); the cluster itself — pods, agents, data plane — keeps running
``api-slow``        every API request waits ``seconds`` first (requests still waiting when it
                    is healed go on at once)
``api-errors``      each API request fails with ``code`` (500: InternalError, 503:
                    ServiceUnavailable) with probability ``rate`` (seeded)
``watch-expire``    one shot: every open watch ends with ``410 Expired`` and the history is
                    compacted, so clients must relist (nothing to heal)
``link-down``       the network between two clusters is cut: each side's agents report the
                    other not connected (``context deadline exceeded``, failures counting up)
                    and drop its services after ``sync_delay``; requests across hang (timeouts)
``apiserver-down``  the cluster's clustermesh-apiserver is down (its pod not ready): remotes
                    report ``connection refused`` and keep the last state they had (the data
                    path still works, updates stop)
``agent-not-ready`` the cluster's Cilium agents are not ready (pods not Ready, status Failure);
                    they keep forwarding
==================  ================================================================================
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from random import Random
from typing import TYPE_CHECKING, Any

from tui.sim.errors import ApiError

if TYPE_CHECKING:
    from aiohttp import web

    from tui.sim.cluster import RequestHook, SimCluster
    from tui.sim.mesh import SimMesh

KINDS = (
    "api-down",
    "api-slow",
    "api-errors",
    "watch-expire",
    "link-down",
    "apiserver-down",
    "agent-not-ready",
)
ERROR_TEXTS = {
    500: ("Internal error occurred: etcdserver: request timed out", "InternalError"),
    503: ("the server is currently unable to handle the request", "ServiceUnavailable"),
    429: ("Too many requests, please try again later.", "TooManyRequests"),
}


class FaultError(ValueError):
    """A fault request that cannot be applied (unknown cluster, bad value...)."""


@dataclass
class Fault:
    id: str
    kind: str
    clusters: tuple[str, ...]
    params: dict[str, Any] = field(default_factory=dict)
    since: float = field(default_factory=time.time)
    hook: Any = None
    release: Any = None
    """Called when healed: lets requests still held by the fault go on (``api-slow``)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "clusters": list(self.clusters),
            "params": dict(self.params),
            "since": self.since,
        }

    def describe(self) -> str:
        target = " ↔ ".join(self.clusters) if self.kind == "link-down" else ", ".join(self.clusters)
        params = " ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.id}  {self.kind}  {target}" + (f"  {params}" if params else "")


class Faults:
    """The faults in force on one :class:`~tui.sim.mesh.SimMesh`."""

    def __init__(self, mesh: SimMesh) -> None:
        self.mesh = mesh
        self._faults: dict[str, Fault] = {}
        self._next = 0
        self._rng = Random(f"{mesh.scenario.seed}:faults")
        self.events: list[dict[str, Any]] = []
        """One-shot faults applied (``watch-expire``), newest last."""

    # -- bookkeeping ---------------------------------------------------------------------------

    def list(self) -> list[dict[str, Any]]:
        return [fault.to_dict() for fault in self._faults.values()]

    def _cluster(self, name: str) -> SimCluster:
        try:
            return self.mesh.cluster(name)
        except KeyError:
            raise FaultError(
                f"no cluster {name!r} (clusters: {', '.join(self.mesh.clusters)}; contexts work too)"
            ) from None

    def _find(self, kind: str, clusters: tuple[str, ...]) -> Fault | None:
        for fault in self._faults.values():
            if fault.kind == kind and set(fault.clusters) == set(clusters):
                return fault
        return None

    def _add(self, kind: str, clusters: tuple[str, ...], params: dict[str, Any] | None = None) -> Fault:
        self._next += 1
        fault = Fault(f"f{self._next}", kind, clusters, params or {})
        self._faults[fault.id] = fault
        return fault

    def _cilium(self, cluster: SimCluster) -> Any:
        cm = getattr(self.mesh, "cilium", None)
        if cm is None or cluster.name not in cm.views:
            raise FaultError(f"{cluster.name} does not run Cilium")
        return cm

    # -- API faults ----------------------------------------------------------------------------

    async def api_down(self, cluster: str) -> str:
        target = self._cluster(cluster)
        existing = self._find("api-down", (target.name,))
        if existing is not None:
            return existing.id
        await target.stop_listening()
        return self._add("api-down", (target.name,)).id

    async def api_slow(self, cluster: str, seconds: float) -> str:
        target = self._cluster(cluster)
        seconds = float(seconds)
        if not 0 <= seconds <= 600:
            raise FaultError("api-slow: seconds must be between 0 and 600")
        fault = self._find("api-slow", (target.name,))
        if fault is None:
            fault = self._add("api-slow", (target.name,), {"seconds": seconds})
            healed = asyncio.Event()

            async def hook(_request: web.Request, fault: Fault = fault) -> None:
                # A server that is fast again answers what it was holding (as one whose etcd
                # recovered would): the wait ends at the heal, not after its full delay.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(healed.wait(), float(fault.params["seconds"]))

            fault.hook = hook
            fault.release = healed.set
            target.request_hooks.append(hook)
        fault.params["seconds"] = seconds
        return fault.id

    async def api_errors(self, cluster: str, rate: float, code: int = 500) -> str:
        target = self._cluster(cluster)
        rate, code = float(rate), int(code)
        if not 0 <= rate <= 1:
            raise FaultError("api-errors: rate must be between 0 and 1")
        if code not in ERROR_TEXTS:
            raise FaultError(f"api-errors: code must be one of {', '.join(map(str, ERROR_TEXTS))}")
        fault = self._find("api-errors", (target.name,))
        if fault is None:
            fault = self._add("api-errors", (target.name,), {"rate": rate, "code": code})
            rng = self._rng

            async def hook(_request: web.Request, fault: Fault = fault) -> None:
                if rng.random() < float(fault.params["rate"]):
                    message, reason = ERROR_TEXTS[int(fault.params["code"])]
                    raise ApiError(int(fault.params["code"]), message, reason)

            fault.hook = hook
            target.request_hooks.append(hook)
        fault.params.update({"rate": rate, "code": code})
        return fault.id

    async def expire_watches(self, cluster: str) -> str:
        """One shot: compact the history and end every watch with 410 (returns an event id)."""
        target = self._cluster(cluster)
        target.store.compact()
        told = target.store.expire_watches()
        self._next += 1
        event = {"id": f"f{self._next}", "kind": "watch-expire", "clusters": [target.name], "watches": told}
        self.events.append(event)
        return str(event["id"])

    # -- mesh faults ---------------------------------------------------------------------------

    async def link_down(self, a: str, b: str) -> str:
        first, second = self._cluster(a), self._cluster(b)
        if first is second:
            raise FaultError("link-down needs two different clusters")
        cm = self._cilium(first)
        self._cilium(second)
        pair = (first.name, second.name)
        existing = self._find("link-down", pair)
        if existing is not None:
            return existing.id
        cm.links.partitions.add(frozenset(pair))
        cm.refresh_now()
        return self._add("link-down", pair).id

    async def apiserver_down(self, cluster: str) -> str:
        target = self._cluster(cluster)
        cm = self._cilium(target)
        existing = self._find("apiserver-down", (target.name,))
        if existing is not None:
            return existing.id
        cm.set_apiserver_down(target.name, True)
        return self._add("apiserver-down", (target.name,)).id

    async def agent_not_ready(self, cluster: str) -> str:
        target = self._cluster(cluster)
        cm = self._cilium(target)
        existing = self._find("agent-not-ready", (target.name,))
        if existing is not None:
            return existing.id
        cm.set_agent_ready(target.name, False)
        return self._add("agent-not-ready", (target.name,)).id

    def adopt_agent_not_ready(self, cluster: str) -> str:
        """Register a scenario's ``agentNotReady`` as a fault, so it can be healed too."""
        existing = self._find("agent-not-ready", (cluster,))
        return existing.id if existing is not None else self._add("agent-not-ready", (cluster,)).id

    # -- mesh changes (not faults) -------------------------------------------------------------

    async def connect(self, a: str, b: str) -> None:
        from tui.sim.ciliummesh import MeshError

        try:
            self._cilium(self._cluster(a)).connect(a, b)
        except MeshError as exc:
            raise FaultError(str(exc)) from exc

    async def disconnect(self, a: str, b: str) -> None:
        from tui.sim.ciliummesh import MeshError

        try:
            self._cilium(self._cluster(a)).disconnect(a, b)
        except MeshError as exc:
            raise FaultError(str(exc)) from exc

    # -- dispatch and healing ------------------------------------------------------------------

    async def apply(self, kind: str, clusters: list[str], params: dict[str, Any] | None = None) -> str:
        """Set a fault by name (what the control endpoint calls)."""
        params = params or {}
        need = 2 if kind == "link-down" else 1
        if kind not in KINDS:
            raise FaultError(f"unknown fault {kind!r} (known: {', '.join(KINDS)})")
        if len(clusters) != need:
            raise FaultError(f"{kind} needs {need} cluster name{'s' if need > 1 else ''}")
        try:
            if kind == "api-down":
                return await self.api_down(clusters[0])
            if kind == "api-slow":
                return await self.api_slow(clusters[0], float(params.get("seconds", 2.0)))
            if kind == "api-errors":
                return await self.api_errors(
                    clusters[0], float(params.get("rate", 0.5)), int(params.get("code", 500))
                )
            if kind == "watch-expire":
                return await self.expire_watches(clusters[0])
            if kind == "link-down":
                return await self.link_down(clusters[0], clusters[1])
            if kind == "apiserver-down":
                return await self.apiserver_down(clusters[0])
            return await self.agent_not_ready(clusters[0])
        except (TypeError, ValueError) as exc:
            if isinstance(exc, FaultError):
                raise
            raise FaultError(f"{kind}: {exc}") from exc

    async def heal(self, fault_id: str = "all") -> list[str]:
        """Undo one fault (by id) or every fault (``"all"``); returns the ids healed."""
        if fault_id == "all":
            ids = list(self._faults)
        elif fault_id in self._faults:
            ids = [fault_id]
        else:
            raise FaultError(f"no fault {fault_id!r} in force")
        for ident in ids:
            await self._undo(self._faults.pop(ident))
        return ids

    async def _undo(self, fault: Fault) -> None:
        cm = getattr(self.mesh, "cilium", None)
        if fault.kind == "api-down":
            target = self.mesh.cluster(fault.clusters[0])
            if self.mesh.started:
                await target.listen()
        elif fault.kind in ("api-slow", "api-errors"):
            hooks: list[RequestHook] = self.mesh.cluster(fault.clusters[0]).request_hooks
            if fault.hook in hooks:
                hooks.remove(fault.hook)
            if fault.release is not None:
                fault.release()
        elif fault.kind == "link-down" and cm is not None:
            cm.links.partitions.discard(frozenset(fault.clusters))
            cm.refresh_now()
        elif fault.kind == "apiserver-down" and cm is not None:
            cm.set_apiserver_down(fault.clusters[0], False)
        elif fault.kind == "agent-not-ready" and cm is not None:
            cm.set_agent_ready(fault.clusters[0], True)
