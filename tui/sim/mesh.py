"""The simulated mesh: every :class:`SimCluster` of a scenario in one process.

Keeping all clusters in one process lets part 2 route traffic between them in memory (the
``network_factory`` hook gives exec programs their data plane). :class:`SimMesh` runs on an
asyncio loop (``await mesh.start()`` / ``await mesh.stop()``); :class:`SimThread` runs one on its
own loop in a daemon thread, for the TUI (``meshtui --demo``) and for tests.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import inspect
import shutil
import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui.sim.ciliummesh import CiliumMesh
from tui.sim.cluster import SimCluster
from tui.sim.faults import Faults
from tui.sim.kubeconfig import UserKind, write_kubeconfig
from tui.sim.scenario import Scenario, load

if TYPE_CHECKING:
    from tui.sim.curl import Network

NetworkFactory = Callable[[SimCluster, dict[str, Any]], "Network | None"]

BIG_MESH_OBJECTS = 20_000
"""From this many initial objects on, :meth:`SimMesh.start` pauses the garbage collector while it
loads and freezes what it loaded (see there)."""


class SimMesh:
    """All clusters of a scenario, their API servers and the kubeconfig that reaches them."""

    def __init__(
        self,
        scenario: Scenario | str = "seed",
        *,
        plain_http: bool = False,
        kubeconfig_path: str | Path | None = None,
        user: UserKind = "admin",
        watch_history: int = 5000,
        ready_delay: float | None = None,
        termination_grace: float | None = None,
        seed: int | None = None,
        sync_delay: float | None = None,
        link_latency: float | None = None,
        connect_delay: float | None = None,
        syn_timeout: float | None = None,
        cilium: bool = True,
    ) -> None:
        self.scenario = load(scenario) if isinstance(scenario, str) else scenario
        if ready_delay is not None:
            self.scenario.ready_delay = ready_delay
        if termination_grace is not None:
            self.scenario.termination_grace = termination_grace
        if seed is not None:
            self.scenario.seed = seed
        self.plain_http = plain_http
        self.user: UserKind = user
        self.kubeconfig_path: Path | None = Path(kubeconfig_path) if kubeconfig_path else None
        self.cilium = CiliumMesh(
            self,
            sync_delay=sync_delay,
            link_latency=link_latency,
            connect_delay=connect_delay,
            syn_timeout=syn_timeout,
            enabled=cilium,
        )
        """Cilium on every cluster: agents' views, ClusterMesh links, data plane (part 2)."""
        self.clusters: dict[str, SimCluster] = {
            spec.name: SimCluster(
                self.cilium.spec_with_cilium(spec),
                self.scenario,
                mesh=self,
                plain_http=plain_http,
                watch_history=watch_history,
            )
            for spec in self.scenario.clusters
        }
        self.network_factory: NetworkFactory | None = (
            self.cilium.network_for if self.cilium.settings.enabled else None
        )
        """Part 2's data plane: ``(cluster, pod) -> Network`` for exec programs (curl)."""
        self.faults = Faults(self)
        """Runtime faults (:mod:`tui.sim.faults`): ``await mesh.faults.link_down("cluster1", "cluster2")``."""
        self.initial_faults = initial_faults(self.scenario)
        """The scenario's ``faults:``, set once the mesh is up (links established first)."""
        self.started = False
        self._froze = False

    def cluster(self, name_or_context: str) -> SimCluster:
        """A cluster by Cilium name (``cluster1``) or context (``bastion02``)."""
        if name_or_context in self.clusters:
            return self.clusters[name_or_context]
        for cluster in self.clusters.values():
            if cluster.context == name_or_context:
                return cluster
        raise KeyError(name_or_context)

    def network_for(self, cluster: SimCluster, pod: dict[str, Any]) -> Network | None:
        """What an exec in ``pod`` can reach (``None`` until part 2's data plane is plugged in)."""
        return self.network_factory(cluster, pod) if self.network_factory else None

    @property
    def big(self) -> bool:
        """The mesh loads at least :data:`BIG_MESH_OBJECTS` objects (manifests, bulk services
        and their slices), so its start-up is worth a paused collector."""
        shared = len(self.scenario.objects)
        total = sum(2 * c.spec.bulk_services + len(c.spec.objects) + shared for c in self.clusters.values())
        return total >= BIG_MESH_OBJECTS

    async def start(self) -> None:
        """Load every cluster, listen, connect the mesh.

        A big mesh loads with the garbage collector paused, then freezes what it loaded
        (``gc.freeze()`` after one full collection): the collector otherwise walks the growing
        heap again and again while 255 clusters load (~15 % of the start), and later every
        young collection an agent's answer triggers pays for the mesh's hundreds of thousands of
        long-lived objects. They hold few cycles; reference counting frees them. Small meshes
        (the seed, tests) start as before.
        """
        pause = self.big and gc.isenabled()
        if pause:
            gc.disable()
        try:
            for cluster in self.clusters.values():
                await cluster.start()
            await self.cilium.start()
            for name in self.cilium.agents_not_ready:
                self.faults.adopt_agent_not_ready(name)
            for kind, clusters, params in self.initial_faults:
                await self.faults.apply(kind, list(clusters), params)
        finally:
            if pause:
                gc.enable()
        if pause:
            gc.collect()  # the start-up's own garbage must not be frozen
            gc.freeze()
            self._froze = True
        if self.kubeconfig_path is not None:
            self.write_kubeconfig(self.kubeconfig_path, self.user)
        self.started = True

    async def stop(self) -> None:
        await self.cilium.stop()
        await asyncio.gather(*(c.stop() for c in self.clusters.values()), return_exceptions=True)
        self.started = False
        if self._froze:  # a process that goes on (tests, benchmarks) collects this mesh again
            self._froze = False
            gc.unfreeze()

    def write_kubeconfig(self, path: str | Path, user: UserKind | Mapping[str, UserKind] = "admin") -> Path:
        """Write a kubeconfig for every cluster: admin or read-only users (one kind or per context)."""
        return write_kubeconfig(path, self.clusters.values(), user)


def initial_faults(scenario: Scenario) -> list[tuple[str, tuple[str, ...], dict[str, Any]]]:
    """``faults: [{kind: link-down, clusters: [cluster1, cluster2]}, ...]`` of a scenario, checked:
    each is set once the mesh is up, as if an operator set it after the links were established
    (so the agents hold what the lost remotes had)."""
    from tui.sim.faults import KINDS
    from tui.sim.scenario import ScenarioError

    raw = scenario.extra.get("faults") or []
    if not isinstance(raw, list):
        raise ScenarioError("'faults' must be a list")
    names = {name for spec in scenario.clusters for name in (spec.name, spec.context)}
    out = []
    for item in raw:
        if not isinstance(item, dict) or item.get("kind") not in KINDS:
            raise ScenarioError(f"faults: {item!r} needs a kind out of {', '.join(KINDS)}")
        clusters = item.get("clusters") or []
        if not isinstance(clusters, list) or not all(str(c) in names for c in clusters):
            raise ScenarioError(f"faults: {item!r} names unknown clusters")
        params = item.get("params") or {}
        out.append((str(item["kind"]), tuple(str(c) for c in clusters), dict(params)))
    return out


class SimThread:
    """A :class:`SimMesh` on its own event loop in a daemon thread.

    ``with SimThread("seed", ready_delay=0.01) as sim: ...`` — ``sim.kubeconfig_path`` is ready to
    use inside the block; ``sim.call(fn)`` runs ``fn`` (sync or async) on the simulator's loop.
    """

    def __init__(
        self,
        scenario: Scenario | str = "seed",
        *,
        kubeconfig_path: str | Path | None = None,
        start_timeout: float = 120.0,
        **mesh_kwargs: Any,
    ) -> None:
        self._tmpdir: str | None = None
        if kubeconfig_path is None:
            self._tmpdir = tempfile.mkdtemp(prefix="meshtui-sim-")
            kubeconfig_path = Path(self._tmpdir) / "kubeconfig"
        self.kubeconfig_path = Path(kubeconfig_path)
        self._scenario = scenario
        self._mesh_kwargs = mesh_kwargs
        self._start_timeout = start_timeout
        self.loop: asyncio.AbstractEventLoop | None = None
        self.mesh: SimMesh | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop_future: asyncio.Future[None] | None = None
        self._error: BaseException | None = None

    def start(self) -> SimThread:
        self._thread = threading.Thread(target=self._run, name="meshtui-sim", daemon=True)
        self._thread.start()
        if not self._ready.wait(self._start_timeout):
            raise TimeoutError("the simulator did not start in time")
        if self._error is not None:
            raise RuntimeError(f"the simulator failed to start: {self._error}") from self._error
        return self

    def _run(self) -> None:
        from tui.sim.serverloop import new_loop

        loop = new_loop()
        self.loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._main())
        finally:
            loop.close()

    async def _main(self) -> None:
        try:
            self.mesh = SimMesh(self._scenario, kubeconfig_path=self.kubeconfig_path, **self._mesh_kwargs)
            await self.mesh.start()
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            if self.mesh is not None:
                await self.mesh.stop()
            return
        self._stop_future = asyncio.get_running_loop().create_future()
        self._ready.set()
        try:
            await self._stop_future
        finally:
            await self.mesh.stop()

    def call(self, fn: Callable[..., Any], *args: Any, timeout: float = 30.0) -> Any:
        """Run ``fn(*args)`` on the simulator's loop (awaited when it is a coroutine function)."""
        assert self.loop is not None, "SimThread is not running"

        async def runner() -> Any:
            result = fn(*args)
            if inspect.isawaitable(result):
                result = await result
            return result

        future: concurrent.futures.Future[Any] = asyncio.run_coroutine_threadsafe(runner(), self.loop)
        return future.result(timeout)

    def stop(self, timeout: float = 15.0) -> None:
        if (
            self.loop is not None
            and self._stop_future is not None
            and self._thread
            and self._thread.is_alive()
        ):
            future = self._stop_future
            self.loop.call_soon_threadsafe(lambda: future.done() or future.set_result(None))
        if self._thread is not None:
            self._thread.join(timeout)
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def __enter__(self) -> SimThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
