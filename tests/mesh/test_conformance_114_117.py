"""Conformance of the 1.14–1.17 rule family with Cilium's own sources (not with our simulator).

Every case names where its expectation comes from:

* ``segregateBackends`` — cilium/cilium ``pkg/service/service.go`` (v1.14 … v1.17): active
  backends, the preferred subset, and "if there are no active backends, use the backends in
  terminating state" (EnableK8sTerminatingEndpoint, KEP-1669).
* ``service_cache`` — cilium/cilium ``pkg/k8s/service_cache.go`` (v1.14 … v1.17): local
  backends marked preferred with affinity ``local``, remote ones with ``remote``; the value is
  ``strings.ToLower``-ed and compared with ``local``/``remote`` only, so any other value acts
  as none (confirmed by the maintainer on cilium/cilium#46623: "in 1.17 and before … every
  other value than remote or local effectively as equivalent to none").
* ``annotation`` — cilium/cilium ``pkg/annotation`` ``Get``: the new key wins over the legacy
  alias even when empty; global only for ``true`` in any case.
* ``#20729`` — cilium/cilium#20729 / ``clustermesh-cache-ttl`` (default 0: never revoked):
  a remote that disconnects keeps its backends in the agents' tables.

This behaviour must not change; the 1.18+ family lives in ``test_conformance_118.py``.
"""

from __future__ import annotations

import dataclasses

import pytest
from meshmodels import GLOBAL, KEY, backend, service

from tui.mesh.model import Service
from tui.mesh.rules import cilium_rule
from tui.mesh.selection import StaleRemote, expected_share, select_backends

VERSIONS = ("1.14.1", "v1.15.7", "1.16.3", "1.17.4")
LOCAL = {**GLOBAL, "service.cilium.io/affinity": "local"}
REMOTE = {**GLOBAL, "service.cilium.io/affinity": "remote"}
NONE = {**GLOBAL, "service.cilium.io/affinity": "none"}
EMPTY = {**GLOBAL, "service.cilium.io/affinity": ""}
TYPO = {**GLOBAL, "service.cilium.io/affinity": "nearest"}
UPPER_LOCAL = {**GLOBAL, "service.cilium.io/affinity": "LOCAL"}
SPACED_LOCAL = {**GLOBAL, "service.cilium.io/affinity": " local"}
LEGACY_LOCAL = {**GLOBAL, "io.cilium/service-affinity": "local"}
NEW_EMPTY_OVER_LEGACY = {**GLOBAL, "service.cilium.io/affinity": "", "io.cilium/service-affinity": "local"}

A1, A2 = backend("cluster1", 1), backend("cluster1", 2)
B1, B2 = backend("cluster2", 1), backend("cluster2", 2)
TA = backend("cluster1", 9, ready=False, terminating=True, serving=True)
TB = backend("cluster2", 9, ready=False, terminating=True, serving=True)
NA = backend("cluster1", 8, ready=False)


def mesh(client: dict[str, str], local: list, remote: list | None) -> dict[str, Service | None]:
    return {
        "cluster1": service("cluster1", client, *local),
        "cluster2": None if remote is None else service("cluster2", GLOBAL, *remote),
    }


# (id, source, client annotations, local, remote, expected shares)
CASES = [
    ("absent-is-none", "service_cache", GLOBAL, [A1], [B1], {"cluster1": 0.5, "cluster2": 0.5}),
    ("empty-is-none", "service_cache", EMPTY, [A1], [B1], {"cluster1": 0.5, "cluster2": 0.5}),
    ("literal-none-is-none", "service_cache, #46623", NONE, [A1], [B1], {"cluster1": 0.5, "cluster2": 0.5}),
    ("literal-none-no-local-uses-remote", "service_cache, #46623", NONE, [], [B1], {"cluster2": 1.0}),
    ("unknown-word-is-none", "service_cache, #46623", TYPO, [A1], [B1], {"cluster1": 0.5, "cluster2": 0.5}),
    (
        "uppercase-local-is-local",
        "service_cache (strings.ToLower)",
        UPPER_LOCAL,
        [A1],
        [B1],
        {"cluster1": 1.0},
    ),
    (
        "spaced-local-is-none",
        "service_cache (ToLower, no trim)",
        SPACED_LOCAL,
        [A1],
        [B1],
        {"cluster1": 0.5, "cluster2": 0.5},
    ),
    ("legacy-alias-local", "annotation.Get alias", LEGACY_LOCAL, [A1], [B1], {"cluster1": 1.0}),
    (
        "new-key-empty-wins-over-alias",
        "annotation.Get first key present",
        NEW_EMPTY_OVER_LEGACY,
        [A1],
        [B1],
        {"cluster1": 0.5, "cluster2": 0.5},
    ),
    (
        "uniform-per-backend",
        "segregateBackends",
        GLOBAL,
        [A1, A2],
        [B1],
        {"cluster1": 2 / 3, "cluster2": 1 / 3},
    ),
    ("local-preferred-active-only", "segregateBackends", LOCAL, [A1], [B1, B2], {"cluster1": 1.0}),
    ("local-no-local-uses-all-active", "segregateBackends", LOCAL, [], [B1, B2], {"cluster2": 1.0}),
    ("local-terminating-local-uses-all-active", "segregateBackends", LOCAL, [TA], [B1], {"cluster2": 1.0}),
    ("local-not-ready-local-uses-all-active", "segregateBackends", LOCAL, [NA], [B1], {"cluster2": 1.0}),
    ("local-mixed-uses-active-local", "segregateBackends", LOCAL, [A1, TA], [B1], {"cluster1": 1.0}),
    ("remote-preferred-active-only", "segregateBackends", REMOTE, [A1, A2], [B1], {"cluster2": 1.0}),
    ("remote-no-remote-service-uses-local", "segregateBackends", REMOTE, [A1], None, {"cluster1": 1.0}),
    ("remote-terminating-remote-skipped", "segregateBackends", REMOTE, [A1], [B1, TB], {"cluster2": 1.0}),
    (
        "nothing-active-terminating-used",
        "segregateBackends terminating fallback",
        LOCAL,
        [TA],
        [TB],
        {"cluster1": 1.0},
    ),
    (
        "none-only-terminating-used",
        "segregateBackends terminating fallback",
        GLOBAL,
        [TA],
        [],
        {"cluster1": 1.0},
    ),
    ("not-ready-never-used", "segregateBackends", GLOBAL, [NA], [], {}),
]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("source", "annotations", "local", "remote", "shares"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_selection_114_117(
    version: str,
    source: str,
    annotations: dict[str, str],
    local: list,
    remote: list | None,
    shares: dict[str, float],
) -> None:
    services = mesh(annotations, local, remote)
    selection = select_backends(KEY, "cluster1", services, version)
    assert selection.family == "1.14-1.17", source
    assert dict(selection.expected_share) == pytest.approx(shares), source
    assert expected_share(KEY, "cluster1", services, version) == pytest.approx(selection.expected_share)
    assert selection.bug is None, "no known bug changes the 1.14–1.17 selection"
    if not shares:
        assert "connections would fail" in selection.reason


@pytest.mark.parametrize("version", VERSIONS)
def test_terminating_used_only_without_active(version: str) -> None:
    """segregateBackends: terminating backends are used only while no backend is active; the
    WHY column says so."""
    selection = select_backends(KEY, "cluster1", mesh(GLOBAL, [TA], []), version)
    assert selection.terminating_fallback
    assert [c.why for c in selection.choices] == ["terminating, used: no active backend is left"]
    with_active = select_backends(KEY, "cluster1", mesh(GLOBAL, [A1, TA], []), version)
    assert not with_active.terminating_fallback
    assert {c.backend.ip: c.selected for c in with_active.choices} == {A1.ip: True, TA.ip: False}


@pytest.mark.parametrize("version", VERSIONS)
def test_every_present_merged_backend_is_listed(version: str) -> None:
    """service_cache: a 1.14–1.17 agent lists every backend of the merged clusters (preferred
    marks on the affinity side), whatever it selects."""
    selection = select_backends(KEY, "cluster1", mesh(LOCAL, [A1, TA, NA], [B1]), version)
    listed = {c.backend.ip: (c.listed, c.preferred) for c in selection.choices}
    assert listed == {
        A1.ip: (True, True),
        TA.ip: (True, True),
        NA.ip: (False, True),
        B1.ip: (True, False),
    }


@pytest.mark.parametrize("version", VERSIONS)
def test_disconnected_remote_keeps_its_backends(version: str) -> None:
    """#20729: a remote whose link is down stays in the load-balancing tables (cache TTL 0);
    the share still counts it, marked stale, with the consequence spelled out."""
    services = mesh(GLOBAL, [A1], [B1])
    lost = StaleRemote("cluster2", since=1_700_000_000.0)
    selection = select_backends(KEY, "cluster1", services, version, connected=set(), stale=[lost])
    assert dict(selection.expected_share) == {"cluster1": 0.5, "cluster2": 0.5}
    remote = next(c for c in selection.choices if c.cluster == "cluster2")
    assert remote.selected and remote.stale and "cached: unreachable since" in remote.why
    assert selection.stale == (lost,)
    assert "its backends are still used (cached); connections to them may fail" in lost.text()
    assert expected_share(KEY, "cluster1", services, version, set(), [lost]) == selection.expected_share
    # never connected (no cached data): left out, as before
    gone = select_backends(KEY, "cluster1", services, version, connected=set())
    assert dict(gone.expected_share) == {"cluster1": 1.0}


@pytest.mark.parametrize("version", VERSIONS)
def test_headless_has_no_share(version: str) -> None:
    """pkg/k8s/utils/utils.go GetClusterIPByFamily: clusterIP None gives no frontend, so no
    load-balancing, no affinity, no share — and the reason says why."""
    services = mesh(LOCAL, [A1], [B1])
    services["cluster1"] = dataclasses.replace(services["cluster1"], cluster_ip="None")  # type: ignore[arg-type]
    selection = select_backends(KEY, "cluster1", services, version)
    assert selection.headless and dict(selection.expected_share) == {}
    assert "headless" in selection.reason and "affinity and shares do not apply" in selection.reason
    assert expected_share(KEY, "cluster1", services, version) == {}


@pytest.mark.parametrize("version", VERSIONS)
def test_rule_names_source_and_no_bug(version: str) -> None:
    rule = cilium_rule(version)
    assert rule.family == "1.14-1.17" and not rule.assumed and rule.bugs == ()
    assert "segregateBackends" in rule.source
    assert not rule.lists_only_selected
