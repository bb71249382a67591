"""When to read the viewing cluster's ``cilium service list``, and what to say about it.

The Backends pane shows the agent's own list beside the computed selection. An exec into an
agent pod is not free: :class:`AgentLists` reads when nothing was read for the context, when
the selected service (its objects in any cluster) changed since the last read, again while the
agent's list still differs from the computed selection (agents take their sync delay to
realize a change: up to :data:`AGENT_RETRIES` times), and when the last read is older than
:data:`AGENT_REREAD` — at most once per :data:`AGENT_MIN_INTERVAL` (the app's timer catches
up), never on every watch event, and never automatically above
:data:`tui.appcore.keys.AGENT_AUTO_MAX_SERVICES` services.

Textual-free: the app asks :meth:`AgentLists.plan` on each apply and runs the read
(:func:`read_agent_list`) in a worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tui.appcore.keys import AGENT_AUTO_MAX_SERVICES
from tui.mesh.model import ClusterState, MeshSnapshot, ServiceKey
from tui.source import AgentServiceReader

AGENT_REREAD = 30.0
"""Seconds before the agent's service list of a context is read again for the same service."""
AGENT_MIN_INTERVAL = 2.0
"""At most one agent exec per context in this many seconds, however fast things change."""
AGENT_RETRIES = 3
"""Reads again (every AGENT_MIN_INTERVAL) while the agent's list still differs after a change."""
SETTLE_WINDOW = AGENT_MIN_INTERVAL * (AGENT_RETRIES + 1)
"""Seconds after the first read for a change during which a difference is most likely the
agents' own sync delay (the retries are still coming), not an error yet."""
OUTDATED = "before the last change: re-reading"
SETTLING = "agents may still be syncing: re-reading"

Entries = list[dict[str, Any]]
Want = tuple[Any, ...]
"""What a read is a read *of*: the service and the identity of its objects in every cluster."""


@dataclass
class AgentList:
    """One context's agent list: the last answer and the bookkeeping around reading it."""

    entries: Entries | None = None
    """The last answer (``None``: none yet, or the last read failed)."""
    read_at: float = 0.0
    """Monotonic time the last read started or ended."""
    want: Want = ()
    """What the last read was asked for."""
    stamp: float | None = None
    """When the answer on screen was read (the app's clock), for "read 12:00:01"."""
    error: str = ""
    """Why the last read failed (``""``: it did not)."""
    retries: int = 0
    read_for: Want | None = None
    """What the answer on screen was read for (see :meth:`AgentLists.outdated`)."""
    read_for_since: float = 0.0
    """When the first answer for ``read_for`` came (monotonic): the start of its settle window."""
    reading: bool = False


@dataclass(frozen=True)
class Plan:
    """What to do now: ``read`` (``context``, ``want``), ``later`` (after ``delay``), or ``none``."""

    kind: str
    context: str = ""
    want: Want = ()
    delay: float = 0.0


NOTHING = Plan("none")


def want_of(snapshot: MeshSnapshot, key: ServiceKey) -> Want:
    """What an agent read of ``key`` is a read *of*: the service's objects in every cluster."""
    return (key, tuple(id(s.services.get(key)) for s in snapshot.clusters))


def readable(state: ClusterState | None) -> bool:
    """An agent of this cluster is asked only while it is ``ok`` (a stale API would only time out)."""
    return state is not None and state.phase == "ok"


@dataclass
class AgentLists:
    """Every context's :class:`AgentList`, and the rules of when to read (module docstring)."""

    clock: Callable[[], float] = time.monotonic
    by_context: dict[str, AgentList] = field(default_factory=dict)

    def get(self, context: str | None) -> AgentList | None:
        return self.by_context.get(context or "")

    def entries(self, context: str | None) -> Entries | None:
        entry = self.get(context)
        return None if entry is None else entry.entries

    def plan(
        self,
        snapshot: MeshSnapshot,
        viewing: str | None,
        key: ServiceKey | None,
        *,
        differs: Callable[[str, ServiceKey], bool],
        force: bool = False,
    ) -> Plan:
        """Whether to read the viewing cluster's agent list for ``key`` now (and then mark it
        asked), later, or not. ``differs(context, key)``: the pane shows them disagreeing."""
        if viewing is None or key is None:
            return NOTHING
        state = snapshot.by_context(viewing)
        if state is None or not readable(state):
            return NOTHING
        want = want_of(snapshot, key)
        entry = self.by_context.get(viewing)
        now = self.clock()
        if len(state.services) > AGENT_AUTO_MAX_SERVICES and not force:
            return NOTHING
        if entry is not None and not force:
            age = now - entry.read_at
            retry = entry.want == want and differs(viewing, key) and entry.retries < AGENT_RETRIES
            if entry.want == want and not retry and age < AGENT_REREAD:
                return NOTHING
            if age < AGENT_MIN_INTERVAL:
                return Plan("later", delay=AGENT_MIN_INTERVAL - age)
            entry.retries = entry.retries + 1 if retry else 0
        if entry is None:
            entry = self.by_context[viewing] = AgentList()
        entry.read_at, entry.want = now, want
        return Plan("read", viewing, want)

    def begin(self, context: str) -> None:
        self.by_context.setdefault(context, AgentList()).reading = True

    def finish(
        self,
        context: str,
        want: Want,
        entries: Entries | None,
        error: str,
        *,
        stamp: float,
        outdated: bool,
    ) -> bool:
        """Record a read's outcome; ``True`` when the Backends pane must be redrawn: a new answer,
        a failure, or the same answer where the one on screen was read before a change
        (``outdated``, :meth:`outdated` just before: its "before the last change: re-reading"
        must go). ``False``: the same answer; plan again (retries)."""
        entry = self.by_context.setdefault(context, AgentList())
        entry.reading = False
        entry.error = error
        if entries is not None:
            if entry.read_for != want:
                entry.read_for_since = self.clock()
            entry.read_for = want
        before_entries, before_stamp = entry.entries, entry.stamp
        first = before_stamp is None
        entry.entries, entry.read_at, entry.want, entry.stamp = entries, self.clock(), want, stamp
        return first or before_entries != entries or bool(error) or outdated

    def outdated(self, context: str | None, snapshot: MeshSnapshot, key: ServiceKey | None) -> bool:
        """The list shown for ``context`` was read before the selected service last changed:
        right after a switch it "differs" only because it is old, so say so."""
        entry = self.get(context)
        if key is None or entry is None or entry.entries is None or entry.read_for is None:
            return False
        return entry.read_for != want_of(snapshot, key)

    def lag(
        self, context: str | None, snapshot: MeshSnapshot, key: ServiceKey | None, *, differs: bool = False
    ) -> str:
        """Why a difference between the list on screen and the computed selection may be its age
        rather than a disagreement (``""``: none, a difference is one): read before the selected
        service last changed (:data:`OUTDATED`), or read for it while the agents may still be
        realizing the change and retries are coming (:data:`SETTLING`). Shown as a warning, not
        an error, so a write does not flash "differs" in red for the agents' sync delay.
        ``differs``: the pane shows a difference (an agreeing list is not "still syncing")."""
        if self.outdated(context, snapshot, key):
            return OUTDATED
        entry = self.get(context)
        if key is None or entry is None or entry.entries is None or entry.read_for is None:
            return ""
        if not differs:
            return ""
        if entry.retries < AGENT_RETRIES and self.clock() - entry.read_for_since < SETTLE_WINDOW:
            return SETTLING
        return ""

    def read_at(self, context: str | None) -> float | None:
        """When the list shown for ``context`` was read (app clock), if ever."""
        entry = self.get(context)
        return None if entry is None or entry.entries is None else entry.stamp

    def note(self, context: str | None, state: ClusterState | None) -> str:
        """What the Backends pane says when it shows no agent list (or why the last read failed)."""
        entry = self.get(context)
        if context is None:
            return ""
        if entry is not None and entry.reading and entry.entries is None:
            return "reading cilium service list…"
        if entry is not None and entry.error:
            return f"could not read cilium service list: {entry.error}"
        if (
            state is not None
            and len(state.services) > AGENT_AUTO_MAX_SERVICES
            and (entry is None or entry.entries is None)
        ):
            return f"not read automatically at {len(state.services):,} services: r reads cilium service list"
        return ""


async def read_agent_list(reader: AgentServiceReader, context: str) -> tuple[Entries | None, str]:
    """One read of ``context``'s agent list: (entries, ``""``) or (``None``, why it failed)."""
    try:
        detailed = getattr(reader, "read_agent_service_list", None)
        if detailed is not None:  # KubeSource: says why a read failed
            result = await detailed(context)
            if result.error:
                return None, result.error
            return [dict(e) for e in result.entries], ""
        entries = await reader.agent_service_list(context)
        return (None, "no answer") if entries is None else (list(entries), "")
    except Exception as exc:
        return None, f"{type(exc).__name__}: {exc}"
