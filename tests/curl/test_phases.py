"""Phases of a curl run (tui.curl.phases): cut at a change of expected share or backends only."""

from __future__ import annotations

from tui.curl.phases import Phases


def test_a_phase_starts_only_when_the_expectation_or_the_backends_change() -> None:
    phases = Phases()
    first = phases.observe(10.0, {"cluster1": 0.5, "cluster2": 0.5}, "", {"cluster1": 1, "cluster2": 1})
    assert first is not None and first.change == ""
    # The same again (another snapshot, nothing the rules see changed): no new phase.
    assert (
        phases.observe(11.0, {"cluster2": 0.5, "cluster1": 0.5000001}, "", {"cluster1": 1, "cluster2": 1})
        is None
    )
    local = phases.observe(12.0, {"cluster1": 0.0, "cluster2": 1.0}, "", {"cluster1": 1, "cluster2": 1})
    assert local is not None and local.change == "expected cluster1 50% cluster2 50% → cluster2 100%"
    scaled = phases.observe(13.0, {"cluster2": 1.0}, "", {"cluster1": 1, "cluster2": 2})
    assert scaled is not None and scaled.change == "backends cluster1 1 cluster2 1 → cluster1 1 cluster2 2"
    gone = phases.observe(14.0, {}, "no backend", {})
    assert gone is not None and gone.note == "no backend" and "→ none" in gone.change
    assert [phases.index_at(t) for t in (0.0, 10.0, 11.9, 12.0, 13.5, 99.0)] == [0, 0, 0, 1, 2, 3]


def test_phases_are_bounded() -> None:
    phases = Phases(limit=3)
    for i in range(10):
        phases.observe(float(i), {"cluster1": 1.0}, "", {"cluster1": i + 1})
    assert len(phases) == 3 and phases.dropped == 7
    assert [p.since for p in phases.items] == [7.0, 8.0, 9.0]
    assert phases.index_at(0.0) == 0
