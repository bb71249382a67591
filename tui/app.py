"""The meshtui Textual app: one screen, six panes, every write confirmed and logged.

Data flow (ARCHITECTURE.md): the source calls back from any thread with a new snapshot; the
app keeps only the newest, applies at most 4 times a second, computes the view models
(:mod:`tui.views`) in a worker thread and hands them to the widgets, which update by row key.
Writes are confirmed in a dialog, awaited on the source, logged, and *shown* only when a
later snapshot carries them (the panes never guess).

This class keeps composition, bindings and routing. What it decides lives in the Textual-free
core (:mod:`tui.appcore`: coalescing and views, agent lists, activity, keys, launch, the curl
loops) and in :mod:`tui.writeplan` (write planning, shared with the headless commands).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import gc
import logging
import signal
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.command import Hit, Hits, Provider
from textual.containers import Horizontal
from textual.events import Key
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Static

from tui.appcore.activity import ActivityTracker
from tui.appcore.agentlists import AgentLists, read_agent_list
from tui.appcore.coalesce import REFRESH_INTERVAL, ApplyWindow
from tui.appcore.keys import KEYS, VIEW_CLUSTER_KEYS, WRITE_ACTIONS, help_rows, write_key
from tui.appcore.launch import launch, quiet_logging
from tui.appcore.layout import Layout, plan_layout
from tui.appcore.screenviews import Views, changes_nothing, compute_views, keep_current_selection
from tui.compat.textual_private import event_loop, on_app_thread, resume_only_after_suspend
from tui.mesh.actions import InvalidAction, WriteAction, WriteResult
from tui.mesh.annotations import flags_of
from tui.mesh.model import ClusterState, MeshSnapshot, Service, ServiceKey
from tui.safetext import safe_block, safe_line
from tui.source import AgentServiceReader, MeshSource, can_exec
from tui.views.backends import BackendsPerspective
from tui.views.builder import ViewBuilder
from tui.views.clustercolors import ClusterColors
from tui.views.labels import problems_text
from tui.writeplan import (
    affinity_holders,
    applied,
    blocked_text,
    find_deployment,
    object_text,
    plan_affinity,
    plan_scale,
    plan_toggle,
    write_block_reason,
    write_target,
)
from widgets.activity import ActivityLog
from widgets.backends import BackendsPane
from widgets.contexts import ContextList
from widgets.curl_slot import CurlSlot
from widgets.header import MeshHeader
from widgets.mesh import MeshPane
from widgets.rowdetails import RowDetails
from widgets.services import ServicesPane

log = logging.getLogger("tui.app")

COMPACT_FOOTER_BELOW = 100
"""Terminal width under which the footer drops the padding around its keys (all fit in 80)."""
BIG_MESH_SERVICES = 20_000
"""Services across the contexts from which the collector is tuned for a big heap."""
BIG_MESH_GC_THRESHOLD = (20_000, 20, 100)
"""``gc.set_threshold`` for a big mesh: young collections after 20,000 allocations instead of
700, so the short-lived objects of a repaint (Text, Span, Segment, line caches) die young
instead of being promoted into the oldest generation, whose full collections (every second
or two at 64 × 2,000, 150-250 ms each) paused the UI thread in the middle of keys."""


def _bindings() -> list[BindingType]:
    out: list[BindingType] = [Binding(k.key, k.action, k.title, show=k.show, id=k.id) for k in KEYS]
    out += [
        Binding(str(n), f"view_cluster({n})", f"cluster {n}", show=False, id=f"view-cluster-{n}")
        for n in range(1, VIEW_CLUSTER_KEYS + 1)
    ]
    # ctrl+c quits as in k9s, over Textual's "copy"/"press ctrl+q" (the curl loops are stopped
    # first, as for q: on_unmount); priority: a focused filter box must not swallow it.
    out.append(Binding("ctrl+c", "quit", "quit", show=False, priority=True, id="quit.ctrl-c"))
    return out


class JumpProvider(Provider):
    """k9s-style jumps in the command palette: ``:svc NAME``, ``:ctx NAME`` (``:context``),
    ``:ns NAME``; their hits rank above every fuzzy match of the other commands."""

    async def search(self, query: str) -> Hits:
        app = self.app
        if not isinstance(app, MeshtuiApp):
            return
        for index, (title, help_text, callback) in enumerate(app.jump_hits(query)):
            # Above 1.0, the best a fuzzy match scores: the jump typed is what was meant.
            yield Hit(1.5 - index / 1000, title, callback, help=help_text)


class MeshtuiApp(App[int]):
    """meshtui: the operator's single screen over every context of a ClusterMesh."""

    COMMANDS = App.COMMANDS | {JumpProvider}
    CSS_PATH = "app.tcss"
    TITLE = "meshtui"
    BINDINGS: ClassVar[list[BindingType]] = _bindings()
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-narrow"), (140, "-wide")]
    VERTICAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-short"), (40, "-tall")]

    def __init__(
        self,
        source: MeshSource,
        *,
        kubeconfig_label: str = "~/.kube/config",
        read_only: bool = False,
        clock: Callable[[], float] = time.time,
        keymap: Mapping[str, str] | None = None,
        refresh_interval: float = REFRESH_INTERVAL,
        theme: str | None = None,
        handle_signals: bool = False,
        presenter: bool = False,
    ) -> None:
        super().__init__()
        self.presenter = presenter
        """Presenter layout (``P``, ``--presenter``): the curl pane takes most of the screen."""
        self.cluster_colors = ClusterColors()
        """One colour per cluster by context order (:mod:`tui.views.clustercolors`); widgets
        read it through :func:`widgets.palette.cluster_colors`."""
        self.layout_plan: Layout | None = None
        """The heights applied last (:func:`tui.appcore.layout.plan_layout`)."""
        self.handle_signals = handle_signals
        """Stop on SIGTERM / SIGHUP as on ``q`` (``meshtui`` sets it; tests under Pilot do not)."""
        self.stopped_by_signal: int | None = None
        self.initial_theme = theme
        self.source = source
        self.read_only = read_only or bool(getattr(source, "read_only", False))
        self.kubeconfig_label = kubeconfig_label
        self.clock = clock
        self.initial_keymap = dict(keymap or {})
        self.snapshot: MeshSnapshot = source.snapshot()
        self.viewing: str | None = self.snapshot.clusters[0].context if self.snapshot.clusters else None
        self.service: ServiceKey | None = None
        self._backends_hidden = False
        """The Backends pane says a filter hides every service (the selection is kept)."""
        self.show_all = False
        self.views: Views | None = None
        self.view_builder = ViewBuilder()
        """The views' builders and their cache, for the app's lifetime (and its curl loops)."""
        self.window: ApplyWindow[Views] = ApplyWindow(self.set_timer, refresh_interval=refresh_interval)
        """When snapshots are computed and applied (:mod:`tui.appcore.coalesce`)."""
        self.agent_lists = AgentLists()
        """The viewing cluster's ``cilium service list`` reads (:mod:`tui.appcore.agentlists`)."""
        self._agent_timer: Timer | None = None
        self.activity = ActivityTracker[str]()
        """Phase changes and writes waiting to show (:mod:`tui.appcore.activity`)."""
        self._binding_state: tuple[bool | None, ...] = ()
        self.source_started = False
        """``source.start()`` returned: an empty snapshot now means "no contexts", not "wait"."""
        self.start_error = ""
        self._start_task: asyncio.Task[None] | None = None
        self.first_frame_at: float | None = None
        """``time.perf_counter()`` when the first frame was drawn (measurements)."""
        self.repaints = 0
        """Applies that changed what the panes show, so far (tests and measurements)."""
        self._collector_tuned = False
        self.computes = 0
        """Whole-view computations (status, services, backends) so far: keys must not add any."""
        self.selection_draws = 0
        """Backends pane redraws for a selection change made on the UI thread (tests)."""
        self.view_error = ""
        """Why the last computation or drawing of the panes failed (``""``: the last one worked).
        Shown in the header and a notification: a failure never freezes the panes silently."""
        self.view_failures = 0
        self.curl: Any = None
        """The curl loops (:class:`tui.appcore.curl.CurlControl`) when the source can exec."""
        self.curl_pane: Any = None
        """The mounted curl pane (``widgets/curl_pane.py``; ``None`` for fixture sources)."""
        self.curl_unavailable = "the curl pane is still starting"
        self._curl_started = False
        """Why ``c`` has no pane to run in (shown in the slot and when ``c`` is pressed)."""

    @property
    def refresh_interval(self) -> float:
        return self.window.refresh_interval

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: Any = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Every notification is plain, display-safe text: its words are often a cluster's
        (names, server messages, paths typed by the user), so never markup, never a control
        character (:mod:`tui.safetext`), unless a caller asks for markup explicitly."""
        if not markup:
            message, title = safe_block(message, 2000), safe_line(title, 200)
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    # --- layout -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        header = MeshHeader(self.kubeconfig_label, clock=self.clock, id="header")
        header.read_only = self.read_only
        header.contexts = len(self.snapshot.clusters)
        yield header
        with Horizontal(id="top"):
            yield ContextList(id="contexts")
            yield MeshPane(id="mesh")
        yield ServicesPane(id="services")
        with Horizontal(id="middle"):
            yield BackendsPane(id="backends")
            yield ActivityLog(clock=self.clock, id="activity")
        yield Static(id="activity-ticker")
        yield CurlSlot(id="curl")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        if self.handle_signals:
            self._install_signal_handlers()
        if self.initial_theme:
            self.theme = self.initial_theme
        if self.initial_keymap:
            self.set_keymap(self.initial_keymap)
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        log = self.query_one(ActivityLog)
        log.ticker = self.query_one("#activity-ticker", Static)
        log.ticker.update(log.latest_line())
        self.source.listen(self._snapshot_from_any_thread)
        self.window.offer(self.source.snapshot())
        self._request_compute()
        self.query_one("#services-table").focus()
        # The source starts after the first frame: its imports and I/O never delay it. It is
        # queued before the curl pane's mount so that its clock (first_frame_at) reads the
        # first frame, not the pane mounted after it, and the clusters are asked for sooner.
        self.call_after_refresh(self._begin_start)
        self.call_after_refresh(self._mount_curl_pane)

    def _install_signal_handlers(self) -> None:
        """SIGTERM (a kill, a service manager) and SIGHUP (the SSH session to the bastion
        closed): stop the curl loops in the pods and quit as ``q`` does, so the terminal is
        restored (alternate screen, mouse, cursor) and nothing keeps curling in a pod."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):  # not the main thread
                loop.add_signal_handler(signum, self._signalled, signum)
        with contextlib.suppress(ValueError):  # not the main thread (tests)
            # A hang-up also sends SIGCONT, which Textual took for "back from ctrl+z".
            resume_only_after_suspend(self)

    def _signalled(self, signum: int) -> None:
        if self.stopped_by_signal is not None:
            return
        self.stopped_by_signal = signum
        log.info("signal %d: stopping the curl loops and quitting", signum)
        task = asyncio.get_running_loop().create_task(self._quit_for_signal(signum))
        task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)

    async def _quit_for_signal(self, signum: int) -> None:
        if self.curl is not None and self.curl.session is not None:
            # Before the screen goes: the same stop as q (close each loop's exec, kill the
            # shell in the pod if it outlives it), bounded so a dead cluster cannot hold the exit.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.curl.stop(), 15.0)
        self.exit(return_code=128 + signum)

    @property
    def starting_note(self) -> str:
        """What the panes say before the source has started (``starting the simulator``)."""
        return str(getattr(self.source, "starting_note", "") or "reading the kubeconfig")

    def _begin_start(self) -> None:
        if self.first_frame_at is None:
            self.first_frame_at = time.perf_counter()
        if self._start_task is None:
            # A plain task, not a worker: workers are cancelled before unmount, and a start
            # cut in half would leave threads behind; on_unmount waits for it instead.
            self._start_task = asyncio.get_running_loop().create_task(self._start_source())

    async def _start_source(self) -> None:
        try:
            await self.source.start()
        except Exception as exc:
            self.start_error = f"could not start: {type(exc).__name__}: {exc}"
            if self.is_running:
                self.notify(self.start_error, severity="error", timeout=10)
        else:
            self.source_started = True
        if not self.is_running:
            return
        label = getattr(self.source, "kubeconfig_label", None)
        if isinstance(label, str) and label:
            self.kubeconfig_label = label
            self.query_one(MeshHeader).kubeconfig_label = label
            self.query_one(MeshHeader).refresh()
        self.window.offer(self.source.snapshot())
        self._request_compute(force=True)

    async def on_unmount(self) -> None:
        if self.curl is not None:
            with contextlib.suppress(Exception):  # nothing keeps curling in a pod after quit
                await self.curl.stop()
        task = self._start_task
        if task is not None and not task.done():
            with contextlib.suppress(Exception):  # a start that hangs must not hang the exit
                await asyncio.wait_for(asyncio.shield(task), 30)
        with contextlib.suppress(Exception):  # quitting anyway
            await self.source.stop()

    def on_resize(self) -> None:
        # Breakpoint classes change which keys apply (L only when narrow): redraw the footer.
        self.call_after_refresh(self.refresh_bindings)
        # The footer's padding around each key cut the last keys at 80 columns: compact below.
        for footer in self.query(Footer):
            footer.compact = self.size.width < COMPACT_FOOTER_BELOW
        self.apply_layout()

    # --- layout (tui/appcore/layout.py decides; this applies it) -------------------------

    def apply_layout(self) -> None:
        """Size the four stacked regions for the terminal, the curl loops and the contents."""
        if not self.is_mounted(self.screen) or not self.query("#top"):
            return
        running = self.curl is not None and self.curl.session is not None
        clients = len(self.curl.session.stats) if running else 0
        services = self.query_one(ServicesPane)
        backends = self.query_one(BackendsPane)
        table = backends.table
        summary = min(6, len(backends.summary.plain.splitlines()) or 1)
        scrollbar = 1 if self.size.width < 140 else 0  # the tables scroll sideways when narrow
        backends_want = 2 + summary + 1 + max(1, table.row_count) + scrollbar
        filtering = 1 if services.query_one("#services-filter").has_class("-active") else 0
        services_want = 2 + 1 + max(1, services.table.row_count) + scrollbar + filtering
        mesh_lines = len(self.query_one(MeshPane).text.plain.splitlines())
        top_want = 2 + max(2 * len(self.snapshot.clusters), mesh_lines, 4)
        big_lines = 0
        if running and self.presenter:
            big_lines = sum(
                2 * max(len(s.expected or {}), len(s.split())) for s in self.curl.session.stats.values()
            )
        size = self.size
        plan = plan_layout(
            size.width,
            size.height,
            running=running,
            clients=clients,
            services_want=services_want,
            backends_want=backends_want,
            top_want=top_want,
            presenter=self.presenter,
            big_lines=big_lines,
        )
        if plan == self.layout_plan:
            return
        self.layout_plan = plan
        for selector, rows in (
            ("#top", plan.top),
            ("#services", plan.services),
            ("#middle", plan.middle),
            ("#curl", plan.curl),
        ):
            widget = self.query_one(selector)
            widget.styles.height = max(1, rows)
            widget.styles.max_height = rows
            widget.styles.min_height = 0
            widget.display = rows > 0
        self.screen.set_class(not plan.ticker, "-no-ticker")
        if self.curl_pane is not None:
            self.curl_pane.set_big(plan.big)
            self.curl_pane.set_timelines(plan.timelines)

    def action_presenter(self) -> None:
        """``P``: the presenter layout (the curl pane takes most of the screen) and back."""
        self.presenter = not self.presenter
        self.apply_layout()
        if self.curl is None or self.curl.session is None:
            self.notify("presenter layout: start the curl loops (c) to fill it", timeout=3)

    def _show_viewing(self, header: MeshHeader) -> None:
        """The header names the viewing context, its cluster and its Cilium version."""
        state = self.snapshot.by_context(self.viewing) if self.viewing else None
        if state is None:
            header.viewing = (self.viewing or "", "", "")
            return
        header.viewing = (state.context, state.cluster, state.cilium.version or "")

    def _set_cluster_colors(self, snapshot: MeshSnapshot, *, force: bool = False) -> None:
        dark = bool(getattr(self.current_theme, "dark", True))
        made = ClusterColors.of((s.cluster for s in snapshot.clusters), dark=dark)
        if made != self.cluster_colors or force:
            self.cluster_colors = made
            if self.curl is not None:
                self.curl.mark()

    def _theme_changed(self, _theme: object) -> None:
        # Cells carry resolved colours: redraw them in the new theme's.
        self._set_cluster_colors(self.snapshot, force=True)
        self.query_one(MeshPane)._last = None
        self.query_one(ServicesPane).view = None
        self._request_compute(force=True)
        if self.curl is not None:
            self.curl.mark()

    # --- snapshots → views (tui/appcore/coalesce.py decides when) ------------------------

    def _snapshot_from_any_thread(self, snapshot: MeshSnapshot) -> None:
        """The source's callback (any thread): keep only the newest snapshot, wake the UI loop.

        Never blocks the caller: the cluster-access loop must not wait for a repaint.
        """
        self.window.offer(snapshot)
        loop = event_loop(self)
        if loop is None or loop.is_closed():
            return
        if on_app_thread(self):
            self._schedule_apply()
        else:
            loop.call_soon_threadsafe(self._schedule_apply)

    def _schedule_apply(self) -> None:
        self.window.schedule_apply(self._timer_fired)

    def _timer_fired(self) -> None:
        self.window.fired()
        self._request_compute()

    def _request_compute(self, *, force: bool = False) -> None:
        """Recompute the views (in a worker thread); several requests merge into one run."""
        if force:
            self.views = None
        if self.window.request():
            self._compute_worker()

    @work(thread=True, group="views", exit_on_error=False, name="views")
    def _compute_worker(self) -> None:
        def failed(exc: BaseException) -> bool:
            log.exception("computing the views failed", exc_info=exc)
            return self._call_ui(self._view_failed, "computing the views", exc)

        self.window.compute_loop(
            current=lambda: self.snapshot,
            compute=self._compute,
            selection=lambda: (self.show_all, self.service, self.viewing),
            deliver=lambda views: self._call_ui(self._show, views),
            failed=failed,
        )

    def _call_ui(self, callback: Callable[..., Any], *args: Any) -> bool:
        """``callback(*args)`` on the UI thread; ``False`` when the app is no longer running."""
        try:
            self.call_from_thread(callback, *args)
        except RuntimeError:
            if not self.is_running:
                return False
            raise
        return True

    def _view_failed(self, stage: str, exc: BaseException) -> None:
        """A computation or drawing of the panes raised (UI thread): say so and keep going.

        The header shows an alert until a later apply succeeds, and a notification names the
        error once (not on every snapshot that fails the same way); the log has the trace.
        """
        self.view_failures += 1
        message = f"display error while {stage}: {type(exc).__name__}: {exc}"
        first = message != self.view_error
        self.view_error = message
        with contextlib.suppress(Exception):
            header = self.query_one(MeshHeader)
            header.problems = "  ".join(p for p in (problems_text(self.snapshot), "display error") if p)
        if first:
            with contextlib.suppress(Exception):
                self.notify(
                    f"{message}\nThe panes may be out of date; meshtui keeps going.",
                    title="display error",
                    severity="error",
                    timeout=10,
                )

    def _compute(
        self, snapshot: MeshSnapshot, selection: tuple[bool, ServiceKey | None, str | None]
    ) -> Views:
        show_all, service, viewing = selection
        views = compute_views(
            self.view_builder,
            snapshot,
            show_all=show_all,
            service=service,
            viewing=viewing,
            backends_for=self._backends_for,
        )
        self.computes += 1
        return views

    def _show(self, views: Views) -> None:
        """Apply computed views to the widgets (UI thread)."""
        started = time.thread_time()
        if not self.query(MeshHeader):
            return  # the app is closing: its panes are gone
        try:
            self._apply_views(views)
        except Exception as exc:
            log.exception("drawing the panes failed")
            self._view_failed("drawing the panes", exc)
        else:
            self.view_error = ""
        finally:
            self.window.drawn(time.thread_time() - started)

    def _apply_views(self, views: Views) -> None:
        previous = self.views
        views = keep_current_selection(previous, views, self.service, self.viewing)
        visible = not changes_nothing(previous, views)
        self.window.applied(visible=visible, fire=self._timer_fired)
        if visible:
            self.repaints += 1
        self.views = views
        self.snapshot = views.snapshot
        if views.viewing is not None and (
            self.viewing is None or views.snapshot.by_context(self.viewing) is None
        ):
            # Only when there was none or it left the kubeconfig: a key that changed it while
            # these views were computed must not be undone.
            self.viewing = views.viewing
        if self.service is None and views.service is not None:
            self.service = views.service
        self._set_cluster_colors(views.snapshot)
        header = self.query_one(MeshHeader)
        header.contexts = len(views.snapshot.clusters)
        self._show_viewing(header)
        header.problems = problems_text(views.snapshot)
        note = self.waiting_note()
        self.query_one(ContextList).show(views.status, self.viewing, note=note)
        self.query_one(MeshPane).show(views.status, note=note, viewing=self.viewing)
        services = self.query_one(ServicesPane)
        if (
            previous is None
            or previous.services is not views.services
            or services.view is None
            or services.note != note
        ):
            services.show(views.services, note=note)
            selected = services.selected
            if selected is not None and selected != self.service:
                # The cursor moved (a key) while these views were computed: it wins; never
                # move the cursor back to what the views were computed for.
                self.service = selected
                self._request_compute()
        self._show_backends(views)
        self._ensure_focus()
        self._log_changes(views.snapshot)
        self.apply_layout()
        self._refresh_bindings_if_changed()
        self._maybe_read_agent()
        self._tune_collector(views.snapshot)

    def _tune_collector(self, snapshot: MeshSnapshot) -> None:
        """Once the mesh turns out big, apply :data:`BIG_MESH_GC_THRESHOLD` (never lowered)."""
        if self._collector_tuned or len(snapshot.clusters) < 2:
            return
        if sum(len(s.services) for s in snapshot.clusters) < BIG_MESH_SERVICES:
            return
        self._collector_tuned = True
        current = gc.get_threshold()
        gc.set_threshold(*(max(a, b) for a, b in zip(current, BIG_MESH_GC_THRESHOLD, strict=True)))

    def _ensure_focus(self) -> None:
        """Keys need a focused pane: the services table hides while syncing and takes the
        focus with it; give it back (to the table, else the contexts) once there is one."""
        if len(self.screen_stack) != 1 or self.focused is not None:
            return
        table = self.query_one(ServicesPane).table
        target = table if table.display else self.query_one(ContextList)
        target.focus()

    def waiting_note(self) -> str:
        """``Synchronizing… starting the simulator`` until the source started; why it failed."""
        if self.start_error:
            return self.start_error
        if not self.source_started:
            return f"Synchronizing… {self.starting_note}"
        return ""

    def _refresh_bindings_if_changed(self) -> None:
        """Redraw the footer only when a write key's state changed (it re-mounts its keys)."""
        state = tuple(self.check_action(a, ()) for a in sorted(WRITE_ACTIONS))
        if state != self._binding_state:
            self._binding_state = state
            self.refresh_bindings()

    def _show_backends(self, views: Views) -> None:
        pane = self.query_one(BackendsPane)
        service = views.service
        if service != self.service or views.viewing != self.viewing:
            return  # the selection moved on; the next compute draws it
        text = f"{service[0]}/{service[1]}" if service else None
        empty = self._filter_hides_all()
        self._backends_hidden = bool(empty)
        pane.show(
            text,
            views.backends,
            blocked=blocked_text(self.snapshot, self.viewing, read_only=self.read_only),
            viewing=self.viewing or "",
            agent_read_at=self.agent_read_at(views.viewing),
            agent_note=self.agent_note(views.viewing),
            agent_lag=self.agent_lag(
                views.viewing, differs=bool(views.backends and views.backends.differences)
            ),
            empty=empty,
        )

    def _log_changes(self, snapshot: MeshSnapshot) -> None:
        """Cluster phase changes and writes now visible in the snapshot go to the activity log."""
        log = self.query_one(ActivityLog)
        for change in self.activity.phase_changes(snapshot):
            log.add_entry(
                change.context, "cluster", f"{change.before} → {change.after}", change.reason, "event"
            )
        for seen in self.activity.seen_changes(snapshot):  # before landed(): ours are not "seen"
            log.add_entry(seen.context, seen.obj, f"seen: {seen.change}", "made outside meshtui", "event")
        for entry in self.activity.landed(snapshot):
            log.set_outcome(entry, "applied (seen in watch)", "applied")

    def is_settled(self) -> bool:
        """No snapshot waiting, no computation running (tests poll this)."""
        return self.window.settled()

    # --- selection ----------------------------------------------------------------------

    @on(ServicesPane.Highlighted)
    def _service_highlighted(self, event: ServicesPane.Highlighted) -> None:
        if event.key is not None and event.key != self.service:
            self.service = event.key
            self._draw_selection()
        elif self.views is not None and (event.key is None or self._backends_hidden):
            # A filter hid every service (or showed the selected one again): the selection
            # stays, the Backends pane says there is none shown (or shows it again).
            self._show_backends(self.views)
            self._refresh_bindings_if_changed()

    def _filter_hides_all(self) -> str:
        """Why no service is shown although there are some (a filter matches none), or ``""``."""
        panes = self.query(ServicesPane)
        return panes.first().empty_note if panes else ""

    def _draw_selection(self) -> None:
        """A key moved the selection (or the agent's list was read): draw the Backends pane
        for it now, on the UI thread.

        Only the selected service's backends seen from the viewing cluster are computed (its
        objects in each cluster: proportional to the clusters and its backends, a fraction of
        a millisecond at 64 clusters), from the snapshot already on screen. The status and
        services views do not depend on the selection, so a key never recomputes them nor
        waits behind a computation of them in the worker (which held the key for as long as
        a whole-mesh recompute took while clusters streamed events).
        """
        try:
            self._draw_selection_now()
        except Exception as exc:  # a key must never end the app: show it, keep going
            log.exception("drawing the selection failed")
            self._view_failed("drawing the selection", exc)

    def _draw_selection_now(self) -> None:
        views = self.views
        if views is None or self.viewing is None or self.snapshot.by_context(self.viewing) is None:
            self._request_compute()  # nothing drawn yet: the first computation draws it
            return
        self.selection_draws += 1
        self.views = dataclasses.replace(
            views,
            service=self.service,
            viewing=self.viewing,
            backends=self._backends_for(views.snapshot, self.service, self.viewing),
        )
        # The viewing cluster's marker (two prompts change; the others are cached).
        self.query_one(ContextList).show(views.status, self.viewing, note=self.waiting_note())
        # A big mesh's Mesh pane drills into the viewing cluster (the matrix below that: no-op).
        self.query_one(MeshPane).show(views.status, note=self.waiting_note(), viewing=self.viewing)
        self._show_backends(self.views)
        self.apply_layout()
        self._refresh_bindings_if_changed()
        self._maybe_read_agent()
        # The computation in flight carries the old selection: run once more after it.
        self.window.mark_dirty_if_computing()

    def _backends_for(
        self, snapshot: MeshSnapshot, service: ServiceKey | None, viewing: str | None
    ) -> BackendsPerspective | None:
        """The Backends pane's view of ``service`` from ``viewing`` (``None`` without either)."""
        state = snapshot.by_context(viewing) if viewing else None
        if service is None or state is None:
            return None
        entries = self.agent_lists.entries(viewing)
        return self.view_builder.backends(snapshot, service, state, agent_entries=entries)

    @on(RowDetails)
    def _row_details(self, event: RowDetails) -> None:
        from tui.screens.details import DetailsDialog  # dialogs load when first opened

        if len(self.screen_stack) == 1:
            self.push_screen(DetailsDialog(event.title, event.fields))

    @on(ContextList.ViewingChanged)
    def _viewing_changed(self, event: ContextList.ViewingChanged) -> None:
        self.set_viewing(event.context)

    def set_viewing(self, context: str) -> None:
        """Make ``context`` the cluster the Backends pane (and writes) look from."""
        if context == self.viewing or self.snapshot.by_context(context) is None:
            return
        self.viewing = context
        self._show_viewing(self.query_one(MeshHeader))
        self._draw_selection()

    def select_service(self, key: ServiceKey) -> None:
        self.service = key
        self.query_one(ServicesPane).select(key)
        self._draw_selection()

    def action_view_cluster(self, number: int) -> None:
        clusters = self.snapshot.clusters
        if 1 <= number <= len(clusters):
            self.set_viewing(clusters[number - 1].context)
        else:
            self.notify(f"there is no context {number}", severity="warning", timeout=3)

    def action_filter(self) -> None:
        self.query_one(ServicesPane).start_filter()

    def action_toggle_log(self) -> None:
        self.screen.toggle_class("-show-log")

    def action_toggle_all(self) -> None:
        self.show_all = not self.show_all
        self._request_compute()

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen  # dialogs load when first opened, not at start

        self.push_screen(HelpScreen(self.key_help(), read_only=self.read_only))

    # --- agent service list (tui/appcore/agentlists.py decides when) ----------------------

    def _maybe_read_agent(self, force: bool = False) -> None:
        """Read the viewing cluster's ``cilium service list`` when it may have changed."""
        if not isinstance(self.source, AgentServiceReader):
            return
        plan = self.agent_lists.plan(
            self.snapshot, self.viewing, self.service, differs=self._agent_differs, force=force
        )
        if plan.kind == "later":
            self._schedule_agent_read(plan.delay)
        elif plan.kind == "read":
            self._read_agent(plan.context, plan.want)

    def _agent_differs(self, context: str, key: ServiceKey) -> bool:
        """The Backends pane shows the agent's list of ``key`` in ``context`` disagreeing."""
        views = self.views
        if views is None or views.viewing != context or views.service != key or views.backends is None:
            return False
        return views.backends.agent_backends is not None and views.backends.differences > 0

    def _schedule_agent_read(self, delay: float) -> None:
        if self._agent_timer is not None:
            return

        def fired() -> None:
            self._agent_timer = None
            self._maybe_read_agent()

        self._agent_timer = self.set_timer(max(0.05, delay), fired)

    @work(group="agent", exclusive=False, exit_on_error=False)
    async def _read_agent(self, context: str, want: tuple[Any, ...]) -> None:
        reader: AgentServiceReader = self.source  # type: ignore[assignment]
        self.agent_lists.begin(context)
        entries, error = await read_agent_list(reader, context)
        outdated = self.agent_outdated(context)
        if self.agent_lists.finish(context, want, entries, error, stamp=self.clock(), outdated=outdated):
            # Only the Backends pane shows the agent's list: redraw it, not the whole mesh.
            self._draw_selection()
        else:
            self._maybe_read_agent()  # the same answer: maybe read again later (retries)

    def action_read_agent(self) -> None:
        """``r``: read the viewing cluster's agent list now (the only way above the size limit)."""
        if not isinstance(self.source, AgentServiceReader):
            self.notify("this source cannot read the agents' service lists", severity="warning")
            return
        state = self.snapshot.by_context(self.viewing) if self.viewing else None
        if state is None or state.phase != "ok" or self.service is None:
            self.notify("select a service in a reachable cluster first", severity="warning", timeout=3)
            return
        self._maybe_read_agent(force=True)
        self._draw_selection()  # "reading cilium service list…"

    def agent_note(self, context: str | None) -> str:
        """What the Backends pane says when it shows no agent list (or why the last read failed)."""
        if not isinstance(self.source, AgentServiceReader) or context is None:
            return ""
        return self.agent_lists.note(context, self.snapshot.by_context(context))

    def agent_outdated(self, context: str | None) -> bool:
        """The agent list shown for ``context`` was read before the selected service last
        changed: right after a switch it "differs" only because it is old, so say so."""
        return self.agent_lists.outdated(context, self.snapshot, self.service)

    def agent_lag(self, context: str | None, *, differs: bool = False) -> str:
        """Why a difference the Backends pane shows may be the agent list's age (``""``: it is
        a disagreement); see :meth:`AgentLists.lag`."""
        return self.agent_lists.lag(context, self.snapshot, self.service, differs=differs)

    def agent_read_at(self, context: str | None) -> float | None:
        """When the agent list shown for ``context`` was read (app clock), if ever."""
        return self.agent_lists.read_at(context)

    # --- writes (planned by tui/writeplan.py, the headless commands' rules) ---------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if len(self.screen_stack) > 1 and action != "quit":
            # A dialog is open: keys typed ahead of it must not start another action.
            return False
        if action == "toggle_log":
            return self.screen.has_class("-narrow")  # the log has its own pane when wide
        if action in WRITE_ACTIONS:
            if self.read_only:
                return False
            return None if self.write_block_reason(action) else True
        return True

    def on_key(self, event: Key) -> None:
        """A disabled write key says why instead of doing nothing (a removed one too: under
        ``--read-only`` the write bindings are gone, so Textual alone would stay silent)."""
        active = self.screen.active_bindings.get(event.key)
        if active is None and self.read_only and len(self.screen_stack) == 1:
            removed = write_key(event.key, self.initial_keymap)
            if removed is not None:
                self.notify(
                    f"{removed.title}: read-only mode (--read-only): nothing is written",
                    severity="warning",
                    timeout=4,
                )
            return
        if active is None or active.enabled or active.binding.action.split("(")[0] not in WRITE_ACTIONS:
            return
        reason = self.write_block_reason(active.binding.action.split("(")[0])
        if reason:
            self.notify(f"{active.binding.description}: {reason}", severity="warning", timeout=4)

    def _target(self) -> tuple[ClusterState, Service] | None:
        return write_target(self.snapshot, self.viewing, self.service)

    def write_block_reason(self, action: str) -> str:
        """Why ``action`` cannot run now (``""`` when it can): read-only, no selection, RBAC...
        (:func:`tui.writeplan.write_block_reason`, the rules the headless commands follow too)."""
        if not self.read_only and (empty := self._filter_hides_all()):
            return f"no service shown: {empty[0].lower()}{empty[1:]}"
        return write_block_reason(self.snapshot, self.viewing, self.service, action, read_only=self.read_only)

    def _refuse(self, action: str) -> bool:
        reason = self.write_block_reason(action)
        if reason:
            self.notify(reason, severity="warning", timeout=4)
            return True
        return False

    def action_affinity(self) -> None:
        from tui.screens.affinity import AffinityMenu

        if self._refuse("affinity") or (target := self._target()) is None:
            return
        state, service = target
        current = flags_of(service).affinity_raw
        holders = affinity_holders(self.snapshot, service.key)

        def chosen(result: tuple[str, bool] | None) -> None:
            if result is None:
                return
            choice, everywhere = result
            plan = plan_affinity(holders if everywhere else [state], service.key, choice)
            if not plan.actions:
                self.notify("nothing to change: the affinity already means that", timeout=3)
                return
            self.confirm_and_write(plan.actions, warning=plan.warning)

        self.push_screen(
            AffinityMenu(
                f"{service.namespace}/{service.name}",
                f"{state.cluster} ({state.context})",
                current,
                clusters_with_service=len(holders),
            ),
            chosen,
        )

    def _toggle(self, which: str) -> None:
        if self._refuse(f"toggle_{which}") or (target := self._target()) is None:
            return
        action, warning = plan_toggle(*target, which)
        self.confirm_and_write([action], warning=warning)

    def action_toggle_global(self) -> None:
        self._toggle("global")

    def action_toggle_shared(self) -> None:
        self._toggle("shared")

    def _scale_target(self, action: str) -> tuple[ClusterState, Any] | None:
        if self._refuse(action) or (target := self._target()) is None:
            return None
        state, service = target
        deployment = find_deployment(state, service)
        return None if deployment is None else (state, deployment)

    def _scale_to(self, state: ClusterState, deployment: Any, replicas: int) -> None:
        action, warning = plan_scale(state, deployment, replicas)
        self.confirm_and_write([action], warning=warning)

    def action_scale(self) -> None:
        from tui.screens.scale import ScaleDialog

        if (target := self._scale_target("scale")) is None:
            return
        state, deployment = target

        def chosen(replicas: int | None) -> None:
            if replicas is None:
                return
            if replicas == deployment.replicas:
                self.notify(f"{deployment.name} is already at {replicas} replicas", timeout=3)
                return
            self._scale_to(state, deployment, replicas)

        self.push_screen(
            ScaleDialog(state.context, deployment.namespace, deployment.name, deployment.replicas), chosen
        )

    def action_scale_by(self, delta: int) -> None:
        if (target := self._scale_target("scale_by")) is None:
            return
        state, deployment = target
        replicas = max(0, deployment.replicas + delta)
        if replicas == deployment.replicas:
            self.notify(f"{deployment.name} is already at {replicas} replicas", timeout=3)
            return
        self._scale_to(state, deployment, replicas)

    def action_scale_zero(self) -> None:
        if (target := self._scale_target("scale_zero")) is None:
            return
        self._scale_to(target[0], target[1], 0)

    def confirm_and_write(self, actions: Sequence[WriteAction], *, warning: str = "") -> None:
        """Validate, confirm in a dialog, then send (public: tests use it)."""
        if self.read_only:
            self.notify("read-only mode: nothing is written", severity="warning")
            return
        for action in actions:
            try:
                action.validate()
            except InvalidAction as exc:
                self.notify(str(exc), severity="error", timeout=6)
                return
        from tui.screens.confirm import ConfirmDialog

        clusters = {s.context: s.cluster for s in self.snapshot.clusters}

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_worker(self._send(list(actions)), group="writes", exit_on_error=False)

        self.push_screen(ConfirmDialog(actions, clusters=clusters, warning=warning), answered)

    async def _send(self, actions: list[WriteAction]) -> None:
        log = self.query_one(ActivityLog)
        for action in actions:
            entry = log.add_entry(action.context, object_text(action), action.describe(), "sent…", "sent")
            self.activity.sending(action)
            try:
                result = await self.source.write(action)
            except Exception as exc:
                result = WriteResult(action, ok=False, message=f"{type(exc).__name__}: {exc}")
            finally:
                self.activity.answered(action)
            if result.ok:
                log.set_outcome(entry, "ok, waiting for watch…", "ok")
                self.activity.sent(entry, action)
                if self.curl is not None and self.curl.running:
                    self.curl.change(f"{action.describe()} ({action.context})")
                if applied(self.snapshot, action):
                    log.set_outcome(entry, "applied (seen in watch)", "applied")
            else:
                prefix = "refused" if result.refused else "failed"
                status = f" {result.status}" if result.status else ""
                log.set_outcome(entry, f"{prefix}{status}: {result.message}", prefix)
                self.notify(f"{action.describe()}: {result.message}", severity="error", timeout=8)

    # --- sample apps: writes like the others (confirmed, logged) --------------------------

    def sample(self, app_name: str, *, delete: bool) -> None:
        """Deploy / delete a sample app (``tui/samples.py``) in every context writes may go to,
        once confirmed in the write dialog naming every context and every object."""
        if self.read_only:
            self.notify("read-only mode: the sample is not deployed or deleted", severity="warning")
            return
        from tui.samples import plan_sample
        from tui.screens.confirm import ConfirmDialog

        plan = plan_sample(self.source.snapshot(), app_name, delete=delete)
        if isinstance(plan, str):
            self.notify(plan, severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_worker(self._send_sample(plan), group="writes", exit_on_error=False)

        self.push_screen(ConfirmDialog(title=plan.title, body=plan.body, danger=delete), answered)

    async def _send_sample(self, plan: Any) -> None:
        from tui.samples import apply_sample, summary_text

        log = self.query_one(ActivityLog)
        change = f"{plan.verb} in {plan.namespace}"
        entries = {c: log.add_entry(c, f"sample {plan.app}", change, "sent…", "sent") for c in plan.contexts}
        try:
            results = await apply_sample(
                self.source, plan.contexts, app=plan.app, namespace=plan.namespace, delete=plan.delete
            )
        except Exception as exc:
            results = {}
            for entry in entries.values():
                log.set_outcome(entry, f"failed: {type(exc).__name__}: {exc}", "failed")
        failed = not results
        for context, items in results.items():
            ok = all(r.ok for r in items)
            failed = failed or not ok
            log.set_outcome(entries[context], summary_text(items), "ok" if ok else "failed")
        severity = "error" if failed else "information"
        self.notify(
            f"sample {plan.app}: {plan.verb} {'failed in places' if failed else 'done'}", severity=severity
        )

    # --- curl loops (tui/appcore/curl.py; the pane in widgets/curl_pane.py draws them) ------

    async def _mount_curl_pane(self) -> None:
        from textual.widget import MountError

        if not can_exec(self.source):
            # A source without exec (the fixture data of tests and snapshots): say so, do not
            # promise a pane that will never come.
            self.curl_unavailable = "this source cannot exec into pods (fixture data, no cluster)"
            self.query_one(CurlSlot).unavailable(self.curl_unavailable)
            return
        from tui.appcore.curl import CurlControl, curl_view
        from widgets.curl_pane import CurlPane

        self.curl = CurlControl(
            self.source,  # type: ignore[arg-type]
            expected=self.view_builder.expected_share,
            notify=self.notify,
            run=lambda coro: self.run_worker(coro, group="curl", exit_on_error=False),
        )
        control = self.curl

        def changed() -> bool:
            started = control.session is not None
            if started != self._curl_started:
                self._curl_started = started
                self.apply_layout()  # loops now run (or the session went): the pane grows
            return control.take_dirty()

        pane = CurlPane(
            lambda room, drawn=None, marks=200: curl_view(control, room=room, drawn=drawn, marks=marks),
            changed,
        )
        try:
            await self.query_one(CurlSlot).mount_pane(pane)
        except MountError:
            return  # the app quit before the pane was mounted (q at once): nothing to show
        self.curl_pane = pane
        self.apply_layout()

    def _curl_ready(self) -> bool:
        if self.curl is None:
            self.notify(f"no curl loops: {self.curl_unavailable}", severity="warning", timeout=4)
            return False
        return True

    def _no_curl_target(self) -> bool:
        """Say why ``c``/``C`` has no service to start loops for: none selected, or a filter
        hides every service (the selection kept under it is not on screen to start)."""
        hidden = self._filter_hides_all()
        if self.service is None or self.viewing is None:
            self.notify("select a service first", severity="warning", timeout=3)
            return True
        if hidden and not (self.curl is not None and self.curl.running):
            self.notify(f"no service shown: {hidden[0].lower()}{hidden[1:]}", severity="warning", timeout=3)
            return True
        return False

    def action_curl(self) -> None:
        """``c``: loops from every cluster holding the selected service; again: stop them."""
        if self._no_curl_target():
            return
        if self._curl_ready():
            self.curl.toggle(self.service, self.viewing, here=False)

    def action_curl_here(self) -> None:
        """``C``: a loop from the viewing cluster only (again: stop it)."""
        if self.curl is None:
            self.action_curl()  # says why there is none (or that a service is needed first)
            return
        if self._no_curl_target():
            return
        self.curl.toggle(self.service, self.viewing, here=True)

    def action_curl_stop(self) -> None:
        if self._curl_ready():
            self.curl.run(self.curl.stop())

    def action_curl_map(self) -> None:
        if self._curl_ready():
            self.curl.toggle_map()

    def action_curl_relearn(self) -> None:
        if self._curl_ready():
            self.curl.relearn()

    def action_curl_interval(self) -> None:
        if not self._curl_ready():
            return
        from tui.curl.target import check_interval
        from tui.screens.ask import AskDialog

        def chosen(value: str | None) -> None:
            if value is not None:
                self.curl.set_interval(value)

        hint = "seconds between requests (0: as fast as curl goes)"
        self.push_screen(AskDialog("Curl interval", hint, f"{self.curl.interval:g}", check_interval), chosen)

    def action_curl_path(self) -> None:
        if not self._curl_ready():
            return
        key = self.service
        if key is None:
            self.notify("select a service first", severity="warning", timeout=3)
            return
        from tui.curl.target import check_path
        from tui.screens.ask import AskDialog

        current = self.curl.target_for(key).path

        def chosen(value: str | None) -> None:
            if value is not None:
                self.curl.paths[key] = check_path(value)
                self.notify(f"curl path for {key[0]}/{key[1]}: {value}", timeout=3)

        title = f"Curl path for {key[0]}/{key[1]}"
        self.push_screen(AskDialog(title, "HTTP path, starting with /", current, check_path), chosen)

    def action_curl_pick(self) -> None:
        if not self._curl_ready():
            return
        from tui.screens.pick import PickDialog

        context = self.viewing
        choices = self.curl.client_choices(context)
        if isinstance(choices, str):
            self.notify(choices, severity="warning", timeout=3 if choices == "no viewing cluster" else 4)
            return
        title, options = choices

        def chosen(picked: tuple[str, str] | None) -> None:
            if picked is not None and context is not None:
                self.curl.run(self.curl.use_client(context, picked))

        self.push_screen(PickDialog(title, options), chosen)

    # --- palette and help ---------------------------------------------------------------

    def key_display(self, binding_id: str, default: str) -> str:
        # the keymap this app handed to Textual (its only source: MESHTUI_KEYMAP at start)
        keys = self.initial_keymap.get(binding_id, default)
        return " ".join(self.get_key_display(Binding(k.strip(), "")) for k in keys.split(","))

    def key_help(self) -> list[tuple[str, str, str, str]]:
        """(keys, title, what it does, binding id) for the help screen, keymap applied."""
        return help_rows(self.key_display, read_only=self.read_only, curl_pane=self.curl_pane is not None)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        rows = self.views.services.rows if self.views is not None else ()
        yield from self._system_commands(rows, curl_only=False)

    def curl_commands(self) -> Iterable[SystemCommand]:
        """The palette's curl and sample-app commands (when the source can exec)."""
        yield from self._system_commands((), curl_only=True)

    def _system_commands(self, rows: Sequence[Any], *, curl_only: bool) -> Iterable[SystemCommand]:
        """The palette's entries (:func:`tui.appcore.palette.palette_commands`), bound here."""
        from tui.appcore.palette import palette_commands

        commands = palette_commands(
            self.snapshot,
            rows,
            read_only=self.read_only,
            block_reason=self.write_block_reason,
            display=self.key_display,
            curl_interval=self.curl.interval if self.curl is not None else None,
            curl_running=self.curl is not None and self.curl.running,
        )
        for command in commands:
            if curl_only and command.kind not in ("curl", "sample"):
                continue
            yield SystemCommand(
                command.title, command.help, self._palette_callback(command), command.discover
            )

    def jump_hits(self, query: str) -> list[tuple[str, str, Callable[[], Any]]]:
        """(title, help, callback) for a k9s-style jump typed in the palette (``svc NAME``,
        ``ctx NAME``, ``ns NAME``: :func:`tui.appcore.palette.jump_commands`)."""
        from tui.appcore.palette import jump_commands

        rows = self.views.services.rows if self.views is not None else ()
        commands = jump_commands(query, self.snapshot, rows, show_all=self.show_all)
        return [(c.title, c.help, self._palette_callback(c)) for c in commands]

    def _palette_callback(self, command: Any) -> Callable[[], Any]:
        kind, arg = command.kind, command.arg
        if kind == "namespace":
            return lambda: self.query_one(ServicesPane).set_filter(f"{arg}/")
        if kind == "refuse":
            return lambda: self.notify(arg, severity="warning")
        if kind == "view":
            return lambda: self.set_viewing(arg)
        if kind == "service":
            return lambda: self.select_service(arg)
        if kind == "sample":
            return lambda: self.sample(arg[0], delete=arg[1])
        if kind == "curl":
            return getattr(self, f"action_{arg}")
        return lambda: self.run_action(arg)


def run(args: argparse.Namespace) -> int:
    """``meshtui`` (every context of the kubeconfig) and ``meshtui --demo`` (the simulator).

    ``MESHTUI_THEME`` picks a Textual theme, ``MESHTUI_KEYMAP`` remaps keys by binding id
    (see :func:`tui.appcore.keys.parse_keymap`), ``MESHTUI_LOG`` names a file for the log.
    """
    made = launch(args)
    if isinstance(made, str):
        print(f"meshtui: {made}", file=sys.stderr)
        return 2
    quiet_logging()
    app = MeshtuiApp(
        made.source,
        kubeconfig_label=made.label,
        read_only=made.read_only,
        theme=made.theme,
        keymap=made.keymap,
        handle_signals=True,
        presenter=bool(getattr(args, "presenter", False)),
    )
    app.run()
    return app.return_code or 0
