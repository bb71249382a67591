"""Driving meshtui from code against the simulator: short waits, and waiting for a calm screen.

One home for what the app, curl and kube tests, the reliability suite and
``tools/screenshots.py`` all need (no pytest import here, so a tool can use it too):

* :func:`until` — the one wait-until of the suite: poll a condition (bounded), under Pilot too;

* :data:`FAST_HUB` — cluster-access settings with sub-second retries and polls, so a test
  sees a fault or a write within a fraction of a second instead of the production 8-10 s;
* :data:`SIM_KWARGS` — the simulator with near-zero delays, seeded so pod names, IPs and
  load-balancing choices are the same on every run;
* :func:`settle` — wait (bounded) until the app has drawn everything it has been given.

Production code never imports this module.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tui.kube.backoff import BackoffPolicy
from tui.kube.client import Timeouts
from tui.kube.settings import HubSettings
from tui.kube.watch import WatchSettings

if TYPE_CHECKING:
    from textual.pilot import Pilot

FAST_HUB = HubSettings(
    timeouts=Timeouts(connect=1.0, read=3.0, exec=2.0),
    backoff=BackoffPolicy(initial=0.05, maximum=0.3, jitter=0.2, reset_after=5.0),
    watch=WatchSettings(timeout=20.0, page_size=500, min_stream=0.2),
    probe_interval=0.25,
    kube_system_poll=0.25,
    cilium_interval=0.3,
    exec_timeout=2.0,
    coalesce=0.02,
    access_interval=60.0,
    startup_gc_pause=0.0,
)
"""Retries within ~0.3 s, a probe every 0.25 s, agents read every 0.3 s, snapshots coalesced
over 20 ms."""

SIM_KWARGS: dict[str, Any] = {
    "sync_delay": 0.02,
    "connect_delay": 0.02,
    "syn_timeout": 0.5,
    "link_latency": 0.002,
    "ready_delay": 0.02,
    "termination_grace": 0.1,
    "seed": 1,
}
"""``SimThread`` keyword arguments: near-zero delays (pods, agents, links), seeded for stable names."""


async def until(
    predicate: Callable[[], Any],
    timeout: float = 5.0,
    step: float = 0.02,
    describe: Callable[[], str] | None = None,
    since: float | None = None,
    *,
    pilot: Pilot | None = None,
    settled: bool = False,
) -> float:
    """Poll ``predicate`` (on this loop) until it is true; the seconds it took. Fails (an
    ``AssertionError`` naming the timeout and ``describe()``, e.g. the screen's text) after
    ``timeout`` seconds.

    ``since``: a ``time.monotonic()`` to measure from (default: now); ``pilot``: wait with
    ``pilot.pause`` between polls so the app processes its messages (else ``asyncio.sleep``);
    ``settled``: before each poll, wait until the app has drawn what it was given
    (:func:`settle`), for conditions on a calm screen.
    """
    started = time.monotonic() if since is None else since
    while True:
        if settled:
            assert pilot is not None, "settled needs the pilot"
            await settle(pilot, timeout=max(0.1, timeout - (time.monotonic() - started)))
        if predicate():
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            state = f":\n{describe()}" if describe is not None else ""
            raise AssertionError(f"condition not reached within {timeout:g} s{state}")
        if pilot is not None:
            await pilot.pause(step)
        else:
            await asyncio.sleep(step)


async def settle(pilot: Pilot, timeout: float = 5.0, *, started: bool = False) -> None:
    """Wait until no snapshot is pending and the views are drawn (bounded in time).

    The source must have started (or failed to: its error is on screen); with ``started``
    it must have started. Input cursors stop blinking, so a screenshot taken next is stable.
    """
    from textual.widgets import Input

    from tui.app import MeshtuiApp

    app = pilot.app
    assert isinstance(app, MeshtuiApp)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause(0.02)
        # Writes may hang on purpose (a slow cluster): wait for the view and agent workers only.
        # (An empty list would mean "every worker"; awaiting a worker under a timeout would
        # cancel it: so filter, and only wait when there is something to wait for.)
        busy = [w for w in app.workers if w.group != "writes" and w.is_running]
        if busy:
            await app.workers.wait_for_complete(busy)
        await pilot.pause()
        begun = app.source_started or (app.start_error and not started)
        if app.is_settled() and app.views is not None and begun:
            for box in app.query(Input):
                box.cursor_blink = False
            await pilot.pause()
            return
    raise AssertionError("the app did not settle")


IDLE_SHARE = 0.25
"""The share of a 20 ms window the app's thread may spend on CPU and still count as idle
(Textual's own threshold: 5 %)."""
IDLE_MAX = 0.1
"""The longest wait for idle (Textual's: 1 s)."""


async def wait_for_idle_of_this_thread(min_sleep: float = 1 / 50, max_sleep: float = 1) -> None:
    """Textual's ``wait_for_idle`` (what ``Pilot.press`` waits with after each key, and
    ``Pilot.pause()``), judged by this thread's CPU time instead of the whole process's, and
    bounded at :data:`IDLE_MAX` instead of 1 s.

    Textual waits until the process spends (almost) no CPU over 20 ms, up to 1 s, twice per key
    pressed. Against the simulator the process is never that idle: the simulator and the
    threaded ``KubeSource`` run in threads of the same process, and the app redraws every
    agent read (several a second with the tests' fast settings). So every key waited the full
    second or two, about half the time of the app tests. What a test needs after a key is that
    the app handled it: ``Pilot.press`` still waits for the screen's messages to be processed
    (``_wait_for_screen``), and the tests wait for what the key must show (:func:`until`).
    """
    started = time.monotonic()
    max_sleep = min(max_sleep, IDLE_MAX)
    while True:
        cpu = time.thread_time()
        await asyncio.sleep(1 / 50)
        elapsed = time.monotonic() - started
        if elapsed >= max_sleep:
            break
        if elapsed > min_sleep and time.thread_time() - cpu < IDLE_SHARE / 50:
            break
