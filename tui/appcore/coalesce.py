"""Snapshot coalescing: the newest snapshot wins, at most one visible apply per window.

The source calls back from any thread, sometimes hundreds of times a second while 64 clusters
sync; the panes must follow within a fraction of a second without the views taking the whole
interpreter. :class:`ApplyWindow` keeps only the newest snapshot, merges requests into one
computation run at a time, and spaces the applies: at most one per ``refresh_interval``
(:data:`REFRESH_INTERVAL`), or :data:`APPLY_COST_FACTOR` times the last apply's CPU cost when
that is longer, and at least every :data:`APPLY_MAX_INTERVAL`. An apply that changed nothing on
screen gives its window back, so the next real change does not wait for it.

Textual-free: the app hands it a timer function (``schedule(delay, callback) → handle`` with
``handle.stop()``) and runs :meth:`ApplyWindow.compute_loop` in a worker thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from tui.mesh.model import MeshSnapshot

REFRESH_INTERVAL = 0.25
"""At most 4 repaints a second, however fast snapshots arrive."""
APPLY_COST_FACTOR = 3.0
"""Applies are spaced at least this many times their own CPU cost apart, so the views take at
most about a third of the interpreter: while 64 clusters sync, every apply recomputes 2,000
rows (half a second), and applying 4 times a second starved the access layer's lists of the
GIL (the mesh took 2.5 times longer to load in the app than in the layer alone)."""
APPLY_MAX_INTERVAL = 2.0
"""However costly an apply, the panes follow the clusters at least this often."""

V = TypeVar("V")


class TimerHandle(Protocol):
    def stop(self) -> None: ...


Schedule = Callable[[float, Callable[[], None]], TimerHandle]
"""``schedule(delay, callback)``: call ``callback`` on the UI loop after ``delay`` seconds."""


class ApplyWindow(Generic[V]):
    """When to compute and apply views (see the module docstring). Thread-safe.

    ``current``: the snapshot on screen, used when none is waiting; ``clock``: monotonic seconds.
    """

    def __init__(
        self,
        schedule: Schedule,
        *,
        refresh_interval: float = REFRESH_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        cpu_clock: Callable[[], float] = time.thread_time,
    ) -> None:
        self.schedule = schedule
        self.refresh_interval = refresh_interval
        self.clock = clock
        self.cpu_clock = cpu_clock
        self.lock = threading.Lock()
        self.incoming: MeshSnapshot | None = None
        self.dirty = False
        self.computing = False
        self.timer: TimerHandle | None = None
        self.last_apply = 0.0
        self.last_visible_apply = 0.0
        """When an apply last changed what the panes show: an apply that changed nothing (an
        agent re-read with the same answer, a pod's status) must not make the next real change
        wait out a coalescing window."""
        self.compute_cost = 0.0
        self.apply_cost = 0.0
        """CPU seconds the last apply took (views computed in the worker, then drawn): the next
        apply waits at least APPLY_COST_FACTOR times that."""

    # -- snapshots in ------------------------------------------------------------------------

    def offer(self, snapshot: MeshSnapshot) -> None:
        """A newer snapshot (any thread): it replaces any waiting one. Never blocks for long."""
        with self.lock:
            self.incoming = snapshot

    def interval(self) -> float:
        """The spacing of applies now: the refresh interval, stretched by the last apply's cost."""
        return min(APPLY_MAX_INTERVAL, max(self.refresh_interval, APPLY_COST_FACTOR * self.apply_cost))

    def schedule_apply(self, fire: Callable[[], None]) -> None:
        """(UI loop) Arrange for ``fire`` at the next window, unless a timer is already set."""
        if self.timer is not None:
            return
        delay = max(0.001, self.last_apply + self.interval() - self.clock())
        self.timer = self.schedule(delay, fire)

    def fired(self) -> None:
        """(UI loop) The timer went off: an apply starts its window now."""
        self.timer = None
        self.last_apply = self.clock()

    # -- computations --------------------------------------------------------------------------

    def request(self) -> bool:
        """Ask for a computation; ``True`` when the caller must start a run (none is running).
        Several requests while one runs merge into one more pass of that run."""
        with self.lock:
            self.dirty = True
            if self.computing:
                return False
            self.computing = True
            return True

    def mark_dirty_if_computing(self) -> None:
        """The selection changed under a computation in flight: run once more after it."""
        with self.lock:
            if self.computing:
                self.dirty = True

    def compute_loop(
        self,
        current: Callable[[], MeshSnapshot],
        compute: Callable[[MeshSnapshot, Any], V],
        selection: Callable[[], Any],
        deliver: Callable[[V], bool],
        failed: Callable[[BaseException], bool],
    ) -> None:
        """(Worker thread) Compute until nothing is dirty. ``deliver(views)`` / ``failed(exc)``
        hand the outcome to the UI and return ``False`` when the app is gone. Whatever fails,
        the loop goes on with the next snapshot and ``computing`` is released: a failure is
        shown, never a frozen screen."""
        finished = False
        try:
            while True:
                with self.lock:
                    if not self.dirty:
                        self.computing = False  # under the lock: a request now starts a new run
                        finished = True
                        return
                    self.dirty = False
                    snapshot = self.incoming or current()
                    chosen = selection()
                started = self.cpu_clock()
                try:
                    views = compute(snapshot, chosen)
                except Exception as exc:
                    if not failed(exc):
                        return
                    continue
                self.compute_cost = self.cpu_clock() - started
                if not deliver(views):
                    return
        finally:
            if not finished:
                with self.lock:
                    self.computing = False

    # -- applies -------------------------------------------------------------------------------

    def applied(self, *, visible: bool, fire: Callable[[], None]) -> None:
        """(UI loop) An apply was drawn; ``visible``: it changed what the panes show. One that
        did not gives its window back (and a timer set meanwhile is moved up to match)."""
        if visible:
            self.last_visible_apply = self.last_apply
            return
        self.last_apply = self.last_visible_apply
        if self.timer is not None:  # set while this ran, for the window just given back
            self.timer.stop()
            self.timer = None
            self.schedule_apply(fire)

    def drawn(self, seconds: float) -> None:
        """The CPU seconds drawing took: with the computation's, the cost that spaces applies."""
        self.apply_cost = self.compute_cost + seconds

    def settled(self) -> bool:
        """No snapshot waiting, no computation running, no apply pending (tests poll this)."""
        with self.lock:
            return not self.computing and not self.dirty and self.timer is None
