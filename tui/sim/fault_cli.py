"""``meshtui sim fault ...``: set, list and heal faults of a running ``meshtui sim``.

::

    meshtui sim fault list
    meshtui sim fault api-down CLUSTER            meshtui sim fault api-slow CLUSTER SECONDS
    meshtui sim fault api-errors CLUSTER RATE [--code 500|503|429]
    meshtui sim fault watch-expire CLUSTER        meshtui sim fault link-down CLUSTER CLUSTER
    meshtui sim fault apiserver-down CLUSTER      meshtui sim fault agent-not-ready CLUSTER
    meshtui sim fault heal ID|all
    meshtui sim fault connect CLUSTER CLUSTER     meshtui sim fault disconnect CLUSTER CLUSTER

CLUSTER is a Cilium cluster name (``cluster1``) or a context (``bastion02``). The simulator is
found through ``<kubeconfig>.sim.json`` next to the kubeconfig it wrote: ``--kubeconfig PATH``,
else ``$KUBECONFIG`` (first file) when a simulator wrote it, else ``~/.kube/meshtui-sim.yaml``.
Top-level imports stay light: the ``meshtui`` parser imports this module.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DEFAULT_KUBECONFIG = "~/.kube/meshtui-sim.yaml"
ONE = ("api-down", "watch-expire", "apiserver-down", "agent-not-ready")
TWO = ("link-down", "connect", "disconnect")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "fault",
        help="set, list or heal faults of a running `meshtui sim`",
        description="Set, list or heal faults of a running `meshtui sim` (found next to its kubeconfig).",
    )
    parser.add_argument(
        "--kubeconfig",
        dest="fault_kubeconfig",
        metavar="PATH",
        help=(
            "the simulator's kubeconfig (default: $KUBECONFIG if a simulator wrote it, "
            f"else {DEFAULT_KUBECONFIG})"
        ),
    )
    # --kubeconfig also after the verb (``meshtui sim fault list --kubeconfig PATH``)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--kubeconfig", dest="fault_kubeconfig", metavar="PATH", default=argparse.SUPPRESS)
    verbs = parser.add_subparsers(dest="fault_verb", metavar="VERB", required=True)
    verbs.add_parser("list", help="faults in force", parents=[common])
    for verb in ONE:
        verbs.add_parser(verb, help=f"{verb} on one cluster", parents=[common]).add_argument("cluster")
    slow = verbs.add_parser("api-slow", help="delay every API request of a cluster", parents=[common])
    slow.add_argument("cluster")
    slow.add_argument("seconds", type=float)
    errors = verbs.add_parser("api-errors", help="fail a share of a cluster's API requests", parents=[common])
    errors.add_argument("cluster")
    errors.add_argument("rate", type=float, help="0..1")
    errors.add_argument("--code", type=int, default=500, choices=(500, 503, 429))
    for verb in TWO:
        sub = verbs.add_parser(verb, help=f"{verb} between two clusters", parents=[common])
        sub.add_argument("cluster")
        sub.add_argument("other")
    heal = verbs.add_parser("heal", help="heal one fault by id, or all", parents=[common])
    heal.add_argument("id")


def state_path(args: argparse.Namespace) -> Path:
    """The state file of the simulator the command talks to."""
    from tui.sim.control import state_path_for

    given = getattr(args, "fault_kubeconfig", None) or getattr(args, "kubeconfig", None)
    if given:
        return state_path_for(Path(os.path.expanduser(given)))
    env = os.environ.get("KUBECONFIG", "")
    first = env.split(os.pathsep)[0] if env else ""
    if first and state_path_for(Path(os.path.expanduser(first))).exists():
        return state_path_for(Path(os.path.expanduser(first)))
    return state_path_for(Path(os.path.expanduser(DEFAULT_KUBECONFIG)))


def _print_faults(answer: dict) -> None:
    faults = answer.get("faults") or []
    if not faults:
        print("no faults in force")
    for fault in faults:
        clusters = fault.get("clusters") or []
        target = " <-> ".join(clusters) if fault.get("kind") == "link-down" else ", ".join(clusters)
        params = " ".join(f"{k}={v}" for k, v in (fault.get("params") or {}).items())
        print(f"{fault['id']:<5} {fault['kind']:<16} {target}" + (f"  {params}" if params else ""))


def run(args: argparse.Namespace) -> int:
    from tui.sim.control import ControlError, call

    path = state_path(args)
    verb = args.fault_verb
    try:
        if verb == "list":
            _print_faults(call(path, "GET", "/faults"))
        elif verb == "heal":
            healed = call(path, "DELETE", f"/faults/{args.id}").get("healed") or []
            print(f"healed {', '.join(healed)}" if healed else "nothing to heal")
        elif verb in ("connect", "disconnect"):
            call(path, "POST", f"/mesh/{verb}", {"clusters": [args.cluster, args.other]})
            joined = "connected" if verb == "connect" else "disconnected"
            print(f"{args.cluster} and {args.other} {joined}")
        else:
            clusters = [args.cluster] + ([args.other] if verb in TWO else [])
            params: dict[str, float | int] = {}
            if verb == "api-slow":
                params = {"seconds": args.seconds}
            elif verb == "api-errors":
                params = {"rate": args.rate, "code": args.code}
            answer = call(path, "POST", "/faults", {"kind": verb, "clusters": clusters, "params": params})
            print(f"{answer['id']}  {verb}  {' <-> '.join(clusters) if verb == 'link-down' else clusters[0]}")
    except ControlError as exc:
        print(f"meshtui sim fault: {exc}", file=sys.stderr)
        return 1
    return 0
