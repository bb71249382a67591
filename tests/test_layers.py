"""The layers hold by themselves: the import contracts of ``pyproject.toml``, and no import
cycle inside the simulator.

Run with the suite (so the README's test command and CI check them, on the newest and on the
lowest allowed versions) and by hand with ``lint-imports``. A broken contract prints
import-linter's report: which module imports which, on which line.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import grimp
import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.smoke


def test_import_contracts_hold(capsys: pytest.CaptureFixture[str]) -> None:
    code = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True)
    report = capsys.readouterr().out
    assert code == 0, report
    assert "0 broken" in report and " KEPT" in report, report


def test_no_import_cycle_inside_the_simulator() -> None:
    """No two modules of ``tui.sim`` import each other, directly or not, at run time.

    Imports under ``TYPE_CHECKING`` are left out: they name types for annotations and run never
    (import-linter can only leave them out for every contract at once, hence this test).
    """
    graph = grimp.build_graph("tui", exclude_type_checking_imports=True, cache_dir=None)
    modules = sorted(m for m in graph.modules if m == "tui.sim" or m.startswith("tui.sim."))
    assert len(modules) > 30, modules  # the simulator was found (not a vacuous pass)
    cycles = []
    for a, b in itertools.combinations(modules, 2):
        there = graph.find_shortest_chain(importer=a, imported=b)
        back = graph.find_shortest_chain(importer=b, imported=a) if there else None
        if there and back:
            cycles.append(" -> ".join(there) + " -> ... -> " + " -> ".join(back[1:]))
    assert not cycles, "import cycles inside tui.sim:\n" + "\n".join(cycles)
