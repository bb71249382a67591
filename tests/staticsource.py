"""The fixture source: snapshots pushed by a test, writes played back as a cluster would.

:class:`StaticSource` is a :class:`tui.source.MeshSource` without a cluster: the app tests,
the SVG snapshot tests and the view benchmarks draw the hand-written meshes of
:mod:`meshmodels` through it. It cannot exec into pods, so the app shows no curl pane with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from meshmodels import WriteRejected, apply_write

from tui.mesh.actions import InvalidAction, Scale, SetAnnotation, WriteAction, WriteResult
from tui.mesh.model import MeshSnapshot
from tui.source import SnapshotCallback
from tui.writeplan import verb_for

AgentLists = (
    Mapping[str, Sequence[dict[str, Any]]] | Callable[[MeshSnapshot, str], Sequence[dict[str, Any]] | None]
)
"""Per context ``cilium service list -o json`` documents, or a function of the snapshot."""


class StaticSource:
    """A source that holds snapshots pushed to it and plays writes back like a cluster.

    * :meth:`push` replaces the snapshot and notifies listeners (from the caller's thread).
    * :meth:`write` checks read-only and the context's RBAC as a cluster would, records the
      action in :attr:`writes` and answers at once; ``apply_delay`` seconds later the change
      appears in a new snapshot (:func:`meshmodels.apply_write`), as a watch would deliver it.
      With ``apply_delay=None`` accepted writes wait in :attr:`held` until :meth:`release`
      (tests use it to look at the screen between the answer and the watch event).
    * ``fail`` maps an action to a :class:`WriteResult` to simulate server errors.
    * ``agent_lists`` answers :class:`AgentServiceReader` (fixed documents, or computed from
      the current snapshot so they follow writes like a real agent).
    """

    def __init__(
        self,
        snapshot: MeshSnapshot,
        *,
        read_only: bool = False,
        apply_delay: float | None = 0.3,
        fail: Callable[[WriteAction], WriteResult | None] | None = None,
        agent_lists: AgentLists | None = None,
    ) -> None:
        self.read_only = read_only
        self.apply_delay = apply_delay
        self.fail = fail
        self.writes: list[WriteAction] = []
        self.held: list[WriteAction] = []
        self.results: list[WriteResult] = []
        self.agent_lists = agent_lists
        self.started = False
        self._snapshot = snapshot
        self._listeners: list[SnapshotCallback] = []
        self._lock = threading.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    def snapshot(self) -> MeshSnapshot:
        return self._snapshot

    def listen(self, callback: SnapshotCallback) -> None:
        self._listeners.append(callback)

    def push(self, snapshot: MeshSnapshot) -> None:
        """Make ``snapshot`` current (its generation is raised above the last one) and notify."""
        with self._lock:
            generation = max(snapshot.generation, self._snapshot.generation + 1)
            self._snapshot = dataclasses.replace(snapshot, generation=generation)
            current = self._snapshot
        for callback in list(self._listeners):
            callback(current)

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.started = False
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def write(self, action: WriteAction) -> WriteResult:
        result = self._answer(action)
        self.results.append(result)
        return result

    def _answer(self, action: WriteAction) -> WriteResult:
        if self.read_only:
            return WriteResult(action, ok=False, message="read-only mode: nothing is written", refused=True)
        try:
            action.validate()
        except InvalidAction as exc:
            return WriteResult(action, ok=False, message=str(exc), refused=True)
        state = self._snapshot.by_context(action.context)
        if state is None:
            return WriteResult(action, ok=False, message=f"unknown context {action.context}", status=404)
        if state.phase in ("unreachable", "error"):
            return WriteResult(action, ok=False, message=f"{action.context}: {state.reason or state.phase}")
        verb = verb_for(action)
        if state.allowed.get(verb) is False:
            reason = state.denied_reasons.get(verb, f"{verb} forbidden")
            return WriteResult(action, ok=False, message=f"Forbidden: {reason}", status=403)
        if self.fail is not None and (failed := self.fail(action)) is not None:
            self.writes.append(action)
            return failed

        try:
            apply_write(self._snapshot, action)  # the same checks a server makes before accepting
        except WriteRejected as exc:
            return WriteResult(action, ok=False, message=str(exc), status=exc.status)
        self.writes.append(action)
        self._schedule_apply(action)
        return WriteResult(action, ok=True, message=_ok_message(action))

    def release(self) -> None:
        """Deliver the held writes now (``apply_delay=None``), as one watch event each."""

        held, self.held = self.held, []
        for action in held:
            with contextlib.suppress(WriteRejected):
                self.push(apply_write(self._snapshot, action))

    def _schedule_apply(self, action: WriteAction) -> None:
        if self.apply_delay is None:
            self.held.append(action)
            return

        async def later() -> None:
            await asyncio.sleep(self.apply_delay or 0.0)

            with contextlib.suppress(WriteRejected):
                self.push(apply_write(self._snapshot, action))

        task = asyncio.get_running_loop().create_task(later())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def agent_service_list(self, context: str) -> Sequence[dict[str, Any]] | None:
        lists = self.agent_lists
        if lists is None:
            return None
        state = self._snapshot.by_context(context)
        if state is None or not state.usable:
            return None
        if callable(lists):
            # Computed lists cost CPU at 64 clusters: keep the app's loop free meanwhile.
            return await asyncio.to_thread(lists, self._snapshot, context)
        return lists.get(context)


def _ok_message(action: WriteAction) -> str:
    if isinstance(action, SetAnnotation):
        return f"service/{action.service} annotated"
    if isinstance(action, Scale):
        return f"deployment.apps/{action.deployment} scaled"
    return "ok"
