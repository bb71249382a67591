"""When the app reads an agent's ``cilium service list``, and what the Backends pane says about
it — the rules of tui/appcore/agentlists.py with a fake clock, no Textual, no cluster."""

from __future__ import annotations

import dataclasses

import pytest
from meshmodels import SEED_TIME, replace_cluster, seed_snapshot

from tui.appcore.agentlists import (
    AGENT_MIN_INTERVAL,
    AGENT_REREAD,
    AGENT_RETRIES,
    OUTDATED,
    SETTLE_WINDOW,
    SETTLING,
    AgentLists,
    read_agent_list,
    want_of,
)
from tui.appcore.keys import AGENT_AUTO_MAX_SERVICES
from tui.mesh.model import MeshSnapshot, Service, frozen_map

KEY = ("song", "userlist-svc")
ENTRIES = [{"spec": {"flags": {"name": "userlist-svc", "namespace": "song"}}}]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def lists() -> tuple[AgentLists, Clock]:
    clock = Clock()
    return AgentLists(clock=clock), clock


def never_differs(_context: str, _key: object) -> bool:
    return False


def read(agents: AgentLists, snapshot: MeshSnapshot, entries: object = ENTRIES, error: str = "") -> bool:
    """Plan, then finish a read the way the app does; whether the pane would redraw."""
    plan = agents.plan(snapshot, "bastion02", KEY, differs=never_differs)
    assert plan.kind == "read" and plan.context == "bastion02"
    agents.begin("bastion02")
    outdated = agents.outdated("bastion02", snapshot, KEY)
    return agents.finish("bastion02", plan.want, entries, error, stamp=SEED_TIME, outdated=outdated)  # type: ignore[arg-type]


def changed(snapshot: MeshSnapshot) -> MeshSnapshot:
    """The selected service replaced in bastion03 (a watch event)."""
    state = snapshot.clusters[1]
    service = dataclasses.replace(state.services[KEY], labels=frozen_map({"tick": "1"}))
    return replace_cluster(snapshot, dataclasses.replace(state, services=frozen_map({KEY: service})))


def test_first_read_then_nothing_until_the_service_changes_or_the_answer_is_old() -> None:
    agents, clock = lists()
    snapshot = seed_snapshot()
    assert read(agents, snapshot) is True  # a first answer is drawn
    assert agents.entries("bastion02") == ENTRIES and agents.read_at("bastion02") == SEED_TIME
    assert agents.plan(snapshot, "bastion02", KEY, differs=never_differs).kind == "none"
    # the service changed: read again, but not sooner than AGENT_MIN_INTERVAL after the last
    later = changed(snapshot)
    clock.now += 0.5
    plan = agents.plan(later, "bastion02", KEY, differs=never_differs)
    assert plan.kind == "later" and plan.delay == pytest.approx(AGENT_MIN_INTERVAL - 0.5)
    assert agents.outdated("bastion02", later, KEY)  # "before the last change: re-reading"
    clock.now += AGENT_MIN_INTERVAL
    assert agents.plan(later, "bastion02", KEY, differs=never_differs).kind == "read"
    # the same service, an answer older than AGENT_REREAD: read again
    agents2, clock2 = lists()
    read(agents2, snapshot)
    clock2.now += AGENT_REREAD + 0.1
    assert agents2.plan(snapshot, "bastion02", KEY, differs=never_differs).kind == "read"


def test_an_answer_that_still_differs_is_read_again_a_few_times() -> None:
    agents, clock = lists()
    snapshot = seed_snapshot()
    read(agents, snapshot)
    kinds = []
    for _ in range(AGENT_RETRIES + 2):
        clock.now += AGENT_MIN_INTERVAL + 0.01
        plan = agents.plan(snapshot, "bastion02", KEY, differs=lambda c, k: True)
        kinds.append(plan.kind)
        if plan.kind == "read":
            agents.finish("bastion02", plan.want, ENTRIES, "", stamp=SEED_TIME, outdated=False)  # type: ignore[arg-type]
    assert kinds == ["read"] * AGENT_RETRIES + ["none", "none"]


def test_a_difference_right_after_a_change_is_the_agents_sync_delay_until_the_retries_end() -> None:
    """After a write the agents take their sync delay: a list read for the new objects that
    still differs is "still syncing" (a warning) while retries come, an error only after."""
    agents, clock = lists()
    snapshot = seed_snapshot()
    read(agents, snapshot)
    later = changed(snapshot)
    assert agents.lag("bastion02", later, KEY, differs=True) == OUTDATED
    clock.now += AGENT_MIN_INTERVAL
    read(agents, later)  # the first answer for the changed service
    assert agents.lag("bastion02", later, KEY, differs=False) == ""  # agrees: nothing to explain
    assert agents.lag("bastion02", later, KEY, differs=True) == SETTLING
    for _ in range(AGENT_RETRIES):
        clock.now += AGENT_MIN_INTERVAL + 0.01
        plan = agents.plan(later, "bastion02", KEY, differs=lambda c, k: True)
        assert plan.kind == "read"
        agents.finish("bastion02", plan.want, ENTRIES, "", stamp=SEED_TIME, outdated=False)  # type: ignore[arg-type]
    # the retries are spent: a difference now is a disagreement
    assert agents.lag("bastion02", later, KEY, differs=True) == ""
    # and without retries, the window alone ends it
    agents2, clock2 = lists()
    read(agents2, snapshot)
    assert agents2.lag("bastion02", snapshot, KEY, differs=True) == SETTLING
    clock2.now += SETTLE_WINDOW + 0.1
    assert agents2.lag("bastion02", snapshot, KEY, differs=True) == ""


def test_the_same_answer_is_not_redrawn_a_new_one_or_a_failure_is() -> None:
    agents, _clock = lists()
    snapshot = seed_snapshot()
    assert read(agents, snapshot) is True
    plan = agents.plan(snapshot, "bastion02", KEY, differs=never_differs, force=True)
    assert agents.finish("bastion02", plan.want, ENTRIES, "", stamp=SEED_TIME + 5, outdated=False) is False  # type: ignore[arg-type]
    plan = agents.plan(snapshot, "bastion02", KEY, differs=never_differs, force=True)
    assert agents.finish("bastion02", plan.want, None, "exec: timeout", stamp=SEED_TIME, outdated=False)
    assert agents.note("bastion02", snapshot.by_context("bastion02")) == (
        "could not read cilium service list: exec: timeout"
    )


def test_only_ok_clusters_and_small_ones_are_read_by_themselves() -> None:
    agents, _clock = lists()
    snapshot = seed_snapshot()
    stale = dataclasses.replace(snapshot.clusters[0], phase="stale", since=SEED_TIME)
    assert (
        agents.plan(replace_cluster(snapshot, stale), "bastion02", KEY, differs=never_differs).kind == "none"
    )
    assert agents.plan(snapshot, None, KEY, differs=never_differs).kind == "none"
    assert agents.plan(snapshot, "bastion02", None, differs=never_differs).kind == "none"
    state = snapshot.clusters[0]
    many = {("ns", f"s{i}"): Service("ns", f"s{i}") for i in range(AGENT_AUTO_MAX_SERVICES + 1)}
    big = replace_cluster(
        snapshot, dataclasses.replace(state, services=frozen_map({**state.services, **many}))
    )
    assert agents.plan(big, "bastion02", KEY, differs=never_differs).kind == "none"
    count = len(big.clusters[0].services)
    assert count > AGENT_AUTO_MAX_SERVICES
    assert agents.note("bastion02", big.by_context("bastion02")) == (
        f"not read automatically at {count:,} services: r reads cilium service list"
    )
    assert agents.plan(big, "bastion02", KEY, differs=never_differs, force=True).kind == "read"  # r
    agents.begin("bastion02")
    assert agents.note("bastion02", big.by_context("bastion02")) == "reading cilium service list…"


def test_what_a_read_is_of_follows_the_service_objects() -> None:
    snapshot = seed_snapshot()
    assert want_of(snapshot, KEY) == want_of(dataclasses.replace(snapshot, generation=9), KEY)
    assert want_of(changed(snapshot), KEY) != want_of(snapshot, KEY)


async def test_a_read_says_why_it_failed() -> None:
    class Reader:
        def __init__(self, answer: object) -> None:
            self.answer = answer

        async def agent_service_list(self, context: str) -> object:
            if isinstance(self.answer, Exception):
                raise self.answer
            return self.answer

    assert await read_agent_list(Reader(ENTRIES), "c") == (ENTRIES, "")  # type: ignore[arg-type]
    assert await read_agent_list(Reader(None), "c") == (None, "no answer")  # type: ignore[arg-type]
    assert await read_agent_list(Reader(OSError("refused")), "c") == (None, "OSError: refused")  # type: ignore[arg-type]
