"""The real command as a subprocess with ``--demo`` (slow: a few cases only)."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time

import pytest

TIMEOUT = 90


def meshtui(*args: str, **kwargs) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
        **kwargs,
    )


def python_c(code: str, *argv: str) -> subprocess.CompletedProcess[str]:
    """``python -c code argv...`` in a fresh interpreter (what a command imports is its own)."""
    command = [sys.executable, "-c", code, *argv]
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT)


@pytest.mark.smoke
def test_status_demo_json_exit_0() -> None:
    result = meshtui("status", "--demo", "-o", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert [c["cluster"] for c in doc["clusters"]] == ["cluster1", "cluster2"]
    assert all(c["mesh"]["remotes"][0]["connected"] == 1 for c in doc["clusters"])
    assert result.stderr == ""


def test_status_demo_dup_id_exits_1() -> None:
    result = meshtui("status", "--demo", "--scenario", "dup-id")
    assert result.returncode == 1, result.stderr
    assert "ERROR" in result.stdout and "Findings:" in result.stdout


def test_help_imports_nothing_heavy() -> None:
    code = (
        "import sys\nfrom tui.cli import main\n"
        "for argv in (['--help'], ['status', '--help'], ['scale', '--help'], ['curl', '--help']):\n"
        "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
        "heavy = [m for m in ('textual', 'kubernetes', 'aiohttp', 'rich') if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))"
    )
    result = python_c(code)
    assert result.returncode == 0, result.stderr
    assert "HEAVY=\n" in result.stdout


def test_a_json_answer_imports_no_table_renderer() -> None:
    """``-o json`` needs the view's data, not rich's console and tables (a tenth of its start)
    nor the other commands' views; ``-o table`` still prints its table."""
    code = (
        "import sys, io, contextlib\nfrom tui.cli import main\nout = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n    code = main(sys.argv[1:])\n"
        "print('CODE', code, out.getvalue().count('userlist-svc'))\n"
        "unneeded = ('rich', 'textual', 'tui.headless.tables', 'tui.views.backends', 'tui.views.status')\n"
        "print('UNNEEDED=' + ','.join(m for m in unneeded if m in sys.modules))"
    )
    for output, loaded in (("json", "UNNEEDED=\n"), ("table", "UNNEEDED=rich,")):
        argv = ["services", "--demo", "-o", output]
        result = python_c(code, *argv)
        assert result.returncode == 0, result.stderr
        assert "CODE 0 1" in result.stdout  # answered, with the seed's global service
        assert loaded in result.stdout, result.stdout


def test_no_collection_runs_while_a_headless_command_imports() -> None:
    """The collector is paused from the parse until the access layer is imported, then the
    imports' objects are frozen and the thresholds are back (``tui.collector``)."""
    code = (
        "import gc, sys, io, contextlib\nfrom tui import collector\nfrom tui.cli import main\n"
        "before = gc.get_threshold()\nruns = {'paused': 0, 'after': 0}\n"
        "def seen(phase, info):\n"
        "    if phase == 'start':\n        runs['paused' if collector.paused() else 'after'] += 1\n"
        "gc.callbacks.append(seen)\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n    code = main(sys.argv[1:])\n"
        "print('CODE', code, 'PAUSED', runs['paused'], 'RESTORED', gc.get_threshold() == before,"
        " 'FROZEN', gc.get_freeze_count() > 10000)"
    )
    result = python_c(code, "services", "--demo", "-o", "json")
    assert result.returncode == 0, result.stderr
    assert "CODE 0 PAUSED 0 RESTORED True FROZEN True" in result.stdout, result.stdout


def test_a_headless_command_freezes_what_is_left_at_exit() -> None:
    """Everything alive at exit is frozen before the interpreter's shutdown collections, so
    they walk nothing the command made (``tui.collector.freeze_at_exit``); the TUI's path and
    ``--help`` register nothing."""
    code = (
        "import atexit, gc, sys, io, contextlib\n"
        "atexit.register(lambda: print('EXIT', gc.get_freeze_count(), flush=True))\n"
        "from tui.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n    code = main(sys.argv[1:])\n"
        "print('CODE', code, 'AFTER', gc.get_freeze_count(), flush=True)\n"
        "keep = [[] for _ in range(5000)]  # allocated after the answer: frozen at exit all the same\n"
    )
    result = python_c(code, "services", "--demo", "-o", "json")
    assert result.returncode == 0, result.stderr
    words = result.stdout.split()
    assert words[:2] == ["CODE", "0"], result.stdout
    after, at_exit = int(words[words.index("AFTER") + 1]), int(words[words.index("EXIT") + 1])
    assert at_exit >= after + 5000


def test_write_asks_on_a_terminal_and_applies_on_yes() -> None:
    """stdin is a pseudo-terminal: the change and its kubectl are shown, ``y`` applies it."""
    master, slave = pty.openpty()
    env = {**os.environ, "NO_COLOR": "1"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tui",
            "affinity",
            "song/userlist-svc",
            "remote",
            "--demo",
            "--context",
            "bastion03",
        ],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    os.close(slave)
    try:
        assert process.stderr is not None
        seen = b""
        deadline = time.monotonic() + TIMEOUT
        while b"[y/N]" not in seen:
            assert time.monotonic() < deadline, seen
            ready, _, _ = select.select([process.stderr], [], [], 1.0)
            if ready:
                chunk = os.read(process.stderr.fileno(), 4096)
                assert chunk, f"stderr closed before the prompt: {seen!r}"
                seen += chunk
        text = seen.decode()
        assert "bastion03 song/userlist-svc service.cilium.io/affinity: (unset) → remote" in text
        assert "kubectl --context bastion03 -n song annotate service userlist-svc" in text
        os.write(master, b"y\n")
        out, err = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        os.close(master)
    assert process.returncode == 0, err
    assert "✓ bastion03 song/userlist-svc service.cilium.io/affinity: (unset) → remote" in out.decode()
