"""What the activity log learns from each snapshot: phase changes and writes now visible.

A cluster's first ``syncing → ok`` is not news; every later change of phase is (``ok → stale``,
``stale → ok``). A write the app sent is "ok, waiting for watch…" until a snapshot shows its
effect (:func:`tui.writeplan.applied`): only then is it "applied (seen in watch)".

Changes made outside meshtui (``kubectl annotate``, ``kubectl scale``, another operator) change
the panes through the watch like any other; :meth:`ActivityTracker.seen_changes` finds them too
(a Cilium annotation of a Service, a Deployment's replicas) so the log says "seen: …" with the
context — unless the app's own write in flight or waiting to show explains them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from tui.mesh.actions import Scale, SetAnnotation, WriteAction
from tui.mesh.annotations import SERVICE_ANNOTATIONS
from tui.mesh.model import ClusterState, MeshSnapshot
from tui.writeplan import applied

E = TypeVar("E")
"""The log's handle for an entry (the activity widget's entry id)."""


@dataclass(frozen=True, slots=True)
class PhaseChange:
    context: str
    before: str
    after: str
    reason: str


@dataclass(frozen=True, slots=True)
class SeenChange:
    """A change the watch showed that no write of this app explains."""

    context: str
    obj: str
    """``svc song/userlist-svc`` / ``deploy song/userlist`` (as writes are logged)."""
    change: str
    """``service.cilium.io/affinity: (unset) → local`` / ``replicas: 1 → 3``."""


@dataclass
class ActivityTracker(Generic[E]):
    """Cluster phases seen so far and the writes waiting to show (see the module docstring)."""

    phases: dict[str, str] = field(default_factory=dict)
    synced_once: set[str] = field(default_factory=set)
    """Contexts that left ``syncing`` once (their first ``syncing → ok`` is not news)."""
    awaiting: list[tuple[E, WriteAction]] = field(default_factory=list)
    in_flight: list[WriteAction] = field(default_factory=list)
    """Writes sent and not answered yet: their effect may reach the watch before the answer."""
    previous: MeshSnapshot | None = None
    """The snapshot :meth:`seen_changes` compared last."""

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

    def sending(self, action: WriteAction) -> None:
        """``action`` goes to the cluster now (its change is ours, not "seen", meanwhile)."""
        self.in_flight.append(action)

    def answered(self, action: WriteAction) -> None:
        """The cluster answered ``action`` (:meth:`sent` follows when it accepted it)."""
        if action in self.in_flight:
            self.in_flight.remove(action)

    def seen_changes(self, snapshot: MeshSnapshot) -> list[SeenChange]:
        """Changes since the last snapshot that no write of this app explains.

        Call it before :meth:`landed` for the same snapshot (a write that lands in it is still
        waiting, so its change is recognised as the app's). Only clusters readable in both
        snapshots are compared (a first sync is not news); unchanged objects are skipped by
        identity, so a snapshot that changed little costs little even at 64 × 2,000.
        """
        previous, self.previous = self.previous, snapshot
        if previous is None or previous is snapshot:
            return []
        ours = [*self.in_flight, *(action for _, action in self.awaiting)]
        out: list[SeenChange] = []
        for state in snapshot.clusters:
            before = previous.by_context(state.context)
            if before is None or not before.usable or not state.usable:
                continue
            out.extend(_service_changes(before, state, ours))
            out.extend(_replica_changes(before, state, ours))
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


def _service_changes(before: ClusterState, after: ClusterState, ours: list[WriteAction]) -> list[SeenChange]:
    if before.services is after.services:
        return []
    out = []
    for key, service in after.services.items():
        old = before.services.get(key)
        if old is None or old is service or old.annotations is service.annotations:
            continue
        for name in SERVICE_ANNOTATIONS:  # the ones Cilium's merge reads
            was, now = old.annotations.get(name), service.annotations.get(name)
            if was == now or _explained(ours, after.context, key, name):
                continue
            change = f"{name}: {'(unset)' if was is None else was} → {'(removed)' if now is None else now}"
            out.append(SeenChange(after.context, f"svc {key[0]}/{key[1]}", change))
    return out


def _replica_changes(before: ClusterState, after: ClusterState, ours: list[WriteAction]) -> list[SeenChange]:
    if before.deployments is after.deployments:
        return []
    out = []
    for key, deployment in after.deployments.items():
        old = before.deployments.get(key)
        if old is None or old is deployment or old.replicas == deployment.replicas:
            continue
        if any(
            isinstance(a, Scale) and (a.context, a.namespace, a.deployment) == (after.context, *key)
            for a in ours
        ):
            continue
        change = f"replicas: {old.replicas} → {deployment.replicas}"
        out.append(SeenChange(after.context, f"deploy {key[0]}/{key[1]}", change))
    return out


def _explained(ours: list[WriteAction], context: str, key: tuple[str, str], name: str) -> bool:
    """One of the app's own annotation writes touches this annotation of this service."""
    return any(
        isinstance(a, SetAnnotation)
        and (a.context, a.namespace, a.service) == (context, *key)
        and (name == a.key or name in a.also_remove)
        for a in ours
    )
