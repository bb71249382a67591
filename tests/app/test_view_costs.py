"""What one snapshot change costs the view builders, counted (not timed)."""

from __future__ import annotations

import dataclasses

import pytest

from tui import views
from tui.fixtures import large_snapshot
from tui.mesh import status
from tui.mesh.model import MeshSnapshot


def _agents_reread(snapshot: MeshSnapshot, index: int) -> MeshSnapshot:
    """``snapshot`` after cluster ``index``'s agents were read again (same documents, new objects)."""
    state = snapshot.clusters[index]
    agents = tuple(dataclasses.replace(a, read_at=(a.read_at or 0) + 1) for a in state.cilium.agents)
    changed = dataclasses.replace(state, cilium=dataclasses.replace(state.cilium, agents=agents))
    clusters = list(snapshot.clusters)
    clusters[index] = changed
    return dataclasses.replace(snapshot, clusters=tuple(clusters))


def test_an_agent_reread_parses_one_clusters_mesh_status(monkeypatch: pytest.MonkeyPatch) -> None:
    snapshot = large_snapshot(clusters=12, services=20)
    builder = views.StatusViewBuilder()
    first = builder.build(snapshot)
    calls: list[object] = []
    real = status.clustermesh_status

    def counting(agents: object, *args: object) -> object:
        calls.append(agents)
        return real(agents, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(status, "clustermesh_status", counting)
    after = _agents_reread(snapshot, 3)
    second = builder.build(after)
    # The row of that cluster and the connect checks share one computation; nobody else's.
    assert calls == [after.clusters[3].cilium.agents]
    assert second.findings == first.findings
    assert second.clusters[0] is first.clusters[0]
