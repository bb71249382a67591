"""The ``meshtui`` command: the TUI by default, subcommands for the simulator and headless use.

Imports here stay light so that ``meshtui --version`` and ``--help`` answer at once; each
subcommand imports its heavy modules (Textual, kubernetes, aiohttp) only when it runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from tui import __version__

# Subcommand name -> module exposing ``register(subparsers)`` and ``run(args) -> int``.
# A module's top level must import nothing heavy: the parser imports every one of them.
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
    "sim": "tui.sim.cli",
}


def build_parser() -> argparse.ArgumentParser:
    """The full parser: TUI options at the top level, one subparser per subcommand."""
    parser = argparse.ArgumentParser(
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
        help="with --demo: built-in scenario name or a scenario YAML file (default: seed)",
    )
    parser.add_argument(
        "--read-only", action="store_true", help="never write to a cluster: write actions are removed"
    )
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        return run_tui(args)
    return importlib.import_module(SUBCOMMANDS[args.command]).run(args)


if __name__ == "__main__":
    sys.exit(main())
