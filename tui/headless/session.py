"""Run one headless command: simulator (``--demo``), source, bounded sync, clean stop.

Why the shape: a command is an ``async`` body that receives a :class:`Session` once the
kubeconfig is known to be usable; :func:`execute` owns everything around it. The source runs on
the caller's loop (``threaded=False``) under ``asyncio.run``, the simulator (if any) in its own
daemon thread; both are stopped on every path out: answer, usage error, Ctrl-C, SIGTERM.
Waiting is always bounded: clusters that do not sync within ``--timeout`` are reported as
still syncing, never awaited further.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tui import collector
from tui.headless.options import (
    DEFAULT_TIMEOUT,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    UsageError,
    option,
)
from tui.headless.output import error
from tui.mesh.model import ClusterState, MeshSnapshot
from tui.views.labels import phase_text

if TYPE_CHECKING:
    from tui.demo import SimThread
    from tui.kube.settings import HubSettings
    from tui.kube.source import KubeSource

SETTINGS: HubSettings | None = None
"""Hub settings for every command (``None``: the layer's defaults); set it to shrink the waits."""

CILIUM_MIN_WAIT = 3.0
"""Seconds the agents' ``cilium status`` reads get at least, even when the sync used the budget."""

Body = Callable[["Session"], Awaitable[int]]


@dataclass
class Session:
    """One command's view of the clusters: the running source and the time budget."""

    args: argparse.Namespace
    source: KubeSource
    timeout: float
    requested: tuple[str, ...] = ()
    """The ``--context`` names, in order (empty: every context)."""
    started: float = field(default_factory=time.monotonic)

    def remaining(self, minimum: float = 0.0) -> float:
        return max(minimum, self.timeout - (time.monotonic() - self.started))

    def snapshot(self) -> MeshSnapshot:
        return self.source.snapshot()

    async def sync(self, *, cilium: bool = True, contexts: Sequence[str] | None = None) -> MeshSnapshot:
        """Wait (bounded) until no context is syncing, read the agents, return the snapshot.

        ``cilium``: also read every agent's ``cilium status`` now (``refresh_cilium``), so mesh
        health and the "connected" exclusions reflect this moment, not the last periodic read.
        ``contexts`` limits that read. Raises :class:`UsageError` when no context is usable.
        """
        with contextlib.suppress(TimeoutError):
            await self.source.wait_synced(self.remaining(0.01))
        snapshot = self.source.hub.publish_now()
        if cilium:
            names = [
                s.context
                for s in snapshot.clusters
                if s.usable and (contexts is None or s.context in contexts)
            ]
            await self.refresh_cilium(names)
            snapshot = self.source.hub.publish_now()
        require_usable(snapshot, self.timeout)
        return snapshot

    async def refresh_cilium(self, contexts: Sequence[str]) -> None:
        """Every named context's agents read once, in parallel; the slow ones are given up on."""
        if not contexts:
            return
        tasks = [asyncio.ensure_future(self.source.refresh_cilium(c)) for c in contexts]
        _done, pending = await asyncio.wait(tasks, timeout=self.remaining(CILIUM_MIN_WAIT))
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def unusable_text(state: ClusterState, timeout: float | None = None) -> str:
    """``bastion03: unreachable: connection refused`` / ``bastion03: not synced within 20 s``."""
    if state.phase == "syncing":
        within = f" within {timeout:g} s" if timeout is not None else ""
        return f"{state.context}: not synced{within} (still syncing)"
    return f"{state.context}: {phase_text(state)}"


def require_usable(snapshot: MeshSnapshot, timeout: float | None = None) -> None:
    """:class:`UsageError` (exit 2) when not one context could be read."""
    if any(s.usable for s in snapshot.clusters):
        return
    reasons = [unusable_text(s, timeout) for s in snapshot.clusters]
    reasons += list(snapshot.config_errors)
    raise UsageError("no cluster could be read: " + "; ".join(reasons or ["no context"]))


def configure_logging(verbose: bool) -> Callable[[], None]:
    """Quiet by default: library warnings must not mix with the answer on stderr.

    Python prints WARNING records to stderr when the root logger has no handler; a
    :class:`logging.NullHandler` stops that. ``-v`` logs INFO and up to stderr instead, through
    the cluster-access layer's redacting filter (tokens never reach the terminal). Returns the
    undo (commands run in-process in tests: nothing may outlive the call).
    """
    root = logging.getLogger()
    if verbose:
        from tui.kube.redact import RedactingFilter
        from tui.safetext import SafeLogFormatter

        handler: logging.Handler = logging.StreamHandler(sys.stderr)
        # No control character from a cluster reaches the terminal through a log line either.
        handler.setFormatter(SafeLogFormatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        handler.addFilter(RedactingFilter())
        logger = logging.getLogger("tui")
        old_level = logger.level
        root.addHandler(handler)
        logger.setLevel(logging.INFO)

        def undo() -> None:
            root.removeHandler(handler)
            logger.setLevel(old_level)

        return undo
    if not root.handlers:
        null = logging.NullHandler()
        root.addHandler(null)
        return lambda: root.removeHandler(null)
    return lambda: None


def start_demo(args: argparse.Namespace) -> SimThread:
    """The in-process simulator for ``--demo`` (its scenario checked before anything starts)."""
    from tui.demo import DemoError, start_simulator

    if option(args, "kubeconfig"):
        raise UsageError("--demo and --kubeconfig exclude each other (--demo writes its own kubeconfig)")
    try:
        return start_simulator(option(args, "scenario", "seed"))
    except DemoError as exc:
        raise UsageError(str(exc)) from None


def execute(
    args: argparse.Namespace,
    body: Body,
    *,
    read_only: bool | None = None,
    prepare: Callable[[], None] | None = None,
    follow: bool = True,
) -> int:
    """Run ``body`` with a started :class:`Session`; map failures to exit codes.

    ``prepare`` runs first, before any connection (input checks that need no cluster).
    ``follow=False``: every resource is listed once and not watched (a command that answers
    from one snapshot: ``status``, ``services``, ``backends``).
    """
    command = f"meshtui {args.command}"
    undo_logging = configure_logging(bool(option(args, "verbose", False)))
    sim: SimThread | None = None
    try:
        if prepare is not None:
            prepare()
        if option(args, "demo", False):
            sim = start_demo(args)
        kubeconfig = str(sim.kubeconfig_path) if sim is not None else option(args, "kubeconfig")
        return asyncio.run(_main(args, body, kubeconfig, read_only, follow))
    except UsageError as exc:
        error(f"{command}: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        error(f"{command}: interrupted")
        return EXIT_INTERRUPTED
    except asyncio.CancelledError:  # SIGTERM, SIGHUP
        error(f"{command}: terminated")
        return 128 + (_terminated[0] or signal.SIGTERM)
    finally:
        if sim is not None:
            sim.stop()
        undo_logging()


async def _main(
    args: argparse.Namespace, body: Body, kubeconfig: str | None, read_only: bool | None, follow: bool = True
) -> int:
    import dataclasses

    from tui.kube.settings import HubSettings
    from tui.kube.source import KubeSource

    collector.resume()  # the heavy imports are done (see tui.collector)

    _cancel_on_sigterm()
    requested = tuple(dict.fromkeys(option(args, "contexts", None) or ()))
    if read_only is None:
        read_only = bool(option(args, "read_only", False))
    settings = SETTINGS
    if not follow:
        base = settings or HubSettings()
        settings = dataclasses.replace(base, watch=dataclasses.replace(base.watch, follow=False))
    source = KubeSource(
        kubeconfig=kubeconfig,
        contexts=list(requested) or None,
        read_only=read_only,
        threaded=False,
        settings=settings,
    )
    await source.start()
    try:
        check_config(source, requested)
        session = Session(args, source, float(option(args, "timeout", DEFAULT_TIMEOUT)), requested)
        return await body(session)
    finally:
        await source.stop()


def check_config(source: KubeSource, requested: Sequence[str]) -> None:
    """Unknown ``--context`` names and an unusable kubeconfig are usage errors (exit 2)."""
    hub = source.hub
    missing = [name for name in requested if name not in hub.clusters]
    if missing:
        from tui.kube.config import read_kubeconfig

        names = ", ".join(repr(n) for n in missing)
        known = [entry.name for entry in read_kubeconfig(source.kubeconfig).contexts]
        if not known and hub.config_errors:  # the kubeconfig itself is unusable: say why, not "missing"
            raise UsageError("; ".join(hub.config_errors))
        hint = f" (its contexts: {', '.join(known)})" if known else ""
        raise UsageError(f"context {names} not found in the kubeconfig{hint}")
    if not hub.clusters:
        raise UsageError("; ".join(hub.config_errors) or "the kubeconfig has no contexts")
    for message in hub.config_errors:
        error(f"meshtui: warning: {message}")


_terminated: list[int] = [0]
"""The signal that ended the command (0: none, or Ctrl-C)."""


def interrupted_code() -> int:
    """130 after Ctrl-C, 143 after SIGTERM, 129 after SIGHUP (for bodies that catch the
    cancellation themselves)."""
    return 128 + _terminated[0] if _terminated[0] else EXIT_INTERRUPTED


def _cancel_on_sigterm() -> None:
    """SIGTERM (a CI job cancelled) and SIGHUP (the SSH session to the bastion closed) stop the
    command as Ctrl-C does: everything is closed, a curl loop is stopped in its pod."""
    task = asyncio.current_task()
    _terminated[0] = 0
    if task is None or sys.platform == "win32":
        return

    def terminate(signum: int) -> None:
        if not _terminated[0]:
            _terminated[0] = signum
            task.cancel()

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):  # not the main thread
            loop.add_signal_handler(signum, terminate, signum)
