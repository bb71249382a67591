"""Settings every test shares, and which tests are ``slow``.

``slow``: the tests that start the simulator (fake API servers, exec, curl loops) or run the
app under Textual's Pilot — seconds each. ``python -m pytest -q -m "not slow"`` runs the rest
(rules, views, the app's core, parsers, units: the edit loop, in well under 30 s); the README's
command runs everything. The slow files also run first, heaviest first, so the two workers of
``-n 2`` do not end with one long test left on one of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from testkit import wait_for_idle_of_this_thread

TESTS = Path(__file__).resolve().parent

SLOW_FILES = (
    # heaviest first (measured with --durations=0 on 2 cores); every test in them starts the
    # simulator, runs the app under Pilot, or both
    "app/test_app_sim.py",
    "reliability/test_hostile_api.py",
    "app/test_app_flows.py",
    "reliability/test_hostile_app.py",
    "sim/test_workflow.py",
    "reliability/test_reliability_headless.py",
    "curl/test_curl_sim.py",
    "reliability/test_reliability_app.py",
    "curl/test_curl_pane.py",
    "curl/test_curl_keeps_going.py",
    "app/test_app_serve.py",
    "curl/test_curl_scale_down.py",
    "app/test_app_snapshots.py",
    "reliability/test_reliability_inputs.py",
    "kube/test_kube_live.py",
    "reliability/test_signals.py",
    "sim/test_sim_kubectl_versions.py",
    "headless/test_headless_e2e.py",
    "kube/test_kube_faults.py",
    "sim/test_sim_kubectl.py",
    "headless/test_headless_writes.py",
    "headless/test_headless_curl.py",
    "headless/test_headless_curl_phases.py",
    "app/test_app_keys.py",
    "sim/test_faults.py",
    "app/test_app_cilium_versions.py",
    "headless/test_headless_reads.py",
    "sim/test_sim_client.py",
    "kube/test_kube_writes.py",
    "sim/test_dataplane.py",
    "reliability/test_sample_writes.py",
    "sim/test_split_independent.py",
    "kube/test_kube_cilium.py",
    "kube/test_kube_exec.py",
    "sim/test_sim_controllers.py",
    "headless/test_headless_reach.py",
    "kube/test_kube_sim_cilium.py",
    "kube/test_kube_cilium_versions.py",
    "kube/test_kube_config.py",
    "app/test_app_views.py",
    "sim/test_sim_cli.py",
    "curl/test_samples.py",
    "kube/test_kube_units.py",
)
RANK = {name: rank for rank, name in enumerate(SLOW_FILES)}
SLOW_SIGNS = ("run_test(", "mesh_sim(", "SimThread", "sim: SimThread")
"""A test file not in the list is slow too when its text shows it runs the app under Pilot or
starts the simulator (new files were missed by hand and took the quick subset to a minute)."""
_signs: dict[Path, bool] = {}


def _looks_slow(path: Path) -> bool:
    if path not in _signs:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            text = ""
        _signs[path] = any(sign in text for sign in SLOW_SIGNS) or "make_app(" in text
    return _signs[path]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tests of :data:`SLOW_FILES` ``slow`` and run them first, heaviest file first
    (a stable sort: the order inside a file is kept)."""
    slow = pytest.mark.slow
    ranks = {}
    for item in items:
        try:
            name = item.path.relative_to(TESTS).as_posix()
        except ValueError:
            name = ""
        rank = RANK.get(name)
        if rank is None and _looks_slow(item.path):
            rank = len(RANK)  # slow, not measured: after the listed ones, before the quick
        if rank is not None:
            item.add_marker(slow)
        ranks[item.nodeid] = len(RANK) + 1 if rank is None else rank
    items.sort(key=lambda item: ranks[item.nodeid])


@pytest.fixture(autouse=True)
def no_terminal_size_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests see no ``COLUMNS``/``LINES``: output widths must not depend on who runs them.

    pytest-xdist's workers set ``COLUMNS=80``, under which the headless tables (``$COLUMNS`` or
    160 columns off a terminal) wrapped and their tests failed with ``-n``; a shell that
    exports ``COLUMNS`` did the same.
    """
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)
    yield


@pytest.fixture(autouse=True)
def pilot_waits_for_the_app_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under Pilot, "idle" means the app's thread is idle, not the whole process
    (:func:`testkit.wait_for_idle_of_this_thread`; the simulator's threads kept every key press
    waiting up to 2 s). ``monkeypatch`` fails loudly if Textual renames what it patches."""
    import textual.app
    import textual.pilot

    monkeypatch.setattr(textual.app, "wait_for_idle", wait_for_idle_of_this_thread)
    monkeypatch.setattr(textual.pilot, "wait_for_idle", wait_for_idle_of_this_thread)
