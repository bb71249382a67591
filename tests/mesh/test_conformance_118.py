"""Conformance of the 1.18+ rule family (1.18, 1.19, 1.20) with Cilium's sources and issues.

Sources of the expectations:

* ``SelectBackends`` — cilium/cilium ``pkg/clustermesh/selectbackends.go`` (v1.18, v1.19;
  ``pkg/clustermesh/loadbalancer/selectbackends.go`` on main): not global → local only;
  affinity none → all; ``local`` → local always, remote only when no *active* local backend
  and some healthy remote; ``remote`` → remote always, local only when no healthy (active or
  terminating) remote; any other affinity value → the ``default`` branch: local only.
* ``bpf_reconciler`` — cilium/cilium ``pkg/loadbalancer/reconciler/bpf_reconciler.go``:
  ``if activeCount == 0 { activeCount = terminatingCount }`` (KEP-1669).
* ``#46623`` — cilium/cilium#46623: ``GetAnnotationServiceAffinity`` returns
  ``strings.ToLower(value)``, only ``""`` is none, so ``none``/unknown words keep local only.
* ``#46635`` — the fix (cilium v1.20.0-pre.3, ``pkg/annotation/clustermesh.go`` vendored by
  cilium-cli v0.19.5): ``none``/``""`` → none, unknown → none "treating as no affinity
  preference"; backport to 1.19 pending, none to 1.18.
* ``#43681`` — 1.18+ ``cilium service list`` lists only selected backends, all preferred
  (``pkg/loadbalancer/frontend.go`` ``Preferred: true``).
"""

from __future__ import annotations

import pytest
from meshmodels import GLOBAL, KEY, backend, service

from tui.mesh.model import Service
from tui.mesh.rules import AFFINITY_NONE_BUG, PREFERRED_MARK_BUG, cilium_rule
from tui.mesh.selection import expected_share, select_backends

BUGGY = ("1.18.0", "v1.18.3", "1.19.0", "1.19.2")
FIXED = ("1.20.0", "v1.20.1")
ALL = BUGGY + FIXED
LOCAL = {**GLOBAL, "service.cilium.io/affinity": "local"}
REMOTE = {**GLOBAL, "service.cilium.io/affinity": "remote"}
NONE = {**GLOBAL, "service.cilium.io/affinity": "none"}
UPPER_NONE = {**GLOBAL, "service.cilium.io/affinity": "None"}
EMPTY = {**GLOBAL, "service.cilium.io/affinity": ""}
TYPO = {**GLOBAL, "service.cilium.io/affinity": "nearest"}
LEGACY_NONE = {**GLOBAL, "io.cilium/service-affinity": "none"}

A1, A2 = backend("cluster1", 1), backend("cluster1", 2)
B1, B2 = backend("cluster2", 1), backend("cluster2", 2)
TA = backend("cluster1", 9, ready=False, terminating=True, serving=True)
TB = backend("cluster2", 9, ready=False, terminating=True, serving=True)
HALF = {"cluster1": 0.5, "cluster2": 0.5}


def mesh(client: dict[str, str], local: list, remote: list | None) -> dict[str, Service | None]:
    return {
        "cluster1": service("cluster1", client, *local),
        "cluster2": None if remote is None else service("cluster2", GLOBAL, *remote),
    }


# (id, source, client annotations, local, remote, expected shares) — the same on every 1.18+
COMMON = [
    ("absent-is-none", "SelectBackends", GLOBAL, [A1], [B1], HALF),
    ("empty-is-none", "SelectBackends", EMPTY, [A1], [B1], HALF),
    ("local-always-local", "SelectBackends", LOCAL, [A1], [B1, B2], {"cluster1": 1.0}),
    ("local-no-local-adds-remote", "SelectBackends", LOCAL, [], [B1], {"cluster2": 1.0}),
    (
        "local-terminating-local-adds-remote",
        "SelectBackends+bpf_reconciler",
        LOCAL,
        [TA],
        [B1],
        {"cluster2": 1.0},
    ),
    ("local-terminating-not-used-beside-active", "bpf_reconciler", LOCAL, [A1, TA], [B1], {"cluster1": 1.0}),
    ("remote-always-remote", "SelectBackends", REMOTE, [A1, A2], [B1], {"cluster2": 1.0}),
    ("remote-no-remote-service-uses-local", "SelectBackends", REMOTE, [A1], None, {"cluster1": 1.0}),
    (
        "remote-only-terminating-local-used",
        "SelectBackends+bpf_reconciler",
        REMOTE,
        [TA],
        None,
        {"cluster1": 1.0},
    ),
    ("none-all-terminating-used", "bpf_reconciler", GLOBAL, [TA], [], {"cluster1": 1.0}),
    ("not-global-client-uses-local", "SelectBackends !IncludeExternal", {}, [A1], [B1], {"cluster1": 1.0}),
]

# cases where the literal 'none' / an unknown word differ between buggy and fixed releases
WORDS = [
    ("literal-none", "#46623/#46635", NONE, [A1], [B1], {"cluster1": 1.0}, HALF),
    ("literal-none-no-local", "#46623/#46635", NONE, [], [B1], {}, {"cluster2": 1.0}),
    ("capital-None", "#46623 (ToLower → 'none')", UPPER_NONE, [A1], [B1], {"cluster1": 1.0}, HALF),
    ("unknown-word", "#46623/#46635", TYPO, [A1], [B1], {"cluster1": 1.0}, HALF),
    ("legacy-alias-none", "#46623 via annotation alias", LEGACY_NONE, [], [B1], {}, {"cluster2": 1.0}),
    (
        "none-only-terminating-local",
        "#46623+bpf_reconciler",
        NONE,
        [TA],
        [B1],
        {"cluster1": 1.0},
        {"cluster2": 1.0},
    ),
]


@pytest.mark.smoke
@pytest.mark.parametrize("version", ALL)
@pytest.mark.parametrize(
    ("source", "annotations", "local", "remote", "shares"),
    [c[1:] for c in COMMON],
    ids=[c[0] for c in COMMON],
)
def test_selection_118_common(
    version: str, source: str, annotations: dict[str, str], local: list, remote: list | None, shares: dict
) -> None:
    services = mesh(annotations, local, remote)
    selection = select_backends(KEY, "cluster1", services, version)
    assert selection.family == "1.18+", source
    assert dict(selection.expected_share) == pytest.approx(shares), source
    assert expected_share(KEY, "cluster1", services, version) == pytest.approx(selection.expected_share)
    assert selection.bug is None


@pytest.mark.parametrize("version", ALL)
@pytest.mark.parametrize(
    ("source", "annotations", "local", "remote", "buggy", "fixed"),
    [c[1:] for c in WORDS],
    ids=[c[0] for c in WORDS],
)
def test_affinity_words_per_release(
    version: str,
    source: str,
    annotations: dict[str, str],
    local: list,
    remote: list | None,
    buggy: dict,
    fixed: dict,
) -> None:
    services = mesh(annotations, local, remote)
    selection = select_backends(KEY, "cluster1", services, version)
    affected = version in BUGGY
    assert dict(selection.expected_share) == pytest.approx(buggy if affected else fixed), source
    assert expected_share(KEY, "cluster1", services, version) == pytest.approx(selection.expected_share)
    assert (selection.bug is AFFINITY_NONE_BUG) == affected
    assert (selection.mode == "local-only") == affected
    if affected and not buggy:
        assert selection.reason.startswith("connections from cluster1 to song/userlist-svc fail")
        assert "cilium/cilium#46623" in selection.reason
    if affected:
        remote_choices = [c for c in selection.choices if c.cluster == "cluster2"]
        assert all("never used" in c.why and "#46623" in c.why for c in remote_choices)


@pytest.mark.parametrize("version", ALL)
def test_lists_only_chosen_side(version: str) -> None:
    """#43681 / frontend.go: the agent lists the backends of the chosen side(s) only."""
    selection = select_backends(KEY, "cluster1", mesh(LOCAL, [A1, TA], [B1]), version)
    assert {c.backend.ip: c.listed for c in selection.choices} == {A1.ip: True, TA.ip: True, B1.ip: False}


@pytest.mark.parametrize(
    ("version", "bugs", "assumed"),
    [
        ("1.18.0", (AFFINITY_NONE_BUG, PREFERRED_MARK_BUG), ""),
        ("1.19.4", (AFFINITY_NONE_BUG, PREFERRED_MARK_BUG), ""),
        ("1.19.0-rc.2", (AFFINITY_NONE_BUG, PREFERRED_MARK_BUG), ""),
        ("1.20.0", (PREFERRED_MARK_BUG,), ""),
        ("1.20.0-pre.3", (PREFERRED_MARK_BUG,), ""),
        ("1.21.2", (PREFERRED_MARK_BUG,), "newer than the newest known (1.20)"),
        ("2.0.0", (PREFERRED_MARK_BUG,), "newer than the newest known (1.20)"),
        (None, (PREFERRED_MARK_BUG,), "version unknown: the newest known rules (1.20)"),
        ("quay.io/cilium/cilium@sha256:" + "c" * 64, (PREFERRED_MARK_BUG,), "version unknown"),
        ("1.13.4", (), "older than 1.14"),
    ],
)
def test_version_matrix(version: str | None, bugs: tuple, assumed: str) -> None:
    """The rule says which release's behaviour it uses, which known bugs apply, and when it is
    an assumption (unknown or newer versions: the newest known rules)."""
    rule = cilium_rule(version)
    assert rule.bugs == bugs
    assert (assumed in rule.assumed) if assumed else rule.assumed == ""
    assert rule.family_label.endswith(", assumed") == bool(assumed)
    json = rule.to_json()
    assert [b["id"] for b in json["known_bugs"]] == [b.id for b in bugs]  # type: ignore[index,union-attr]
