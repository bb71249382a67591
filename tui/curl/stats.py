"""Per-loop figures: the split of the last N answers per cluster, latency, errors by kind.

Everything is bounded however long a loop runs: the last ``window`` answers in a ring (the
split and the percentiles are computed over them), the last ``spark`` latencies for the
sparkline, totals as counters. Adding an answer is O(1); the figures the pane shows are
computed when it repaints (at most 4 times a second), over at most ``window`` answers.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Mapping
from typing import Any

from tui.curl.loop import CurlAnswer

UNKNOWN = "unknown"
"""Split key of answers no probe identified."""
DEFAULT_WINDOW = 100
RATE_SPAN = 5.0
"""Seconds over which the request rate is measured."""


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile of already sorted values (``None`` for none)."""
    if not sorted_values:
        return None
    rank = max(1, min(len(sorted_values), round(fraction * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


class LoopStats:
    """The figures of one client cluster's loop."""

    def __init__(
        self, context: str, from_cluster: str, *, window: int = DEFAULT_WINDOW, spark: int = 60
    ) -> None:
        self.context = context
        self.from_cluster = from_cluster
        self.window = max(1, window)
        self.recent: collections.deque[CurlAnswer] = collections.deque(maxlen=self.window)
        self.latencies: collections.deque[float] = collections.deque(maxlen=max(1, spark))
        self.errors: collections.Counter[str] = collections.Counter()
        """Every error since start, by kind (``timeout``, ``resolve``, ``refused``, ``http 503``...)."""
        self.total = 0
        self.answered = 0
        self.unknown = 0
        self.first_at: float | None = None
        self.last_at: float | None = None
        self.expected: Mapping[str, float] = {}
        """The rules' expected share per cluster for this client cluster (set from snapshots)."""
        self.expected_note = ""
        self._split: collections.Counter[str] = collections.Counter()

    def add(self, answer: CurlAnswer) -> None:
        recent = self.recent
        if len(recent) == recent.maxlen:
            old = recent[0]
            if old.answered:
                key = old.to_cluster or UNKNOWN
                left = self._split[key] - 1
                if left:
                    self._split[key] = left
                else:
                    del self._split[key]
        recent.append(answer)
        self.total += 1
        if self.first_at is None:
            self.first_at = answer.at
        self.last_at = answer.at
        if answer.error_kind:
            self.errors[answer.error_kind] += 1
        if answer.answered:
            self.answered += 1
            self._split[answer.to_cluster or UNKNOWN] += 1
            self.latencies.append(answer.ms)
            if answer.to_cluster is None:
                self.unknown += 1

    # -- figures ------------------------------------------------------------------------------

    def split(self) -> dict[str, int]:
        """Answers per cluster (and ``unknown``) among the last ``window`` requests."""
        return dict(self._split)

    def shares(self) -> dict[str, float]:
        counted = sum(self._split.values())
        if not counted:
            return {}
        return {cluster: n / counted for cluster, n in self._split.items()}

    def latency(self) -> tuple[float | None, float | None]:
        """(p50, p95) in ms over the answers of the last ``window`` requests."""
        values = sorted(a.ms for a in self.recent if a.answered)
        return percentile(values, 0.50), percentile(values, 0.95)

    def rate(self, now: float) -> float:
        """Requests per second over the last :data:`RATE_SPAN` seconds (or since the first)."""
        if self.first_at is None:
            return 0.0
        start = max(now - RATE_SPAN, self.first_at)
        span = now - start
        if span <= 0:
            return 0.0
        count = 0
        for answer in reversed(self.recent):
            if answer.at < start:
                break
            count += 1
        return count / span

    def reidentify(self, identify: Callable[[CurlAnswer], CurlAnswer]) -> int:
        """Run unknown answers of the window through a newer map; returns how many it named."""
        named = 0
        for index, answer in enumerate(self.recent):
            if answer.answered and answer.to_cluster is None:
                better = identify(answer)
                if better.to_cluster is not None:
                    self.recent[index] = better
                    named += 1
        if named:
            self._split = collections.Counter(a.to_cluster or UNKNOWN for a in self.recent if a.answered)
            self.unknown -= named
        return named

    def to_json(self, now: float | None = None) -> dict[str, Any]:
        p50, p95 = self.latency()
        return {
            "context": self.context,
            "from": self.from_cluster,
            "requests": self.total,
            "answered": self.answered,
            "window": len(self.recent),
            "split": self.split(),
            "share": {k: round(v, 4) for k, v in self.shares().items()},
            "expected": {k: round(v, 4) for k, v in self.expected.items()},
            "p50_ms": None if p50 is None else round(p50, 2),
            "p95_ms": None if p95 is None else round(p95, 2),
            "errors": dict(self.errors),
            "rate": None if now is None else round(self.rate(now), 2),
        }
