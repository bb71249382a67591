"""``meshtui sim``: serve a simulated ClusterMesh until interrupted."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("sim", help="serve a simulated ClusterMesh on 127.0.0.1")
    parser.add_argument("--scenario", default="seed", help="built-in scenario name or YAML file")


def run(args: argparse.Namespace) -> int:
    print("meshtui sim: the simulator is not built yet.", file=sys.stderr)
    return 2
