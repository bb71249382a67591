"""``meshtui affinity|global|shared|scale``: one confirmed change per named context.

Order of checks, cheapest and safest first, so a refusal never leaves a partial change:
1. arguments (names are DNS-1123, the value is one of the allowed ones, ``--context`` given):
   exit 2 before connecting;
2. ``--read-only``: exit 2 before connecting, with the kubectl command that was not run;
3. no ``--yes`` and stdin is not a terminal (a script, a CI job): exit 2 before connecting;
4. connect, wait for the named contexts (bounded), build each action from the snapshot (the old
   value for the prompt); a context that cannot be read → exit 2, a missing service or
   deployment → exit 1, and nothing is written anywhere;
5. show every change with its kubectl equivalent and ask ``[y/N]`` (``--yes`` skips): "no" → exit 1;
6. write through the source (validated again there, RBAC and API errors come back precise),
   wait (bounded) until the snapshot shows the change, print each result: any failure → exit 1.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tui.headless.options import (
    EXIT_FAILED,
    EXIT_OK,
    HelpFormatter,
    UsageError,
    add_common,
    option,
    parse_target,
)
from tui.mesh.actions import NONE_WRITE_NOTE, Scale, SetAnnotation, WriteAction, WriteResult, affinity_action
from tui.safetext import safe_line
from tui.writeplan import applied, scale_warning, switch_warning

if TYPE_CHECKING:
    from tui.headless.session import Session
    from tui.mesh.model import MeshSnapshot

AFFINITY_VALUES = ("local", "remote", "none", "remove")
SWITCH_VALUES = ("on", "off")
ANNOTATION_KEYS = {
    "affinity": "service.cilium.io/affinity",
    "global": "service.cilium.io/global",
    "shared": "service.cilium.io/shared",
}
"""The annotation each command writes: always the current name; it wins over a legacy alias
(``io.cilium/global-service``...), so a service still carrying the alias is changed as asked."""

EPILOG = """\
Writes never default to every context: name each cluster to change with --context (repeat it
to change several; one confirmation covers them all).

exit codes:
  0  every change was made (or there was nothing to change)
  1  a change failed (403 names the verb and resource, 404, 409, 422 with the server's message),
     the service or deployment does not exist in a named context, or the prompt was answered no
  2  usage error: bad NS/NAME or value, no --context, unknown context, --read-only, no terminal
     to confirm on without --yes, or a named context that could not be read
"""

SWITCH_HELP = (
    'on writes "true"; off writes "false" rather than removing the annotation: an absent '
    "shared annotation means shared (Cilium's default), and a legacy alias "
    "(io.cilium/global-service, io.cilium/shared-service) would keep deciding if the new one "
    'were removed; an explicit "false" wins over both'
)


def register(subparsers: argparse._SubParsersAction) -> None:
    raw = HelpFormatter
    affinity = subparsers.add_parser(
        "affinity",
        help="set or remove a global service's affinity (service.cilium.io/affinity)",
        description=(
            "local: prefer this cluster's backends; remote: prefer the other clusters'; none: no "
            "preference, written as the removal of the annotation (the word 'none' makes Cilium "
            "1.18/1.19 use local backends only, cilium/cilium#46623); remove: the same."
        ),
        epilog=EPILOG,
        formatter_class=raw,
    )
    affinity.add_argument("service", metavar="NS/SVC", help="the service, e.g. song/userlist-svc")
    affinity.add_argument("value", choices=AFFINITY_VALUES, metavar="local|remote|none|remove")
    _add_write_options(affinity)

    for which, what in (
        ("global", "merge this cluster's service with the same-named services of the other clusters"),
        ("shared", "export this cluster's endpoints of a global service to the other clusters"),
    ):
        parser = subparsers.add_parser(
            which,
            help=f"turn service.cilium.io/{which} on or off ({what})",
            description=f"service.cilium.io/{which}: {what}. {SWITCH_HELP}.",
            epilog=EPILOG,
            formatter_class=raw,
        )
        parser.add_argument("service", metavar="NS/SVC", help="the service, e.g. song/userlist-svc")
        parser.add_argument("value", choices=SWITCH_VALUES, metavar="on|off", help=SWITCH_HELP)
        _add_write_options(parser)

    scale = subparsers.add_parser(
        "scale",
        help="set a deployment's replicas (scale subresource, as kubectl scale)",
        description="Set the replicas of NS/DEPLOY in each named context (0 to 1000).",
        epilog=EPILOG,
        formatter_class=raw,
    )
    scale.add_argument("deployment", metavar="NS/DEPLOY", help="the deployment, e.g. song/userlist")
    scale.add_argument("replicas", metavar="N", help="the new replica count")
    _add_write_options(scale)


def _add_write_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-y", "--yes", action="store_true", help="do not ask for confirmation (required without a terminal)"
    )
    add_common(parser, context_help="a context to change (required); repeat for several")


# -- the request, checked before connecting ----------------------------------------------------


@dataclass(frozen=True)
class Request:
    """What the operator asked, checked: the target and the new value (no cluster read yet)."""

    command: str
    contexts: tuple[str, ...]
    namespace: str
    name: str
    key: str | None = None
    """Annotation key (annotation commands)."""
    value: str | None = None
    """New annotation value (``None``: remove)."""
    replicas: int | None = None
    choice: str = ""
    """``affinity``: what was asked (``none`` and ``remove`` both remove the annotation)."""

    def action(self, context: str, old: Any = None) -> WriteAction:
        if self.command == "scale":
            assert self.replicas is not None
            return Scale(context, self.namespace, self.name, self.replicas, old=old)
        assert self.key is not None
        return SetAnnotation(context, self.namespace, self.name, self.key, self.value, old=old)


def parse_request(args: argparse.Namespace) -> Request:
    """The checked request, or :class:`UsageError` (exit 2)."""
    from tui.mesh.actions import InvalidAction

    contexts = tuple(dict.fromkeys(option(args, "contexts", None) or ()))
    if not contexts:
        raise UsageError("--context is required: name the context(s) to change")
    if args.command == "scale":
        namespace, name = parse_target(args.deployment, "deployment")
        try:
            replicas = int(args.replicas, 10)
        except ValueError:
            raise UsageError(f"invalid replica count {args.replicas!r}: must be a whole number ≥ 0") from None
        request = Request("scale", contexts, namespace, name, replicas=replicas)
    else:
        namespace, name = parse_target(args.service, "service")
        key = ANNOTATION_KEYS[args.command]
        if args.command == "affinity":
            # "none" is never written as a word (cilium/cilium#46623): it removes the annotation
            value = None if args.value in ("none", "remove") else args.value
        else:
            value = "true" if args.value == "on" else "false"
        choice = args.value if args.command == "affinity" else ""
        request = Request(args.command, contexts, namespace, name, key=key, value=value, choice=choice)
    for context in contexts:
        try:
            request.action(context).validate()
        except InvalidAction as exc:
            raise UsageError(str(exc)) from None
    return request


def stdin_is_tty() -> bool:
    """Whether a person can answer the prompt (tests replace this)."""
    isatty = getattr(sys.stdin, "isatty", None)
    return bool(isatty and isatty())


def precheck(args: argparse.Namespace) -> Request:
    """Everything that needs no cluster: arguments, ``--read-only``, a terminal or ``--yes``."""
    request = parse_request(args)
    if option(args, "read_only", False):
        commands = "; ".join(request.action(c).kubectl() for c in request.contexts)
        raise UsageError(f"--read-only: refusing to write (not run: {commands})")
    if not args.yes and not stdin_is_tty():
        raise UsageError("refusing to write without a terminal to confirm on; pass --yes to confirm")
    return request


def run(args: argparse.Namespace) -> int:
    from tui.headless.session import execute

    holder: list[Request] = []

    def prepare() -> None:
        holder.append(precheck(args))

    async def body(session: Session) -> int:
        return await perform(session, holder[0])

    return execute(args, body, prepare=prepare)


# -- planning from the snapshot ------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One context's part of the request: the action, or why there is nothing to do there."""

    context: str
    cluster: str
    action: WriteAction
    warning: str = ""
    skip: str = ""
    """Set when nothing needs writing (the value is already in place)."""
    missing: str = ""
    """Set when the target does not exist in that context."""


def plan(request: Request, snapshot: MeshSnapshot, timeout: float | None = None) -> list[Step]:
    """Each named context's step, built from what it holds now. :class:`UsageError` when a named
    context cannot be written (not read, or read but stale: the one phase rule of
    :func:`tui.writeplan.unwritable_reason`, the app's too); nothing is written anywhere then."""
    from tui.headless.session import unusable_text
    from tui.writeplan import annotation_state, unwritable_reason

    steps: list[Step] = []
    for context in request.contexts:
        state = snapshot.by_context(context)
        if state is None or not state.writable:
            if state is None:
                why = f"{context}: not loaded"
            elif state.usable:  # stale: read, but its data may be old and its watch is broken
                why = f"{context} is {unwritable_reason(state)}; a write needs a live cluster"
            else:
                why = unusable_text(state, timeout)
            raise UsageError(f"cannot change {context}: {why}; nothing was written")
        cluster = state.cluster
        key = (request.namespace, request.name)
        if request.command == "scale":
            deployment = state.deployments.get(key)
            if deployment is None:
                steps.append(
                    Step(
                        context,
                        cluster,
                        request.action(context),
                        missing=f"deployment {request.namespace}/{request.name} not found",
                    )
                )
                continue
            action = request.action(context, deployment.replicas)
            same = deployment.replicas == request.replicas
            skip = f"already at {deployment.replicas} replicas" if same else ""
            warning = "" if skip else scale_warning(request.name, cluster, request.replicas)
            steps.append(Step(context, cluster, action, warning=warning, skip=skip))
            continue
        service = state.services.get(key)
        if service is None:
            steps.append(
                Step(
                    context,
                    cluster,
                    request.action(context),
                    missing=f"service {request.namespace}/{request.name} not found",
                )
            )
            continue
        if request.command == "affinity":
            written = affinity_action(
                context, request.namespace, request.name, service.annotations, request.choice
            )
            if written is None:
                meaning = "absent (no preference)" if request.value is None else request.value
                skip = f"{request.key} is already {meaning}"
                old = service.annotations.get(request.key or "")
                steps.append(Step(context, cluster, request.action(context, old), skip=skip))
            else:
                note = NONE_WRITE_NOTE if request.value is None else ""
                steps.append(Step(context, cluster, written, warning=note))
            continue
        current = annotation_state(service, request.command)
        action = request.action(context, current.value)
        skip = ""
        if current.value == request.value:
            shown = "absent" if request.value is None else request.value
            skip = f"{request.key} is already {shown}"
        warning = "" if skip else switch_warning(request.command, cluster, request.name, request.value)
        steps.append(Step(context, cluster, action, warning=warning, skip=skip))
    return steps


def change_line(step: Step) -> str:
    """``bastion02 song/userlist-svc service.cilium.io/affinity: (unset) → local``."""
    action = step.action
    name = action.service if isinstance(action, SetAnnotation) else action.deployment
    return f"{step.context} {action.namespace}/{name} {action.describe()}"


# -- confirm and write ---------------------------------------------------------------------------


async def ask(prompt: str) -> bool:
    """``prompt`` on stderr, one line from stdin; only ``y``/``yes`` confirms.

    Read through the event loop (``add_reader``), not a thread: a blocked ``readline`` thread
    would keep Ctrl-C from ending the command until Enter was pressed.
    """
    import asyncio

    sys.stderr.write(safe_line(prompt))  # one line, whatever a cluster put in it
    sys.stderr.flush()
    loop = asyncio.get_running_loop()
    try:
        fd = sys.stdin.fileno()
        future: asyncio.Future[str] = loop.create_future()

        def readable() -> None:
            if not future.done():
                future.set_result(sys.stdin.readline())

        loop.add_reader(fd, readable)
    except (AttributeError, OSError, ValueError, NotImplementedError):
        line = await asyncio.to_thread(sys.stdin.readline)
    else:
        try:
            line = await future
        finally:
            loop.remove_reader(fd)
    if not line.endswith("\n"):
        sys.stderr.write("\n")
    return line.strip().lower() in ("y", "yes")


@dataclass(frozen=True)
class Outcome:
    step: Step
    result: WriteResult | None
    visible: bool | None = None

    @property
    def ok(self) -> bool:
        if self.step.missing:
            return False
        return self.result is None or self.result.ok

    def to_json(self) -> dict[str, Any]:
        action = self.step.action
        result = self.result
        if self.step.missing:
            message = self.step.missing
        elif self.step.skip:
            message = self.step.skip
        else:
            message = result.message if result is not None else ""
        return {
            "context": self.step.context,
            "cluster": self.step.cluster,
            "target": action.target,
            "change": action.describe(),
            "kubectl": action.kubectl(),
            "ok": self.ok,
            "changed": bool(result is not None and result.ok),
            "message": message,
            "status": 404 if self.step.missing else (result.status if result is not None else None),
            "visible": self.visible,
            "warning": self.step.warning or None,
        }


async def perform(session: Session, request: Request) -> int:
    from tui.headless.output import error

    snapshot = await session.sync(cilium=False)
    steps = plan(request, snapshot, session.timeout)
    missing = [s for s in steps if s.missing]
    if missing:
        _report(session, [Outcome(s, None) for s in missing])
        error(f"meshtui {request.command}: nothing was written")
        return EXIT_FAILED
    todo = [s for s in steps if not s.skip]
    if todo and not session.args.yes:
        for step in todo:
            error(change_line(step))
            error(f"  {step.action.kubectl()}")
            if step.warning:
                error(f"  warning: {step.warning}")
        what = "this change" if len(todo) == 1 else f"these {len(todo)} changes"
        if not await ask(f"Apply {what}? [y/N] "):
            error(f"meshtui {request.command}: not confirmed; nothing was written")
            return EXIT_FAILED
    outcomes: list[Outcome] = []
    for step in steps:
        if step.skip:
            outcomes.append(Outcome(step, None))
            continue
        result = await session.source.write(step.action)
        visible = None
        if result.ok:
            visible = await _wait_visible(session, step.action)
            if not visible:
                error(
                    f"meshtui {request.command}: {step.context}: written, but not yet seen in the "
                    f"cluster's state after {session.timeout:g} s"
                )
        outcomes.append(Outcome(step, result, visible))
    _report(session, outcomes)
    return EXIT_OK if all(o.ok for o in outcomes) else EXIT_FAILED


async def _wait_visible(session: Session, action: WriteAction) -> bool:
    from tui.headless.session import CILIUM_MIN_WAIT

    try:
        await session.source.wait_for(lambda s: applied(s, action), session.remaining(CILIUM_MIN_WAIT))
    except TimeoutError:
        return False
    return True


def _report(session: Session, outcomes: list[Outcome]) -> None:
    from rich.text import Text

    from tui.headless.output import emit

    def lines() -> list[Text]:
        out = []
        for outcome in outcomes:
            step = outcome.step
            text = Text()
            # Old values and server messages are a cluster's words: one safe line each.
            if step.missing:
                text.append("✗ ", style="red")
                text.append(safe_line(f"{step.context}: {step.missing}"))
            elif step.skip:
                text.append("= ", style="dim")
                text.append(safe_line(f"{change_line(step)}: {step.skip}"))
            elif outcome.ok:
                text.append("✓ ", style="green")
                text.append(safe_line(change_line(step)))
                if outcome.result is not None and outcome.result.message:
                    text.append(safe_line(f"  ({outcome.result.message})"), style="dim")
            else:
                text.append("✗ ", style="red")
                text.append(safe_line(f"{change_line(step)}: failed: "))
                text.append(safe_line(outcome.result.message if outcome.result else ""), style="red")
            out.append(text)
        return out

    emit({"results": [o.to_json() for o in outcomes]}, session.args.output, lines)
