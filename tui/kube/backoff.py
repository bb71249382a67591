"""Exponential backoff with jitter, reset after a healthy period (client-go's reflector rules).

Why: when an API server is down, 64 clusters × several watches retrying in lock-step would hammer
it the moment it comes back; jitter spreads them, and the cap keeps a dead cluster cheap.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """0.8 s doubling to 30 s, +0–50 % jitter, forgotten after 60 s without failure."""

    initial: float = 0.8
    maximum: float = 30.0
    factor: float = 2.0
    jitter: float = 0.5
    reset_after: float = 60.0


_SHARED_RNG = random.Random()
"""The jitter's generator for every :class:`Backoff` not given one: a ``random.Random`` holds
2.5 KB of state, and a hub has one backoff per reflector (768 at 64 clusters, 3,060 at 255:
7.5 MB). Independent draws from one generator spread the retries just as well."""


class Backoff:
    """The delay before the next retry of one failing loop."""

    def __init__(
        self,
        policy: BackoffPolicy | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.policy = policy or BackoffPolicy()
        self._clock = clock
        self._rng = rng or _SHARED_RNG
        self._current = 0.0
        self._last_failure: float | None = None

    @property
    def failures(self) -> bool:
        return self._current > 0

    def next_delay(self) -> float:
        """Record a failure; return how long to wait before retrying."""
        policy = self.policy
        now = self._clock()
        if self._last_failure is not None and now - self._last_failure >= policy.reset_after:
            self._current = 0.0
        self._current = (
            policy.initial if self._current == 0 else min(policy.maximum, self._current * policy.factor)
        )
        self._last_failure = now
        return min(policy.maximum, self._current * (1.0 + self._rng.random() * policy.jitter))

    def reset(self) -> None:
        """Forget past failures (a probe saw the server answer again)."""
        self._current = 0.0
        self._last_failure = None
