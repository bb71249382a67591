"""The engine's pure parts: validation, scripts, frame parsing, fingerprints, figures."""

from __future__ import annotations

import asyncio
import shlex
import subprocess
import sys
import time
from types import SimpleNamespace
from typing import Any

import pytest

from tui.curl.fingerprints import Fingerprints, ProbeClient, cluster_field, plan_probes, short_label
from tui.curl.frames import MAX_BODY, FrameParser, RawAnswer
from tui.curl.loop import CurlAnswer, CurlLoop, identify
from tui.curl.script import loop_script, new_nonce, probe_script
from tui.curl.stats import UNKNOWN, LoopStats, percentile
from tui.curl.target import (
    CurlTarget,
    InvalidInput,
    check_interval,
    check_timeout,
    default_target,
    parse_target,
)
from tui.mesh.model import Backend, ClusterState, MeshSnapshot, Pod, Service, ServicePort

# -- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("namespace", "service"),
    [
        ("song", "userlist-svc;id"),
        ("song", "userlist-svc\n"),
        ("song", "$(id)"),
        ("song", "Userlist"),
        ("so ng", "userlist-svc"),
        ("song`id`", "userlist-svc"),
        ("", "userlist-svc"),
        ("song", "a" * 64),
    ],
)
def test_names_that_are_not_dns1123_labels_are_refused(namespace: str, service: str) -> None:
    with pytest.raises(InvalidInput, match=r"not a valid name|empty"):
        CurlTarget(namespace, service, 80, "/")


@pytest.mark.parametrize(
    "path",
    [
        "/users/1;id",
        "/$(id)",
        "/`id`",
        "/a b",
        "/a'b",
        '/a"b',
        "/x|y",
        "/x&y",
        "/x?y",
        "/x>y",
        "users",
        "/%zz",
        "/a\nb",
        "/" + "a" * 600,
    ],
)
def test_paths_with_shell_metacharacters_or_malformed_are_refused(path: str) -> None:
    with pytest.raises(InvalidInput):
        CurlTarget("song", "userlist-svc", 80, path)


@pytest.mark.parametrize("port", [0, 65536, -1, "80;id", True, 8.5])
def test_ports_out_of_range_or_not_numbers_are_refused(port: object) -> None:
    with pytest.raises(InvalidInput):
        CurlTarget("song", "userlist-svc", port, "/")  # type: ignore[arg-type]


def test_good_targets_and_their_url() -> None:
    target = CurlTarget("song", "userlist-svc", 80, "/users/1")
    assert target.url == "http://userlist-svc.song.svc:80/users/1"
    assert target.text == "userlist-svc.song.svc:80/users/1"
    assert CurlTarget("song", "userlist-svc", "8080", "/a/%20b").port == 8080
    assert parse_target("song/userlist-svc:8080/users/2") == CurlTarget(
        "song", "userlist-svc", 8080, "/users/2"
    )
    assert parse_target("song/userlist-svc") == CurlTarget("song", "userlist-svc", 80, "/")
    with pytest.raises(InvalidInput):
        parse_target("userlist-svc")


def test_interval_and_timeout_bounds() -> None:
    assert check_interval(0) == 0.0
    assert check_interval("1.5") == 1.5
    assert check_timeout(2) == 2.0
    for bad in (-1, "x", float("nan"), 1e9, "1;id"):
        with pytest.raises(InvalidInput):
            check_interval(bad)
    with pytest.raises(InvalidInput):
        check_timeout(0)


def test_default_target_first_port_and_userlist_path() -> None:
    service = Service("song", "userlist-svc", ports=(ServicePort(80, 8181), ServicePort(81, 9)))
    other = Service("song", "web", ports=(ServicePort(8080, 80),))
    snapshot = MeshSnapshot(
        clusters=(ClusterState("c1", "ok", services={service.key: service, other.key: other}),)
    )
    assert default_target(snapshot, service.key) == CurlTarget("song", "userlist-svc", 80, "/users/1")
    assert default_target(snapshot, other.key) == CurlTarget("song", "web", 8080, "/")


# -- scripts ---------------------------------------------------------------------------------


def test_loop_script_quotes_every_part_and_uses_the_nonce() -> None:
    nonce = new_nonce()
    assert nonce != new_nonce()
    script = loop_script(CurlTarget("song", "userlist-svc", 80, "/users/1"), nonce, interval=0.5, count=3)
    words = shlex.split(script)
    assert "http://userlist-svc.song.svc:80/users/1" in words
    assert f"\\n{nonce} E %{{http_code}} %{{time_total}} %{{exitcode}} %{{errormsg}}\\n" in words
    assert '[ "$i" -lt 3 ]' in script and "sleep 0.5" in script
    forever = loop_script(CurlTarget("song", "s", 80, "/"), nonce, interval=0)
    assert "while true" in forever and "sleep" not in forever


def test_scripts_run_in_a_posix_shell_and_frame_every_request() -> None:
    """The loop and the probes are valid POSIX sh (run here with a stand-in curl)."""
    nonce = new_nonce()
    fake_curl = (
        'curl() { eval "url=\\${$#}"; printf "answer from %s\\nsecond line" "$url"; '
        f"printf '\\n{nonce} E 200 0.001 0 \\n'; }}; "
    )
    script = fake_curl + loop_script(CurlTarget("song", "s", 80, "/p"), nonce, interval=0, count=2)
    out = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=10, check=True).stdout
    parser = FrameParser(nonce)
    answers = [a for line in out.split("\n") if (a := parser.feed(line, 0.0)) is not None]
    assert [a.seq for a in answers] == [1, 2]
    assert answers[0].body == "answer from http://s.song.svc:80/p\nsecond line"
    probes = probe_script([("10.1.0.5", 8181), ("fd00::5", 80)], "/users/1", nonce)
    assert "http://[fd00::5]:80/users/1" in shlex.split(probes)
    with pytest.raises(InvalidInput):
        probe_script([("10.1.0.5;id", 80)], "/", nonce)
    with pytest.raises(InvalidInput):
        probe_script([("10.1.0.5", 80)], "/$(id)", nonce)
    assert sys.platform  # ran with the host's sh


# -- frames ----------------------------------------------------------------------------------


def feed_all(parser: FrameParser, text: str) -> list[RawAnswer]:
    out = []
    for line in text.split("\n"):
        raw = parser.feed(line, 1.0)
        if raw is not None:
            out.append(raw)
    return out


def test_bodies_with_newlines_and_forged_frames_are_kept_exactly() -> None:
    nonce = new_nonce()
    forged = new_nonce()
    body = f"line one\n{forged} E 200 0.1 0 \n\n{forged} B 7\nlast, no newline"
    text = f"\n{nonce} B 1\n{body}\n{nonce} E 200 0.004 0 \n\n{nonce} B 2\nx\n\n{nonce} E 503 0.5 0 \n"
    answers = feed_all(FrameParser(nonce), text)
    assert [a.body for a in answers] == [body, "x\n"]
    assert answers[0].code == 200 and answers[0].seconds == pytest.approx(0.004)
    assert answers[0].error_kind is None
    assert answers[1].error_kind == "http 503"


@pytest.mark.parametrize(
    ("exit_code", "message", "kind"),
    [
        (6, "Could not resolve host: nope.song.svc", "resolve"),
        (7, "Failed to connect to 10.96.0.9 port 80 after 1 ms: Connection refused", "refused"),
        (7, "Failed to connect to 10.2.0.5 port 80: No route to host", "unreachable"),
        (28, "Connection timed out after 2001 milliseconds", "timeout"),
        (52, "Empty reply from server", "empty reply"),
        (56, "Recv failure: Connection reset by peer", "reset"),
        (47, "Maximum redirects", "curl 47"),
    ],
)
def test_curl_errors_get_their_kind(exit_code: int, message: str, kind: str) -> None:
    nonce = new_nonce()
    text = f"{nonce} B 1\ncurl: ({exit_code}) {message}\n\n{nonce} E 000 2.001 {exit_code} {message}\n"
    (raw,) = feed_all(FrameParser(nonce), text)
    assert (raw.code, raw.exit_code, raw.error_kind, raw.message, raw.body) == (
        0,
        exit_code,
        kind,
        message,
        "",
    )


def test_curl_without_exitcode_support_still_reports_the_error() -> None:
    nonce = new_nonce()
    (raw,) = feed_all(
        FrameParser(nonce), f"{nonce} B 1\ncurl: (6) Could not resolve host: x\n\n{nonce} E 000 0.0\n"
    )
    assert raw.exit_code == 6 and raw.error_kind == "resolve"


def test_a_request_cut_short_is_reported_once_as_incomplete() -> None:
    nonce = new_nonce()
    parser = FrameParser(nonce)
    answers = feed_all(parser, f"{nonce} B 1\nsh: curl: not found\n{nonce} B 2\npartial")
    assert len(answers) == 1 and not answers[0].complete and answers[0].error_kind == "no curl"
    last = parser.finish(2.0)
    assert last is not None and last.seq == 2 and last.error_kind == "no answer"
    assert parser.finish(3.0) is None


def test_bodies_are_bounded() -> None:
    nonce = new_nonce()
    huge = "y" * (MAX_BODY * 3)
    lines = "\n".join(["z" * 10] * 500)
    answers = feed_all(FrameParser(nonce), f"{nonce} B 1\n{huge}\n{lines}\n{nonce} E 200 0.1 0 \n")
    assert len(answers[0].body) <= MAX_BODY and answers[0].truncated > MAX_BODY


# -- fingerprints ----------------------------------------------------------------------------


def ok(body: str, code: int = 200) -> RawAnswer:
    return RawAnswer(seq=1, at=0.0, body=body, code=code, seconds=0.001, exit_code=0)


def b(cluster: str, pod: str, ip: str) -> Backend:
    return Backend(cluster, ip, 8181, pod)


def test_per_pod_answers_identify_pods_and_same_answers_identify_only_the_cluster() -> None:
    fp = Fingerprints()
    ann = '{"id":1,"name":"Ann B. Lee-Kim"}'
    bob = '{"id":1,"name":"Bob C. Park-Cho"}'
    rebel1 = '{"Galaxy": "Alderaan", "Cluster": "Cluster-1"}\n'
    fp.learn(
        [
            (b("cluster1", "u-1", "10.1.0.1"), ok(ann), "via"),
            (b("cluster2", "u-2", "10.2.0.1"), ok(bob + "\n"), "via"),
            (b("cluster1", "r-1", "10.1.0.2"), ok(rebel1), "via"),
            (b("cluster1", "r-2", "10.1.0.3"), ok(rebel1), "via"),
            (b("cluster1", "e-1", "10.1.0.4"), ok("same"), "via"),
            (b("cluster2", "e-2", "10.2.0.4"), ok("same"), "via"),
            (b("cluster2", "dead", "10.2.0.9"), None, "via"),
        ]
    )
    assert fp.identify(ann).cluster == "cluster1" and fp.identify(ann).pod == "u-1"
    assert fp.identify(ann).label == "Ann B. Lee-Kim"
    assert (fp.identify(bob).cluster, fp.identify(bob).pod) == ("cluster2", "u-2")
    assert (fp.identify(rebel1).cluster, fp.identify(rebel1).pod) == ("cluster1", "")
    # The Cluster field alone maps too (a body that differs elsewhere still names its cluster).
    assert fp.identify('{"Cluster": "Cluster-1", "when": 5}').cluster == "cluster1"
    assert fp.identify("same").cluster is None  # given by both clusters: tells nothing
    unknown = fp.identify('{"id":1,"name":"Nobody"}')
    assert unknown.cluster is None and unknown.label == "Nobody"
    by_pod = {row.pod: row.identifies for row in fp.rows}
    assert by_pod == {"u-1": "pod", "u-2": "pod", "r-1": "cluster", "r-2": "cluster", "e-1": "ambiguous",
                      "e-2": "ambiguous", "dead": "error"}  # fmt: skip
    assert cluster_field(rebel1) == "Cluster-1" and cluster_field("[1]") is None
    assert short_label("plain text\nmore") == "plain text more"


def test_probes_run_from_a_client_in_the_backends_own_cluster() -> None:
    c1 = ProbeClient("ctx1", "cluster1", "song", "curl-1")
    c2 = ProbeClient("ctx2", "cluster2", "song", "curl-2")
    backends = [
        b("cluster1", "u-1", "10.1.0.1"),
        b("cluster2", "u-2", "10.2.0.1"),
        b("cluster3", "u", "10.3.0.1"),
    ]
    plan = dict((client, [x.pod for x in group]) for client, group in plan_probes(backends, [c1, c2]))
    assert plan == {c1: ["u-1", "u"], c2: ["u-2"]}
    assert plan_probes(backends, []) == []


# -- figures ---------------------------------------------------------------------------------


def answer(to: str | None, ms: float, at: float, *, code: int = 200, kind: str | None = None) -> CurlAnswer:
    return CurlAnswer(at, "cluster1", to, "", "body", code, ms, kind)


def test_split_is_over_the_last_window_answers_and_errors_are_counted_by_kind() -> None:
    stats = LoopStats("ctx", "cluster1", window=10)
    for i in range(10):
        stats.add(answer("cluster1", 1.0, i))
    for i in range(6):
        stats.add(answer("cluster2", 5.0, 10 + i))
    stats.add(answer(None, 0.0, 16, code=0, kind="timeout"))
    stats.add(answer(None, 3.0, 17))
    assert stats.split() == {"cluster1": 2, "cluster2": 6, UNKNOWN: 1}
    assert stats.errors == {"timeout": 1}
    assert stats.total == 18 and len(stats.recent) == 10
    assert stats.latency() == (5.0, 5.0)
    assert stats.rate(18.0) == pytest.approx(5 / 5.0)
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0 and percentile([], 0.5) is None


def test_reidentify_names_earlier_unknown_answers() -> None:
    fp = Fingerprints()
    stats = LoopStats("ctx", "cluster1", window=5)
    body = '{"name":"Ann"}'
    raw = ok(body)
    stats.add(identify(raw, fp, from_cluster="cluster1", context="ctx", client_pod="c"))
    assert stats.split() == {UNKNOWN: 1}
    fp.learn([(b("cluster2", "u-2", "10.2.0.1"), ok(body), "via")])

    def again(a: CurlAnswer) -> CurlAnswer:
        return identify(ok(a.body), fp, from_cluster="cluster1", context="ctx", client_pod="c")

    assert stats.reidentify(again) == 1
    assert stats.split() == {"cluster2": 1}


def test_memory_is_bounded_for_a_long_run() -> None:
    stats = LoopStats("ctx", "cluster1", window=100, spark=60)
    for i in range(20_000):
        stats.add(
            answer(f"cluster{i % 3}", float(i % 7), float(i), kind=None if i % 11 else f"http {500 + i % 4}")
        )
    assert len(stats.recent) == 100 and len(stats.latencies) == 60
    assert sum(stats.split().values()) == 100
    assert len(stats.errors) <= 4


# -- loop lifetime in the pod ------------------------------------------------------------------


def test_a_loop_script_ends_by_itself_after_its_segment() -> None:
    """Whatever the runtime does with a closed exec, the script stops at its deadline."""
    nonce = new_nonce()
    fake_curl = f"curl() {{ printf 'ok'; printf '\\n{nonce} E 200 0.001 0 \\n'; }}; "
    script = fake_curl + loop_script(CurlTarget("song", "s", 80, "/"), nonce, interval=0.2, segment=1)
    started = time.monotonic()
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=10, check=True)
    # A 1 s segment; the margin is for a loaded machine (it would run until the 10 s timeout).
    assert time.monotonic() - started < 5.0
    parser = FrameParser(nonce)
    answers = [a for line in done.stdout.split("\n") if (a := parser.feed(line, 0.0)) is not None]
    assert parser.pid is not None and parser.pid > 1
    assert 1 <= len(answers) <= 12


class FakeStream:
    """An exec stream that says its PID, answers once, then hangs until closed."""

    def __init__(self, nonce: str) -> None:
        self.pod = "curltest-1"
        self.exit_code: int | None = None
        self.error: str | None = None
        self.dropped = 0
        self.closed = asyncio.Event()
        self.lines = [f"{nonce} P 4242", f"{nonce} B 1", "hello", f"{nonce} E 200 0.001 0 "]

    def __aiter__(self) -> FakeStream:
        return self

    async def __anext__(self) -> Any:
        if self.lines:
            return SimpleNamespace(channel="stdout", text=self.lines.pop(0), at=time.time())
        await self.closed.wait()
        raise StopAsyncIteration

    async def close(self) -> None:
        self.error = "stopped"
        self.closed.set()


class FakeSource:
    """Records what a loop asks of a cluster (no cluster at all)."""

    def __init__(self) -> None:
        self.execs: list[list[str]] = []
        self.streams: list[FakeStream] = []

    async def exec_stream(self, context: str, namespace: str, pod: str, command: list[str], **kw: Any) -> Any:
        nonce = command[2].split("'\\n", 1)[1].split(" ", 1)[0]
        stream = FakeStream(nonce)
        self.streams.append(stream)
        return stream

    async def exec(self, context: str, namespace: str, pod: str, command: list[str], **kw: Any) -> Any:
        self.execs.append(command)
        return SimpleNamespace(exit_code=0, stdout=b"", stderr=b"", error=None)

    async def pods_of_deployment(self, context: str, namespace: str, deployment: str) -> list[Pod]:
        return [Pod(namespace, "curltest-1", phase="Running", ready=True, owner=deployment)]


async def test_stop_kills_the_looping_shell_when_the_stream_gave_no_exit_status() -> None:
    source = FakeSource()
    loop = CurlLoop(source, "ctx", CurlTarget("song", "s", 80, "/"), from_cluster="cluster1")  # type: ignore[arg-type]
    got = []
    async with asyncio.timeout(5):
        async for answer in loop:
            got.append(answer)
            await loop.stop()
    assert [a.body for a in got] == ["hello"]
    assert source.execs == [["sh", "-c", "kill 4242 2>/dev/null; true"]]
    assert loop.reaped == 1 and loop.state == "stopped"


def test_a_session_tells_which_earlier_answers_a_newer_map_named() -> None:
    """The app keeps its own timelines: the session hands it the answers it renamed."""
    from tui.curl.session import CurlSession

    told: list[list[CurlAnswer]] = []
    session = CurlSession(
        SimpleNamespace(),  # type: ignore[arg-type]  # nothing runs: no loop is started
        CurlTarget("song", "userlist-svc", 80, "/users/1"),
        on_identified=told.append,
    )
    body = '{"name":"Ann"}'
    unknown = identify(ok(body), session.fingerprints, from_cluster="cluster1", context="ctx", client_pod="c")
    session.stats["ctx"] = LoopStats("ctx", "cluster1")
    session.stats["ctx"].add(unknown)
    session.log.append(unknown)
    assert session._reidentify() == 0 and told == []  # nothing learned: nothing to tell
    session.fingerprints.learn([(b("cluster2", "u-2", "10.2.0.1"), ok(body), "via")])
    assert session._reidentify() == 1
    assert [[(a.seq, a.to_cluster) for a in batch] for batch in told] == [[(unknown.seq, "cluster2")]]
