"""Phases of a curl run: the stretches between changes of what the rules expect.

A split is only comparable with the expected share that held while its answers came. A run
that sees a change (an affinity annotation set, a deployment scaled, a cluster's backends gone)
is cut there: each :class:`Phase` starts when a snapshot showed a new expected share for the
client cluster, or a new count of active backends in some cluster, and answers are counted per
phase (:meth:`Phases.index_at`). The time is when meshtui saw the change in the watch; Cilium's
agents realize it a little later, so the first answers of a phase may still follow the old rule.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field

MAX_PHASES = 100
"""Phases kept per client cluster (a flapping rule must not grow memory without bound)."""


def _percent(share: Mapping[str, float]) -> str:
    if not share:
        return "none"
    return " ".join(f"{cluster} {round(value * 100)}%" for cluster, value in sorted(share.items()))


def _counts(backends: Mapping[str, int]) -> str:
    return " ".join(f"{cluster} {n}" for cluster, n in sorted(backends.items())) or "none"


@dataclass(frozen=True, slots=True)
class Phase:
    """From ``since`` on, the rules expected ``expected`` of the client cluster's answers."""

    since: float
    """``time.time()`` when the snapshot that started it was seen."""
    expected: Mapping[str, float] = field(default_factory=dict)
    note: str = ""
    """Why there is no expected share (when there is none)."""
    backends: Mapping[str, int] = field(default_factory=dict)
    """Active backends of the target per cluster."""
    change: str = ""
    """What changed from the phase before (``""`` for the first)."""


class Phases:
    """The phases of one client cluster's loop, oldest first (at most :data:`MAX_PHASES`)."""

    def __init__(self, limit: int = MAX_PHASES) -> None:
        self.limit = max(1, limit)
        self.items: list[Phase] = []
        self.dropped = 0
        """Oldest phases dropped to stay within ``limit`` (their answers count for the first kept)."""

    def __len__(self) -> int:
        return len(self.items)

    @property
    def current(self) -> Phase | None:
        return self.items[-1] if self.items else None

    def observe(
        self, at: float, expected: Mapping[str, float], note: str, backends: Mapping[str, int]
    ) -> Phase | None:
        """A snapshot's expectation; a new phase (returned) when it differs from the current one."""
        share = {cluster: round(value, 4) for cluster, value in expected.items() if value > 0}
        counts = {cluster: n for cluster, n in backends.items() if n > 0}
        last = self.current
        if last is not None and last.expected == share and last.backends == counts:
            return None
        changes = []
        if last is not None:
            if last.expected != share:
                changes.append(f"expected {_percent(last.expected)} → {_percent(share)}")
            if last.backends != counts:
                changes.append(f"backends {_counts(last.backends)} → {_counts(counts)}")
        phase = Phase(at, share, "" if share else note, counts, "; ".join(changes))
        self.items.append(phase)
        if len(self.items) > self.limit:
            del self.items[0]
            self.dropped += 1
        return phase

    def index_at(self, at: float) -> int:
        """The phase an answer that arrived at ``at`` belongs to (the first for earlier ones)."""
        starts = [p.since for p in self.items]
        return max(0, bisect.bisect_right(starts, at) - 1)
