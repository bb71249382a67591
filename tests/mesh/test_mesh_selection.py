"""ARCHITECTURE.md Cilium §3 "Affinity" and §4 "preferred": backend selection, both rule families."""

from __future__ import annotations

import pytest
from meshmodels import GLOBAL, KEY, backend, service

from tui.mesh.model import Service
from tui.mesh.selection import select_backends

V114, V118 = "1.14.1", "v1.18.0"
LOCAL = {**GLOBAL, "service.cilium.io/affinity": "local"}
REMOTE = {**GLOBAL, "service.cilium.io/affinity": "remote"}
NONE = {**GLOBAL, "service.cilium.io/affinity": "none"}
EMPTY = {**GLOBAL, "service.cilium.io/affinity": ""}


def term(cluster: str, n: int = 9) -> object:
    return backend(cluster, n, ready=False, terminating=True, serving=True)


def notready(cluster: str, n: int = 8) -> object:
    return backend(cluster, n, ready=False)


def mesh(client_annotations: dict[str, str], local: list, remote: list | None) -> dict[str, Service | None]:
    """cluster1 (the client) with ``local`` backends, cluster2 with ``remote`` (None: no service)."""
    return {
        "cluster1": service("cluster1", client_annotations, *local),
        "cluster2": None if remote is None else service("cluster2", GLOBAL, *remote),
    }


A1, A2 = backend("cluster1", 1), backend("cluster1", 2)
B1, B2 = backend("cluster2", 1), backend("cluster2", 2)

# The per-rule cases live in test_conformance_114_117.py and test_conformance_118.py, each
# naming the Cilium source or issue it comes from; this module keeps the wording and plumbing.


def test_share_text_matches_operator_wording() -> None:
    selection = select_backends(KEY, "cluster1", mesh(GLOBAL, [A1], [B1]), V114)
    assert selection.share_text() == "cluster1 50%, cluster2 50%"


@pytest.mark.parametrize("version", [V114, V118])
def test_why_for_each_backend(version: str) -> None:
    """Every backend says why it is (not) selected, in a few words."""
    services = mesh(LOCAL, [A1, term("cluster1"), notready("cluster1")], [B1])
    choices = {c.backend.ip: c for c in select_backends(KEY, "cluster1", services, version).choices}
    assert choices[A1.ip].selected and choices[A1.ip].why.startswith("local")
    assert "affinity local" in choices[A1.ip].why
    assert not choices[B1.ip].selected and "local backends active" in choices[B1.ip].why
    assert choices["10.1.0.9"].why == "terminating"
    assert choices["10.1.0.8"].why == "not ready"


def test_why_114_wording() -> None:
    choices = select_backends(KEY, "cluster1", mesh(LOCAL, [A1], [B1]), V114).choices
    assert [c.why for c in choices] == [
        "local, preferred (affinity local)",
        "remote, not preferred: local backends active",
    ]


def test_excluded_cluster_backends_carry_the_exclusion() -> None:
    """Rule: shared=false hides a cluster's backends; the why column says so."""
    services = {
        "cluster1": service("cluster1", GLOBAL, A1),
        "cluster2": service("cluster2", {**GLOBAL, "service.cilium.io/shared": "false"}, B1),
    }
    selection = select_backends(KEY, "cluster1", services, V114)
    remote = [c for c in selection.choices if c.cluster == "cluster2"]
    assert [(c.selected, c.why, c.merged) for c in remote] == [(False, "cluster2: shared=false", False)]
    assert dict(selection.expected_share) == {"cluster1": 1.0}


def test_shared_false_on_client_own_cluster_still_uses_local_and_remote() -> None:
    """Guidance: shared only controls export; the client still uses its own and others' backends."""
    services = {
        "cluster1": service("cluster1", {**GLOBAL, "service.cilium.io/shared": "false"}, A1),
        "cluster2": service("cluster2", GLOBAL, B1),
    }
    assert dict(select_backends(KEY, "cluster1", services, V118).expected_share) == {
        "cluster1": 0.5,
        "cluster2": 0.5,
    }


def test_client_without_service_selects_nothing() -> None:
    """Rule: a service that exists only remotely has no frontend in the client cluster."""
    services = {"cluster1": None, "cluster2": service("cluster2", GLOBAL, B1)}
    selection = select_backends(KEY, "cluster1", services, V114)
    assert selection.selected == ()
    assert dict(selection.expected_share) == {}
    assert "cluster1 has no service song/userlist-svc" in selection.reason
    assert [c.why for c in selection.choices] == ["cluster2: client cluster has no such service"]


def test_client_not_global_uses_local_only() -> None:
    services = {"cluster1": service("cluster1", {}, A1), "cluster2": service("cluster2", GLOBAL, B1)}
    selection = select_backends(KEY, "cluster1", services, V118)
    assert dict(selection.expected_share) == {"cluster1": 1.0}
    assert selection.affinity == "none"
    remote = next(c for c in selection.choices if c.cluster == "cluster2")
    assert remote.why == "cluster2: cluster1's own service song/userlist-svc is not global"


def test_legacy_and_new_affinity_both_present_new_wins() -> None:
    annotations = {**GLOBAL, "service.cilium.io/affinity": "remote", "io.cilium/service-affinity": "local"}
    selection = select_backends(KEY, "cluster1", mesh(annotations, [A1], [B1]), V114)
    assert selection.affinity == "remote"
    assert dict(selection.expected_share) == {"cluster2": 1.0}


@pytest.mark.parametrize("value", ["True", "TRUE", "true"])
def test_global_true_any_case_merges(value: str) -> None:
    services = {
        "cluster1": service("cluster1", {"service.cilium.io/global": value}, A1),
        "cluster2": service("cluster2", {"io.cilium/global-service": value}, B1),
    }
    assert set(select_backends(KEY, "cluster1", services, V114).expected_share) == {"cluster1", "cluster2"}


def test_not_connected_remote_is_not_selected() -> None:
    selection = select_backends(KEY, "cluster1", mesh(GLOBAL, [A1], [B1]), V114, connected=set())
    assert dict(selection.expected_share) == {"cluster1": 1.0}
    assert [c.why for c in selection.choices if c.cluster == "cluster2"] == ["cluster2: not connected"]


@pytest.mark.parametrize(
    ("annotations", "local_preferred", "remote_preferred"),
    [(LOCAL, True, False), (REMOTE, False, True), (NONE, False, False)],
    ids=["affinity-local-marks-local", "affinity-remote-marks-remote", "affinity-none-marks-nothing"],
)
@pytest.mark.parametrize("version", [V114, V118])
def test_preferred_flag_as_114_agent_prints_it(
    version: str, annotations: dict[str, str], local_preferred: bool, remote_preferred: bool
) -> None:
    """§4: the (preferred) mark of a 1.14–1.17 agent, independent of what is selected."""
    choices = select_backends(
        KEY, "cluster1", mesh(annotations, [A1, term("cluster1")], [B1]), version
    ).choices
    for choice in choices:
        expected = local_preferred if choice.local else remote_preferred
        assert choice.preferred == expected, choice


def test_fallback_flag() -> None:
    assert select_backends(KEY, "cluster1", mesh(LOCAL, [], [B1]), V118).fallback
    assert not select_backends(KEY, "cluster1", mesh(LOCAL, [A1], [B1]), V118).fallback
    assert not select_backends(KEY, "cluster1", mesh(NONE, [], [B1]), V118).fallback


@pytest.mark.parametrize(
    ("version", "family", "assumed"),
    [
        ("1.14.1", "1.14-1.17", False),
        ("v1.17.4", "1.14-1.17", False),
        ("1.18.0", "1.18+", False),
        ("v1.18.0", "1.18+", False),
        ("1.18.0-rc.1", "1.18+", False),
        ("1.19.0-dev", "1.18+", False),
        ("2.0.0", "1.18+", True),
        ("quay.io/cilium/cilium:v1.14.1@sha256:" + "a" * 64, "1.14-1.17", False),
        ("quay.io/cilium/cilium:v1.18.3@sha256:" + "b" * 64, "1.18+", False),
        ("1.13.4", "1.14-1.17", True),
        (None, "1.18+", True),
        ("", "1.18+", True),
        ("latest", "1.18+", True),
        ("quay.io/cilium/cilium@sha256:" + "c" * 64, "1.18+", True),
    ],
)
def test_family_from_client_version(version: str | None, family: str, assumed: bool) -> None:
    """Versions pick the rule family; an unknown or newer version uses the newest known rules,
    an older one the 1.14 rules, and says so."""
    selection = select_backends(KEY, "cluster1", mesh(GLOBAL, [A1], [B1]), version)
    assert selection.family == family
    assert selection.version_assumed == assumed
    assert selection.family_label.endswith(", assumed") == assumed
