"""The reliability suite: faults of the simulator while the app or a headless command runs.

Helpers are shared with the other test directories (``simapp``/``apphelpers`` from tests/app,
``curlhelp`` from tests/curl, ``headlesshelp`` from tests/headless, ``kubehelp`` from
tests/kube): their directories are put on ``sys.path`` here, so this directory also runs alone.
At the end of the run the figures the tests measured are printed as one table.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent.parent
for _sub in ("app", "curl", "headless", "kube"):
    if str(TESTS / _sub) not in sys.path:
        sys.path.append(str(TESTS / _sub))

from headlesshelp import Cli  # noqa: E402
from reliabilityhelp import FIGURES, REL_HUB, summary_lines  # noqa: E402

from tui.appcore.launch import quiet_logging  # noqa: E402
from tui.headless import session  # noqa: E402


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Times on screen ("stale since 12:00:01") are compared in UTC."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """``meshtui`` in-process with the suite's hub settings; every output scanned for tokens."""
    monkeypatch.setattr(session, "SETTINGS", REL_HUB)
    return Cli(tmp_path)


@pytest.fixture
def app_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The log file the app writes with ``MESHTUI_LOG`` (as ``meshtui`` sets it up), removed after."""
    path = tmp_path / "meshtui.log"
    monkeypatch.setenv("MESHTUI_LOG", str(path))
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    quiet_logging()
    try:
        yield path
    finally:
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
            handler.close()
        root.setLevel(level)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The measured figures as one table (whenever a reliability test recorded any)."""
    if not FIGURES:
        return
    terminalreporter.section("reliability: fault × mode")
    for line in summary_lines():
        terminalreporter.write_line(line)
