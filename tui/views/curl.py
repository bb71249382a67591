"""The Curl pane's model: :class:`CurlView`, what one repaint of the pane draws.

Plain data (no Textual, nothing of :mod:`tui.curl`): per client cluster a row of figures (the
split of the last answers per answering cluster beside the rules' expected share, p50/p95,
errors by kind, the request rate, the latencies for a sparkline), the titles, and below the rows
either the log of recent answers and loop events or the learned map (which answer means which
pod and cluster). :func:`tui.appcore.curl.curl_view` builds it from the app's curl loops.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


def ms_text(value: float | None) -> str:
    """``14 ms`` / ``3.2 ms`` / ``—``."""
    if value is None:
        return "—"
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def interval_text(seconds: float) -> str:
    """``every 1 s`` / ``no pause``."""
    return "no pause" if seconds == 0 else f"every {seconds:g} s"


@dataclass(frozen=True, slots=True)
class CurlRowView:
    """One client cluster's loop."""

    context: str
    from_cluster: str
    total: int
    """Requests made so far (0: the loop has not answered yet; :attr:`state` says why)."""
    state: str
    """The loop's state: ``running``, ``reattaching``, ``waiting``, ``stopped``..."""
    last_event: str = ""
    """The loop's last event (shown while nothing was answered)."""
    split: tuple[tuple[str, int], ...] = ()
    """(answering cluster, answers) over the last window: the expected clusters first, in the
    rules' order, then the others by name; answers no probe identified are :attr:`unknown`."""
    unknown: int = 0
    expected: Mapping[str, float] = field(default_factory=dict)
    """The rules' share per cluster (empty: :attr:`expected_note` says why)."""
    expected_note: str = ""
    p50: float | None = None
    p95: float | None = None
    errors: tuple[tuple[str, int], ...] = ()
    """The three most frequent error kinds since start (``timeout 3``)."""
    rate: float = 0.0
    """Requests per second lately."""
    latencies: tuple[float, ...] = ()
    since: tuple[tuple[str, int], ...] = ()
    """(answering cluster, answers) since the last change, in :attr:`split`'s order."""
    since_unknown: int = 0
    since_failed: int = 0
    timeline: tuple[tuple[str, str], ...] = ()
    """The newest marks, oldest first: (``answer``, cluster), (``unknown``, ``?``), (``failed``,
    ``×``) or (``change``, ``┃``)."""
    window: int = 0
    """Requests the rolling split is taken over (``last 20``)."""

    @property
    def since_counted(self) -> int:
        """Answers since the change (identified or not; failures apart)."""
        return sum(n for _, n in self.since) + self.since_unknown

    def since_share(self, cluster: str) -> float:
        counted = self.since_counted
        return dict(self.since).get(cluster, 0) / counted if counted else 0.0

    def since_off(self, cluster: str) -> bool:
        """Since the change, the share is more than 25 points from the rules' (after 5 answers)."""
        gap = abs(self.since_share(cluster) - self.expected.get(cluster, 0.0))
        return self.since_counted >= 5 and gap > 0.25

    @property
    def counted(self) -> int:
        """Answers in the split (identified or not)."""
        return sum(n for _, n in self.split) + self.unknown

    @property
    def running(self) -> bool:
        return self.state == "running"

    def share(self, cluster: str) -> float:
        counted = self.counted
        return dict(self.split).get(cluster, 0) / counted if counted else 0.0

    def off(self, cluster: str) -> bool:
        """The share is more than 25 points away from the rules' (after 10 answers)."""
        return self.counted >= 10 and abs(self.share(cluster) - self.expected.get(cluster, 0.0)) > 0.25


@dataclass(frozen=True, slots=True)
class AnswerLine:
    """One answer in the log: ``12:00:01  cluster1 → cluster2  userlist-…  Maria Kim  14 ms``."""

    at: float
    from_cluster: str
    answered: bool
    to_cluster: str | None = None
    """``None``: the answer matched no learned backend (its :attr:`body` is shown)."""
    pod: str = ""
    label: str = ""
    body: str = ""
    error_kind: str = ""
    error: str = ""
    ms: float | None = None


@dataclass(frozen=True, slots=True)
class EventLine:
    """A loop event in the log: attached, reattached, waiting, error..."""

    at: float
    cluster: str
    """The client cluster (its context while the name is unknown; ``""``: the session's)."""
    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class MapLine:
    """One learned backend: which answer means which pod (``identifies``: pod, cluster, error...)."""

    cluster: str
    pod: str
    address: str
    identifies: str
    label: str = ""
    error: str = ""
    via: str = ""


@dataclass(frozen=True, slots=True)
class CurlView:
    """Everything one repaint of the Curl pane draws (see the module docstring)."""

    title: str
    subtitle: str
    started: bool = False
    """A session exists (else the pane shows its hint)."""
    mode: str = "log"
    """``log`` (answers and events, newest first) or ``map`` (the learned backends)."""
    rows: tuple[CurlRowView, ...] = ()
    log: tuple[AnswerLine | EventLine, ...] = ()
    map: tuple[MapLine, ...] = ()
    map_total: int = 0
    """Learned backends in all (the map shows the first ones that fit)."""
    learning: bool = False
    log_total: int = 0
    """Log lines ever added; :attr:`log` holds the newest of them (at most those not drawn)."""
    changed_at: float | None = None
    """When the last change was made or seen (the split "since" starts there)."""
    change_note: str = ""
