"""SIGTERM and SIGHUP stop the curl loops in the pods and restore the terminal (issue 17, point 6).

Real processes against the seed simulator running in this test: ``meshtui --kubeconfig`` in a
pseudo-terminal (``c`` starts curl loops from both clusters), and headless ``meshtui curl``.
Each gets the signal by its pid. Then it must exit with 128 + the signal (handled, not killed),
every curl loop must have been stopped the way ``q`` stops it — its exec closed and the looping
shell killed in the pod by a ``kill`` exec the simulator sees — and, for the app, the terminal
restored: alternate screen left, mouse reporting off, cursor shown. For SIGHUP the terminal is
gone first (the pty's other end is closed, as when an SSH session drops).
"""

from __future__ import annotations

import fcntl
import os
import pty
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from curlhelp import programs_running
from reliabilityhelp import exec_recorder, seed_sim

from tui.sim.mesh import SimThread

LIMIT = 60.0
"""Seconds any process of these tests may live."""
ALT_SCREEN_OFF = b"\x1b[?1049l"
CURSOR_ON = b"\x1b[?25h"
MOUSE_OFF = b"\x1b[?1000l"


@pytest.fixture
def sim() -> Iterator[SimThread]:
    with seed_sim() as running:
        yield running


def wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what}: not within {timeout:g} s"
        time.sleep(0.1)


def curl_loops(execs: list[str]) -> int:
    return sum(1 for command in execs if "curl" in command and "kill" not in command)


def kills(execs: list[str]) -> int:
    return sum(1 for command in execs if command.startswith("sh -c kill "))


def _take_terminal() -> None:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """A pseudo-terminal (160×48) running ``python -m tui ARGS``; output collected, bounded."""

    def __init__(self, *args: str, env: dict[str, str], controlling: bool = False) -> None:
        """``controlling``: the pty is the process's controlling terminal, as a login's is, so
        closing its other end makes the kernel send the hang-up signals itself."""
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 48, 160, 0, 0))
        self.master: int | None = master
        self.output = bytearray()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tui", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
            close_fds=True,
            preexec_fn=_take_terminal if controlling else None,  # after setsid: fd 0 is the pty
        )
        os.close(slave)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while self.master is not None and len(self.output) < 64 * 2**20:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.output += chunk

    def type(self, keys: str) -> None:
        assert self.master is not None
        os.write(self.master, keys.encode())

    def hang_up(self) -> None:
        """The terminal goes away (an SSH session closed): its other end is closed."""
        master, self.master = self.master, None
        if master is not None:
            os.close(master)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()  # by pid: only this process
            self.process.wait(10)
        self.hang_up()


def start_loops(terminal: Terminal, execs: list[str], sim: SimThread) -> None:
    """Wait for the app's panes, press ``c`` and wait for both curl loops and a few answers."""
    wait(lambda: b"userlist-svc" in terminal.output, LIMIT, "the services on screen")
    wait(lambda: b"curl from every cluster" in terminal.output, LIMIT, "the curl pane")
    time.sleep(0.5)
    terminal.type("c")
    wait(lambda: curl_loops(execs) >= 2 and programs_running(sim) >= 2, LIMIT, "two curl loops")
    time.sleep(1.0)  # a few answers


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_the_app_stops_its_curl_loops_and_restores_the_terminal(
    sim: SimThread, signum: int, tmp_path: Any
) -> None:
    env = dict(os.environ, TERM="xterm-256color", MESHTUI_LOG=str(tmp_path / "meshtui.log"), COLUMNS="160")
    env.pop("NO_COLOR", None)
    with exec_recorder(sim) as execs:
        terminal = Terminal("--kubeconfig", str(sim.kubeconfig_path), env=env)
        try:
            start_loops(terminal, execs, sim)  # a few answers
            if signum == signal.SIGHUP:
                terminal.hang_up()
            terminal.process.send_signal(signum)
            code = terminal.process.wait(LIMIT)
            restored = bytes(terminal.output[-4096:])
        finally:
            terminal.stop()
        wait(lambda: programs_running(sim) == 0, 10.0, "no program left in the pods")
    assert code == 128 + signum, f"exit {code}: not handled\n{(tmp_path / 'meshtui.log').read_text()[-2000:]}"
    assert kills(execs) >= 2, f"the loops were not killed in the pods: {execs}"
    if signum == signal.SIGTERM:  # with the terminal still there, it is left as it was
        for sequence in (ALT_SCREEN_OFF, CURSOR_ON, MOUSE_OFF):
            assert sequence in restored, (sequence, restored[-400:])


def test_a_hang_up_with_its_sigcont_ends_the_app_and_its_loops(sim: SimThread, tmp_path: Any) -> None:
    """A terminal that hangs up (SSH closed, tmux killed) sends SIGHUP *and* SIGCONT. Textual
    took the SIGCONT for "back from ctrl+z" and started its output again, and the exit then
    blocked for ever (apps were found running hours after their tmux was killed)."""
    env = dict(os.environ, TERM="xterm-256color", MESHTUI_LOG=str(tmp_path / "meshtui.log"), COLUMNS="160")
    env.pop("NO_COLOR", None)
    with exec_recorder(sim) as execs:
        terminal = Terminal("--kubeconfig", str(sim.kubeconfig_path), env=env, controlling=True)
        try:
            start_loops(terminal, execs, sim)
            terminal.hang_up()  # the kernel sends SIGHUP and SIGCONT: no signal sent by the test
            try:
                code: int | None = terminal.process.wait(30)
            except subprocess.TimeoutExpired:
                code = None
        finally:
            terminal.stop()
        wait(lambda: programs_running(sim) == 0, 10.0, "no program left in the pods")
    assert code == 128 + signal.SIGHUP, f"exit {code} (None: still running after 30 s)"
    assert kills(execs) >= 2, f"the loops were not killed in the pods: {execs}"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_headless_curl_stops_the_loop_and_prints_its_summary(sim: SimThread, signum: int) -> None:
    argv = [sys.executable, "-m", "tui", "curl", "song/userlist-svc", "--from", "bastion02"]
    argv += ["--count", "2000", "--interval", "0.05", "--kubeconfig", str(sim.kubeconfig_path)]
    with exec_recorder(sim) as execs:
        process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
        try:
            assert process.stdout is not None
            lines = []
            deadline = time.monotonic() + LIMIT
            while len(lines) < 5 and time.monotonic() < deadline:
                lines.append(process.stdout.readline())  # answers stream one per line
            assert len(lines) == 5 and "curl http://" in lines[0], lines
            process.send_signal(signum)
            out, err = process.communicate(timeout=LIMIT)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(10)
        wait(lambda: programs_running(sim) == 0, 10.0, "no program left in the pod")
    assert process.returncode == 128 + signum, err
    assert "requests from bastion02 (cluster1)" in out, out[-2000:]
    assert "interrupted; the loop was stopped in the pod" in err
    assert kills(execs) >= 1, execs
