"""The first frame waits for nothing it does not draw (issue 6: first frame <= 1 s).

Starting ``meshtui --demo`` used to import the scenario loader and yaml (to check a built-in
scenario), every subcommand's module (to build the parser), the dialogs and the curl loop
machinery before the first frame. These tests hold that gain: in a fresh interpreter, doing
what ``meshtui --demo`` does up to ``app.run()`` (and mounting the curl pane's module) leaves
the heavy modules unimported; and the shortcuts taken for it answer as the long way did.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tui.appcore.launch import make_source
from tui.cli import SUBCOMMANDS, Subcommands, build_parser
from tui.demo import DemoSource, is_builtin_scenario
from tui.sim.scenario import Scenario, builtin_names

ROOT = Path(__file__).resolve().parents[2]

START = """
import asyncio, json, sys
from tui.cli import build_parser
from tui import app as appmod
from tui.appcore.launch import make_source

args = build_parser().parse_args(sys.argv[1:])
made = make_source(args)
source, label = made
app = appmod.MeshtuiApp(source, kubeconfig_label=label)
print("SCENARIO " + json.dumps(str(source.scenario)))
print("BUILT " + json.dumps(sorted(sys.modules)))
drawn = []

def first_frame():
    # in place of starting the source (the simulator): what the first frame loaded, then quit
    drawn.append(sorted(sys.modules))
    app.exit()

app._begin_start = first_frame

async def main():
    async with app.run_test(size=(160, 48)) as pilot:
        for _ in range(500):
            if drawn:
                break
            await pilot.pause(0.01)

asyncio.run(main())
print("DRAWN " + json.dumps(drawn[0] if drawn else None))
"""

DEFERRED_PACKAGES = ("kubernetes", "aiohttp", "cryptography", "yaml", "urllib3")
"""Third-party packages the first frame must not import (the source loads them in ``start``)."""
DEFERRED_OURS = (
    "tui.sim.",  # the simulator and its scenario loader: started after the first frame
    "tui.kube.hub",
    "tui.kube.client",
    "tui.kube.config",
    "tui.headless",  # subcommand modules: a parse imports only the one it meets
    "tui.samples",
    "tui.screens.",  # dialogs: imported when first opened
    "tui.curl.loop",  # curl loops: imported with the first session
    "tui.curl.session",
    "tui.curl.stats",
)


def start_modules(*argv: str) -> tuple[set[str], set[str], str]:
    """In a fresh interpreter, what ``meshtui ARGV`` loaded once it built its app (before
    ``app.run()``) and once the first frame was drawn (before the source starts), and the
    scenario its source was given."""
    result = subprocess.run(
        [sys.executable, "-c", START, *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines() if " " in line)
    drawn = json.loads(lines["DRAWN"])
    assert drawn is not None, "no first frame in 5 s"
    return set(json.loads(lines["BUILT"])), set(drawn), json.loads(lines["SCENARIO"])


def deferred(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in DEFERRED_PACKAGES or m.startswith(DEFERRED_OURS))


def test_demo_start_imports_nothing_heavy_before_the_first_frame() -> None:
    built, drawn, scenario = start_modules("--demo")
    assert scenario == "seed"  # handed to the simulator by name, loaded after the first frame
    assert built <= drawn
    assert deferred(built) == []
    assert deferred(drawn) == []
    # what the first frame does draw is there (the checks above are not vacuous)
    assert {"tui.app", "tui.views", "widgets.services", "tui.demo"} <= built
    assert "widgets.curl_pane" not in drawn  # the curl pane mounts after the first frame


def test_builtin_scenario_by_name_matches_the_loader() -> None:
    for name in builtin_names():
        assert is_builtin_scenario(name), name
    for name in ("", "nope", "seed.yaml", "../seed", "scenarios/seed", "./seed", "SEED"):
        assert not is_builtin_scenario(name), name


def demo_args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["--demo", *argv])


def test_make_source_hands_a_builtin_name_to_the_demo() -> None:
    made = make_source(demo_args("--scenario", "three-clusters"))
    assert not isinstance(made, str)
    source, label = made
    assert isinstance(source, DemoSource)
    assert source.scenario == "three-clusters"
    assert label == "simulated (three-clusters)"
    assert source.starting_note == "starting the simulator (three-clusters)"


def test_make_source_still_checks_a_scenario_file_or_unknown_name_up_front(tmp_path: Path) -> None:
    unknown = make_source(demo_args("--scenario", "no-such-scenario"))
    assert isinstance(unknown, str)
    assert "no scenario 'no-such-scenario'" in unknown and "seed" in unknown

    broken = tmp_path / "broken.yaml"
    broken.write_text("clusters: [\n")
    invalid = make_source(demo_args("--scenario", str(broken)))
    assert isinstance(invalid, str) and "not valid YAML" in invalid

    good = tmp_path / "mine.yaml"
    good.write_text("extends: seed\nname: mine\n")
    made = make_source(demo_args("--scenario", str(good)))
    assert not isinstance(made, str)
    source, label = made
    assert isinstance(source.scenario, Scenario) and source.scenario.name == "mine"
    assert label == "simulated (mine)"


def test_demo_with_a_kubeconfig_is_refused_for_builtin_and_file_alike(tmp_path: Path) -> None:
    message = "--demo uses the simulator's own kubeconfig"
    for scenario in ("seed", "no-such-scenario"):
        made = make_source(demo_args("--scenario", scenario, "--kubeconfig", str(tmp_path / "k")))
        assert isinstance(made, str)
        # an unknown scenario is reported first, as before
        assert (message in made) == (scenario == "seed"), made


def parse(parser: argparse.ArgumentParser, argv: list[str]) -> tuple[str, str, str]:
    """What a parse prints and returns (or its exit code)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            result = repr(sorted(vars(parser.parse_args(argv)).items()))
        except SystemExit as exc:
            result = f"exit {exc.code}"
    return result, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--demo", "--read-only"],
        ["--help"],
        ["bogus"],
        ["status", "--context", "a", "--context", "b"],
        ["services", "-n", "default", "--all"],
        ["backends", "--help"],
        ["curl", "--help"],
        ["affinity", "--help"],
        ["global"],
        ["scale", "--help"],
        ["sample", "--help"],
        ["sim", "--help"],
        ["sim", "fault", "list"],
    ],
)
def test_lazy_subcommands_parse_and_help_as_the_eager_parser(argv: list[str]) -> None:
    assert parse(build_parser(), argv) == parse(build_parser(lazy=False), argv)


def test_lazy_parser_registers_only_the_subcommand_it_meets() -> None:
    parser = build_parser()
    subcommands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert list(subcommands.choices) == list(SUBCOMMANDS)
    parser.parse_args(["--demo"])
    assert subcommands._registered == set()  # type: ignore[attr-defined]
    parser.parse_args(["status"])
    assert subcommands._registered == {"tui.headless.reads"}  # type: ignore[attr-defined]
    parser.format_help()
    assert subcommands._registered == set(SUBCOMMANDS.values())  # type: ignore[attr-defined]


def test_a_subcommand_its_module_does_not_register_is_an_unknown_parser() -> None:
    parser = argparse.ArgumentParser(prog="meshtui")
    parser.add_subparsers(
        dest="command", metavar="COMMAND", action=Subcommands, modules={"ghost": "tui.headless.reads"}
    )
    result, _, err = parse(parser, ["ghost"])
    assert result == "exit 2"
    assert "unknown parser 'ghost'" in err
