"""ARCHITECTURE.md Cilium §4: ``cilium service list`` read and compared with the computed selection."""

from __future__ import annotations

from dataclasses import replace

import pytest
from agentoutput import compare_with_selection, frontends_of, parse_service_list_text
from meshmodels import GLOBAL, KEY, backend, service

from tui.mesh.agentlist import AgentBackend, backends_of, parse_service_list_json
from tui.mesh.model import ServicePort
from tui.mesh.selection import select_backends

LOCAL = {**GLOBAL, "service.cilium.io/affinity": "local"}

JSON = [
    {
        "spec": {
            "id": 11,
            "frontend-address": {"ip": "10.96.137.109", "port": 80, "protocol": "TCP"},
            "backend-addresses": [],
            "flags": {"type": "ClusterIP", "name": "userlist-svc", "namespace": "song"},
        },
        "status": {
            "realized": {
                "id": 11,
                "frontend-address": {
                    "ip": "10.96.137.109",
                    "port": 80,
                    "protocol": "TCP",
                    "scope": "external",
                },
                "backend-addresses": [
                    {
                        "ip": "10.1.0.1",
                        "port": 8181,
                        "nodeName": "node1",
                        "state": "active",
                        "preferred": True,
                        "weight": 100,
                    },
                    {"ip": "10.2.0.1", "port": 8181, "weight": 100},
                    {"ip": "10.1.0.9", "port": 8181, "state": "terminating", "preferred": True},
                ],
                "flags": {"type": "ClusterIP", "name": "userlist-svc", "namespace": "song"},
            }
        },
    },
    {
        "spec": {
            "id": 1,
            "frontend-address": {"ip": "10.96.0.1", "port": 443},
            "backend-addresses": [{"ip": "172.18.0.3", "port": 6443}],
            "flags": {"type": "ClusterIP"},
        }
    },
    "garbage",
]

TEXT = """\
ID   Frontend            Service Type   Backend
1    10.96.0.1:443       ClusterIP      1 => 172.18.0.3:6443 (active)
11   10.96.137.109:80    ClusterIP      1 => 10.1.0.1:8181 (active) (preferred)
                                        2 => 10.2.0.1:8181 (active)
                                        3 => 10.1.0.9:8181 (terminating) (preferred)
12   [fd00::10]:80/TCP   ClusterIP      1 => [fd00::1:2]:8181/TCP (active) (preferred)
"""


def test_json_realized_part_with_omitempty_defaults() -> None:
    frontends = parse_service_list_json(JSON)
    assert [f.id for f in frontends] == [11, 1]
    userlist = frontends[0]
    assert (userlist.namespace, userlist.name, userlist.type, userlist.ip, userlist.port) == (
        "song",
        "userlist-svc",
        "ClusterIP",
        "10.96.137.109",
        80,
    )
    assert [(b.ip, b.state, b.preferred) for b in userlist.backends] == [
        ("10.1.0.1", "active", True),
        ("10.2.0.1", "active", False),
        ("10.1.0.9", "terminating", True),
    ]
    assert userlist.backends[0].node == "node1"
    assert frontends[1].backends[0].ip == "172.18.0.3"


def test_json_not_a_list() -> None:
    assert parse_service_list_json({"oops": 1}) == ()


def test_the_backends_of_one_service_over_all_its_frontends() -> None:
    """What the Backends pane compares (the one parser, tui.views.backends uses it)."""
    listed = backends_of(JSON, KEY)
    assert listed is not None
    assert [(b.ip, b.port, b.state, b.preferred) for b in listed] == [
        ("10.1.0.1", 8181, "active", True),
        ("10.2.0.1", 8181, "active", False),
        ("10.1.0.9", 8181, "terminating", True),
    ]
    twice = [JSON[0], {**JSON[0], "spec": {**JSON[0]["spec"], "id": 99}}]  # a second frontend, same backends
    assert backends_of(twice, KEY) == listed
    assert backends_of(JSON, ("song", "other")) == []
    assert backends_of(None, KEY) is None


def test_text_clustermesh_affinity_form() -> None:
    frontends = parse_service_list_text(TEXT)
    assert [(f.id, f.ip, f.port, f.type) for f in frontends] == [
        (1, "10.96.0.1", 443, "ClusterIP"),
        (11, "10.96.137.109", 80, "ClusterIP"),
        (12, "fd00::10", 80, "ClusterIP"),
    ]
    assert [(b.ip, b.port, b.state, b.preferred) for b in frontends[1].backends] == [
        ("10.1.0.1", 8181, "active", True),
        ("10.2.0.1", 8181, "active", False),
        ("10.1.0.9", 8181, "terminating", True),
    ]
    assert frontends[2].backends[0].ip == "fd00::1:2"


def test_frontends_matched_by_name_or_address() -> None:
    svc = replace(service("cluster1", GLOBAL), cluster_ip="10.96.137.109", ports=(ServicePort(port=80),))
    assert [f.id for f in frontends_of(parse_service_list_json(JSON), svc)] == [11]
    assert [f.id for f in frontends_of(parse_service_list_text(TEXT), svc)] == [11]


def mesh() -> dict:
    return {
        "cluster1": service(
            "cluster1",
            LOCAL,
            backend("cluster1", 1),
            backend("cluster1", 9, ready=False, terminating=True, serving=True),
        ),
        "cluster2": service("cluster2", GLOBAL, backend("cluster2", 1)),
    }


def test_114_agent_agrees_when_preferred_marks_match() -> None:
    """1.14–1.17 agents list every backend and mark the affinity side (preferred)."""
    selection = select_backends(KEY, "cluster1", mesh(), "1.14.1")
    rows = compare_with_selection(selection, parse_service_list_text(TEXT)[1].backends)
    assert [(r.ip, r.cluster, r.agent_state, r.agrees) for r in rows] == [
        ("10.1.0.1", "cluster1", "active", True),
        ("10.2.0.1", "cluster2", "active", True),
        ("10.1.0.9", "cluster1", "terminating", True),
    ]


def test_114_agent_disagrees_on_preferred_mark() -> None:
    selection = select_backends(KEY, "cluster1", mesh(), "1.14.1")
    listed = [AgentBackend("10.1.0.1", 8181), AgentBackend("10.2.0.1", 8181, preferred=True)]
    rows = {r.ip: r for r in compare_with_selection(selection, listed)}
    assert not rows["10.1.0.1"].agrees
    assert rows["10.1.0.1"].note == "preferred mark differs from the affinity"
    assert rows["10.1.0.9"].note == "meshtui expects the agent to list it"


def test_118_agent_lists_only_selected_all_preferred() -> None:
    """1.18+: only the chosen side's backends are listed (terminating ones too: the datapath
    keeps them for the fallback), all marked preferred; the mark says nothing (#43681,
    pkg/loadbalancer/frontend.go)."""
    selection = select_backends(KEY, "cluster1", mesh(), "1.18.0")
    listed = [
        AgentBackend("10.1.0.1", 8181, preferred=True),
        AgentBackend("10.1.0.9", 8181, "terminating", True),
    ]
    rows = compare_with_selection(selection, listed)
    assert all(r.agrees for r in rows), rows
    wrong = compare_with_selection(selection, [AgentBackend("10.2.0.1", 8181, preferred=True)])
    by_ip = {r.ip: r for r in wrong}
    assert not by_ip["10.2.0.1"].agrees
    assert by_ip["10.2.0.1"].note.startswith("agent lists it, meshtui expects its side not chosen")
    assert not by_ip["10.1.0.1"].agrees and by_ip["10.1.0.1"].agent_state is None


@pytest.mark.parametrize("version", ["1.14.1", "1.18.0"])
def test_unknown_ip_is_mapped_by_caller_or_flagged(version: str) -> None:
    """No cluster id per backend: IPs are mapped to clusters by meshtui itself."""
    selection = select_backends(KEY, "cluster1", mesh(), version)
    (row,) = [
        r
        for r in compare_with_selection(selection, [AgentBackend("10.7.0.1", 80)], {"10.7.0.1": "cluster7"})
        if r.ip == "10.7.0.1"
    ]
    assert row.cluster == "cluster7"
    assert not row.agrees
    assert row.expected_selected is None
