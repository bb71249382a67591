"""``meshtui status``, ``meshtui services``, ``meshtui backends``: read the mesh, answer once.

Each prints the :mod:`tui.views` model of the moment (``to_json()`` for ``-o json|yaml``, the
same data as tables otherwise) after every context synced or ``--timeout`` passed, and after the
Cilium agents were asked for their ``cilium status`` (mesh health and which remotes count as
connected depend on it). Imports of the heavy layers happen inside :func:`run`.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from tui.headless.options import EXIT_FAILED, EXIT_OK, HelpFormatter, UsageError, add_common, parse_target

if TYPE_CHECKING:
    from tui.headless.session import Session

EXIT_CODES = """\
exit codes:
  0  answered{status}
  1  {one}
  2  usage or connection error: bad arguments, unknown context, unreadable kubeconfig,
     no cluster could be read (the message is on stderr)
"""


def _epilog(status: bool) -> str:
    if status:
        return EXIT_CODES.format(
            status=" and no finding is an error",
            one="an error-severity finding, including a cluster that could not be read\n"
            "     (unreachable, broken context, RBAC, not synced within --timeout)",
        )
    return EXIT_CODES.format(status="", one="(not used by this command)")


def register(subparsers: argparse._SubParsersAction) -> None:
    raw = HelpFormatter
    status = subparsers.add_parser(
        "status",
        help="every cluster, its Cilium and ClusterMesh, and the connect-check findings",
        description=(
            "Every context: Cilium cluster name and id, Cilium version, access state, agents, the "
            "clustermesh-apiserver and each remote as the agents see it (configured / connected, "
            "min/avg/max); then the findings with the command that fixes each."
        ),
        epilog=_epilog(True),
        formatter_class=raw,
    )
    add_common(status)

    services = subparsers.add_parser(
        "services",
        help="the global services matrix: each service in each cluster",
        description=(
            "Every service that is global in at least one cluster, with its global/shared/affinity "
            "annotations and ready endpoints per cluster, and why some cluster gets no remote backends."
        ),
        epilog=_epilog(False),
        formatter_class=raw,
    )
    services.add_argument("-n", "--namespace", metavar="NS", help="only services of this namespace")
    services.add_argument(
        "--all", action="store_true", dest="show_all", help="every service, not only the global ones"
    )
    add_common(services)

    backends = subparsers.add_parser(
        "backends",
        help="which backends each cluster selects for a service, and why",
        description=(
            "Per viewing cluster: the affinity, the expected share of new connections per cluster, the "
            "clusters excluded from the merge (and why), every backend with selected or not and why, "
            "and the agent's own `cilium service list` for comparison."
        ),
        epilog=_epilog(False),
        formatter_class=raw,
    )
    backends.add_argument("service", metavar="NS/SVC", help="the service, e.g. song/userlist-svc")
    backends.add_argument(
        "--from",
        dest="from_context",
        metavar="CONTEXT",
        help="only the view from this context's cluster (default: every context)",
    )
    backends.add_argument(
        "--no-agent",
        action="store_true",
        help="do not read the agents' `cilium service list` (agent_backends is null)",
    )
    add_common(backends)


def run(args: argparse.Namespace) -> int:
    from tui.headless.session import execute

    # One snapshot answers each of them: lists only, no watches (follow=False).
    if args.command == "status":
        return execute(args, _status, follow=False)
    if args.command == "services":
        return execute(args, _services, prepare=lambda: _check_namespace(args), follow=False)
    return execute(args, _backends, prepare=lambda: parse_target(args.service), follow=False)


async def _status(session: Session) -> int:
    from tui.headless.output import emit
    from tui.headless.reach import has_errors, with_reach
    from tui.views.status import status_view

    snapshot = await session.sync(cilium=True)
    view = with_reach(status_view(snapshot), snapshot, session.timeout)
    emit(view.to_json(), session.args.output, lambda: _table().status_table(view))
    return EXIT_FAILED if has_errors(view) else EXIT_OK


def _table() -> Any:
    """:mod:`tui.headless.tables`, imported only for ``-o table``: rich's console and tables are
    a tenth of a JSON or YAML answer's start-up and no part of it."""
    from tui.headless import tables

    return tables


def _check_namespace(args: argparse.Namespace) -> None:
    from tui.mesh.actions import InvalidAction, check_label_name

    if args.namespace is not None:
        try:
            check_label_name("namespace", args.namespace)
        except InvalidAction as exc:
            raise UsageError(str(exc)) from None


async def _services(session: Session) -> int:
    import dataclasses

    from tui.headless.output import emit
    from tui.views.services import services_view

    args = session.args
    snapshot = await session.sync(cilium=True)
    _warn_unusable(session, snapshot)
    view = services_view(snapshot, show_all=args.show_all)
    if args.namespace:
        view = dataclasses.replace(view, rows=tuple(r for r in view.rows if r.namespace == args.namespace))
    emit(view.to_json(), args.output, lambda: _table().services_table(view))
    return EXIT_OK


async def _backends(session: Session) -> int:
    from tui.headless.output import emit
    from tui.headless.session import unusable_text
    from tui.views.backends import backends_view
    from tui.views.backends import service_map as services_of

    args = session.args
    key = parse_target(args.service)
    viewer = args.from_context
    if viewer is not None and viewer not in session.source.hub.clusters:
        raise UsageError(f"--from: context {viewer!r} is not among the contexts read")
    snapshot = await session.sync(cilium=True, contexts=[viewer] if viewer else None)
    if viewer is not None:
        state = snapshot.by_context(viewer)
        assert state is not None
        if not state.usable:
            raise UsageError(f"--from {unusable_text(state, session.timeout)}")
    else:
        _warn_unusable(session, snapshot)
    if not any(svc is not None for svc in services_of(snapshot, key).values()):
        raise UsageError(f"service {args.service} not found in any cluster that could be read")
    viewers = [viewer] if viewer else [s.context for s in snapshot.clusters]
    agent_lists = None if args.no_agent else await _agent_lists(session, snapshot, viewers)
    view = backends_view(snapshot, key, contexts=viewers, agent_lists=agent_lists)
    emit(view.to_json(), args.output, lambda: _table().backends_table(view))
    return EXIT_OK


async def _agent_lists(session: Session, snapshot: Any, contexts: list[str]) -> dict[str, Any]:
    """Each viewing context's ``cilium service list -o json`` (``None`` where unreadable)."""
    import asyncio

    from tui.headless.session import CILIUM_MIN_WAIT

    usable = [c for c in contexts if (s := snapshot.by_context(c)) is not None and s.usable]
    tasks = {c: asyncio.ensure_future(session.source.agent_service_list(c)) for c in usable}
    if not tasks:
        return {}
    await asyncio.wait(tasks.values(), timeout=session.remaining(CILIUM_MIN_WAIT))
    out: dict[str, Any] = {}
    for context, task in tasks.items():
        if task.done() and not task.cancelled() and task.exception() is None:
            out[context] = task.result()
        else:
            task.cancel()
            out[context] = None
    await asyncio.gather(*tasks.values(), return_exceptions=True)
    return out


def _warn_unusable(session: Session, snapshot: Any) -> None:
    """Name the clusters left out on stderr (the answer itself marks their cells as unknown)."""
    from tui.headless.output import error
    from tui.headless.session import unusable_text

    for state in snapshot.clusters:
        if not state.usable:
            error(f"meshtui {session.args.command}: warning: {unusable_text(state, session.timeout)}")
