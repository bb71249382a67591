"""``KubeSource``: the app's :class:`tui.source.MeshSource` over real (or simulated) clusters.

Threaded (the TUI): the hub gets its own event loop in a daemon thread, so listing and parsing
thousands of objects never blocks Textual's loop; every coroutine method hops to the hub's loop
(``run_coroutine_threadsafe`` + ``wrap_future``) and is awaited on the caller's. Not threaded
(headless commands, tests): the hub runs on the caller's loop and calls go straight through.

Listeners are called on the hub's thread; exec streams deliver their lines on the loop that
opened them.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Mapping, Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, TypeVar

from tui.mesh.actions import WriteAction, WriteResult
from tui.mesh.model import MeshSnapshot, Pod

if TYPE_CHECKING:  # the heavy modules (kubernetes, aiohttp) load when the source starts
    from tui.kube.access import AccessDecision
    from tui.kube.cilium import AgentServiceList
    from tui.kube.exec import ExecResult, ExecStream
    from tui.kube.hub import MeshHub
    from tui.kube.settings import HubSettings
    from tui.kube.writes import ManifestResult

T = TypeVar("T")


class LoopThread:
    """An event loop running in a daemon thread, started and stopped explicitly."""

    def __init__(self, name: str = "meshtui-kube") -> None:
        self.name = name
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: threading.Thread | None = None

    def start(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        self.loop = loop
        self.thread = threading.Thread(target=run, name=self.name, daemon=True)
        self.thread.start()
        ready.wait(5)
        return loop

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def stop(self) -> None:
        """Stop the loop, join the thread, close the loop (call after the hub stopped)."""
        loop, thread = self.loop, self.thread
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        if not thread.is_alive():
            loop.close()
        self.loop = None
        self.thread = None


class KubeSource:
    """Every kubeconfig context as one live ``MeshSource``, which can exec into pods
    (:class:`tui.source.PodExec`, forwarded to the hub's loop)."""

    def __init__(
        self,
        kubeconfig: str | None = None,
        contexts: Sequence[str] | None = None,
        read_only: bool = False,
        threaded: bool = True,
        settings: HubSettings | None = None,
    ) -> None:
        self.kubeconfig = kubeconfig
        self.contexts = list(contexts) if contexts else None
        self.threaded = threaded
        self.settings = settings
        self._read_only = read_only
        self._hub: MeshHub | None = None
        self._listeners: list[Callable[[MeshSnapshot], None]] = []
        self._thread: LoopThread | None = None

    @property
    def read_only(self) -> bool:
        return self._read_only

    @property
    def hub(self) -> MeshHub:
        """The running hub (after :meth:`start`)."""
        if self._hub is None:
            raise RuntimeError("KubeSource.start() has not run")
        return self._hub

    # -- plumbing ---------------------------------------------------------------------------------

    async def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._thread is None:
            return await coro
        return await asyncio.wrap_future(self._thread.submit(coro))

    async def _start_hub(self) -> None:
        """On the hub's loop: import the layer (slow: kubernetes, aiohttp) and start it there."""
        from tui.kube.hub import MeshHub

        if self._hub is None:
            self._hub = MeshHub(
                self.kubeconfig, self.contexts, read_only=self._read_only, settings=self.settings
            )
            for callback in self._listeners:
                self._hub.listen(callback)
        await self._hub.start()

    # -- MeshSource -------------------------------------------------------------------------------

    def snapshot(self) -> MeshSnapshot:
        hub = self._hub
        return hub.snapshot() if hub is not None else MeshSnapshot()

    def listen(self, callback: Callable[[MeshSnapshot], None]) -> None:
        self._listeners.append(callback)
        if self._hub is not None:
            self._hub.listen(callback)

    async def start(self) -> None:
        if self.threaded and self._thread is None:
            self._thread = LoopThread()
            self._thread.start()
        await self._call(self._start_hub())

    async def stop(self) -> None:
        try:
            if self._hub is not None:
                await self._call(self._hub.stop())
        finally:
            if self._thread is not None:
                thread, self._thread = self._thread, None
                await asyncio.get_running_loop().run_in_executor(None, thread.stop)

    async def write(self, action: WriteAction) -> WriteResult:
        return await self._call(self.hub.write(action))

    # -- more than the protocol -----------------------------------------------------------------

    async def wait_synced(self, timeout: float = 30.0) -> MeshSnapshot:
        return await self._call(self.hub.wait_synced(timeout))

    async def wait_for(self, predicate: Callable[[MeshSnapshot], bool], timeout: float) -> MeshSnapshot:
        return await self._call(self.hub.wait_for(predicate, timeout))

    async def refresh_cilium(self, context: str | None = None) -> None:
        await self._call(self.hub.refresh_cilium(context))

    async def agent_service_list(self, context: str, pod: str | None = None) -> list[dict[str, Any]] | None:
        """The agent's ``cilium service list -o json`` entries, or ``None`` when unreadable."""
        result = await self.read_agent_service_list(context, pod)
        return None if result.error else [dict(entry) for entry in result.entries]

    async def read_agent_service_list(self, context: str, pod: str | None = None) -> AgentServiceList:
        """The same with the pod, the time of the read and the error."""
        return await self._call(self.hub.agent_service_list(context, pod))

    async def exec_stream(
        self,
        context: str,
        namespace: str,
        pod: str,
        command: Sequence[str],
        *,
        container: str | None = None,
        idle_timeout: float | None = None,
        max_lines: int | None = None,
    ) -> ExecStream:
        """A streaming exec whose lines are delivered to the calling loop."""
        consumer = asyncio.get_running_loop()
        return await self._call(
            self.hub.exec_stream(
                context,
                namespace,
                pod,
                command,
                container=container,
                idle_timeout=idle_timeout,
                max_lines=max_lines,
                consumer_loop=consumer,
            )
        )

    async def exec(
        self,
        context: str,
        namespace: str,
        pod: str,
        command: Sequence[str],
        *,
        container: str | None = None,
        timeout: float = 10.0,
    ) -> ExecResult:
        return await self._call(
            self.hub.exec(context, namespace, pod, command, container=container, timeout=timeout)
        )

    async def pods_of_deployment(self, context: str, namespace: str, deployment: str) -> list[Pod]:
        return await self._call(self.hub.pods_of_deployment(context, namespace, deployment))

    async def create_manifests(
        self, context: str, manifests: Sequence[Mapping[str, Any]]
    ) -> list[ManifestResult]:
        return await self._call(self.hub.create_manifests(context, manifests))

    async def delete_manifests(
        self, context: str, manifests: Sequence[Mapping[str, Any]]
    ) -> list[ManifestResult]:
        return await self._call(self.hub.delete_manifests(context, manifests))

    async def check_access(self, context: str, verb: str, resource: str, **kwargs: Any) -> AccessDecision:
        return await self._call(self.hub.check_access(context, verb, resource, **kwargs))
