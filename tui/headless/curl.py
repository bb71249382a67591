"""``meshtui curl NS/SVC --from CONTEXT``: a bounded curl loop in a client pod, who answered.

Built on the curl engine (:class:`tui.curl.session.CurlSession`): one framed exec in a client
pod of ``--from`` (the ``curltest`` deployment by default, else ``x-wing`` or any curl image,
or ``--client POD``), each answer identified by the backends' own answers, then a summary
against the rules' expected share. Table output streams one line per request as it arrives;
``-o json|yaml`` prints only the summary at the end.

Every wait is bounded: the loop must be attached within ``--timeout`` (else exit 2 with the
reason, e.g. no ready client pod), and must finish within ``count × (interval + request
timeout)`` plus slack (else it is stopped and reported incomplete, exit 1). Ctrl-C stops the
loop in the pod, prints what was counted so far, and exits 130.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tui.headless.options import (
    EXIT_FAILED,
    EXIT_OK,
    HelpFormatter,
    UsageError,
    add_common,
)
from tui.safetext import safe_line

if TYPE_CHECKING:
    from tui.curl.loop import CurlAnswer, LoopEvent
    from tui.curl.session import CurlSession
    from tui.curl.target import CurlTarget
    from tui.headless.session import Session
    from tui.mesh.model import MeshSnapshot

DEFAULT_COUNT = 10
MAX_COUNT = 10_000
DEFAULT_INTERVAL = 1.0
DEFAULT_REQUEST_TIMEOUT = 2.0
FINISH_SLACK = 15.0
"""Seconds allowed beyond ``count × (interval + request timeout)`` (a reattach, the last learning)."""

EPILOG = """\
exit codes:
  0  every request was answered without error
  1  some request failed (timeout, refused, resolve, HTTP >= 400...) or the loop did not finish
     in time (stopped; the summary says how far it got)
  2  usage or connection error: bad NS/SVC, path with shell metacharacters, --from unknown or
     unreadable, the service exists in no readable cluster, no client pod to run curl in
130  interrupted (Ctrl-C; 143 on SIGTERM): the loop is stopped in the pod and the partial
     summary printed
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "curl",
        help="a bounded curl loop from a client pod: which cluster and pod answered",
        description=(
            "Run `curl` COUNT times in a client pod of the --from context (the curltest deployment "
            "by default) against http://SVC.NS.svc:PORT/PATH, and show which cluster and pod "
            "answered each request, the split per cluster against the share the rules expect, "
            "errors by kind and latency. PORT defaults to the service's first port, PATH to "
            "/users/1 for the userlist sample and / otherwise."
        ),
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("service", metavar="NS/SVC[:PORT][/PATH]", help="the service, e.g. song/userlist-svc")
    parser.add_argument(
        "--from", dest="from_context", required=True, metavar="CONTEXT", help="the context whose pod curls"
    )
    parser.add_argument("--path", metavar="P", help="HTTP path (default: /users/1 for userlist, else /)")
    parser.add_argument("--port", metavar="N", help="service port (default: the service's first port)")
    parser.add_argument(
        "--count", default=str(DEFAULT_COUNT), metavar="N", help=f"requests (default {DEFAULT_COUNT})"
    )
    parser.add_argument(
        "--interval",
        default=str(DEFAULT_INTERVAL),
        metavar="S",
        help=f"seconds between requests (default {DEFAULT_INTERVAL:g}; 0: as fast as curl goes)",
    )
    parser.add_argument(
        "--request-timeout",
        default=str(DEFAULT_REQUEST_TIMEOUT),
        metavar="S",
        help=f"curl's -m: seconds one request may take (default {DEFAULT_REQUEST_TIMEOUT:g})",
    )
    parser.add_argument("--client", metavar="POD", help="curl from this pod of --from (default: curltest)")
    add_common(parser, context_help="a context to read; repeat for several (default: every context)")


# -- the request, checked before connecting ----------------------------------------------------


class Request:
    """The checked arguments: the target as far as known without a cluster, and the loop's bounds."""

    def __init__(self, args: argparse.Namespace) -> None:
        from tui.curl.target import (
            InvalidInput,
            check_interval,
            check_path,
            check_port,
            check_subdomain,
            check_timeout,
            parse_target,
        )

        try:
            base = parse_target(args.service)
            self.port: int | None = check_port(args.port, "--port") if args.port is not None else None
            self.path: str | None = check_path(args.path) if args.path is not None else None
            self.count = _count(args.count)
            self.interval = check_interval(_number(args.interval, "--interval"))
            self.request_timeout = check_timeout(_number(args.request_timeout, "--request-timeout"))
            self.client = check_subdomain(args.client, "--client pod") if args.client else None
        except InvalidInput as exc:
            raise UsageError(str(exc)) from None
        _ns, _sep, rest = args.service.partition("/")
        service_part, slash, _tail = rest.partition("/")
        if self.port is None and ":" in service_part:
            self.port = base.port
        if self.path is None and slash:
            self.path = base.path
        self.namespace = base.namespace
        self.service = base.service
        self.context: str = args.from_context

    def target(self, snapshot: MeshSnapshot) -> CurlTarget:
        """The port and path asked for, else the service's first port and its app's path."""
        from tui.curl.target import CurlTarget, default_target

        default = default_target(snapshot, (self.namespace, self.service))
        return CurlTarget(self.namespace, self.service, self.port or default.port, self.path or default.path)

    @property
    def budget(self) -> float:
        """Seconds the attached loop may take to finish."""
        return self.count * (self.interval + self.request_timeout) + FINISH_SLACK


def _number(text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise UsageError(f"{what}: not a number of seconds: {text!r}") from None


def _count(text: str) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise UsageError(f"--count: not a whole number: {text!r}") from None
    if not 1 <= value <= MAX_COUNT:
        raise UsageError(f"--count must be between 1 and {MAX_COUNT}, not {value}")
    return value


def run(args: argparse.Namespace) -> int:
    from tui.headless.session import execute

    holder: list[Request] = []

    async def body(session: Session) -> int:
        return await curl(session, holder[0])

    return execute(args, body, prepare=lambda: holder.append(Request(args)))


# -- the loop --------------------------------------------------------------------------------------


async def curl(session: Session, request: Request) -> int:
    import asyncio

    from tui.curl.session import CurlSession
    from tui.headless.output import error
    from tui.headless.session import interrupted_code, unusable_text
    from tui.views.backends import service_map
    from tui.views.builder import ViewBuilder

    context = request.context
    if context not in session.source.hub.clusters:
        raise UsageError(f"--from: context {context!r} is not among the contexts read")
    snapshot = await session.sync(cilium=True, contexts=[context])
    state = snapshot.by_context(context)
    assert state is not None
    if not state.usable:
        raise UsageError(f"--from {unusable_text(state, session.timeout)}")
    key = (request.namespace, request.service)
    if not any(svc is not None for svc in service_map(snapshot, key).values()):
        raise UsageError(
            f"service {request.namespace}/{request.service} not found in any cluster that could be read"
        )
    if key not in state.services:
        error(f"meshtui curl: warning: {context} has no service {request.namespace}/{request.service}: "
              "its DNS will not resolve the name")  # fmt: skip
    target = request.target(snapshot)
    table = session.args.output == "table"
    main = asyncio.current_task()
    printer = Printer(
        table,
        f"curl {target.url} from {state.context} ({state.cluster})",
        on_broken=main.cancel if main is not None else None,
    )
    attached = asyncio.Event()

    def on_event(event: LoopEvent) -> None:
        if event.kind in ("attached", "reattached"):
            attached.set()
        printer.event(event)

    curl_session = CurlSession(
        session.source,
        target,
        interval=request.interval,
        timeout=request.request_timeout,
        count=request.count,
        window=request.count,
        log_size=1,
        clients={context: request.client} if request.client else None,
        on_answer=printer.answer,
        on_event=on_event,
        expected=ViewBuilder().expected_share,
    )
    interrupted = False
    complete = False
    try:
        await curl_session.start([context])
        try:  # not wait_for: on Python 3.11 it can swallow a Ctrl-C landing as the loop attaches
            async with asyncio.timeout(session.remaining(min(5.0, session.timeout))):
                await attached.wait()
        except TimeoutError:
            why = _last_problem(curl_session) or "the loop did not start"
            raise UsageError(f"no curl loop in {context} within {session.timeout:g} s: {why}") from None
        complete = await curl_session.wait(request.budget)
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
        interrupted = True
    finally:
        await curl_session.stop()
    if printer.broken:
        return EXIT_FAILED  # nobody reads the answer any more
    summary = summarize(curl_session, context, complete=complete and not interrupted)
    _emit(session, summary, printer)
    if interrupted:
        error("meshtui curl: interrupted; the loop was stopped in the pod")
        return interrupted_code()
    if not complete:
        error(
            f"meshtui curl: the loop did not finish within {request.budget:g} s "
            f"({summary['requests']}/{request.count} requests); stopped"
        )
        return EXIT_FAILED
    return EXIT_FAILED if summary["errors"] else EXIT_OK


def _last_problem(curl_session: CurlSession) -> str:
    for event in reversed(curl_session.events):
        if event.kind in ("waiting", "error", "ended"):
            return event.text
    return ""


def summarize(curl_session: CurlSession, context: str, *, complete: bool) -> dict[str, Any]:
    """The JSON document: the issue's keys first, then what else a script may want."""
    import collections

    stats = curl_session.stats.get(context)
    loop = curl_session.loops.get(context)
    answers = list(stats.recent) if stats is not None else []
    answered = [a for a in answers if a.answered]
    by_cluster = collections.Counter(a.to_cluster for a in answered if a.to_cluster)
    by_pod = collections.Counter(a.pod for a in answered if a.pod)
    p50, p95 = stats.latency() if stats is not None else (None, None)
    target = curl_session.target
    return {
        "requests": stats.total if stats is not None else 0,
        "by_cluster": dict(sorted(by_cluster.items())),
        "by_pod": dict(sorted(by_pod.items())),
        "unknown": sum(1 for a in answered if a.to_cluster is None),
        "errors": dict(stats.errors) if stats is not None else {},
        "latency_ms": {
            "p50": None if p50 is None else round(p50, 2),
            "p95": None if p95 is None else round(p95, 2),
        },
        "service": f"{target.namespace}/{target.service}",
        "url": target.url,
        "from": {"context": context, "cluster": stats.from_cluster if stats is not None else None},
        "client_pod": loop.pod if loop is not None else None,
        "expected_share": dict(stats.expected) if stats is not None else {},
        "complete": complete,
        "phases": phases_of(curl_session, context, answers),
        "answers": [a.to_json() for a in answers],
        "events": [
            {"at": round(e.at, 3), "context": e.context, "kind": e.kind, "text": e.text}
            for e in curl_session.events
        ],
    }


def phases_of(curl_session: CurlSession, context: str, answers: list[CurlAnswer]) -> list[dict[str, Any]]:
    """The run cut at each change the watch showed (:mod:`tui.curl.phases`): per phase the
    expected share that held and the answers that came meanwhile, so each split is compared
    with its own expectation, not the last one."""
    import collections

    phases = curl_session.phases.get(context)
    items = phases.items if phases is not None else []
    if not items:
        return []
    groups: list[list[CurlAnswer]] = [[] for _ in items]
    for answer in answers:
        groups[phases.index_at(answer.at) if phases is not None else 0].append(answer)
    out = []
    for phase, group in zip(items, groups, strict=True):
        answered = [a for a in group if a.answered]
        errors = collections.Counter(a.error_kind for a in group if a.error_kind)
        out.append(
            {
                "since": round(phase.since, 3),
                "change": phase.change or None,
                "expected_share": dict(phase.expected),
                "expected_note": phase.note or None,
                "backends": dict(phase.backends),
                "requests": len(group),
                "by_cluster": dict(
                    sorted(collections.Counter(a.to_cluster for a in answered if a.to_cluster).items())
                ),
                "unknown": sum(1 for a in answered if a.to_cluster is None),
                "errors": dict(errors),
            }
        )
    return out


def _emit(session: Session, summary: dict[str, Any], printer: Printer) -> None:
    from tui.headless.output import dump, write

    if session.args.output == "table":
        printer.summary(summary)
        return
    write(dump(summary, session.args.output))


class Printer:
    """Table output: one line per answer as it comes (flushed: it may be piped), then a summary."""

    def __init__(self, table: bool, title: str = "", on_broken: Callable[[], None] | None = None) -> None:
        self.table = table
        self.title = title
        """Printed once, before the first line of the loop (not when it never starts)."""
        self.on_broken = on_broken
        """Called when stdout's reader went away (``| head``): the loop should stop."""
        self.broken = False
        self.count = 0
        self._console: Any = None
        self._titled = False

    @property
    def console(self) -> Any:
        if self._console is None:
            from tui.headless.output import console

            self._console = console()
        return self._console

    def _print(self, renderable: Any) -> None:
        """Print now; called from the loop's callbacks, so a closed pipe must not raise there."""
        if self.broken:
            return
        try:
            self.console.print(renderable)
            self.console.file.flush()
        except (OSError, SystemExit):  # rich turns a broken pipe into SystemExit(1); EIO: terminal gone
            self.broken = True
            if self.on_broken is not None:
                self.on_broken()

    def header(self) -> None:
        if self._titled or not self.table:
            return
        from rich.text import Text

        self._titled = True
        self._print(Text(safe_line(self.title), style="bold"))

    def answer(self, answer: CurlAnswer) -> None:
        if not self.table:
            return
        from rich.text import Text

        self.header()
        self.count += 1
        line = Text(f"{self.count:>4}  ")
        # The pod's answer and the cluster's names: display-safe, one line each (tui.safetext).
        if answer.error_kind and not answer.answered:
            line.append(f"✗ {safe_line(answer.error_kind)}", style="red")
            line.append(f"  {safe_line(answer.error or '-')}  {answer.ms:.0f} ms")
            self._print(line)
            return
        line.append(f"{safe_line(answer.from_cluster)} → ")
        line.append(safe_line(answer.to_cluster or "?"), style="bold" if answer.to_cluster else "yellow")
        line.append(f"  {safe_line(answer.pod or '(pod unknown)')}  ")
        line.append(str(answer.code), style="red" if answer.code >= 400 else "green")
        line.append(f"  {answer.ms:.1f} ms  {safe_line(answer.label)}")
        self._print(line)

    def event(self, event: LoopEvent) -> None:
        if not self.table or event.kind in ("done", "stopped"):
            return
        from tui.headless.output import error

        if event.kind == "attached":
            self.header()
        error(f"meshtui curl: {event.context + ': ' if event.context else ''}{event.text}")

    def _split_table(self, by_cluster: dict[str, int], unknown: int, expected: dict[str, float]) -> None:
        """CLUSTER ANSWERS SHARE EXPECTED for one stretch of answers."""
        from rich import box

        from tui.headless.tables import SafeTable

        answered = sum(by_cluster.values()) + unknown
        table = SafeTable(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
        for column in ("CLUSTER", "ANSWERS", "SHARE", "EXPECTED"):
            table.add_column(column, justify="left" if column == "CLUSTER" else "right")
        for cluster in sorted(set(by_cluster) | set(expected)):
            n = by_cluster.get(cluster, 0)
            share = f"{n / answered:.0%}" if answered else "—"
            table.add_row(cluster, str(n), share, f"{expected[cluster]:.0%}" if cluster in expected else "—")
        if unknown:
            table.add_row("unknown", str(unknown), f"{unknown / answered:.0%}", "—")
        if table.row_count:
            self._print(table)

    def summary(self, summary: dict[str, Any]) -> None:
        from rich.text import Text

        requests = summary["requests"]
        self._print(Text(""))
        head = f"{requests} requests from {summary['from']['context']} ({summary['from']['cluster']})"
        if summary["client_pod"]:
            head += f" in {summary['client_pod']}"
        self._print(Text(safe_line(head), style="bold"))
        phases = summary.get("phases") or []
        if len(phases) > 1:  # one table per phase: each split beside the share that held then
            for number, phase in enumerate(phases, start=1):
                since = time.strftime("%H:%M:%S", time.localtime(phase["since"]))
                why = f"after {phase['change']}" if phase["change"] else "from the start"
                title = f"phase {number}: {phase['requests']} requests from {since}, {why}"
                self._print(Text(safe_line(title), style="bold"))
                self._split_table(phase["by_cluster"], phase["unknown"], phase["expected_share"])
            whole = " · ".join(f"{c} {n}" for c, n in summary["by_cluster"].items()) or "no answer"
            if summary["unknown"]:
                whole += f" · unknown {summary['unknown']}"
            self._print(Text(safe_line(f"whole run: {whole} (compare each phase with its own expectation)")))
        else:
            self._split_table(summary["by_cluster"], summary["unknown"], summary["expected_share"])
        if summary["by_pod"]:
            pods = " · ".join(f"{pod} {n}" for pod, n in summary["by_pod"].items())
            self._print(Text(safe_line(f"pods: {pods}")))
        errors = summary["errors"]
        error_text = ", ".join(f"{kind} {n}" for kind, n in errors.items()) if errors else "none"
        latency = summary["latency_ms"]
        if latency["p50"] is None:
            timing = "latency: no answer"
        else:
            timing = f"latency p50 {latency['p50']:.1f} ms · p95 {latency['p95']:.1f} ms"
        self._print(Text(safe_line(f"errors: {error_text}   {timing}"), style="red" if errors else ""))
