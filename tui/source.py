"""What the app reads from and writes to: a :class:`MeshSource`.

The app never talks to clusters itself. It asks a source for the current ``MeshSnapshot``,
is called back (from any thread, already coalesced) when a newer one exists, and awaits
``write()`` for every confirmed action. :class:`tui.kube.source.KubeSource` implements it for
real clusters (and the simulator, as ``--demo`` runs it: :class:`tui.demo.DemoSource`); the
tests' fixture source (``tests/staticsource.py``) plays the part without a cluster.

Panes update from the *next snapshot*, never from a write's answer: a successful write only
lands in the activity log, and the change shows when the watch (or here, the delayed apply)
delivers it, exactly as it does against a cluster.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from tui.mesh.actions import WriteAction, WriteResult
from tui.mesh.model import MeshSnapshot, Pod

SnapshotCallback = Callable[[MeshSnapshot], None]


@runtime_checkable
class MeshSource(Protocol):
    """Where the app's snapshots come from and where its writes go."""

    read_only: bool

    def snapshot(self) -> MeshSnapshot:
        """The newest snapshot (cheap: no I/O)."""
        ...

    def listen(self, callback: SnapshotCallback) -> None:
        """Call ``callback`` with each newer snapshot, from any thread, already coalesced."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def write(self, action: WriteAction) -> WriteResult:
        """Perform ``action``; awaited on the app's loop. Never raises for cluster errors."""
        ...


@runtime_checkable
class AgentServiceReader(Protocol):
    """Optional: a source that can read an agent's ``cilium service list -o json``.

    The app shows the agent's own list beside the computed selection when the source offers
    this; ``None`` means "could not read" (the pane then shows only the computation).
    """

    async def agent_service_list(self, context: str) -> Sequence[dict[str, Any]] | None: ...


class ExecOutput(Protocol):
    """What a short command in a pod gave back (:class:`tui.kube.exec.ExecResult`)."""

    stdout: bytes
    stderr: bytes
    exit_code: int | None
    error: str | None


class ExecLine(Protocol):
    """One line a streaming exec delivered (:class:`tui.kube.exec.ExecLine`)."""

    channel: str
    text: str
    at: float


class ExecLines(Protocol):
    """A command running in a pod, read line by line (:class:`tui.kube.exec.ExecStream`)."""

    exit_code: int | None
    error: str | None

    def __aiter__(self) -> AsyncIterator[ExecLine]: ...

    async def close(self) -> None: ...


@runtime_checkable
class PodExec(Protocol):
    """Optional: a source that can run commands in pods and find a deployment's pods.

    The one protocol for "exec in a pod / the pods of a deployment": the curl loops, the backend
    probes, the client pod check and the agent reads use it; :class:`tui.kube.hub.MeshHub`
    implements it on the cluster-access loop and :class:`tui.kube.source.KubeSource` forwards
    it from any loop. A source without it (fixture data) has no curl pane.
    """

    async def exec(
        self,
        context: str,
        namespace: str,
        pod: str,
        command: Sequence[str],
        *,
        container: str | None = None,
        timeout: float = 10.0,
    ) -> ExecOutput:
        """Run a short command and collect its output (bounded in size and time)."""
        ...

    async def exec_stream(
        self,
        context: str,
        namespace: str,
        pod: str,
        command: Sequence[str],
        *,
        container: str | None = None,
        idle_timeout: float | None = None,
        max_lines: int | None = None,
    ) -> ExecLines:
        """Start a command and stream its output lines to the calling loop."""
        ...

    async def pods_of_deployment(self, context: str, namespace: str, deployment: str) -> list[Pod]:
        """The pods of a deployment (by its selector), ready ones first."""
        ...


@runtime_checkable
class ExecSource(MeshSource, PodExec, Protocol):
    """Snapshots and exec: what a curl session runs on (:class:`tui.kube.source.KubeSource`)."""


def can_exec(source: object) -> bool:
    """Whether ``source`` can run curl loops (:class:`PodExec`): a fixture source cannot."""
    return isinstance(source, PodExec)
