"""``meshtui sim``: serve a simulated ClusterMesh on 127.0.0.1 until interrupted.

Prints the kubeconfig path with an ``export KUBECONFIG=...`` hint, one line per context with its
API URL (never a token), then ``ready``. SIGINT/SIGTERM shut it down cleanly (exit 0).
The kubeconfig goes to ``--kubeconfig-out`` or, by default, ``~/.kube/meshtui-sim.yaml``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui.sim.scenario import Scenario

DEFAULT_KUBECONFIG = "~/.kube/meshtui-sim.yaml"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sim",
        help="serve a simulated ClusterMesh on 127.0.0.1",
        description="Start simulated Kubernetes API servers (one per cluster) and write their kubeconfig.",
    )
    parser.add_argument(
        "--scenario", default="seed", help="built-in scenario name or YAML file (default: seed)"
    )
    parser.add_argument(
        "--clusters",
        type=int,
        metavar="N",
        help="generate N clusters, 1..511 (with --services; above 255 max-connected-clusters is 511)",
    )
    parser.add_argument(
        "--services", type=int, default=0, metavar="M", help="global services per generated cluster"
    )
    parser.add_argument(
        "--kubeconfig-out",
        metavar="PATH",
        default=DEFAULT_KUBECONFIG,
        help=f"where to write the kubeconfig (default: {DEFAULT_KUBECONFIG}, mode 0600)",
    )
    parser.add_argument("--read-only-user", action="store_true", help="write the read-only users' tokens")
    parser.add_argument("--plain-http", action="store_true", help="serve plain HTTP without auth (debugging)")
    parser.add_argument("--seed", type=int, default=None, metavar="N", help="seed for names, IPs and uids")
    parser.add_argument(
        "--ready-delay", type=float, default=None, metavar="S", help="seconds until a new pod is Ready"
    )
    parser.add_argument(
        "--sync-delay",
        type=float,
        default=None,
        metavar="S",
        help="seconds until Cilium agents realize an API change (default: scenario's, else 0.5)",
    )
    parser.add_argument(
        "--link-latency",
        type=float,
        default=None,
        metavar="S",
        help="seconds a request to another cluster takes (default: scenario's, else 0.01)",
    )
    from tui.sim import fault_cli

    commands = parser.add_subparsers(dest="sim_command", metavar="fault")
    fault_cli.register(commands)


def build_scenario(args: argparse.Namespace) -> Scenario:
    from tui.sim.scenario import generated, load

    if args.clusters:
        return generated(args.clusters, args.services or 0)
    return load(args.scenario)


def run(args: argparse.Namespace) -> int:
    if getattr(args, "sim_command", None) == "fault":
        from tui.sim import fault_cli

        return fault_cli.run(args)
    import asyncio
    import signal

    from tui.sim.cilium import settings_of
    from tui.sim.control import ControlServer, state_path_for
    from tui.sim.mesh import SimMesh
    from tui.sim.scenario import ScenarioError

    try:
        scenario = build_scenario(args)
        settings_of(scenario)  # Cilium keys are checked before anything starts
    except ScenarioError as exc:
        print(f"meshtui sim: {exc}", file=sys.stderr)
        return 2
    path = Path(os.path.expanduser(args.kubeconfig_out))

    async def main() -> int:
        from tui.sim import allocator

        allocator.tune()
        mesh = SimMesh(
            scenario,
            plain_http=args.plain_http,
            kubeconfig_path=path,
            user="readonly" if args.read_only_user else "admin",
            seed=args.seed,
            ready_delay=args.ready_delay,
            sync_delay=args.sync_delay,
            link_latency=args.link_latency,
        )
        control = ControlServer(mesh, state_path_for(path))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        trimmer: asyncio.Task[None] | None = None
        try:
            await mesh.start()
            await control.start()
            allocator.trim()  # the start-up's garbage
            trimmer = asyncio.create_task(allocator.trim_forever())
            print(f"kubeconfig: {path}  (export KUBECONFIG={path})", flush=True)
            for cluster in mesh.clusters.values():
                print(
                    f"  {cluster.context}: {cluster.url}  cluster {cluster.name} (id {cluster.spec.id})",
                    flush=True,
                )
            print(f"faults: meshtui sim fault --kubeconfig {path} list|link-down|heal ...", flush=True)
            print("ready", flush=True)
            await stop.wait()
        finally:
            if trimmer is not None:
                trimmer.cancel()
            await control.stop()
            await mesh.stop()
        return 0

    from tui.sim.serverloop import new_loop

    try:
        with asyncio.Runner(loop_factory=new_loop) as runner:
            return runner.run(main())
    except OSError as exc:
        print(f"meshtui sim: {exc}", file=sys.stderr)
        return 1
