"""One consumer's view builders and their shared cache: :class:`ViewBuilder`.

The app keeps one for its lifetime; a headless command makes one per run. The builders keep
what they computed (rows, ClusterMesh statuses) between snapshots, so they belong to whoever
asks for views again and again, not to the process: two consumers never share a cache, and a
builder that goes away takes its cache with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tui.mesh.model import ClusterState, MeshSnapshot, ServiceKey
from tui.views.backends import BackendsPerspective, backends_perspective, expected_share
from tui.views.meshcache import MeshStatusCache
from tui.views.services import ServicesView, ServicesViewBuilder
from tui.views.status import StatusView, StatusViewBuilder


class ViewBuilder:
    """The status, services and backends views of one consumer, over one :class:`MeshStatusCache`.

    Thread-safe: the app builds the status and services views in a worker thread and the
    selected service's backends on the UI thread.
    """

    def __init__(self) -> None:
        self.cache = MeshStatusCache()
        self.status_builder = StatusViewBuilder(self.cache)
        self.services_builder = ServicesViewBuilder(self.cache)

    def status(self, snapshot: MeshSnapshot) -> StatusView:
        return self.status_builder.build(snapshot)

    def services(self, snapshot: MeshSnapshot, *, show_all: bool = False) -> ServicesView:
        return self.services_builder.build(snapshot, show_all=show_all)

    def backends(
        self,
        snapshot: MeshSnapshot,
        key: ServiceKey,
        state: ClusterState,
        *,
        agent_entries: Sequence[Mapping[str, Any]] | None = None,
    ) -> BackendsPerspective:
        return backends_perspective(snapshot, key, state, agent_entries=agent_entries, cache=self.cache)

    def expected_share(
        self, snapshot: MeshSnapshot, key: ServiceKey, state: ClusterState
    ) -> tuple[dict[str, float], str]:
        """:func:`tui.views.backends.expected_share` over this builder's cache (for curl sessions)."""
        return expected_share(snapshot, key, state, self.cache)
