"""The Curl pane: live curl loops from every client cluster to the selected service.

Per client cluster one row — the split of the last answers per answering cluster as bars with
the rules' expected share beside each (the same numbers as the Backends pane), p50/p95, a
latency sparkline, errors by kind and the request rate — and below them a live log of recent
answers (time, from → to cluster, pod, short body, ms) and loop events ("reattached to ...").
``m`` swaps the log for the learned map (which answer means which pod and cluster).

The pane drives a :class:`tui.curl.session.CurlSession` on the app's loop; answers only mark
the pane dirty and a timer repaints at most 4 times a second, so a loop at 20 answers a second
costs a few parses, not 20 repaints. It is mounted into the app's ``#curl`` slot by
:func:`install_curl_pane` when the source can exec (a fixture source cannot).

Keys (app level): ``c`` start/stop from every cluster holding the service, ``C`` from the
viewing cluster only. With the pane focused: ``p`` client pod, ``i`` interval, ``m`` learned
map, ``r`` learn again, ``x`` stop. The palette has all of these plus the sample apps.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Sparkline, Static
from textual.widgets.option_list import Option

from tui.curl.target import CurlTarget, InvalidInput, check_interval, check_path, default_target
from tui.mesh.model import MeshSnapshot, ServiceKey
from tui.safetext import clean_text, markup_escaped, safe_line, safe_text
from tui.source import can_exec
from widgets.palette import Palette, palette

if TYPE_CHECKING:
    # The loop machinery (fingerprints, frames, scripts: ~30 ms to import) loads with the first
    # session (``start``), not with the pane, which mounts right after the app's first frame.
    from tui.curl.loop import CurlAnswer, LoopEvent
    from tui.curl.session import CurlSession
    from tui.curl.stats import LoopStats

REPAINT = 0.25
"""Seconds between repaints at most (≤ 4 Hz)."""
BAR = 10
"""Blocks for 100 % in a split bar."""
MAX_LOOPS = 16
"""Loops ``c`` starts at most (the clusters holding the service first)."""
MAX_LINES = 60
PANE_ROWS = 7
"""Content rows of the curl slot at 160×48 (its max-height 9 minus the border)."""
SPARK = 16
POD_WIDTH = 30

T = TypeVar("T")


def window_for(interval: float) -> int:
    """Answers the split is computed over: about the last 10 seconds' worth, 20 to 100.

    At the default 1 s a change (affinity, scale) shows in the bars within seconds instead of
    the minute a fixed 60-answer window would take; fast loops get the steadier 100.
    """
    if interval <= 0:
        return 100
    return max(20, min(100, round(10.0 / interval)))


def ms_text(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def interval_text(seconds: float) -> str:
    return "no pause" if seconds == 0 else f"every {seconds:g} s"


def split_text(stats: LoopStats, colors: Palette) -> Text:
    """``cluster1 █████░░░░░ 48%  cluster2 █████░░░░░ 52%  (expected 50/50)``: actual vs the rules.

    A share more than 25 points away from the rules' (after 10 answers) is shown as a warning.
    """
    from tui.curl.stats import UNKNOWN  # loaded already: a session made ``stats``

    out = Text()
    split = stats.split()
    counted = sum(split.values())
    clusters = list(stats.expected)
    clusters += sorted(c for c in split if c not in stats.expected and c != UNKNOWN)
    for index, cluster in enumerate(clusters):
        if index:
            out.append("  ")
        share = split.get(cluster, 0) / counted if counted else 0.0
        blocks = round(share * BAR)
        expected = stats.expected.get(cluster, 0.0)
        off = counted >= 10 and abs(share - expected) > 0.25
        out.append(f"{safe_line(cluster)} ", style="bold" if cluster == stats.from_cluster else "")
        out.append("█" * blocks, style=colors.warn if off else colors.accent)
        out.append("░" * (BAR - blocks), style=colors.muted)
        out.append(f" {round(share * 100):>3}%", style=colors.warn if off else "")
    if split.get(UNKNOWN):
        out.append(f"  unknown {split[UNKNOWN]}", style=colors.warn)
    if stats.expected:
        shares = "/".join(str(round(stats.expected.get(c, 0.0) * 100)) for c in clusters)
        out.append(f"  (expected {shares})", style=colors.muted)
    elif stats.expected_note:
        out.append(f"  (expected: {stats.expected_note})", style=colors.muted)
    return out


def errors_text(stats: LoopStats, colors: Palette) -> Text:
    if not stats.errors:
        return Text("errors 0", style=colors.muted)
    parts = sorted(stats.errors.items(), key=lambda item: -item[1])[:3]
    return safe_text(" ".join(f"{kind} {n}" for kind, n in parts), colors.err)


def answer_line(answer: CurlAnswer, colors: Palette, *, width: int = 40) -> Text:
    """``12:00:01  cluster1 → cluster2  userlist-…-9kq2z  Maria Kim   14 ms``."""
    stamp = time.strftime("%H:%M:%S", time.localtime(answer.at))
    out = Text(f"{stamp}  ", style=colors.muted)
    out.append(f"{safe_line(answer.from_cluster)} → ")
    if not answer.answered:
        out.append(f"✗ {safe_line(answer.error_kind or 'error')}", style=colors.err)
        if answer.error:
            out.append(f"  {safe_line(answer.error, 80)}", style=colors.muted)
        out.append(f"  {ms_text(answer.ms)}", style=colors.muted)
        return out
    if answer.to_cluster is None:
        out.append("unknown", style=colors.warn)
        body = " ".join(answer.body.split())
        out.append(f"  {safe_line(body[: width * 2])}", style=colors.warn)
    else:
        out.append(f"{safe_line(answer.to_cluster):<9}", style="bold")
        pod = safe_line(answer.pod or "(pod unknown)")
        pod = pod if len(pod) <= POD_WIDTH else pod[: POD_WIDTH - 1] + "…"
        out.append(f"  {pod:<{POD_WIDTH}}", style="" if answer.pod else colors.muted)
        out.append(f"  {safe_line(answer.label[:width])}")
    if answer.error_kind:
        out.append(f"  {safe_line(answer.error_kind)}", style=colors.err)
    out.append(f"  {ms_text(answer.ms)}", style=colors.muted)
    return out


def event_line(event: LoopEvent, clusters: dict[str, str], colors: Palette) -> Text:
    stamp = time.strftime("%H:%M:%S", time.localtime(event.at))
    out = Text(f"{stamp}  ", style=colors.muted)
    if event.context:
        out.append(f"{safe_line(clusters.get(event.context, event.context))}  ")
    mark = {"reattached": "⟳ ", "attached": "▶ ", "error": "✗ ", "waiting": "… ", "learned": "✓ "}
    style = colors.err if event.kind in ("error", "ended") else colors.primary
    out.append(mark.get(event.kind, "• ") + safe_line(event.text), style=style)
    return out


class CurlRow(Horizontal):
    """One client cluster: summary text and a latency sparkline."""

    DEFAULT_CSS = """
    CurlRow { height: 1; }
    CurlRow > .curl-summary { width: 1fr; height: 1; }
    CurlRow > Sparkline { width: 16; height: 1; margin: 0 0 0 1; }
    """

    def __init__(self, context: str) -> None:
        super().__init__(classes="curl-row")
        self.context = context
        self.summary = Static("", classes="curl-summary")
        self.spark = Sparkline([], summary_function=max)

    def compose(self) -> ComposeResult:
        yield self.summary
        yield self.spark

    def show(self, summary: Text, latencies: Sequence[float]) -> None:
        # One line, always: no layout pass needed.
        self.summary.update(clean_text(summary, block=False), layout=False)
        data = list(latencies)
        if data != self.spark.data:
            self.spark.data = data


class CurlPane(Vertical):
    """Live curl loops (see the module docstring)."""

    DEFAULT_CSS = """
    CurlPane { height: auto; padding: 0 1; }
    CurlPane > #curl-rows { height: auto; max-height: 4; }
    CurlPane > #curl-log { height: auto; }
    CurlPane > #curl-hint { height: auto; color: $text-muted; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "pick_client", "client pod", id="curl.pick"),
        Binding("i", "set_interval", "interval", id="curl.interval"),
        Binding("m", "toggle_map", "learned map", id="curl.map"),
        Binding("r", "relearn", "learn again", id="curl.relearn"),
        Binding("x", "stop", "stop curl", id="curl.stop"),
    ]
    KEY_HELP: ClassVar[dict[str, str]] = {
        "curl.pick": "pick the client pod of the viewing cluster",
        "curl.interval": "seconds between requests (0: as fast as curl goes)",
        "curl.map": "the learned map (which answer means which pod) in place of the log, and back",
        "curl.relearn": "probe every backend again",
        "curl.stop": "stop every curl loop",
    }
    """What each binding does, for the app's help screen (by binding id)."""
    can_focus = True

    def __init__(
        self,
        source: Any,
        *,
        interval: float = 1.0,
        timeout: float = 2.0,
        window: int | None = None,
        repaint: float = REPAINT,
        id: str | None = "curl-pane",
    ) -> None:
        super().__init__(id=id)
        self.source = source
        self.interval = check_interval(interval)
        self.timeout = timeout
        self.window = window
        """Answers per split (``None``: :func:`window_for` the interval)."""
        self.repaint = repaint
        self.session: CurlSession | None = None
        self.clients: dict[str, tuple[str, str]] = {}
        """Client pods picked by the user: context → (namespace, pod)."""
        self.paths: dict[ServiceKey, str] = {}
        self.mode = "log"
        self.lines: collections.deque[CurlAnswer | LoopEvent] = collections.deque(maxlen=MAX_LINES)
        self.repaints = 0
        self._dirty = True
        self._busy = False
        self._rows_for: tuple[str, ...] = ()
        self._titles: tuple[str, str] = ("", "")

    # -- layout -----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(self._hint(), id="curl-hint")
        yield VerticalScroll(id="curl-rows")
        yield Static("", id="curl-log")

    def on_mount(self) -> None:
        self.set_interval(self.repaint, self._tick)
        self._title()

    async def on_unmount(self) -> None:
        session = self.session
        if session is not None:
            await session.stop()

    def _hint(self) -> str:
        return "c  curl from every cluster · C  from the viewing one · p  client pod · i  interval · m  map"

    @property
    def slot(self) -> Any:
        return self.parent

    def _title(self) -> None:
        slot = self.slot
        if slot is None:
            return
        session = self.session
        if session is None:
            self._set_titles(slot, "Curl", interval_text(self.interval))
            return
        state = "running" if session.running else "stopped"
        if session.learning:
            state += " · learning"
        froms = ", ".join(s.from_cluster for s in session.stats.values())
        title = f"Curl  {froms} → {session.target.text}  {interval_text(session.interval)}  {state}"
        learned = len(session.fingerprints.rows)
        keys = "c stop · C here · p pod · i interval · m " + ("log" if self.mode == "map" else "map")
        self._set_titles(slot, title, f"learned {learned} backend{'s' if learned != 1 else ''} · {keys}")

    def _set_titles(self, slot: Any, title: str, subtitle: str) -> None:
        """Set the slot's border texts only when they change (each set repaints the slot)."""
        if (title, subtitle) != self._titles:
            self._titles = (title, subtitle)
            # Text, never a str: a border title str is parsed as markup (a path holding [/]).
            slot.border_title = safe_text(title)
            slot.border_subtitle = safe_text(subtitle)

    # -- public: what the app's keys and commands call ------------------------------------------

    def handle_curl_key(self, key: ServiceKey, viewing: str | None) -> None:
        """``c``: start from every cluster holding ``key``; again (same service): stop."""
        self._toggle(key, viewing, here=False)

    def curl_here(self, key: ServiceKey | None, viewing: str | None) -> None:
        """``C``: start (or stop) the loop from the viewing cluster only."""
        if key is None or viewing is None:
            self.app.notify("select a service first", severity="warning", timeout=3)
            return
        self._toggle(key, viewing, here=True)

    def _toggle(self, key: ServiceKey, viewing: str | None, *, here: bool) -> None:
        if self._busy:
            return
        session = self.session
        if session is not None and session.running and session.target.key == key:
            if here and viewing is not None and viewing not in session.loops:
                self._run(self._add(viewing))
                return
            if here and viewing is not None and len(session.loops) > 1:
                self._run(self._stop_one(viewing))
                return
            self._run(self.stop())
            return
        try:
            target = self.target_for(key)
        except InvalidInput as exc:
            self.app.notify(f"curl: {exc}", severity="error", timeout=6)
            return
        contexts = [viewing] if here and viewing else self.contexts_for(key)
        if not contexts:
            self.app.notify("curl: no cluster can be read right now", severity="warning", timeout=4)
            return
        self._run(self.start(target, contexts))

    def target_for(self, key: ServiceKey) -> CurlTarget:
        snapshot: MeshSnapshot = self.source.snapshot()
        return default_target(snapshot, key, path=self.paths.get(key))

    def contexts_for(self, key: ServiceKey) -> list[str]:
        """The usable contexts holding the service (every usable one if none does), at most 16."""
        snapshot: MeshSnapshot = self.source.snapshot()
        usable = [s for s in snapshot.clusters if s.usable]
        holding = [s.context for s in usable if key in s.services]
        chosen = holding or [s.context for s in usable]
        if len(chosen) > MAX_LOOPS:
            self.app.notify(f"curl: from the first {MAX_LOOPS} of {len(chosen)} clusters", timeout=4)
        return chosen[:MAX_LOOPS]

    async def start(self, target: CurlTarget, contexts: Sequence[str]) -> None:
        from tui.curl.session import CurlSession

        if self.session is not None:
            await self.session.stop()
        self.lines.clear()
        session = CurlSession(
            self.source,
            target,
            interval=self.interval,
            timeout=self.timeout,
            window=self.window or window_for(self.interval),
            clients=dict(self.clients),
            on_change=self._mark,
            on_answer=self._answer,
            on_event=self._event,
            expected=self.app.view_builder.expected_share,
        )
        self.session = session
        await session.start(contexts)
        self._mark()

    async def stop(self) -> None:
        session = self.session
        if session is not None:
            await session.stop()
        self._mark()

    async def _add(self, context: str) -> None:
        session = self.session
        if session is not None:
            await session.start([context])

    async def _stop_one(self, context: str) -> None:
        session = self.session
        if session is not None:
            await session.stop_context(context)
            if not session.running:
                await session.stop()

    def _run(self, coro: Any) -> None:
        async def guarded() -> None:
            self._busy = True
            try:
                await coro
            except Exception as exc:
                self.app.notify(f"curl: {exc}", severity="error", timeout=6)
            finally:
                self._busy = False
                self._mark()

        self.run_worker(guarded(), group="curl", exit_on_error=False)

    # -- session callbacks (the app's loop) ----------------------------------------------------

    def _mark(self) -> None:
        self._dirty = True

    def _answer(self, answer: CurlAnswer) -> None:
        self.lines.append(answer)

    def _event(self, event: LoopEvent) -> None:
        self.lines.append(event)

    # -- drawing -------------------------------------------------------------------------------

    def _tick(self) -> None:
        if self._dirty:
            self._dirty = False
            self.draw()

    def draw(self) -> None:
        """Repaint from the session's figures (called by the timer when something changed)."""
        self.repaints += 1
        colors = palette(self.app)
        self._title()
        session = self.session
        hint = self.query_one("#curl-hint", Static)
        log = self.query_one("#curl-log", Static)
        rows = self.query_one("#curl-rows", VerticalScroll)
        if session is None:
            hint.display = True
            rows.display = False
            log.update("")
            return
        hint.display = False
        rows.display = True
        contexts = tuple(session.stats)
        if contexts != self._rows_for:
            self._rows_for = contexts
            rows.remove_children()
            rows.mount_all([CurlRow(c) for c in contexts])
            self._dirty = True  # fill them on the next tick, once mounted
        now = time.time()
        for row in rows.query(CurlRow):
            stats = session.stats.get(row.context)
            loop = session.loops.get(row.context)
            if stats is None:
                continue
            row.show(self.summary(stats, loop, colors, now), list(stats.latencies)[-SPARK * 4 :])
        room = max(1, PANE_ROWS - min(len(contexts), 4))
        resized = log.styles.height is None or log.styles.height.value != room
        if resized:  # a steady height: the screen does not jump (nor lay out again) as lines come
            log.styles.height = room
        text = (
            self.map_text(session, colors, room)
            if self.mode == "map"
            else self.log_text(session, colors, room)
        )
        log.update(clean_text(text), layout=resized)

    def summary(self, stats: LoopStats, loop: Any, colors: Palette, now: float) -> Text:
        out = Text(f"{safe_line(stats.from_cluster):<9}", style="bold")
        out.append(" → ")
        if not stats.total:
            state = loop.state if loop is not None else "stopped"
            last = loop.events[-1].text if loop is not None and loop.events else ""
            out.append(safe_line(state), style=colors.warn)
            if last:
                out.append(f"  {safe_line(last)}", style=colors.muted)
            return out
        out.append(f"last {sum(stats.split().values()):<3} ", style=colors.muted)
        out.append_text(split_text(stats, colors))
        p50, p95 = stats.latency()
        out.append(f"  p50 {ms_text(p50)}  p95 {ms_text(p95)}  ")
        out.append_text(errors_text(stats, colors))
        rate = stats.rate(now)
        out.append(f"  {rate:.1f}/s" if loop is not None and loop.state == "running" else "  stopped")
        if loop is not None and loop.state == "reattaching":
            out.append("  reattaching…", style=colors.warn)
        return out

    def log_text(self, session: CurlSession, colors: Palette, room: int) -> Text:
        from tui.curl.loop import CurlAnswer  # loaded already: the session imported it

        clusters = {c: s.from_cluster for c, s in session.stats.items()}
        lines: list[Text] = []
        for item in reversed(self.lines):
            if len(lines) >= room:
                break
            if isinstance(item, CurlAnswer):
                lines.append(answer_line(self._current(session, item), colors))
            else:
                lines.append(event_line(item, clusters, colors))
        if not lines:
            lines.append(Text("waiting for the first answer…", style=colors.muted))
        return Text("\n").join(lines)

    @staticmethod
    def _current(session: CurlSession, answer: CurlAnswer) -> CurlAnswer:
        """An unknown answer the map identified since (the session's log holds the newer copy)."""
        if answer.to_cluster is not None or not answer.answered:
            return answer
        for newer in reversed(session.log):
            if newer.at == answer.at and newer.seq == answer.seq and newer.context == answer.context:
                return newer
        return answer

    def map_text(self, session: CurlSession, colors: Palette, room: int) -> Text:
        rows = session.fingerprints.rows
        if not rows:
            text = "learning the backends' answers…" if session.learning else "nothing learned yet"
            return Text(text, style=colors.muted)
        lines = []
        for row in rows[:room]:
            line = Text(f"{safe_line(row.cluster):<9} ", style="bold")
            line.append(f"{safe_line(row.pod or '—'):<32} {safe_line(row.address):<21} ")
            if row.identifies == "error":
                line.append(f"✗ {safe_line(row.error)}", style=colors.err)
            else:
                style = {"pod": colors.ok, "cluster": colors.primary}.get(row.identifies, colors.warn)
                line.append(f"{safe_line(row.label[:36]):<36} ")
                line.append(f"→ {row.identifies}", style=style)
            line.append(f"  via {safe_line(row.via)}", style=colors.muted)
            lines.append(line)
        if len(rows) > room:
            lines[-1].append(f"   (+{len(rows) - room} more)", style=colors.muted)
        return Text("\n").join(lines)

    # -- pane keys -------------------------------------------------------------------------------

    def action_toggle_map(self) -> None:
        self.mode = "map" if self.mode == "log" else "log"
        self._mark()

    def action_stop(self) -> None:
        self._run(self.stop())

    def action_relearn(self) -> None:
        session = self.session
        if session is None or not session.running:
            self.app.notify("curl: start a loop first (c)", severity="warning", timeout=3)
            return
        self._run(session.relearn())

    def action_set_interval(self) -> None:
        def chosen(value: str | None) -> None:
            if value is None:
                return
            self.interval = check_interval(value)
            session = self.session
            if session is not None and session.running:
                self._run(session.set_interval(self.interval))
            self._mark()

        self.app.push_screen(
            AskDialog(
                "Curl interval",
                "seconds between requests (0: as fast as curl goes)",
                f"{self.interval:g}",
                check_interval,
            ),
            chosen,
        )

    def action_set_path(self) -> None:
        key = getattr(self.app, "service", None)
        if key is None:
            self.app.notify("select a service first", severity="warning", timeout=3)
            return
        current = self.target_for(key).path

        def chosen(value: str | None) -> None:
            if value is not None:
                self.paths[key] = check_path(value)
                self.app.notify(f"curl path for {key[0]}/{key[1]}: {value}", timeout=3)

        self.app.push_screen(
            AskDialog(f"Curl path for {key[0]}/{key[1]}", "HTTP path, starting with /", current, check_path),
            chosen,
        )

    def action_pick_client(self) -> None:
        context = getattr(self.app, "viewing", None)
        snapshot: MeshSnapshot = self.source.snapshot()
        state = snapshot.by_context(context) if context else None
        if state is None:
            self.app.notify("no viewing cluster", severity="warning", timeout=3)
            return
        pods = sorted(
            (p for p in state.pods.values() if p.phase == "Running" and not p.deleting),
            key=lambda p: (p.namespace == "kube-system", p.namespace, p.name),
        )
        if not pods:
            self.app.notify(f"no running pods known in {context}", severity="warning", timeout=4)
            return
        options = [
            (
                f"{p.namespace}/{p.name}  ({', '.join(c.image for c in p.containers)[:60]})",
                (p.namespace, p.name),
            )
            for p in pods[:200]
        ]

        def chosen(picked: tuple[str, str] | None) -> None:
            if picked is not None and context is not None:
                self._run(self._use_client(context, picked))

        self.app.push_screen(PickDialog(f"Client pod in {context} ({state.cluster})", options), chosen)

    async def _use_client(self, context: str, pod: tuple[str, str]) -> None:
        """Check the pod has curl (one short exec), then make it the context's client."""
        result = await self.source.exec(context, pod[0], pod[1], ["sh", "-c", "command -v curl"], timeout=5.0)
        if result.exit_code != 0:
            why = result.error or "curl not found"
            self.app.notify(f"{pod[0]}/{pod[1]} cannot run the loop: {why}", severity="error", timeout=6)
            return
        self.clients[context] = pod
        self.app.notify(f"curl client in {context}: {pod[0]}/{pod[1]}", timeout=3)
        session = self.session
        if session is not None and session.running and context in session.loops:
            await session.restart(context, client=pod)

    # -- palette -----------------------------------------------------------------------------------

    def system_commands(self) -> Iterable[SystemCommand]:
        """The pane's commands for the app's palette (curl and the sample apps)."""
        running = self.session is not None and self.session.running
        yield SystemCommand("Curl: stop", "stop every curl loop", self.action_stop, discover=running)
        yield SystemCommand(
            "Curl: client pod", "pick the client pod of the viewing cluster", self.action_pick_client
        )
        yield SystemCommand("Curl: interval", interval_text(self.interval), self.action_set_interval)
        yield SystemCommand("Curl: path", "the HTTP path for the selected service", self.action_set_path)
        yield SystemCommand("Curl: learned map", "which answer means which pod", self.action_toggle_map)
        yield SystemCommand("Curl: learn again", "probe every backend again", self.action_relearn)
        for app_name in ("userlist", "rebel-base"):
            yield SystemCommand(
                markup_escaped(f"Sample: deploy {app_name}"),
                "namespace, backend, global+shared service and curl client in every cluster",
                lambda a=app_name: self.sample(a, delete=False),
            )
            yield SystemCommand(
                markup_escaped(f"Sample: delete {app_name}"),
                "remove the sample from every cluster (asks first)",
                lambda a=app_name: self.sample(a, delete=True),
            )

    def sample(self, app_name: str, *, delete: bool) -> None:
        """Deploy / delete a sample app in every usable context, once confirmed in a dialog that
        names every context and every object (a write like the others)."""
        from tui.samples import DEFAULT_NAMESPACE, confirmation_text

        if getattr(self.app, "read_only", False) or getattr(self.source, "read_only", False):
            self.app.notify("read-only mode: the sample is not deployed or deleted", severity="warning")
            return
        snapshot: MeshSnapshot = self.source.snapshot()
        usable = [s for s in snapshot.clusters if s.writable]  # tui.writeplan's phase rule
        if not usable:
            self.app.notify("no cluster can be written right now", severity="warning")
            return
        contexts = [s.context for s in usable]
        namespace = DEFAULT_NAMESPACE

        def answered(yes: bool | None) -> None:
            if yes:
                self._run(self._sample(app_name, namespace, contexts, delete=delete))

        where = [f"{s.context} ({s.cluster})" for s in usable]
        question = confirmation_text(app_name, namespace, where, delete=delete) + "\nApply?"
        title = f"{'Delete' if delete else 'Deploy'} the {app_name} sample"
        self.app.push_screen(YesNoDialog(title, question), answered)

    async def _sample(self, app_name: str, namespace: str, contexts: list[str], *, delete: bool) -> None:
        from tui.samples import apply_sample, summary_text

        results = await apply_sample(self.source, contexts, app=app_name, namespace=namespace, delete=delete)
        verb = "delete" if delete else "deploy"
        failed = False
        for context, items in results.items():
            ok = all(r.ok for r in items)
            failed = failed or not ok
            self._log(context, f"sample {app_name}", f"{verb} in {namespace}", summary_text(items), ok)
        severity = "error" if failed else "information"
        self.app.notify(
            f"sample {app_name}: {verb} {'failed in places' if failed else 'done'}", severity=severity
        )

    def _log(self, context: str, obj: str, change: str, outcome: str, ok: bool) -> None:
        from widgets.activity import ActivityLog

        for log in self.app.query(ActivityLog):
            log.add_entry(context, obj, change, outcome, "ok" if ok else "failed")


# -- dialogs -------------------------------------------------------------------------------------


class AskDialog(ModalScreen[str | None]):
    """One value, checked by ``validate`` (raising :class:`InvalidInput`) before it is returned."""

    DEFAULT_CSS = """
    AskDialog { align: center middle; }
    AskDialog > Vertical {
        width: 72; height: auto; border: thick $primary; background: $surface; padding: 0 1;
    }
    AskDialog .ask-title { text-style: bold; padding: 0 0 1 0; }
    AskDialog .ask-error { color: $text-error; height: auto; }
    AskDialog .ask-hint { color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "cancel", id="ask.cancel")]

    def __init__(self, title: str, hint: str, value: str, validate: Callable[[str], object]) -> None:
        super().__init__()
        self.title_text = title
        self.hint = hint
        self.value = value
        self.validate = validate

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(safe_text(self.title_text), classes="ask-title")
            yield Input(self.value, id="ask-input")
            yield Static("", classes="ask-error")
            yield Static(safe_text(f"{self.hint} · enter: ok · escape: cancel"), classes="ask-hint")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        try:
            self.validate(event.value)
        except InvalidInput as exc:
            self.query_one(".ask-error", Static).update(safe_text(str(exc), block=True))
            return
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class PickDialog(ModalScreen[T | None], Generic[T]):
    """Pick one of ``options`` (label, value)."""

    DEFAULT_CSS = """
    PickDialog { align: center middle; }
    PickDialog > Vertical {
        width: 110; max-width: 95%; height: auto; max-height: 80%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    PickDialog .pick-title { text-style: bold; padding: 0 0 1 0; }
    PickDialog OptionList { height: auto; max-height: 20; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "cancel", id="pick.cancel")]

    def __init__(self, title: str, options: Sequence[tuple[str, T]]) -> None:
        super().__init__()
        self.title_text = title
        self.values = [value for _label, value in options]
        self.labels = [label for label, _value in options]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(safe_text(self.title_text), classes="pick-title")
            yield OptionList(*(Option(safe_text(label), id=str(i)) for i, label in enumerate(self.labels)))

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.values[int(event.option.id or 0)])

    def action_cancel(self) -> None:
        self.dismiss(None)


class YesNoDialog(ModalScreen[bool]):
    DEFAULT_CSS = """
    YesNoDialog { align: center middle; }
    YesNoDialog > Vertical {
        width: 80; height: auto; border: thick $error; background: $surface; padding: 0 1;
    }
    YesNoDialog .yn-title { text-style: bold; padding: 0 0 1 0; }
    YesNoDialog .yn-hint { color: $text-muted; padding: 1 0 0 0; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "yes", id="yn.yes"),
        Binding("n,escape", "answer(False)", "no", id="yn.no"),
    ]

    def __init__(self, title: str, question: str) -> None:
        super().__init__()
        self.title_text = title
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(safe_text(self.title_text), classes="yn-title")
            yield Static(safe_text(self.question, block=True))
            yield Static("y: yes · n / escape: no", classes="yn-hint")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


# -- installing into the app ---------------------------------------------------------------------


async def install_curl_pane(app: Any) -> CurlPane | None:
    """Mount the pane into the app's ``#curl`` slot and route ``c`` to it (``None``: no exec)."""
    if not can_exec(app.source):
        return None
    pane = CurlPane(app.source)
    await app.query_one("#curl").mount_pane(pane)
    if app.curl_handler is None:  # a handler the app was given (tests) keeps the key
        app.curl_handler = pane.handle_curl_key
    return pane
