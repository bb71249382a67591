"""The app's curl loops without Textual: :class:`CurlControl`, and what the pane draws of them.

The app owns one control per source that can exec (:class:`tui.source.PodExec`); its keys,
palette commands and dialogs call it, and on each repaint it hands the curl pane
:func:`curl_view` of it (a :class:`tui.views.curl.CurlView`), which the pane only draws
(``widgets/curl_pane.py``). The control drives a :class:`tui.curl.session.CurlSession` on the
app's loop; answers only mark it dirty and the pane repaints at most 4 times a second, so a
loop at 20 answers a second costs a few parses, not 20 repaints.

``c`` starts loops from every cluster holding the service (the first :data:`MAX_LOOPS`), ``C``
from the viewing cluster only; again on the same service stops them (``C`` adds or removes the
viewing cluster's loop while others run).
"""

from __future__ import annotations

import collections
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any

from tui.curl.target import CurlTarget, InvalidInput, check_interval, default_target
from tui.mesh.model import MeshSnapshot, ServiceKey
from tui.source import ExecSource
from tui.views.curl import AnswerLine, CurlRowView, CurlView, EventLine, MapLine, interval_text

if TYPE_CHECKING:
    # The loop machinery (fingerprints, frames, scripts: ~30 ms to import) loads with the first
    # session (``start``), not with the app, whose first frame must not wait for it.
    from tui.curl.loop import CurlAnswer, LoopEvent
    from tui.curl.session import CurlSession, Expectation

MAX_LOOPS = 16
"""Loops ``c`` starts at most (the clusters holding the service first)."""
MAX_LINES = 1000
"""Answers and loop events kept for the pane's log (it scrolls back this far)."""
SPARK_POINTS = 64
"""Latencies handed to a row's sparkline."""
TIMELINE = 400
"""Marks kept per client cluster's timeline (the pane shows the newest that fit)."""
SAME_CHANGE = 1.0
"""Seconds within which changes are one (several writes of one key, several clusters' rules)."""
MERGE_CHANGES = 5.0
"""Seconds within which a rule change seen in the watch belongs to the write just sent: the
split restarts from it, but the timeline keeps one change mark."""
IN_FLIGHT_MIN = 0.25
"""The least time after a change during which an answer still counts as the old rules' (it
may have been asked before the agents had the change, or waited in the exec stream); one loop
interval when that is longer. Such answers are in the timeline, not in the split since."""

FAILED = "×"
"""Timeline mark and since-change key of a request no backend answered."""
UNKNOWN_MARK = "?"
"""Timeline mark and since-change key of an answer no probe identified."""
CHANGE = "┃"
"""Timeline mark of a change (a write, or new rules seen in the watch)."""
Mark = tuple[str, str]
"""A timeline mark: (kind, cluster) with kind ``answer`` / ``unknown`` / ``failed`` / ``change``."""

Notify = Callable[..., None]
"""``notify(message, severity="information", timeout=None)``: a notification on screen."""
Run = Callable[[Coroutine[Any, Any, None]], Any]
"""``run(coroutine)``: run it on the app's loop (a worker) without waiting for it."""


def window_for(interval: float) -> int:
    """Answers the split is computed over: about the last 10 seconds' worth, 20 to 100.

    At the default 1 s a change (affinity, scale) shows in the bars within seconds instead of
    the minute a fixed 60-answer window would take; fast loops get the steadier 100.
    """
    if interval <= 0:
        return 100
    return max(20, min(100, round(10.0 / interval)))


class CurlControl:
    """The curl loops of the app: one session at a time, the client pods and paths picked."""

    def __init__(
        self,
        source: ExecSource,
        *,
        expected: Expectation | None,
        notify: Notify,
        run: Run,
        interval: float = 1.0,
        timeout: float = 2.0,
        window: int | None = None,
    ) -> None:
        self.source = source
        self.expected = expected
        self.notify = notify
        self._spawn = run
        self.interval = check_interval(interval)
        self.timeout = timeout
        self.window = window
        """Answers per split (``None``: :func:`window_for` the interval)."""
        self.session: CurlSession | None = None
        self.clients: dict[str, tuple[str, str]] = {}
        """Client pods picked by the user: context → (namespace, pod)."""
        self.paths: dict[ServiceKey, str] = {}
        self.mode = "log"
        """What the pane shows below the rows: ``log`` (answers and events) or ``map`` (learned)."""
        self.lines: collections.deque[CurlAnswer | LoopEvent] = collections.deque(maxlen=MAX_LINES)
        self.line_total = 0
        """Lines ever added to :attr:`lines` (the pane writes those newer than it drew)."""
        self.timelines: dict[str, collections.deque[Mark]] = {}
        """Per client context, the newest marks: one per answer, and the changes."""
        self._timeline_seqs: dict[str, collections.deque[int | None]] = {}
        """Beside each timeline, the answer's ``seq`` per mark (``None`` for a change): a map
        learned later names earlier ``?`` answers (:meth:`_identified`)."""
        self._since_unknown: dict[str, set[int]] = {}
        """Per client context, the seqs counted under :data:`UNKNOWN_MARK` in :attr:`since`."""
        self.since: dict[str, collections.Counter[str]] = {}
        """Per client context, answers per answering cluster since the last change (errors
        under :data:`FAILED`, unidentified answers under :data:`UNKNOWN_MARK`)."""
        self.changed_at: float | None = None
        """When the last change was made or seen (``None``: none since the loops started)."""
        self.change_note = ""
        """What the last change was (``affinity local`` or ``rules changed (seen in watch)``)."""
        self._change_kind = ""
        self._notes: dict[str, list[str]] = {}
        self._expected_seen: dict[str, dict[str, float]] = {}
        self.dirty = True
        """Something to draw since the pane last looked (the pane clears it)."""
        self.busy = False

    @property
    def running(self) -> bool:
        return self.session is not None and self.session.running

    def take_dirty(self) -> bool:
        """Whether the pane must repaint (and it is told only once)."""
        dirty, self.dirty = self.dirty, False
        return dirty

    def mark(self) -> None:
        self.dirty = True

    # -- answers, changes ------------------------------------------------------------------------

    def _line(self, item: CurlAnswer | LoopEvent) -> None:
        self.lines.append(item)
        self.line_total += 1

    def _answer(self, answer: CurlAnswer) -> None:
        """An answer: into the log, the client's timeline and its split since the change."""
        self._line(answer)
        context = answer.context
        if not answer.answered:
            mark: Mark = ("failed", FAILED)
        elif answer.to_cluster is None:
            mark = ("unknown", UNKNOWN_MARK)
        else:
            mark = ("answer", answer.to_cluster)
        self.timelines.setdefault(context, collections.deque(maxlen=TIMELINE)).append(mark)
        self._timeline_seqs.setdefault(context, collections.deque(maxlen=TIMELINE)).append(answer.seq)
        session = self.session
        if session is not None and session.fingerprints.learned_at is None:
            return  # nothing can be identified before the map is learned: "since" starts there
        if self.changed_at is None or self._asked_after_change(answer):
            self.since.setdefault(context, collections.Counter())[mark[1]] += 1
            if mark[0] == "unknown":
                self._since_unknown.setdefault(context, set()).add(answer.seq)

    def _identified(self, answers: list[CurlAnswer]) -> None:
        """A newer map named earlier ``?`` answers (the session's callback): their timeline marks
        take the answering cluster, and so does the split since the change if they counted in
        it. A pod that answered before the map knew it then shows in its cluster's colour."""
        named: dict[str, dict[int, str]] = {}
        for answer in answers:
            if answer.to_cluster is not None:
                named.setdefault(answer.context, {})[answer.seq] = answer.to_cluster
        for context, clusters in named.items():
            timeline, seqs = self.timelines.get(context), self._timeline_seqs.get(context)
            if timeline is None or seqs is None:
                continue
            for index, seq in enumerate(seqs):
                if seq is not None and seq in clusters and timeline[index][0] == "unknown":
                    timeline[index] = ("answer", clusters[seq])
            counted, since = self._since_unknown.get(context, set()), self.since.get(context)
            for seq in counted & clusters.keys():
                counted.discard(seq)
                if since is not None and since[UNKNOWN_MARK] > 0:
                    since[UNKNOWN_MARK] -= 1
                    if not since[UNKNOWN_MARK]:
                        del since[UNKNOWN_MARK]
                    since[clusters[seq]] += 1
        self.mark()

    def _asked_after_change(self, answer: CurlAnswer) -> bool:
        """Whether ``answer`` was asked after the last change had reached the agents: its
        request started (arrival minus its latency) at least one in-flight allowance after the
        change. An answer in flight at ``a l y`` went to the remote cluster and must not keep the
        split since the change at 98/2 for good."""
        assert self.changed_at is not None
        asked = answer.at - answer.ms / 1000.0
        return asked >= self.changed_at + max(IN_FLIGHT_MIN, self.interval)

    def change(self, note: str, *, kind: str = "write", at: float | None = None) -> None:
        """A change the audience should see the effect of: the split restarts from here and
        every timeline gets a change mark (a write from meshtui, or new rules seen in the watch).

        A rule change seen within :data:`MERGE_CHANGES` seconds of a write (before or after
        it: the watch may be quicker than the write's reply) is that write landing, and changes
        within :data:`SAME_CHANGE` seconds of each other are one (``a`` in every cluster: a write
        per cluster): the split restarts again (the datapath follows the rules from now) but
        the timeline keeps one mark.
        """
        at = time.time() if at is None else at
        gap = abs(at - self.changed_at) if self.changed_at is not None else None
        kinds = {kind, self._change_kind}
        merged = gap is not None and (
            gap <= SAME_CHANGE or (gap <= MERGE_CHANGES and "watch" in kinds and kinds & {"write", "merged"})
        )
        from tui.curl.loop import LoopEvent  # loaded with the session already

        self.changed_at = max(at, self.changed_at or at)
        self.since.clear()
        self._since_unknown.clear()
        self._line(LoopEvent(at, "", "change", note))  # in the log where it happened
        if not merged:
            self._notes = {"write": [], "watch": []}
            for context, timeline in self.timelines.items():
                timeline.append(("change", CHANGE))
                self._timeline_seqs.setdefault(context, collections.deque(maxlen=TIMELINE)).append(None)
        self._notes.setdefault(kind, []).append(note)
        self._change_kind = "merged" if merged and "watch" in kinds else kind
        writes, seen = self._notes.get("write", []), self._notes.get("watch", [])
        if writes:
            self.change_note = "; ".join(writes) + (" (seen in watch)" if seen else "")
        else:
            self.change_note = "; ".join(seen)
        self.mark()

    def _expected(self, snapshot: MeshSnapshot, key: ServiceKey, state: Any) -> Any:
        """The rules' share (:attr:`expected`), watched: new rules for a loop are a change."""
        assert self.expected is not None
        share, note = self.expected(snapshot, key, state)
        now = {c: round(v, 4) for c, v in dict(share).items()}
        before = self._expected_seen.get(state.context)
        self._expected_seen[state.context] = now
        if before is not None and before != now and self.running:
            shares = "/".join(f"{c} {round(v * 100)}%" for c, v in now.items()) or "none"
            cluster = getattr(state, "cluster", state.context)
            self.change(f"rules changed for {cluster}: expected {shares}", kind="watch")
        return share, note

    # -- keys ----------------------------------------------------------------------------------

    def toggle(self, key: ServiceKey, viewing: str | None, *, here: bool) -> None:
        """``c`` (``here=False``) / ``C`` (``here=True``); see the module docstring."""
        if self.busy:
            return
        session = self.session
        if session is not None and session.running and session.target.key == key:
            if here and viewing is not None and viewing not in session.loops:
                self.run(self._add(viewing))
                return
            if here and viewing is not None and len(session.loops) > 1:
                self.run(self._stop_one(viewing))
                return
            self.run(self.stop())
            return
        try:
            target = self.target_for(key)
        except InvalidInput as exc:
            self.notify(f"curl: {exc}", severity="error", timeout=6)
            return
        contexts = [viewing] if here and viewing else self.contexts_for(key)
        if not contexts:
            self.notify("curl: no cluster can be read right now", severity="warning", timeout=4)
            return
        self.run(self.start(target, contexts))

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
            self.notify(f"curl: from the first {MAX_LOOPS} of {len(chosen)} clusters", timeout=4)
        return chosen[:MAX_LOOPS]

    def set_interval(self, value: str | float) -> None:
        """Seconds between requests (checked), for the running loops too."""
        self.interval = check_interval(value)
        if self.running and self.session is not None:
            self.run(self.session.set_interval(self.interval))
        self.mark()

    def toggle_map(self) -> None:
        self.mode = "map" if self.mode == "log" else "log"
        self.mark()

    def relearn(self) -> None:
        if not self.running or self.session is None:
            self.notify("curl: start a loop first (c)", severity="warning", timeout=3)
            return
        self.run(self.session.relearn())

    # -- the session ---------------------------------------------------------------------------

    async def start(self, target: CurlTarget, contexts: Sequence[str]) -> None:
        from tui.curl.session import CurlSession

        if self.session is not None:
            await self.session.stop()
        self.timelines.clear()
        self._timeline_seqs.clear()
        self.since.clear()
        self._since_unknown.clear()
        self._expected_seen.clear()
        self.changed_at = None
        self.change_note = ""
        session = CurlSession(
            self.source,
            target,
            interval=self.interval,
            timeout=self.timeout,
            window=self.window or window_for(self.interval),
            clients=dict(self.clients),
            on_change=self.mark,
            on_answer=self._answer,
            on_event=self._line,
            on_identified=self._identified,
            expected=self._expected if self.expected is not None else None,
        )
        self.session = session
        await session.start(contexts)
        self.mark()

    async def stop(self) -> None:
        """Stop every loop (the shells in the pods end with them)."""
        session = self.session
        if session is not None:
            await session.stop()
        self.mark()

    async def _add(self, context: str) -> None:
        if self.session is not None:
            await self.session.start([context])

    async def _stop_one(self, context: str) -> None:
        session = self.session
        if session is not None:
            await session.stop_context(context)
            if not session.running:
                await session.stop()

    async def use_client(self, context: str, pod: tuple[str, str]) -> None:
        """Check the pod has curl (one short exec), then make it the context's client."""
        result = await self.source.exec(context, pod[0], pod[1], ["sh", "-c", "command -v curl"], timeout=5.0)
        if result.exit_code != 0:
            why = result.error or "curl not found"
            self.notify(f"{pod[0]}/{pod[1]} cannot run the loop: {why}", severity="error", timeout=6)
            return
        self.clients[context] = pod
        self.notify(f"curl client in {context}: {pod[0]}/{pod[1]}", timeout=3)
        session = self.session
        if session is not None and session.running and context in session.loops:
            await session.restart(context, client=pod)

    def client_choices(self, context: str | None) -> tuple[str, list[tuple[str, tuple[str, str]]]] | str:
        """The pick dialog's title and (label, (namespace, pod)) options for the viewing cluster's
        running pods (curl clients first), or why there is nothing to pick."""
        snapshot: MeshSnapshot = self.source.snapshot()
        state = snapshot.by_context(context) if context else None
        if state is None:
            return "no viewing cluster"
        pods = sorted(
            (p for p in state.pods.values() if p.phase == "Running" and not p.deleting),
            key=lambda p: (p.namespace == "kube-system", p.namespace, p.name),
        )
        if not pods:
            return f"no running pods known in {context}"
        options = [
            (
                f"{p.namespace}/{p.name}  ({', '.join(c.image for c in p.containers)[:60]})",
                (p.namespace, p.name),
            )
            for p in pods[:200]
        ]
        return f"Client pod in {context} ({state.cluster})", options

    def run(self, coro: Awaitable[None]) -> None:
        """Run ``coro`` without waiting; one key's work at a time (``busy``), failures notified."""

        async def guarded() -> None:
            self.busy = True
            try:
                await coro
            except Exception as exc:
                self.notify(f"curl: {exc}", severity="error", timeout=6)
            finally:
                self.busy = False
                self.mark()

        self._spawn(guarded())

    def answer_now(self, answer: CurlAnswer) -> CurlAnswer:
        """An unknown answer the map identified since (the session's log holds the newer copy)."""
        session = self.session
        if session is None or answer.to_cluster is not None or not answer.answered:
            return answer
        for newer in reversed(session.log):
            if newer.at == answer.at and newer.seq == answer.seq and newer.context == answer.context:
                return newer
        return answer


def curl_view(
    control: CurlControl, *, room: int, now: float | None = None, drawn: int | None = None, marks: int = 200
) -> CurlView:
    """What the curl pane draws now: the titles, a row per client cluster (with its newest
    ``marks`` timeline marks), and below them the ``room`` newest log lines (only those added
    after the ``drawn``-th, when given) or the first ``room`` learned backends."""
    session = control.session
    if session is None:
        return CurlView(
            "Curl", interval_text(control.interval), mode=control.mode, log_total=control.line_total
        )
    if drawn is not None:
        room = max(0, min(room, control.line_total - drawn))
    from tui.curl.loop import CurlAnswer  # loaded already: the session imported it
    from tui.curl.stats import UNKNOWN

    now = time.time() if now is None else now
    state = "running" if session.running else "stopped"
    waiting = [
        session.stats[c].from_cluster if c in session.stats else c
        for c, loop in session.loops.items()
        if loop.state == "waiting"
    ]
    if waiting and session.running:
        state += f" · {', '.join(waiting)} waiting"
    if session.learning:
        state += " · learning"
    froms = ", ".join(s.from_cluster for s in session.stats.values())
    title = f"Curl  {froms} → {session.target.text}  {interval_text(session.interval)}  {state}"
    learned = session.fingerprints.rows
    keys = "c stop · C here · p pod · i interval · m " + ("log" if control.mode == "map" else "map")
    subtitle = f"learned {len(learned)} backend{'s' if len(learned) != 1 else ''} · {keys}"

    rows = []
    for context, stats in session.stats.items():
        loop = session.loops.get(context)
        split = stats.split()
        clusters = list(stats.expected)
        clusters += sorted(c for c in split if c not in stats.expected and c != UNKNOWN)
        p50, p95 = stats.latency()
        errors = sorted(stats.errors.items(), key=lambda item: -item[1])[:3]
        since = control.since.get(context, collections.Counter())
        since_clusters = clusters + sorted(
            c for c in since if c not in clusters and c not in (FAILED, UNKNOWN_MARK)
        )
        timeline = control.timelines.get(context, ())
        rows.append(
            CurlRowView(
                context=context,
                from_cluster=stats.from_cluster,
                total=stats.total,
                state=loop.state if loop is not None else "stopped",
                last_event=loop.events[-1].text if loop is not None and loop.events else "",
                split=tuple((c, split.get(c, 0)) for c in clusters),
                unknown=split.get(UNKNOWN, 0),
                expected=dict(stats.expected),
                expected_note=stats.expected_note,
                p50=p50,
                p95=p95,
                errors=tuple(errors),
                rate=stats.rate(now),
                latencies=tuple(list(stats.latencies)[-SPARK_POINTS:]),
                since=tuple((c, since.get(c, 0)) for c in since_clusters),
                since_unknown=since.get(UNKNOWN_MARK, 0),
                since_failed=since.get(FAILED, 0),
                timeline=tuple(timeline)[-marks:] if marks > 0 else (),
                window=stats.window,
            )
        )
    clusters_of = {c: s.from_cluster for c, s in session.stats.items()}
    log: list[AnswerLine | EventLine] = []
    for item in reversed(control.lines):
        if len(log) >= room:
            break
        if isinstance(item, CurlAnswer):
            answer = control.answer_now(item)
            log.append(
                AnswerLine(
                    at=answer.at,
                    from_cluster=answer.from_cluster,
                    answered=answer.answered,
                    to_cluster=answer.to_cluster,
                    pod=answer.pod,
                    label=answer.label,
                    body=answer.body,
                    error_kind=answer.error_kind or "",
                    error=answer.error,
                    ms=answer.ms,
                )
            )
        else:
            cluster = clusters_of.get(item.context, item.context) if item.context else ""
            log.append(EventLine(item.at, cluster, item.kind, item.text))
    learned_lines = tuple(
        MapLine(r.cluster, r.pod, r.address, r.identifies, r.label, r.error, r.via) for r in learned[:room]
    )
    return CurlView(
        title,
        subtitle,
        started=True,
        mode=control.mode,
        rows=tuple(rows),
        log=tuple(log),
        map=learned_lines,
        map_total=len(learned),
        learning=session.learning,
        log_total=control.line_total,
        changed_at=control.changed_at,
        change_note=control.change_note,
    )
