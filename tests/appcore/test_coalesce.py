"""Snapshot coalescing without Textual: a fake clock and a fake timer drive ApplyWindow."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from meshmodels import seed_snapshot

from tui.appcore.coalesce import APPLY_COST_FACTOR, APPLY_MAX_INTERVAL, ApplyWindow
from tui.mesh.model import MeshSnapshot


@dataclass
class Timer:
    delay: float
    callback: Callable[[], None]
    stopped: bool = False

    def stop(self) -> None:
        self.stopped = True


@dataclass
class Clock:
    now: float = 100.0
    timers: list[Timer] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def schedule(self, delay: float, callback: Callable[[], None]) -> Timer:
        timer = Timer(delay, callback)
        self.timers.append(timer)
        return timer

    def fire(self) -> None:
        """Advance to the newest live timer and run it."""
        timer = next(t for t in reversed(self.timers) if not t.stopped)
        self.now += timer.delay
        timer.stopped = True
        timer.callback()


def window(refresh: float = 0.25) -> tuple[ApplyWindow[str], Clock]:
    clock = Clock()
    return ApplyWindow(clock.schedule, refresh_interval=refresh, clock=clock, cpu_clock=lambda: 0.0), clock


def test_only_the_newest_snapshot_is_computed_and_requests_merge_into_one_run() -> None:
    win, _clock = window()
    first, second = seed_snapshot(1), seed_snapshot(2)
    win.offer(first)
    win.offer(second)
    assert win.request() is True  # nobody computes: the caller starts a run
    assert win.request() is False  # merged into that run
    computed: list[MeshSnapshot] = []
    delivered: list[str] = []

    def compute(snapshot: MeshSnapshot, selection: object) -> str:
        computed.append(snapshot)
        return f"views of {snapshot.generation} for {selection}"

    win.compute_loop(
        lambda: first, compute, lambda: "sel", lambda v: delivered.append(v) or True, lambda e: True
    )
    assert computed == [second] and delivered == ["views of 2 for sel"]
    assert not win.computing and win.settled()


def test_a_failing_computation_is_reported_and_the_next_snapshot_still_computed() -> None:
    win, _clock = window()
    win.offer(seed_snapshot(1))
    win.request()
    failures: list[BaseException] = []
    calls = 0

    def compute(snapshot: MeshSnapshot, _selection: object) -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            win.request()  # a newer snapshot came while this one failed
            raise ValueError("bad data")
        return "ok"

    delivered: list[str] = []
    win.compute_loop(
        lambda: seed_snapshot(),
        compute,
        lambda: None,
        lambda v: delivered.append(v) or True,
        lambda e: failures.append(e) or True,
    )
    assert [str(e) for e in failures] == ["bad data"] and delivered == ["ok"]
    assert not win.computing


def test_the_app_going_away_ends_the_run_and_releases_it() -> None:
    win, _clock = window()
    win.offer(seed_snapshot())
    win.request()
    win.compute_loop(lambda: seed_snapshot(), lambda s, _: "v", lambda: None, lambda v: False, lambda e: True)
    assert not win.computing  # a later request starts a new run
    assert win.request() is True


def test_applies_are_spaced_by_the_window_and_by_their_cost() -> None:
    win, clock = window(refresh=0.25)
    fired: list[float] = []

    def fire() -> None:
        win.fired()
        fired.append(clock.now)

    win.schedule_apply(fire)
    win.schedule_apply(fire)  # one timer at a time
    assert len(clock.timers) == 1
    clock.fire()
    win.applied(visible=True, fire=fire)
    win.schedule_apply(fire)
    assert clock.timers[-1].delay == pytest.approx(0.25)  # the next window
    clock.fire()
    # a costly apply (0.2 s of CPU) spaces the next ones by APPLY_COST_FACTOR times that
    win.compute_cost = 0.15
    win.drawn(0.05)
    win.applied(visible=True, fire=fire)
    win.schedule_apply(fire)
    assert clock.timers[-1].delay == pytest.approx(APPLY_COST_FACTOR * 0.2)
    clock.fire()
    # however costly, the panes follow at least every APPLY_MAX_INTERVAL
    win.compute_cost = 10.0
    win.drawn(0.0)
    win.schedule_apply(fire)
    assert clock.timers[-1].delay == pytest.approx(APPLY_MAX_INTERVAL)


def test_an_apply_that_changed_nothing_gives_its_window_back() -> None:
    win, clock = window(refresh=0.25)

    def fire() -> None:
        win.fired()

    win.schedule_apply(fire)
    clock.fire()  # an apply at t=100.25 that showed something
    win.applied(visible=True, fire=fire)
    clock.now += 0.3
    win.schedule_apply(fire)
    clock.fire()  # an apply that changed nothing on screen (an agent re-read, same answer)
    win.schedule_apply(fire)  # a real change arrives meanwhile: its timer waits a window ...
    waiting = clock.timers[-1]
    win.applied(visible=False, fire=fire)
    # ... but the window is given back: that timer is replaced by one from the last visible apply
    assert waiting.stopped
    assert win.timer is not None and win.timer is not waiting
    assert win.last_apply == win.last_visible_apply
    assert clock.timers[-1].delay == pytest.approx(0.001)  # due at once: the window is long past


def test_a_selection_change_during_a_run_asks_for_one_more_pass() -> None:
    win, _clock = window()
    win.mark_dirty_if_computing()
    assert not win.dirty  # nothing running: the key draws by itself
    win.request()
    win.dirty = False
    win.mark_dirty_if_computing()
    assert win.dirty
