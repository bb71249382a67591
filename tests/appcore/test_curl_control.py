"""The app's curl loops without Textual or a cluster: what ``c``/``C`` do, and the view the
curl pane draws (tui/appcore/curl.py). The loops themselves run against the simulator in
tests/curl; here the session is a stand-in holding real figures (LoopStats, learned rows)."""

from __future__ import annotations

import dataclasses
from collections.abc import Coroutine
from typing import Any

from meshmodels import SEED_TIME, replace_cluster, seed_snapshot

from tui.appcore.curl import MAX_LOOPS, CurlControl, curl_view, window_for
from tui.curl.fingerprints import FingerprintRow
from tui.curl.loop import CurlAnswer, LoopEvent
from tui.curl.stats import LoopStats
from tui.curl.target import CurlTarget
from tui.mesh.model import MeshSnapshot
from tui.views.curl import AnswerLine, EventLine

KEY = ("song", "userlist-svc")
TARGET = CurlTarget("song", "userlist-svc", 80, "/users/1")


class Source:
    def __init__(self, snapshot: MeshSnapshot) -> None:
        self._snapshot = snapshot

    def snapshot(self) -> MeshSnapshot:
        return self._snapshot


@dataclasses.dataclass
class Loop:
    state: str = "running"
    events: list[LoopEvent] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Fingerprints:
    rows: list[FingerprintRow] = dataclasses.field(default_factory=list)
    learned_at: float | None = SEED_TIME


class Session:
    """What curl_view reads of a CurlSession, with real figures."""

    def __init__(self, contexts: dict[str, str]) -> None:
        self.target = TARGET
        self.interval = 1.0
        self.running = True
        self.learning = False
        self.stats = {c: LoopStats(c, cluster, window=20) for c, cluster in contexts.items()}
        self.loops = {c: Loop() for c in contexts}
        self.fingerprints = Fingerprints()
        self.log: list[CurlAnswer] = []
        self.stopped = False

    async def stop(self) -> None:
        self.stopped = True
        self.running = False


def control(
    snapshot: MeshSnapshot | None = None,
) -> tuple[CurlControl, list[tuple[str, dict[str, Any]]], list[Any]]:
    notes: list[tuple[str, dict[str, Any]]] = []
    spawned: list[Coroutine[Any, Any, None]] = []

    def notify(message: str, **kwargs: Any) -> None:
        notes.append((message, kwargs))

    made = CurlControl(
        Source(snapshot or seed_snapshot()),  # type: ignore[arg-type]
        expected=None,
        notify=notify,
        run=spawned.append,
    )
    return made, notes, spawned


def inner(spawned: Coroutine[Any, Any, None]) -> str:
    """The name of the work a key handed to ``run`` (closed unrun: no loop here)."""
    work = spawned.cr_frame.f_locals["coro"]  # type: ignore[union-attr]
    name = work.__name__
    work.close()
    spawned.close()
    return name


def answer(to: str | None, ms: float, at: float, *, code: int = 200, kind: str | None = None) -> CurlAnswer:
    return CurlAnswer(
        at, "cluster1", to, f"userlist-{to}" if to else "", "Maria Kim", code, ms, kind, context="bastion02"
    )


def test_c_curls_from_every_usable_cluster_holding_the_service() -> None:
    curl, notes, spawned = control()
    assert curl.contexts_for(KEY) == ["bastion02", "bastion03"]
    snapshot = seed_snapshot()
    down = replace_cluster(snapshot, dataclasses.replace(snapshot.clusters[1], phase="unreachable"))
    assert control(down)[0].contexts_for(KEY) == ["bastion02"]
    # a service no cluster holds: every usable cluster
    assert curl.contexts_for(("song", "nope")) == ["bastion02", "bastion03"]
    curl.toggle(KEY, "bastion02", here=False)
    assert not notes and [inner(c) for c in spawned] == ["start"]  # the start runs as a worker


def test_at_most_sixteen_loops_and_the_operator_is_told() -> None:
    base = seed_snapshot()
    clusters = tuple(dataclasses.replace(base.clusters[i % 2], context=f"ctx{i}") for i in range(20))
    curl, notes, _spawned = control(dataclasses.replace(base, clusters=clusters))
    assert len(curl.contexts_for(KEY)) == MAX_LOOPS
    assert notes == [(f"curl: from the first {MAX_LOOPS} of 20 clusters", {"timeout": 4})]


def test_c_again_stops_and_shift_c_adds_or_removes_the_viewing_cluster() -> None:
    curl, _notes, spawned = control()
    session = Session({"bastion02": "cluster1"})
    curl.session = session  # type: ignore[assignment]
    curl.toggle(KEY, "bastion03", here=True)  # C from a cluster without a loop: add it
    curl.toggle(KEY, "bastion02", here=False)  # c on the running service: stop
    session.loops["bastion03"] = Loop()
    curl.toggle(KEY, "bastion03", here=True)  # C where a loop runs beside others: stop that one
    assert [inner(c) for c in spawned] == ["_add", "stop", "_stop_one"]
    curl.busy = True
    curl.toggle(KEY, "bastion02", here=False)  # one key's work at a time
    assert len(spawned) == 3


def test_a_bad_target_is_refused_with_its_reason() -> None:
    curl, notes, spawned = control()
    curl.paths[KEY] = "/ok"
    curl.toggle(("Bad_NS", "svc"), "bastion02", here=False)
    assert spawned == [] and notes and notes[0][0].startswith("curl: ") and notes[0][1]["severity"] == "error"


def test_the_split_window_follows_the_interval() -> None:
    assert (window_for(0), window_for(1.0), window_for(0.05), window_for(5)) == (100, 20, 100, 20)
    assert window_for(0.2) == 50


def test_the_view_before_any_loop_and_with_loops() -> None:
    curl, _notes, _spawned = control()
    idle = curl_view(curl, room=5)
    assert (idle.title, idle.subtitle, idle.started) == ("Curl", "every 1 s", False)

    session = Session({"bastion02": "cluster1", "bastion03": "cluster2"})
    stats = session.stats["bastion02"]
    stats.expected = {"cluster1": 0.5, "cluster2": 0.5}
    for i in range(12):
        stats.add(answer("cluster2" if i % 3 else "cluster1", 10.0 + i, SEED_TIME + i))
    stats.add(answer(None, 5.0, SEED_TIME + 12))
    stats.add(answer(None, 2000.0, SEED_TIME + 13, code=0, kind="timeout"))
    session.loops["bastion03"] = Loop(
        state="waiting", events=[LoopEvent(SEED_TIME, "bastion03", "waiting", "no client pod")]
    )
    session.fingerprints.rows = [
        FingerprintRow("cluster1", "userlist-a", "10.1.0.5:8181", "Maria Kim", via="bastion02/curltest-x"),
        FingerprintRow("cluster2", "userlist-b", "10.2.0.9:8181", "", identifies="error", error="timeout"),
    ]
    curl.session = session  # type: ignore[assignment]
    curl.lines.extend([*stats.recent][-3:])
    curl.lines.append(LoopEvent(SEED_TIME + 14, "bastion02", "reattached", "reattached to curltest-y"))
    curl.mode = "map"
    view = curl_view(curl, room=3, now=SEED_TIME + 14)

    # A loop that waits for a client pod says so in the title too (the session still runs).
    assert view.title == (
        "Curl  cluster1, cluster2 → userlist-svc.song.svc:80/users/1  every 1 s  running · cluster2 waiting"
    )
    assert view.subtitle == "learned 2 backends · c stop · C here · p pod · i interval · m log"
    assert view.started and view.mode == "map" and [m.pod for m in view.map] == ["userlist-a", "userlist-b"]
    row, waiting = view.rows
    assert row.split == (("cluster1", 4), ("cluster2", 8)) and row.unknown == 1 and row.counted == 13
    assert row.total == 14 and row.running and row.errors == (("timeout", 1),)
    assert not row.off("cluster1") and not row.off("cluster2")  # 4/13, 8/13: within 25 points of 50 %
    skewed = dataclasses.replace(row, expected={"cluster1": 0.9, "cluster2": 0.1})
    assert skewed.off("cluster1") and skewed.off("cluster2")
    assert row.p50 is not None and row.rate > 0
    assert (waiting.state, waiting.last_event, waiting.total) == ("waiting", "no client pod", 0)
    # the log, newest first, room lines at most: the event, the timeout, the unknown answer
    first, second, third = view.log
    assert isinstance(first, EventLine) and first.cluster == "cluster1" and first.kind == "reattached"
    assert isinstance(second, AnswerLine) and not second.answered and second.error_kind == "timeout"
    assert isinstance(third, AnswerLine) and third.answered and third.to_cluster is None


def test_timeline_marks_each_answer_and_each_change_and_the_split_restarts_at_a_change() -> None:
    curl, _notes, _spawned = control()
    session = Session({"bastion02": "cluster1"})
    curl.session = session  # type: ignore[assignment]
    curl._answer(answer("cluster1", 3.0, SEED_TIME))
    curl._answer(answer("cluster2", 3.0, SEED_TIME + 1))
    curl._answer(answer(None, 3.0, SEED_TIME + 2))
    curl._answer(answer(None, 2000.0, SEED_TIME + 3, code=0, kind="timeout"))
    assert curl.since["bastion02"] == {"cluster1": 1, "cluster2": 1, "?": 1, "×": 1}
    curl.change("service.cilium.io/affinity: (unset) → local (bastion02)", at=SEED_TIME + 4)
    # the watch sees the new rules a moment later: the same change, one mark, the split restarts
    curl.change("rules changed for cluster1: expected cluster1 100%", kind="watch", at=SEED_TIME + 4.5)
    # asked before the agents had the change (within one interval of it): drawn, not counted
    curl._answer(answer("cluster2", 3.0, SEED_TIME + 5))
    curl._answer(answer("cluster1", 3.0, SEED_TIME + 6))
    marks = list(curl.timelines["bastion02"])
    assert marks == [
        ("answer", "cluster1"),
        ("answer", "cluster2"),
        ("unknown", "?"),
        ("failed", "×"),
        ("change", "┃"),
        ("answer", "cluster2"),
        ("answer", "cluster1"),
    ]
    assert curl.since["bastion02"] == {"cluster1": 1}
    assert curl.change_note.endswith("local (bastion02) (seen in watch)")
    view = curl_view(curl, room=10, now=SEED_TIME + 7, marks=3)
    (row,) = view.rows
    assert row.timeline == (("change", "┃"), ("answer", "cluster2"), ("answer", "cluster1"))
    assert view.changed_at == SEED_TIME + 4.5 and curl.line_total == 8  # 6 answers, 2 change events
    changes = [line for line in curl.lines if getattr(line, "kind", "") == "change"]
    assert [c.text for c in changes] == [
        "service.cilium.io/affinity: (unset) → local (bastion02)",
        "rules changed for cluster1: expected cluster1 100%",
    ]
    # a later, separate change gets its own mark
    curl.change("replicas: 1 → 0", at=SEED_TIME + 30)
    assert list(curl.timelines["bastion02"])[-1] == ("change", "┃") and not curl.since


def test_the_log_view_carries_only_the_lines_not_drawn_yet() -> None:
    curl, _notes, _spawned = control()
    curl.session = Session({"bastion02": "cluster1"})  # type: ignore[assignment]
    for i in range(5):
        curl._answer(answer("cluster1", 3.0, SEED_TIME + i))
    view = curl_view(curl, room=1000, drawn=3)
    assert view.log_total == 5 and [line.at for line in view.log] == [SEED_TIME + 4, SEED_TIME + 3]
    assert curl_view(curl, room=1000, drawn=5).log == ()


def test_answers_before_the_map_is_learned_do_not_count_in_the_split_since() -> None:
    curl, _notes, _spawned = control()
    session = Session({"bastion02": "cluster1"})
    session.fingerprints.learned_at = None
    curl.session = session  # type: ignore[assignment]
    curl._answer(answer(None, 3.0, SEED_TIME))
    assert curl.since == {} and list(curl.timelines["bastion02"]) == [("unknown", "?")]


def test_changes_of_one_key_in_every_cluster_make_one_mark() -> None:
    curl, _notes, _spawned = control()
    curl.session = Session({"bastion02": "cluster1", "bastion03": "cluster2"})  # type: ignore[assignment]
    curl._answer(answer("cluster1", 3.0, SEED_TIME))
    curl.change("rules changed for cluster1: expected cluster1 100%", kind="watch", at=SEED_TIME + 1)
    curl.change("rules changed for cluster2: expected cluster2 100%", kind="watch", at=SEED_TIME + 1.01)
    curl.change("affinity … (bastion02)", at=SEED_TIME + 1.3)
    curl.change("affinity … (bastion03)", at=SEED_TIME + 1.35)
    assert [m for m in curl.timelines["bastion02"] if m[0] == "change"] == [("change", "┃")]
    assert curl.change_note == "affinity … (bastion02); affinity … (bastion03) (seen in watch)"
    curl.change("rules changed for cluster2: expected 50/50", kind="watch", at=SEED_TIME + 20)
    assert [m for m in curl.timelines["bastion02"] if m[0] == "change"] == [("change", "┃")] * 2


def test_a_map_learned_later_names_earlier_question_marks_in_the_timeline_and_split() -> None:
    """A pod that answered before the map knew it (a new pod during a scale-up) was drawn ``?``;
    once the session identifies those answers the marks take the cluster, and so does the
    split since the change — the timeline no longer keeps ``?`` for answers now known."""
    curl, _notes, _spawned = control()
    curl.session = Session({"bastion02": "cluster1"})  # type: ignore[assignment]
    first = dataclasses.replace(answer(None, 3.0, SEED_TIME), seq=1)
    second = dataclasses.replace(answer("cluster1", 3.0, SEED_TIME + 1), seq=2)
    third = dataclasses.replace(answer(None, 3.0, SEED_TIME + 2), seq=3)
    for item in (first, second, third):
        curl._answer(item)
    assert curl.since["bastion02"] == {"?": 2, "cluster1": 1}
    curl.change("replicas: 1 → 2", at=SEED_TIME + 2.5)
    fourth = dataclasses.replace(answer(None, 3.0, SEED_TIME + 5), seq=4)
    curl._answer(fourth)
    assert curl.since["bastion02"] == {"?": 1}
    curl._identified([dataclasses.replace(a, to_cluster="cluster2") for a in (first, fourth)])
    assert list(curl.timelines["bastion02"]) == [
        ("answer", "cluster2"),
        ("answer", "cluster1"),
        ("unknown", "?"),  # not identified by the newer map: stays unknown
        ("change", "┃"),
        ("answer", "cluster2"),
    ]
    assert curl.since["bastion02"] == {"cluster2": 1}  # only the answer counted since the change
    # the same answers told twice change nothing more
    curl._identified([dataclasses.replace(fourth, to_cluster="cluster2")])
    assert curl.since["bastion02"] == {"cluster2": 1}
