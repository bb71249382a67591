"""How a cluster's state and a service's key read, the same in every pane and command."""

from __future__ import annotations

import time

from tui.mesh.model import ClusterState, MeshSnapshot, ServiceKey


def plural(count: int, word: str) -> str:
    """``1 error`` / ``2 errors`` / ``0 warnings`` (never ``1 errors`` nor ``backend(s)``)."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def parse_key(text: str) -> ServiceKey:
    """``song/userlist-svc`` → ``("song", "userlist-svc")`` (``default`` when no namespace)."""
    namespace, _, name = text.rpartition("/")
    return (namespace or "default", name)


def phase_text(state: ClusterState, now: float | None = None) -> str:
    """The state column: ``ok``, ``syncing``, ``stale since 12:00:01``, ``unreachable: why``..."""
    if state.phase == "stale":
        since = time.strftime("%H:%M:%S", time.localtime(state.since)) if state.since else "?"
        return f"stale since {since}"
    if state.phase in ("unreachable", "forbidden", "error") and state.reason:
        return f"{state.phase}: {state.reason}"
    return state.phase


def stale_text(state: ClusterState) -> str:
    """``stale since 12:00:01: connection refused`` (the reason the data stopped coming)."""
    text = phase_text(state)
    return f"{text}: {state.reason}" if state.reason else text


def cluster_label(state: ClusterState) -> str:
    """The Cilium cluster name once known, else the context in brackets (``(bastion02)``)."""
    return state.cilium.cluster_name or f"({state.context})"


def problems_text(snapshot: MeshSnapshot) -> str:
    """The header's alert: ``1 context down  1 stale`` (empty when every context is fine)."""
    down = sum(1 for c in snapshot.clusters if c.phase in ("unreachable", "forbidden", "error"))
    stale = sum(1 for c in snapshot.clusters if c.phase == "stale")
    parts = []
    if down:
        parts.append(f"{down} context{'s' if down != 1 else ''} down")
    if stale:
        parts.append(f"{stale} stale")
    return "  ".join(parts)
