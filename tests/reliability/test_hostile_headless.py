"""Hostile input in the headless commands and the logs (issue 17, point 2).

bastion03 of the seed simulator sends :data:`hostilehelp.PAYLOAD` as its Cilium cluster name and
in an annotation value. Tables, stderr messages and the write prompt must show it literally with
placeholders for its control characters — also when stdout and stderr are terminals, where the
console adds its own colour sequences (those are the only escapes allowed). ``-o json|yaml``
carry it exactly. The ``-v`` stderr and the ``MESHTUI_LOG`` file have no raw control character.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hostilehelp import CLEAR, MARKUP, MARKUP_WORD, PAYLOAD, hostile_cluster, raw_controls, strip_sgr
from reliabilityhelp import seed_sim

from tui.cli import main
from tui.headless import writes
from tui.sim.mesh import SimThread


class Terminal(io.StringIO):
    """A captured stream that says it is a terminal (colours on, as on a bastion's shell)."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(scope="module")
def sim() -> Iterator[SimThread]:
    with seed_sim() as running:
        hostile_cluster(running)
        yield running


def run(sim: SimThread, *args: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = Terminal(), Terminal()
    old_stdin, sys.stdin = sys.stdin, io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([*args, "--kubeconfig", str(sim.kubeconfig_path), "--timeout", "15"])
    finally:
        sys.stdin = old_stdin
    return code, out.getvalue(), err.getvalue()


def safe_output(text: str) -> str:
    """``text`` without the console's own colour sequences; it must hold no raw control."""
    plain = strip_sgr(text)
    assert raw_controls(plain) == [], f"raw control characters: {raw_controls(plain)}\n{plain}"
    return plain


@pytest.mark.parametrize(
    "args",
    [("status", "-v"), ("services", "-v"), ("backends", "song/userlist-svc", "-v")],
    ids=["status", "services", "backends"],
)
def test_tables_on_a_terminal_show_the_payload_literally(sim: SimThread, args: tuple[str, ...]) -> None:
    code, out, err = run(sim, *args)
    assert code in (0, 1), err
    assert "\x1b[" in out, "the console did not colour: not treated as a terminal"
    plain = safe_output(out)
    safe_output(err)
    assert MARKUP_WORD in plain and CLEAR in plain, plain


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_json_and_yaml_stay_exact(sim: SimThread, fmt: str) -> None:
    code, out, err = run(sim, "status", "-o", fmt)
    assert code in (0, 1), err
    doc = json.loads(out) if fmt == "json" else yaml.safe_load(out)
    names = {c["context"]: c["cluster"] for c in doc["clusters"]}
    assert names["bastion03"] == PAYLOAD
    assert "\x1b" not in out and "\x07" not in out  # both encoders escape control characters


def test_the_write_prompt_shows_the_old_value_safely(sim: SimThread, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writes, "stdin_is_tty", lambda: True)
    code, _out, err = run(
        sim, "affinity", "song/userlist-svc", "local", "--context", "bastion03", stdin="n\n"
    )
    assert code == 1, err
    plain = safe_output(err)
    assert f"service.cilium.io/affinity: {MARKUP}" in plain and CLEAR in plain, plain
    assert "not confirmed; nothing was written" in plain


def test_the_app_log_file_has_no_control_character(app_log: Path) -> None:
    logger = logging.getLogger("tui.kube")
    logger.warning("bastion03 services: HTTP 500: %s", PAYLOAD)
    try:
        raise ValueError(PAYLOAD)
    except ValueError:
        logger.exception("unexpected failure")
    text = app_log.read_text()
    assert raw_controls(text) == [], raw_controls(text)
    lines = text.splitlines()
    assert f"HTTP 500: {MARKUP}" in lines[0] and CLEAR in lines[0]
    assert any(line.startswith("ValueError: x[/]") for line in lines)
