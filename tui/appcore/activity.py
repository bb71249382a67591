"""What the activity log learns from each snapshot: phase changes and writes now visible.

A cluster's first ``syncing → ok`` is not news; every later change of phase is (``ok → stale``,
``stale → ok``). A write the app sent is "ok, waiting for watch…" until a snapshot shows its
effect (:func:`tui.writeplan.applied`): only then is it "applied (seen in watch)".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from tui.mesh.actions import WriteAction
from tui.mesh.model import MeshSnapshot
from tui.writeplan import applied

E = TypeVar("E")
"""The log's handle for an entry (the activity widget's entry id)."""


@dataclass(frozen=True, slots=True)
class PhaseChange:
    context: str
    before: str
    after: str
    reason: str


@dataclass
class ActivityTracker(Generic[E]):
    """Cluster phases seen so far and the writes waiting to show (see the module docstring)."""

    phases: dict[str, str] = field(default_factory=dict)
    synced_once: set[str] = field(default_factory=set)
    """Contexts that left ``syncing`` once (their first ``syncing → ok`` is not news)."""
    awaiting: list[tuple[E, WriteAction]] = field(default_factory=list)

    def phase_changes(self, snapshot: MeshSnapshot) -> list[PhaseChange]:
        """The phase changes since the last snapshot that the log should show."""
        out = []
        for state in snapshot.clusters:
            before = self.phases.get(state.context)
            first_sync = before == "syncing" and state.context not in self.synced_once
            if state.phase != "syncing":
                self.synced_once.add(state.context)
            if before is not None and before != state.phase and not (first_sync and state.phase == "ok"):
                out.append(PhaseChange(state.context, before, state.phase, state.reason or ""))
            self.phases[state.context] = state.phase
        return out

    def sent(self, entry: E, action: WriteAction) -> None:
        """A write the cluster accepted: ``entry`` waits until a snapshot shows it."""
        self.awaiting.append((entry, action))

    def landed(self, snapshot: MeshSnapshot) -> list[E]:
        """The entries whose write ``snapshot`` shows (they stop waiting)."""
        done, still = [], []
        for entry, action in self.awaiting:
            (done if applied(snapshot, action) else still).append((entry, action))
        self.awaiting = still
        return [entry for entry, _ in done]
