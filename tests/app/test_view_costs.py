"""What one snapshot change costs the view builders, counted (not timed)."""

from __future__ import annotations

import copy
import dataclasses

import pytest
from meshmodels import large_snapshot

from tui.mesh import status
from tui.mesh.annotations import ANNOTATION_GLOBAL
from tui.mesh.model import MeshSnapshot, Service, frozen_map
from tui.views.builder import ViewBuilder
from tui.views.services import ServicesViewBuilder, services_view
from tui.views.status import StatusViewBuilder


def _agents_reread(snapshot: MeshSnapshot, index: int, *, new_documents: bool = False) -> MeshSnapshot:
    """``snapshot`` after cluster ``index``'s agents were read again: new objects, and the same
    documents (as the access layer hands on an unchanged answer) or equal copies of them."""
    state = snapshot.clusters[index]
    agents = tuple(
        dataclasses.replace(
            a,
            read_at=(a.read_at or 0) + 1,
            status=copy.deepcopy(a.status) if new_documents else a.status,
        )
        for a in state.cilium.agents
    )
    changed = dataclasses.replace(state, cilium=dataclasses.replace(state.cilium, agents=agents))
    clusters = list(snapshot.clusters)
    clusters[index] = changed
    return dataclasses.replace(snapshot, clusters=tuple(clusters))


def _counting_mesh_status(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    calls: list[object] = []
    real = status.clustermesh_status

    def counting(agents: object, *args: object) -> object:
        calls.append(agents)
        return real(agents, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(status, "clustermesh_status", counting)
    return calls


def test_an_agent_reread_with_a_new_answer_parses_one_clusters_mesh_status(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    snapshot = large_snapshot(clusters=12, services=20)
    builder = StatusViewBuilder()
    first = builder.build(snapshot)
    calls = _counting_mesh_status(monkeypatch)
    after = _agents_reread(snapshot, 3, new_documents=True)
    second = builder.build(after)
    # The row of that cluster and the connect checks share one computation; nobody else's.
    assert calls == [after.clusters[3].cilium.agents]
    assert second.findings == first.findings
    assert second.clusters[0] is first.clusters[0]


def test_an_agent_reread_with_the_same_answer_recomputes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    snapshot = large_snapshot(clusters=12, services=20)
    builder = StatusViewBuilder()
    first = builder.build(snapshot)
    calls = _counting_mesh_status(monkeypatch)
    second = builder.build(_agents_reread(snapshot, 3))
    assert calls == []
    assert second is first  # the panes skip redrawing by identity
    # a changed answer is seen again after that (the comparison is not stuck on the old one)
    flipped = _agents_reread(snapshot, 3, new_documents=True)
    state = flipped.clusters[3]
    agent = state.cilium.agents[0]
    doc = dict(agent.status or {})
    doc["cluster-mesh"] = {"clusters": []}
    agents = (dataclasses.replace(agent, status=doc), *state.cilium.agents[1:])
    clusters = list(flipped.clusters)
    clusters[3] = dataclasses.replace(state, cilium=dataclasses.replace(state.cilium, agents=agents))
    third = builder.build(dataclasses.replace(flipped, clusters=tuple(clusters)))
    assert third.clusters[3] != first.clusters[3]


def _with_services(snapshot: MeshSnapshot, index: int, **changes: Service | None) -> MeshSnapshot:
    """``snapshot`` with cluster ``index``'s services replaced (``None`` deletes), by name."""
    state = snapshot.clusters[index]
    services = dict(state.services)
    for name, service in changes.items():
        key = next(k for k in services if k[1] == name) if service is None else service.key
        if service is None:
            del services[key]
        else:
            services[key] = service
    clusters = list(snapshot.clusters)
    clusters[index] = dataclasses.replace(state, services=frozen_map(services))
    return dataclasses.replace(snapshot, clusters=tuple(clusters))


def test_a_service_event_recomputes_its_row_only_and_matches_a_fresh_build() -> None:
    snapshot = large_snapshot(clusters=6, services=40)
    builder = ServicesViewBuilder()
    status_builder = StatusViewBuilder()
    first = builder.build(snapshot)
    first_status = status_builder.build(snapshot)
    state = snapshot.clusters[2]
    row = first.rows[3]
    service = state.services[row.key]
    labelled = dataclasses.replace(service, labels=frozen_map({**service.labels, "tick": "1"}))
    after = _with_services(snapshot, 2, **{service.name: labelled})
    second = builder.build(after)
    assert builder.recomputed == 1
    assert second.rows == services_view(after).rows
    # A label shows in no cell: the very same view, so the panes (and the app's repaint
    # window) see no change at all.
    assert second is first
    # A service event leaves every cluster row of the status view as it was (no 63-remote rebuild).
    rebuilt = status_builder.build(after).clusters
    assert all(a is b for a, b in zip(rebuilt, first_status.clusters, strict=True))

    # A service turning global in one cluster, a new plain one, a deleted global one: the rows
    # are exactly those of a fresh build.
    plain = next(s for k, s in state.services.items() if k not in {r.key for r in first.rows})
    turned = dataclasses.replace(
        plain, annotations=frozen_map({**plain.annotations, ANNOTATION_GLOBAL: "true"})
    )
    extra = dataclasses.replace(plain, name="zz-new-plain", annotations=frozen_map({}))
    later = _with_services(after, 2, **{plain.name: turned, extra.name: extra})
    later = _with_services(later, 4, **{first.rows[0].name: None})
    third = builder.build(later)
    fresh = services_view(later)
    assert third.rows == fresh.rows
    assert turned.key in {r.key for r in third.rows}
    assert extra.key not in {r.key for r in third.rows}


def test_replaced_objects_leave_the_caches() -> None:
    """Old versions of a cluster's Cilium objects and services are not kept alive by the
    view caches (the collector would walk them on every full collection)."""
    snapshot = large_snapshot(clusters=6, services=40)
    builder = ViewBuilder()  # the app's: one cache shared by both builders, owned by it
    status_builder, services_builder = builder.status_builder, builder.services_builder
    status_builder.build(snapshot)
    first = services_builder.build(snapshot)
    old_cilium = snapshot.clusters[3].cilium
    assert old_cilium in builder.cache
    after = _agents_reread(snapshot, 3)
    row = first.rows[0]
    old_service = after.clusters[2].services[row.key]
    assert id(old_service) in services_builder._cells
    relabelled = dataclasses.replace(old_service, labels=frozen_map({"tick": "2"}))
    after = _with_services(after, 2, **{old_service.name: relabelled})
    status_builder.build(after)
    services_builder.build(after)
    assert old_cilium not in builder.cache
    assert after.clusters[3].cilium in builder.cache
    assert services_builder._cells.get(id(old_service), (None,))[0] is not old_service
    assert services_builder._cells[id(relabelled)][0] is relabelled


def test_equal_global_cells_are_one_object_with_each_services_values() -> None:
    """A 64-cluster table has 128,000 cells but few distinct ones: cells are shared by value
    (global ones too), each still showing its own service's flags and ready count."""
    from tui.mesh.annotations import ANNOTATION_AFFINITY, ANNOTATION_SHARED
    from tui.mesh.model import Backend
    from tui.views.services import _cell

    def svc(name: str, ready: int, **annotations: str) -> Service:
        backends = tuple(Backend("c1", f"10.0.0.{i}", 80) for i in range(ready))
        backends += (Backend("c1", "10.0.1.1", 80, ready=False),)
        return Service("ns", name, annotations=frozen_map({ANNOTATION_GLOBAL: "true", **annotations}),
                       backends=backends)  # fmt: skip

    a, b = _cell(svc("a", 2)), _cell(svc("b", 2))
    assert a is b and (a.is_global, a.shared, a.affinity, a.ready_endpoints) == (True, True, "none", 2)
    c = _cell(svc("c", 3, **{ANNOTATION_SHARED: "false", ANNOTATION_AFFINITY: "remote"}))
    assert (c.shared, c.affinity, c.affinity_set, c.ready_endpoints) == (False, "remote", True, 3)
    assert c is not a and _cell(svc("d", 1)).ready_endpoints == 1
