"""Options every headless command shares, target parsing and exit codes (light imports only).

The top-level ``meshtui`` parser already defines ``--kubeconfig``, ``--context``, ``--demo``,
``--scenario`` and ``--read-only`` (for the TUI). Each subcommand accepts them again after its
name (``meshtui status --context a``) with ``default=SUPPRESS``: argparse copies a subparser's
defaults over the parent's values, so a real default here would erase ``meshtui --context a
status``. Read them with :func:`option`.
"""

from __future__ import annotations

import argparse
from typing import Any

from tui.mesh.actions import InvalidAction, check_label_name, check_subdomain_name

EXIT_OK = 0
EXIT_FAILED = 1
"""An error-severity finding (status) or a failed action."""
EXIT_USAGE = 2
"""Bad input, unknown context, broken kubeconfig, no cluster reachable."""
EXIT_INTERRUPTED = 130

DEFAULT_TIMEOUT = 20.0
FORMATS = ("table", "json", "yaml")


class HelpFormatter(argparse.HelpFormatter):
    """Wraps one-paragraph texts (descriptions) but keeps texts with line breaks as written
    (the exit-code tables of the epilogs)."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text:
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


class UsageError(Exception):
    """Bad input or a connection problem: the message goes to stderr and the exit code is 2."""


def add_common(
    parser: argparse.ArgumentParser,
    *,
    output: bool = True,
    context_help: str = "a context to read; repeat for several (default: every context)",
) -> None:
    """``--kubeconfig --context --demo --scenario --read-only --timeout -o -v`` on a subcommand."""
    suppress = argparse.SUPPRESS
    group = parser.add_argument_group("cluster options")
    group.add_argument(
        "--kubeconfig",
        metavar="PATH",
        default=suppress,
        help="kubeconfig file (default: $KUBECONFIG, several files joined by ':', else ~/.kube/config)",
    )
    group.add_argument(
        "--context",
        action="append",
        dest="contexts",
        metavar="NAME",
        default=suppress,
        help=context_help,
    )
    group.add_argument(
        "--demo",
        action="store_true",
        default=suppress,
        help="run against a simulated ClusterMesh started in this process (seed scenario)",
    )
    group.add_argument(
        "--scenario",
        default=suppress,
        metavar="NAME|FILE",
        help="with --demo: built-in scenario name or scenario YAML file (default: seed)",
    )
    group.add_argument(
        "--read-only",
        action="store_true",
        default=suppress,
        help="never write to a cluster (write commands refuse)",
    )
    group.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=(
            f"seconds to wait for the clusters to sync (default: {DEFAULT_TIMEOUT:g}); "
            "clusters not synced by then are reported as such, never waited for"
        ),
    )
    if output:
        group.add_argument(
            "-o",
            "--output",
            choices=FORMATS,
            default="table",
            help="table (default, for people), json or yaml (for scripts; same data)",
        )
    group.add_argument(
        "-v", "--verbose", action="store_true", help="log the cluster-access layer to stderr (redacted)"
    )


def option(args: argparse.Namespace, name: str, default: Any = None) -> Any:
    """An option that may be absent from the namespace (see the module docstring)."""
    value = getattr(args, name, default)
    return default if value is None else value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"must be between 0 and 3600 seconds: {text!r}")
    return value


def parse_target(text: str, kind: str = "service") -> tuple[str, str]:
    """``NS/NAME`` → ``(ns, name)``, both checked as Kubernetes names (else :class:`UsageError`).

    The namespace is required: guessing one (``default``, the context's) would let a script
    change the wrong object.
    """
    namespace, sep, name = text.partition("/")
    if not sep or "/" in name:
        raise UsageError(f"{kind} must be given as NAMESPACE/NAME, got {text!r}")
    try:
        check_label_name("namespace", namespace)
        if kind == "deployment":
            check_subdomain_name(kind, name)
        else:
            check_label_name(kind, name)
    except InvalidAction as exc:
        raise UsageError(str(exc)) from None
    return namespace, name
