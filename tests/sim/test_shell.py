"""The simulated busybox sh of curl images (tui/sim/shell.py): language, errors, streaming, stopping."""

from __future__ import annotations

import asyncio
import time

import pytest

from tui.sim.apps import make_app
from tui.sim.curl import StaticNetwork
from tui.sim.programs import STDERR, STDOUT, ExecRequest
from tui.sim.shell import Shell, shell_program
from tui.sim.shell_io import BudgetExceeded, CaptureOutput, CpuBudget, Reader
from tui.sim.shell_parse import ShellSyntaxError, parse


class FakeIO:
    """An ExecIO that records every write with its time; stdin is fed by the test."""

    def __init__(self, stdin: list[bytes] | None = None) -> None:
        self.writes: list[tuple[float, int, bytes]] = []
        self._stdin: asyncio.Queue[bytes | None] = asyncio.Queue()
        for chunk in stdin or []:
            self._stdin.put_nowait(chunk)
        self._closed = False

    async def read_stdin(self) -> bytes | None:
        return await self._stdin.get()

    def feed(self, chunk: bytes | None) -> None:
        self._stdin.put_nowait(chunk)

    async def write(self, channel: int, data: bytes) -> None:
        if not self._closed:
            self.writes.append((time.monotonic(), channel, data))

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        self._closed = True

    def text(self, channel: int = STDOUT) -> str:
        return b"".join(d for _, c, d in self.writes if c == channel).decode()


def curl_pod(name: str = "curltest-7d9f-abcde") -> dict:
    return {
        "metadata": {"name": name, "namespace": "song", "uid": f"uid-{name}"},
        "spec": {
            "containers": [
                {"name": "curl", "image": "curlimages/curl", "env": [{"name": "GREETING", "value": "hello"}]}
            ]
        },
        "status": {"podIP": "10.1.0.9", "phase": "Running"},
    }


def userlist_pod(name: str, uid: str) -> dict:
    return {
        "metadata": {"name": name, "namespace": "song", "uid": uid, "labels": {"app": "userlist"}},
        "spec": {
            "containers": [
                {"name": "userlist", "image": "ssongman/userlist:v1", "ports": [{"containerPort": 8181}]}
            ]
        },
    }


def request(
    command: list[str], *, network=None, stdin: bool = False, tty: bool = False, **extras
) -> ExecRequest:
    return ExecRequest(
        cluster="cluster1",
        pod=curl_pod(),
        container="curl",
        command=command,
        tty=tty,
        stdin=stdin,
        network=network,
        extras=extras,
    )


async def run_sh(script: str, *, network=None, stdin: bytes | None = None) -> tuple[int, str, str]:
    out, err = CaptureOutput(), CaptureOutput()
    shell = Shell(
        hostname="curltest-7d9f-abcde",
        stdout=out,
        stderr=err,
        network=network,
        stdin=Reader.of(stdin) if stdin is not None else None,
    )
    try:
        status = await asyncio.wait_for(shell.main(["sh", "-c", script]), timeout=5)
    finally:
        await shell.close()
    return status, out.value().decode(), err.value().decode()


# ---------------------------------------------------------------------------------------------
# The language


@pytest.mark.parametrize(
    ("script", "status", "stdout"),
    [
        ("exit 3", 3, ""),
        ("false || echo x", 0, "x\n"),
        ("true && echo yes; false && echo no", 1, "yes\n"),
        ("echo 'a  b' \"c  d\" e\\ f   g", 0, "a  b c  d e f g\n"),
        ("X='1 2'; echo $X; echo \"$X\"; echo ${X}x", 0, "1 2\n1 2\n1 2x\n"),
        ("i=0; while [ $i -lt 3 ]; do echo n$i; i=$((i+1)); done", 0, "n0\nn1\nn2\n"),
        ("i=0; until [ $i -ge 2 ]; do i=$((i+1)); done; echo $i", 0, "2\n"),
        ("for x in a b c; do echo $x; done", 0, "a\nb\nc\n"),
        ("for x in 1 2 3 4; do [ $x = 2 ] && continue; [ $x = 4 ] && break; echo $x; done", 0, "1\n3\n"),
        ("if false; then echo a; elif true; then echo b; else echo c; fi", 0, "b\n"),
        ("{ echo a; echo b; } | wc -l", 0, "2\n"),
        ("echo $((7 % 3)) $((2 * (3 + 4))) $((10 / 3)) $((1 < 2)) $((5 - 8))", 0, "1 14 3 1 -3\n"),
        ("echo $(echo inner) `echo back`", 0, "inner back\n"),
        ("false; echo $?; true; echo $?", 0, "1\n0\n"),
        ("echo $$ | grep -q '^[0-9][0-9]*$' && echo pid", 0, "pid\n"),
        ("VAR=x sh -c 'echo $VAR'; echo \"[$VAR]\"", 0, "x\n[]\n"),
        ("export A=1; sh -c 'echo $A'", 0, "1\n"),
        ("echo $GREETING-$HOSTNAME", 0, "-curltest-7d9f-abcde\n"),
        ('f() { echo "$1:$#"; return 4; }; f a b; echo $?', 0, "a:2\n4\n"),
        ("case web-1 in db*) echo db;; web*|api*) echo web;; esac", 0, "web\n"),
        ("x=abc.tar.gz; echo ${x%.*} ${x##*.} ${#x} ${unset:-dflt}", 0, "abc.tar gz 10 dflt\n"),
        ("printf '%s=%d\\n' a 1 b 2", 0, "a=1\nb=2\n"),
        ("printf '%5s|%-3s|%03d|%x|%%\\n' ab c 7 255", 0, "   ab|c  |007|ff|%\n"),
        ("echo -n a; echo -e 'b\\tc'", 0, "ab\tc\n"),
        ("seq 3; seq 2 2 6 | tail -n 1", 0, "1\n2\n3\n6\n"),
        ("seq 1 10 | head -n 3 | grep -v 2", 0, "1\n3\n"),
        ("echo hello | cat", 0, "hello\n"),
        ("printf 'b\\na\\nb\\n' | sort | uniq -c", 0, "      1 a\n      2 b\n"),
        ("echo keep >/dev/null; echo err 1>&2 2>/dev/null", 0, ""),
        ("echo saved > /tmp/f; echo more >> /tmp/f; cat /tmp/f", 0, "saved\nmore\n"),
        ("cat <<EOF\nhost=$HOSTNAME\nEOF", 0, "host=curltest-7d9f-abcde\n"),
        ("[ 2 -gt 1 ] && [ -n x ] && [ -z '' ] && test a != b && echo ok", 0, "ok\n"),
        ("hostname", 0, "curltest-7d9f-abcde\n"),
        ("(exit 4); echo $?; x=1; (x=2); echo $x", 0, "4\n1\n"),
        ('set -- a \'b c\'; for a in "$@"; do echo "[$a]"; done', 0, "[a]\n[b c]\n"),
        ("# comment\necho one # trailing\n\necho two", 0, "one\ntwo\n"),
        (": ; true; echo $?", 0, "0\n"),
        ("while true; do while true; do break 2; done; done; echo out", 0, "out\n"),
        ("set -e; false; echo not-here", 1, ""),
        ("echo $'a\\tb\\x41'", 0, "a\tbA\n"),
        ("x=$(printf 'a\\n\\n'); echo \"[$x]\"", 0, "[a]\n"),
        ("timeout 0.02 sleep 5; echo $?", 0, "143\n"),
        ("echo a:b:c | cut -d: -f2,3", 0, "b:c\n"),
        ("echo Hello | tr a-z A-Z; echo aXbX | tr -d X", 0, "HELLO\nab\n"),
        ("echo x | tee /tmp/t >/dev/null; cat /tmp/t", 0, "x\n"),
        ("A=1 env | grep '^A='; env -i B=2 env", 0, "A=1\nB=2\n"),
        ("printf 'a\\nb\\nc\\n' | grep -c -v b; echo abc | grep -o 'b.'", 0, "2\nbc\n"),
        ("echo 'one two' | wc -w; printf 'x\\ny\\n' | wc -l", 0, "2\n2\n"),
        ("seq -s , 3; seq 5 -2 1", 0, "1,2,3\n5\n3\n1\n"),
        ("command -v curl; type echo", 0, "/usr/bin/curl\necho is a shell builtin\n"),
        ("n=0; for w in $(echo 'a b  c'); do n=$((n+1)); done; echo $n", 0, "3\n"),
    ],
)
async def test_scripts(script: str, status: int, stdout: str) -> None:
    out, err = CaptureOutput(), CaptureOutput()
    shell = Shell(hostname="curltest-7d9f-abcde", stdout=out, stderr=err, env={"PATH": "/usr/bin:/bin"})
    got = await asyncio.wait_for(shell.main(["sh", "-c", script]), timeout=5)
    await shell.close()
    assert (got, out.value().decode()) == (status, stdout), err.value().decode()


async def test_xtrace_goes_to_stderr() -> None:
    assert await run_sh("set -x; echo 'a b' c") == (0, "a b c\n", "+ echo 'a b' c\n")


async def test_nslookup_asks_the_network() -> None:
    net = StaticNetwork({"userlist-svc.song.svc": "10.96.0.20"})
    status, out, _ = await run_sh("nslookup userlist-svc.song.svc; nslookup nope", network=net)
    assert status == 1
    assert "Name:\tuserlist-svc.song.svc\nAddress: 10.96.0.20\n" in out
    assert "** server can't find nope: NXDOMAIN" in out


async def test_unknown_command_is_127_with_busybox_message() -> None:
    assert await run_sh("nosuchcmd arg") == (127, "", "sh: nosuchcmd: not found\n")
    # The curl image has no bash: inside sh it is just another unknown command.
    assert await run_sh("bash -c 'echo hi'") == (127, "", "sh: bash: not found\n")


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("while true; do done", 'unexpected "done"'),
        ("echo a; done", 'unexpected "done"'),
        ("if true; then echo; fi; fi", 'unexpected "fi"'),
        ("while true; do echo", 'unexpected end of file (expecting "done")'),
        ("echo 'open", "unterminated quoted string"),
        ("echo a ;; echo b", 'unexpected ";;"'),
        ("( )", 'unexpected ")"'),
        ("if true; then echo x; done", 'unexpected "done" (expecting "fi")'),
    ],
)
async def test_syntax_errors_like_busybox(script: str, message: str) -> None:
    status, stdout, stderr = await run_sh(script)
    assert status == 2
    assert stderr == f"sh: syntax error: {message}\n"
    assert stdout == ""


async def test_lines_before_a_syntax_error_run_first() -> None:
    """ash parses and runs one line at a time."""
    assert await run_sh("echo first\ndone") == (2, "first\n", 'sh: syntax error: unexpected "done"\n')


async def test_expansion_errors_abort_the_script() -> None:
    assert await run_sh("echo $((1/0)); echo after") == (2, "", "sh: divide by zero\n")
    assert await run_sh("echo ${NOPE?must be set}; echo after") == (2, "", "sh: NOPE: must be set\n")


async def test_redirection_errors() -> None:
    status, out, err = await run_sh("echo x > /nope/file; echo $?; cat < /tmp/missing; echo $?")
    assert (status, out) == (0, "1\n1\n")
    assert err.splitlines() == [
        "sh: can't create /nope/file: nonexistent directory",
        "sh: can't open '/tmp/missing': No such file or directory",
    ]


async def test_read_from_stdin_and_while_read() -> None:
    status, out, _ = await run_sh('while read a b; do echo "$b/$a"; done', stdin=b"1 one\n2 two three\n")
    assert (status, out) == (0, "one/1\ntwo three/2\n")


async def test_date_formats() -> None:
    status, out, _ = await run_sh("date +%s; date '+%Y-%m-%dT%H:%M:%S %F %T'; date +%N; date")
    lines = out.splitlines()
    assert status == 0
    assert abs(int(lines[0]) - time.time()) < 5
    assert lines[1].count("-") == 4 and len(lines[1]) == len("2025-01-01T00:00:00 2025-01-01 00:00:00")
    assert len(lines[2]) == 9 and lines[2].isdigit()
    assert lines[3].endswith(time.strftime("%Y", time.gmtime())) and " UTC " in lines[3]


async def test_sleep_argument_forms_and_errors() -> None:
    started = time.monotonic()
    assert (await run_sh("sleep 0.02; sleep .01s"))[0] == 0
    assert time.monotonic() - started >= 0.03
    assert await run_sh("sleep abc") == (1, "", "sleep: invalid number 'abc'\n")


def test_parser_bounds_nesting() -> None:
    with pytest.raises(ShellSyntaxError):
        parse("$(" * 200 + "echo" + ")" * 200)
    with pytest.raises(ShellSyntaxError):
        parse("{ " * 200 + "echo;" + " }" * 200)


async def test_runaway_expansion_is_bounded() -> None:
    status, _, err = await run_sh("x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done")
    assert status == 2
    assert "out of memory" in err


async def test_recursion_is_bounded() -> None:
    status, _, err = await run_sh("f() { f; }; f")
    assert status == 2
    assert "nesting too deep" in err


# ---------------------------------------------------------------------------------------------
# The program: argv handling, streaming, stopping


async def test_program_argv_forms() -> None:
    io = FakeIO()
    assert await shell_program(request(["sh", "-c", "echo $0 $1", "name", "arg"]), io) == 0
    assert io.text() == "name arg\n"

    io = FakeIO()
    assert await shell_program(request(["/bin/sh", "-c", "exit 7"]), io) == 7

    io = FakeIO()
    assert await shell_program(request(["echo", "direct", "$HOME"]), io) == 0
    assert io.text() == "direct $HOME\n"  # no shell: no expansion

    io = FakeIO()
    assert await shell_program(request(["/usr/bin/curl", "-s", "nowhere"]), io) == 6


async def test_program_bash_is_not_in_the_image() -> None:
    io = FakeIO()
    assert await shell_program(request(["bash", "-c", "echo hi"]), io) == 126
    assert io.text(STDERR) == (
        "OCI runtime exec failed: exec failed: unable to start container process: "
        'exec: "bash": executable file not found in $PATH: unknown\n'
    )


async def test_program_reads_script_from_stdin() -> None:
    io = FakeIO([b"echo one\nfor i in 1 2; do\n", b"echo $i; done\n", b"exit 5\n", None])
    assert await asyncio.wait_for(shell_program(request(["sh"], stdin=True), io), 5) == 5
    assert io.text() == "one\n1\n2\n"


async def test_program_stdin_script_waits_for_a_whole_here_document() -> None:
    io = FakeIO([b"cat <<EOF\n", b"body $HOSTNAME\n", b"EOF\n", b"echo done\n", None])
    assert await asyncio.wait_for(shell_program(request(["sh"], stdin=True), io), 5) == 0
    assert io.text() == "body curltest-7d9f-abcde\ndone\n"


async def test_program_uses_container_env_and_pod_identity() -> None:
    io = FakeIO()
    assert await shell_program(request(["sh", "-c", "echo $GREETING $(hostname) $(hostname -i)"]), io) == 0
    assert io.text() == "hello curltest-7d9f-abcde 10.1.0.9\n"


async def test_output_streams_as_produced() -> None:
    io = FakeIO()
    status = await shell_program(request(["sh", "-c", "echo first; sleep 0.05; echo second"]), io)
    assert status == 0
    (t1, _, d1), (t2, _, d2) = io.writes
    assert (d1, d2) == (b"first\n", b"second\n")
    assert t2 - t1 >= 0.045


def userlist_network(pods: list[dict]) -> StaticNetwork:
    apps = [make_app(pod, "cluster1", seed=1) for pod in pods]
    return StaticNetwork({"userlist-svc.song.svc": "10.96.0.20"}, {("10.96.0.20", 80): apps})


async def test_workflow_loop_streams_answers_until_closed() -> None:
    """The field guide's loop with a real `sleep` (3 s, not its 1 s, so that "noticed during the
    sleep" stays clear of "after it" on a loaded machine): answers arrive one by one; closing
    stops it."""
    network = userlist_network([userlist_pod("userlist-a", "ua"), userlist_pod("userlist-b", "ub")])
    script = "while true; do curl -sS userlist-svc.song.svc:80/users/1; sleep 3; echo; done"
    io = FakeIO()
    task = asyncio.create_task(shell_program(request(["sh", "-c", script], network=network), io))
    for _ in range(200):
        if io.writes:
            break
        await asyncio.sleep(0.005)
    assert io.writes, "the first answer must arrive before the loop ends"
    assert io.text().startswith('{"id":1,"name":"')
    io.close()
    started = time.monotonic()
    status = await asyncio.wait_for(task, timeout=5)
    assert time.monotonic() - started < 2.0  # noticed during `sleep 3`, without being cancelled
    assert status == 129
    assert len(network.requests) == 1


async def test_loop_alternates_backends_one_answer_per_line() -> None:
    network = userlist_network([userlist_pod("userlist-a", "ua"), userlist_pod("userlist-b", "ub")])
    script = "while true; do curl -sS userlist-svc.song.svc:80/users/1; sleep 0.01; echo; done"
    io = FakeIO()
    task = asyncio.create_task(shell_program(request(["sh", "-c", script], network=network), io))
    for _ in range(400):
        if io.text().count("\n") >= 4:
            break
        await asyncio.sleep(0.005)
    io.close()
    await asyncio.wait_for(task, timeout=2)
    lines = io.text().splitlines()[:4]
    names = [line.split('"name":"')[1].split('"')[0] for line in lines]
    assert names[0] == names[2] and names[1] == names[3] and names[0] != names[1]


async def test_cancelling_the_exec_leaves_no_task_behind() -> None:
    script = "sleep 30 & while true; do echo tick; sleep 0.01; done | cat"
    io = FakeIO()
    before = asyncio.all_tasks()
    task = asyncio.create_task(shell_program(request(["sh", "-c", script]), io))
    for _ in range(200):
        if "tick" in io.text():
            break
        await asyncio.sleep(0.005)
    assert "tick" in io.text()
    assert len(asyncio.all_tasks() - before) > 2  # the exec, its pipeline and the background sleep
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=1)
    await asyncio.sleep(0)
    assert asyncio.all_tasks() - before == set()


async def test_background_jobs_holding_the_stream_keep_the_exec_open() -> None:
    io = FakeIO()
    started = time.monotonic()
    status = await shell_program(request(["sh", "-c", "(sleep 0.05; echo late) & echo early"]), io)
    assert status == 0
    assert io.text() == "early\nlate\n"
    assert time.monotonic() - started >= 0.045


async def test_busy_loop_yields_and_is_killed_by_its_cpu_budget() -> None:
    gaps: list[float] = []

    async def ticker() -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.001)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    io = FakeIO()
    try:
        status = await asyncio.wait_for(
            shell_program(request(["sh", "-c", "while true; do :; done"], cpu_budget=0.1), io), timeout=5
        )
    finally:
        ticking.cancel()
        await asyncio.gather(ticking, return_exceptions=True)
    assert status == 137
    # The event loop kept serving others all along: a loop that never yielded would leave the
    # ticker one or two ticks (before and after it); the bound on the longest gap is loose, as
    # a loaded machine can hold any thread for a while.
    assert len(gaps) >= 5
    assert max(gaps) < 1.0


async def test_cpu_budget_kills_only_cpu_burnt_without_real_waits() -> None:
    budget = CpuBudget(limit=0.03, share=1.0)
    budget.start()
    for _ in range(5):  # 5 x 10 ms of work, each followed by a real wait: 50 ms in all, never 30 in a row
        time.sleep(0.01)
        await budget.checkpoint()
        await budget.wait(asyncio.sleep(0))
    assert budget.used >= 0.05
    time.sleep(0.04)
    with pytest.raises(BudgetExceeded):
        await budget.checkpoint()


def test_cpu_budget_throttles_beyond_its_share() -> None:
    async def spin() -> float:
        budget = CpuBudget(limit=100, share=0.2, window=0.05)
        budget.start()
        started = time.monotonic()
        for _ in range(60):  # 60 ms of work in 1 ms steps
            time.sleep(0.001)
            await budget.checkpoint()
        budget.stop()
        return time.monotonic() - started

    # At most 20 % of each 50 ms window: 60 ms of work needs about 300 ms of wall clock.
    assert asyncio.run(spin()) >= 0.2


async def wait_for_text(io: FakeIO, text: str, timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in io.text():
        assert time.monotonic() < deadline, f"{text!r} never came; got {io.text()!r}"
        await asyncio.sleep(0.005)


async def test_interactive_terminal_echoes_and_handles_ctrl_c() -> None:
    io = FakeIO()
    task = asyncio.create_task(shell_program(request(["sh"], stdin=True, tty=True), io))
    try:
        await wait_for_text(io, "~ $ ")
        io.feed(b"echo hi\r")
        await wait_for_text(io, "hi\r\n~ $ ")
        io.feed(b"while true; do sleep 0.01; done\r")
        await asyncio.sleep(0.05)
        io.feed(b"\x03")
        await wait_for_text(io, "^C\r\n~ $ ")
        io.feed(b"echo $?\r")
        await wait_for_text(io, "130\r\n~ $ ")
        io.feed(b"ech\x7fho typo-fixed\rexit 4\r")
        status = await asyncio.wait_for(task, timeout=2)
    finally:
        task.cancel()
    assert status == 4
    assert io.text() == (
        "~ $ echo hi\r\nhi\r\n"
        "~ $ while true; do sleep 0.01; done\r\n^C\r\n"
        "~ $ echo $?\r\n130\r\n"
        "~ $ ech\b \bho typo-fixed\r\nexit 4\r\ntypo-fixed\r\n~ $ "
    )
    assert io.text(STDERR) == ""  # a terminal has one stream
