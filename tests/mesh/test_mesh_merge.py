"""ARCHITECTURE.md Cilium §3 "Merging": which clusters' backends a client cluster uses, and why not."""

from __future__ import annotations

from dataclasses import replace

import pytest
from meshmodels import GLOBAL, KEY, backend, cluster, service

from tui.mesh.merge import export_matrix, global_service_index, merge_global_service
from tui.mesh.model import Service

NOT_GLOBAL: dict[str, str] = {}
NOT_SHARED = {**GLOBAL, "service.cilium.io/shared": "false"}

# (rule id, services by cluster, connected, included, exclusion texts)
CASES: list[tuple[str, dict[str, Service | None], set[str] | None, tuple[str, ...], tuple[str, ...]]] = [
    (
        "both-global-shared-merge",
        {"cluster1": service("cluster1", ready=1), "cluster2": service("cluster2", ready=1)},
        None,
        ("cluster1", "cluster2"),
        (),
    ),
    (
        "remote-without-service-excluded",
        {"cluster1": service("cluster1", ready=1), "cluster2": None},
        None,
        ("cluster1",),
        ("cluster2: no service song/userlist-svc",),
    ),
    (
        "remote-not-global-excluded",
        {"cluster1": service("cluster1", ready=1), "cluster2": service("cluster2", NOT_GLOBAL, ready=1)},
        None,
        ("cluster1",),
        ("cluster2: not global",),
    ),
    (
        "remote-shared-false-hides-its-backends",
        {"cluster1": service("cluster1", ready=1), "cluster2": service("cluster2", NOT_SHARED, ready=1)},
        None,
        ("cluster1",),
        ("cluster2: shared=false",),
    ),
    (
        "remote-zero-ready-endpoints-contributes-nothing",
        {"cluster1": service("cluster1", ready=1), "cluster2": service("cluster2", ready=0)},
        None,
        ("cluster1",),
        ("cluster2: 0 ready endpoints",),
    ),
    (
        "remote-only-terminating-is-zero-ready",
        {
            "cluster1": service("cluster1", ready=1),
            "cluster2": service("cluster2", GLOBAL, backend("cluster2", 1, ready=False, terminating=True)),
        },
        None,
        ("cluster1",),
        ("cluster2: 0 ready endpoints",),
    ),
    (
        "remote-not-connected-excluded",
        {"cluster1": service("cluster1", ready=1), "cluster2": service("cluster2", ready=1)},
        set(),
        ("cluster1",),
        ("cluster2: not connected",),
    ),
    (
        "connected-remote-merged",
        {"cluster1": service("cluster1", ready=1), "cluster2": service("cluster2", ready=1)},
        {"cluster2"},
        ("cluster1", "cluster2"),
        (),
    ),
    (
        "client-without-service-merges-nothing",
        {"cluster1": None, "cluster2": service("cluster2", ready=1)},
        None,
        (),
        ("cluster2: client cluster has no such service",),
    ),
    (
        "client-not-global-merges-nothing-but-keeps-local",
        {"cluster1": service("cluster1", NOT_GLOBAL, ready=1), "cluster2": service("cluster2", ready=1)},
        None,
        ("cluster1",),
        ("cluster2: cluster1's own service song/userlist-svc is not global",),
    ),
    (
        "client-shared-false-still-uses-remote-and-local",
        {"cluster1": service("cluster1", NOT_SHARED, ready=1), "cluster2": service("cluster2", ready=1)},
        None,
        ("cluster1", "cluster2"),
        (),
    ),
    (
        "client-zero-ready-still-has-frontend",
        {"cluster1": service("cluster1", ready=0), "cluster2": service("cluster2", ready=2)},
        None,
        ("cluster1", "cluster2"),
        (),
    ),
    (
        "three-clusters-mixed",
        {
            "cluster1": service("cluster1", ready=1),
            "cluster2": service("cluster2", NOT_SHARED, ready=1),
            "cluster3": service("cluster3", ready=1),
        },
        None,
        ("cluster1", "cluster3"),
        ("cluster2: shared=false",),
    ),
]


@pytest.mark.parametrize(
    ("services", "connected", "included", "why"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_merge_rules(
    services: dict[str, Service | None],
    connected: set[str] | None,
    included: tuple[str, ...],
    why: tuple[str, ...],
) -> None:
    result = merge_global_service(KEY, "cluster1", services, connected)
    assert result.included == included
    assert result.why == why
    assert result.client_has_service == (services["cluster1"] is not None)


def test_merge_is_seen_from_each_client() -> None:
    """Rule: shared=false on B hides B from A, but B still uses A's backends."""
    services = {
        "cluster1": service("cluster1", ready=1),
        "cluster2": service("cluster2", NOT_SHARED, ready=1),
    }
    assert merge_global_service(KEY, "cluster1", services).included == ("cluster1",)
    assert merge_global_service(KEY, "cluster2", services).included == ("cluster2", "cluster1")


def test_service_only_in_remote_has_no_frontend_locally() -> None:
    """Rule: a service that exists only in the remote cluster: nothing happens locally."""
    services = {"cluster1": None, "cluster2": service("cluster2", ready=1)}
    result = merge_global_service(KEY, "cluster1", services)
    assert not result.client_has_service
    assert result.included == ()
    assert result.excluded[0].code == "client-no-service"


def test_further_reasons_are_kept() -> None:
    """An excluded cluster lists every reason still in the way, most fundamental first."""
    services = {
        "cluster1": service("cluster1", ready=1),
        "cluster2": service("cluster2", NOT_SHARED, ready=0),
    }
    exclusion = merge_global_service(KEY, "cluster1", services, connected=set()).excluded[0]
    assert exclusion.text == "cluster2: shared=false"
    assert exclusion.code == "not-shared"
    assert exclusion.also == ("not connected", "0 ready endpoints")


def test_not_global_remote_does_not_also_say_shared_false() -> None:
    """Rule: shared is ignored when not global, so it is not given as a second reason."""
    services = {
        "cluster1": service("cluster1", ready=1),
        "cluster2": service("cluster2", NOT_GLOBAL, ready=1),
    }
    assert merge_global_service(KEY, "cluster1", services).excluded[0].also == ()


def test_clusters_missing_from_mapping_are_unknown_not_excluded() -> None:
    services = {"cluster1": service("cluster1", ready=1)}
    result = merge_global_service(KEY, "cluster1", services)
    assert result.included == ("cluster1",)
    assert result.excluded == ()


def test_merge_matches_exact_namespace_and_name() -> None:
    """Rule: merging is by exact namespace + name (the index keys on both)."""
    c1 = cluster("bastion02", "cluster1", 1)
    c2 = cluster("bastion03", "cluster2", 2)
    same = service("cluster1", ready=1)
    other_ns = replace(service("cluster2", ready=1), namespace="other")
    c1 = replace(c1, services={same.key: same})
    c2 = replace(c2, services={other_ns.key: other_ns})
    index = global_service_index([c1, c2])
    assert set(index) == {("song", "userlist-svc"), ("other", "userlist-svc")}
    assert index[KEY] == {"cluster1": same, "cluster2": None}


def test_index_skips_clusters_whose_data_is_unknown() -> None:
    svc = service("cluster1", ready=1)
    ok = replace(cluster("bastion02", "cluster1", 1), services={svc.key: svc})
    syncing = cluster("bastion03", "cluster2", 2, phase="syncing")
    index = global_service_index([ok, syncing])
    assert index[KEY] == {"cluster1": svc}
    assert global_service_index([ok, syncing], include_unknown_phases=True)[KEY] == {
        "cluster1": svc,
        "cluster2": None,
    }


def test_index_lists_only_keys_global_somewhere() -> None:
    plain = service("cluster1", NOT_GLOBAL, ready=1)
    state = replace(cluster("bastion02", "cluster1", 1), services={plain.key: plain})
    assert global_service_index([state]) == {}


def test_export_matrix_is_client_independent() -> None:
    """Per cluster: are its backends offered to the others (global, shared, ready)?"""
    services = {
        "cluster1": service("cluster1", ready=2),
        "cluster2": service("cluster2", NOT_SHARED, ready=1),
        "cluster3": None,
        "cluster4": service("cluster4", ready=0),
    }
    cells = export_matrix(KEY, services)
    assert [(c.cluster, c.exported, c.ready, c.exclusion.text if c.exclusion else None) for c in cells] == [
        ("cluster1", True, 2, None),
        ("cluster2", False, 1, "cluster2: shared=false"),
        ("cluster3", False, 0, "cluster3: no service song/userlist-svc"),
        ("cluster4", False, 0, "cluster4: 0 ready endpoints"),
    ]
    assert export_matrix(KEY, services)[0] is cells[0], "cells are reused for unchanged services"


def test_results_do_not_leak_between_clients_or_connected_sets() -> None:
    """Cached per-service facts must not mix up clients or connectivity."""
    services = {
        "cluster1": service("cluster1", ready=1),
        "cluster2": service("cluster2", ready=1),
        "cluster3": service("cluster3", ready=1),
    }
    assert merge_global_service(KEY, "cluster1", services).included == ("cluster1", "cluster2", "cluster3")
    assert merge_global_service(KEY, "cluster1", services, {"cluster3"}).why == ("cluster2: not connected",)
    assert merge_global_service(KEY, "cluster2", services, {"cluster1"}).why == ("cluster3: not connected",)
    assert merge_global_service(KEY, "cluster3", services).included == ("cluster3", "cluster1", "cluster2")
