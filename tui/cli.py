"""The ``meshtui`` command: the TUI by default, subcommands for the simulator and headless use.

Imports here stay light so that ``meshtui --version`` and ``--help`` answer at once; each
subcommand imports its heavy modules (Textual, kubernetes, aiohttp) only when it runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from tui import __version__, collector

# Subcommand name -> module exposing ``register(subparsers)`` and ``run(args) -> int``.
# A module's top level must import nothing heavy: ``--help`` imports every one of them (a parse
# imports only the module of the subcommand it meets: see :class:`Subcommands`).
# A module serving several names registers all of them at once (``run`` reads ``args.command``).
SUBCOMMANDS: dict[str, str] = {
    "status": "tui.headless.reads",
    "services": "tui.headless.reads",
    "backends": "tui.headless.reads",
    "curl": "tui.headless.curl",
    "affinity": "tui.headless.writes",
    "global": "tui.headless.writes",
    "shared": "tui.headless.writes",
    "scale": "tui.headless.writes",
    "sample": "tui.samples",
    "serve": "tui.serve",
    "sim": "tui.sim.cli",
}


class _Parsers(dict[str, argparse.ArgumentParser]):
    """argparse's name → subparser map, holding the names whose module has not registered yet.

    argparse (3.11) only asks it ``name in``, ``[name]`` and iterates it ("choose from ...");
    ``[name]`` of a pending name has its module register first.
    """

    def __init__(self, names: Sequence[str], load: Callable[[str], None]) -> None:
        super().__init__()
        self.pending = dict.fromkeys(names)
        self._order = list(names)
        self._load = load

    def __missing__(self, name: str) -> argparse.ArgumentParser:
        if name not in self.pending:
            raise KeyError(name)
        self._load(name)
        if name in self.pending:  # its module did not register it: a mistake in SUBCOMMANDS
            raise KeyError(name)
        return dict.__getitem__(self, name)

    def __contains__(self, name: object) -> bool:
        return dict.__contains__(self, name) or name in self.pending

    def __iter__(self) -> Iterator[str]:
        """Every name, in :data:`SUBCOMMANDS` order (registered or not), then any other."""
        yield from (n for n in self._order if n in self)
        yield from (n for n in dict.__iter__(self) if n not in self.pending and n not in self._order)


class Subcommands(argparse._SubParsersAction):
    """The subcommands, each module registering its parsers when first needed.

    Importing all of them took ~40 ms of every start (TUI included) for parsers that one run
    uses at most one of: a parse now imports only the module of the subcommand it meets;
    ``--help`` (which lists them all, with their help) imports every one, in
    :data:`SUBCOMMANDS` order, so the help reads as when the parser was built eagerly.
    """

    def __init__(self, *args: Any, modules: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._modules = modules
        self._registered: set[str] = set()
        self._name_parser_map = self.choices = _Parsers(list(modules), self.load_command)

    def load_command(self, name: str) -> None:
        self.load_module(self._modules[name])

    def load_module(self, module_name: str) -> None:
        if module_name not in self._registered:
            self._registered.add(module_name)
            importlib.import_module(module_name).register(self)

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        parsers = self._name_parser_map
        assert isinstance(parsers, _Parsers)
        for each in (name, *kwargs.get("aliases", ())):
            parsers.pending.pop(each, None)  # registered now: no longer a placeholder
        return super().add_parser(name, **kwargs)

    def _get_subactions(self) -> list[argparse.Action]:
        for module_name in dict.fromkeys(self._modules.values()):
            self.load_module(module_name)
        order = {name: index for index, name in enumerate(self._modules)}
        return sorted(self._choices_actions, key=lambda a: order.get(a.dest, len(order)))


class MeshtuiParser(argparse.ArgumentParser):
    """The top-level parser: ``--help`` ends with the built-in ``--demo --scenario`` names."""

    def format_help(self) -> str:
        text = super().format_help()
        from tui.demo import builtin_scenarios

        scenarios = builtin_scenarios()
        if not scenarios:
            return text
        import textwrap

        width = max(len(name) for name, _ in scenarios)
        indent = " " * (width + 4)
        lines = [
            textwrap.fill(
                about or "-",
                100,
                initial_indent=f"  {name:<{width}}  ",
                subsequent_indent=indent,
                break_on_hyphens=False,
            )
            for name, about in scenarios
        ]
        return text + "\nbuilt-in scenarios (meshtui --demo --scenario NAME):\n" + "\n".join(lines) + "\n"


def build_parser(*, lazy: bool = True) -> argparse.ArgumentParser:
    """The full parser: TUI options at the top level, one subparser per subcommand.

    ``lazy=False`` registers every subcommand up front (tests compare the two).
    """
    parser = MeshtuiParser(
        prog="meshtui",
        description=(
            "A terminal UI for Cilium ClusterMesh operators: every kube context, the mesh's health, "
            "global services across clusters, the backends each cluster picks and why, and live "
            "curl loops. Without a subcommand it opens the TUI on your kubeconfig."
        ),
    )
    parser.add_argument("--version", action="version", version=f"meshtui {__version__}")
    add_cluster_options(parser)
    parser.add_argument(
        "--demo",
        action="store_true",
        help="start a simulated ClusterMesh in this process and open the TUI on it",
    )
    parser.add_argument(
        "--scenario",
        default="seed",
        help="with --demo: built-in scenario name (listed below) or a scenario YAML file (default: seed)",
    )
    parser.add_argument(
        "--read-only", action="store_true", help="never write to a cluster: write actions are removed"
    )
    parser.add_argument(
        "--presenter",
        action="store_true",
        help="presenter layout: the curl pane takes most of the screen, with big bars (P toggles it)",
    )
    if lazy:
        parser.add_subparsers(dest="command", metavar="COMMAND", action=Subcommands, modules=SUBCOMMANDS)
        return parser
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in dict.fromkeys(SUBCOMMANDS.values()):
        importlib.import_module(module_name).register(subparsers)
    return parser


def add_cluster_options(parser: argparse.ArgumentParser) -> None:
    """Options every command that reads clusters shares (kubectl's names and rules)."""
    parser.add_argument(
        "--kubeconfig",
        metavar="PATH",
        help="kubeconfig file (default: $KUBECONFIG, several files joined by ':', else ~/.kube/config)",
    )
    parser.add_argument(
        "--context",
        action="append",
        dest="contexts",
        metavar="NAME",
        help="a context to use; repeat for several (default: every context)",
    )


def run_tui(args: argparse.Namespace) -> int:
    """Open the TUI (against the in-process simulator with --demo); imported here, not at the
    top, so that ``--help`` and the headless commands never pay for Textual's import."""
    return importlib.import_module("tui.app").run(args)


HEADLESS_MODULES = ("tui.headless.reads", "tui.headless.writes", "tui.headless.curl")
"""Subcommands whose start is mostly imports: the collector is paused until the cluster-access
layer is imported (:mod:`tui.collector`; the session resumes it)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    collector.pause()
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None or SUBCOMMANDS[args.command] not in HEADLESS_MODULES:
            collector.resume(freeze=False)
        else:
            collector.freeze_at_exit()
        if args.command is None:
            return run_tui(args)
        return importlib.import_module(SUBCOMMANDS[args.command]).run(args)
    finally:
        collector.resume(freeze=False)


if __name__ == "__main__":
    sys.exit(main())
