"""The Backends pane's model and ``meshtui backends``: :class:`BackendsPerspective`.

A service's backends seen from one cluster: Cilium's choice for new connections computed with
that cluster's version's rules (:func:`tui.mesh.selection.select_backends`), each backend's
why, the expected share per cluster, and the agent's own ``cilium service list`` beside it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tui.mesh.agentlist import AgentBackend as Listed
from tui.mesh.agentlist import backends_of
from tui.mesh.merge import key_text
from tui.mesh.model import ClusterState, MeshSnapshot, Service, ServiceKey
from tui.mesh.rules import CiliumRule
from tui.mesh.selection import Selection, select_backends
from tui.views.labels import phase_text, stale_text
from tui.views.meshcache import MeshStatusCache


@dataclass(frozen=True, slots=True)
class AgentBackend:
    """One backend of the service in the agent's own ``cilium service list``."""

    ip: str
    port: int
    state: str
    preferred: bool = False
    cluster: str = ""
    """Mapped from the IP (the agent's list carries no cluster)."""
    expected: bool = True
    """The computed selection agrees (selected ⇔ the agent uses it)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "ip": self.ip,
            "port": self.port,
            "cluster": self.cluster or None,
            "state": self.state,
            "preferred": self.preferred,
            "matches": self.expected,
        }


@dataclass(frozen=True, slots=True)
class BackendRow:
    ip: str
    port: int
    cluster: str
    pod: str
    ready: bool
    selected: bool
    why: str
    agent: str | None = None
    """The agent's state for this backend (``active``, ``active preferred``, ``missing``)."""
    agent_differs: bool = False

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"

    def to_json(self) -> dict[str, Any]:
        return {
            "ip": self.ip,
            "port": self.port,
            "cluster": self.cluster,
            "pod": self.pod or None,
            "ready": self.ready,
            "selected": self.selected,
            "why": self.why,
        }


@dataclass(frozen=True, slots=True)
class BackendsPerspective:
    """The service's backends seen from one cluster (its agents' choice)."""

    context: str
    cluster: str
    cilium_version: str | None
    affinity: str
    family_label: str
    expected_share: Mapping[str, float]
    excluded: tuple[tuple[str, str], ...]
    backends: tuple[BackendRow, ...]
    agent_backends: tuple[AgentBackend, ...] | None = None
    note: str = ""
    """Why nothing is selected, or why this cluster cannot be judged (syncing, unreachable)."""
    known: bool = True
    fallback: bool = False
    unknown: tuple[tuple[str, str], ...] = ()
    """Clusters whose data is not usable (syncing, unreachable...): their backends are not
    counted, so the shares hold only if those clusters would add nothing."""
    stale: tuple[tuple[str, str], ...] = ()
    """(cluster, ``stale since 12:00:01: connection refused``): counted from their last known
    state, which may have changed since."""
    rule: CiliumRule | None = None
    """The Cilium behaviour the prediction follows (version matrix, known bugs)."""
    bug: str = ""
    """The known Cilium bug that decided this selection (``cilium/cilium#46623``), or ``""``."""
    headless: bool = False
    terminating_fallback: bool = False
    lost_remotes: tuple[str, ...] = ()
    """``cluster2 unreachable since 14:02: its backends are still used (cached); …``."""

    @property
    def footer(self) -> str:
        """``affinity none · Cilium 1.18.3 · rules 1.18+ · bug #46623`` (the pane's subtitle)."""
        if self.rule is None:
            return f"affinity {self.affinity} · {self.family_label}" if self.family_label else ""
        text = f"affinity {self.affinity} · {self.rule.version_text} · {self.rule.family_label}"
        if self.bug:
            text += f" · bug #{self.bug.rsplit('#', 1)[-1]} applies"
        return text

    @property
    def differences(self) -> int:
        """Backends where the agent's list and the computed selection disagree."""
        rows = sum(1 for b in self.backends if b.agent_differs)
        extra = sum(1 for b in self.agent_backends or () if not b.expected)
        return rows + extra

    def to_json(self) -> dict[str, Any]:
        return {
            "context": self.context,
            "cluster": self.cluster,
            "cilium_version": self.cilium_version,
            "affinity": self.affinity,
            "rules": self.family_label,
            "expected_share": dict(self.expected_share),
            "excluded": [{"cluster": c, "reason": r} for c, r in self.excluded],
            "backends": [b.to_json() for b in self.backends],
            "agent_backends": (
                None if self.agent_backends is None else [b.to_json() for b in self.agent_backends]
            ),
            "note": self.note or None,
            "unknown": [{"cluster": c, "state": p} for c, p in self.unknown],
            "rule": self.rule.to_json() if self.rule is not None else None,
            "bug_applied": self.bug or None,
            "headless": self.headless,
            "terminating_fallback": self.terminating_fallback,
            "lost_remotes": list(self.lost_remotes),
        }


@dataclass(frozen=True, slots=True)
class BackendsView:
    key: ServiceKey
    views: tuple[BackendsPerspective, ...]

    @property
    def service(self) -> str:
        return key_text(self.key)

    def to_json(self) -> dict[str, Any]:
        return {"service": self.service, "views": [v.to_json() for v in self.views]}

    def view_for(self, context: str) -> BackendsPerspective | None:
        for view in self.views:
            if view.context == context:
                return view
        return None


def service_map(snapshot: MeshSnapshot, key: ServiceKey) -> dict[str, Service | None]:
    """``{cluster: Service | None}`` over the clusters whose data is usable (see merge docs)."""
    return {s.cluster: s.services.get(key) for s in snapshot.clusters if s.usable}


def _agent_uses(agent: Sequence[Listed], family: str) -> set[tuple[str, int]]:
    """The backends an agent would send new connections to, from its own list.

    1.14–1.17 lists every backend and marks the preferred ones: the preferred active ones are
    used when there are any, else all active ones. 1.18+ lists only the selected ones. In both,
    when no listed backend is active the terminating ones are used (segregateBackends /
    bpf_reconciler).
    """
    active = [b for b in agent if b.state == "active"]
    if family == "1.14-1.17":
        preferred = [b for b in active if b.preferred]
        active = preferred or active
    if not active:
        active = [b for b in agent if b.state == "terminating"]
    return {(b.ip, b.port) for b in active}


def backends_perspective(
    snapshot: MeshSnapshot,
    key: ServiceKey,
    state: ClusterState,
    *,
    services: Mapping[str, Service | None] | None = None,
    agent_entries: Sequence[Mapping[str, Any]] | None = None,
    cache: MeshStatusCache | None = None,
) -> BackendsPerspective:
    """The backends of ``key`` seen from ``state``'s cluster, with the agent's list when given.

    ``cache``: the consumer's ClusterMesh statuses (a view builder's); a fresh one otherwise.
    """
    version = state.cilium.version
    if not state.usable:
        return BackendsPerspective(
            context=state.context,
            cluster=state.cluster,
            cilium_version=version,
            affinity="none",
            family_label="",
            expected_share={},
            excluded=(),
            backends=(),
            note=f"{state.context}: {phase_text(state)}",
            known=False,
        )
    services = services if services is not None else service_map(snapshot, key)
    cache = cache if cache is not None else MeshStatusCache()
    selection = select_backends(
        key, state.cluster, services, version, cache.connected_remotes(state), cache.stale_remotes(state)
    )
    agent = backends_of(agent_entries, key)
    unknown = tuple((s.cluster, s.phase) for s in snapshot.clusters if not s.usable)
    stale = tuple((s.cluster, stale_text(s)) for s in snapshot.clusters if s.phase == "stale")
    return dataclasses.replace(_perspective(state, selection, agent), unknown=unknown, stale=stale)


def _perspective(
    state: ClusterState, selection: Selection, agent: list[Listed] | None
) -> BackendsPerspective:
    agent_by_addr = {(b.ip, b.port): b for b in agent or ()}
    agent_used = _agent_uses(agent, selection.family) if agent is not None else set()
    rows: list[BackendRow] = []
    known_addrs: dict[tuple[str, int], str] = {}
    for choice in selection.choices:
        b = choice.backend
        addr = (b.ip, b.port)
        known_addrs[addr] = b.cluster
        agent_text: str | None = None
        differs = False
        if agent is not None:
            entry = agent_by_addr.get(addr)
            if entry is None:
                agent_text = "missing" if choice.selected else "—"
                differs = choice.selected
            else:
                agent_text = entry.state
                if entry.preferred and selection.family == "1.14-1.17":
                    agent_text += " preferred"
                differs = (addr in agent_used) != choice.selected
        rows.append(
            BackendRow(
                ip=b.ip,
                port=b.port,
                cluster=b.cluster,
                pod=b.pod,
                ready=b.active,
                selected=choice.selected,
                why=choice.why,
                agent=agent_text,
                agent_differs=differs,
            )
        )
    agent_rows: tuple[AgentBackend, ...] | None = None
    if agent is not None:
        selected = {(c.backend.ip, c.backend.port) for c in selection.choices if c.selected}
        agent_rows = tuple(
            AgentBackend(
                ip=addr[0],
                port=addr[1],
                state=entry.state,
                preferred=entry.preferred,
                cluster=known_addrs.get(addr, ""),
                expected=(addr in agent_used) == (addr in selected),
            )
            for addr, entry in agent_by_addr.items()
        )
    return BackendsPerspective(
        context=state.context,
        cluster=state.cluster,
        cilium_version=state.cilium.version,
        affinity=selection.affinity,
        family_label=selection.family_label,
        expected_share=dict(selection.expected_share),
        excluded=tuple(
            (e.cluster, e.reason) for e in selection.merge.excluded if not e.code.startswith("client-")
        ),
        backends=tuple(rows),
        agent_backends=agent_rows,
        note=selection.reason,
        fallback=selection.fallback,
        rule=selection.rule,
        bug=selection.bug.id if selection.bug is not None else "",
        headless=selection.headless,
        terminating_fallback=selection.terminating_fallback,
        lost_remotes=tuple(s.text() for s in selection.stale),
    )


def backends_view(
    snapshot: MeshSnapshot,
    key: ServiceKey,
    *,
    contexts: Sequence[str] | None = None,
    agent_lists: Mapping[str, Sequence[Mapping[str, Any]] | None] | None = None,
    cache: MeshStatusCache | None = None,
) -> BackendsView:
    """The service's backends from every (or the given) context's point of view."""
    services = service_map(snapshot, key)
    cache = cache if cache is not None else MeshStatusCache()
    views = []
    for state in snapshot.clusters:
        if contexts is not None and state.context not in contexts:
            continue
        entries = (agent_lists or {}).get(state.context)
        views.append(
            backends_perspective(snapshot, key, state, services=services, agent_entries=entries, cache=cache)
        )
    return BackendsView(key, tuple(views))


# --- write targets ------------------------------------------------------------------------


def expected_share(
    snapshot: MeshSnapshot, key: ServiceKey, state: ClusterState, cache: MeshStatusCache | None = None
) -> tuple[dict[str, float], str]:
    """The rules' share of answers per cluster for loops from ``state``'s cluster, and why there
    is none when empty: what a curl session compares the answers with (:mod:`tui.curl` is
    handed this function rather than importing the views)."""
    view = backends_perspective(snapshot, key, state, cache=cache)
    return dict(view.expected_share), view.note
