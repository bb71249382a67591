"""Every simulator fault while a headless command runs: an answer, the fault named, nothing left over.

The commands run in-process (``tui.cli.main``, as tests/headless does) on the simulator's
kubeconfig with the suite's short hub settings. For the API and mesh faults, ``status``,
``services`` and ``backends`` run while the fault is in force: each must answer (exit 0 or 1,
never a crash or a hang), name the faulty cluster and what is wrong, and show a change made in
the healthy cluster meanwhile; after the heal a fresh ``status`` must say every cluster is fine
and show the change made in the faulty cluster. ``meshtui curl`` runs while its client pod is
deleted, and while every watch expires. Every output is scanned for the kubeconfig's tokens
(``Cli`` does it after each run), and no watch, exec program or thread may be left afterwards.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from curlhelp import programs_running
from headlesshelp import Cli, Result, pod_names
from reliabilityhelp import (
    API_DOWN,
    API_ERRORS,
    API_SLOW,
    APISERVER_DOWN,
    LINK_DOWN,
    PERIOD,
    POD_DELETED,
    SHOWN_WITHIN,
    WATCH_EXPIRED,
    WHAT,
    FaultCase,
    Figure,
    delete_pod,
    record,
    seed_sim,
    set_affinity,
    set_fault,
    wait_nothing_left,
)
from testkit import until_blocking

from tui.sim.mesh import SimThread

NAME = {"bastion02": "cluster1", "bastion03": "cluster2"}
NOTE = "status+services+backends; recovery: a fresh status"


@pytest.fixture
def sim() -> Iterator[SimThread]:
    """The seed mesh; no thread the test started may outlive it."""
    with seed_sim() as running:
        yield running


def timed(cli: Cli, *args: str, kubeconfig: Path) -> tuple[Result, float]:
    started = time.monotonic()
    result = cli(*args, kubeconfig=kubeconfig)
    return result, time.monotonic() - started


def reads(cli: Cli, sim: SimThread) -> dict[str, tuple[Result, float]]:
    """``status``, ``services`` and ``backends`` as JSON, each timed."""
    kubeconfig = Path(sim.kubeconfig_path)
    return {
        "status": timed(cli, "status", "-o", "json", "--timeout", "5", kubeconfig=kubeconfig),
        "services": timed(cli, "services", "-o", "json", "--timeout", "5", kubeconfig=kubeconfig),
        "backends": timed(
            cli, "backends", "song/userlist-svc", "-o", "json", "--timeout", "5", kubeconfig=kubeconfig
        ),
    }


def by(items: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {item[key]: item for item in items}


def affinity_in(services: dict[str, Any], cluster: str) -> str | None:
    [row] = [r for r in services["services"] if (r["namespace"], r["name"]) == ("song", "userlist-svc")]
    return row["clusters"].get(cluster, {}).get("affinity")


def remote(status: dict[str, Any], context: str, cluster: str) -> dict[str, Any]:
    clusters = by(status["clusters"], "context")
    return by(clusters[context]["mesh"]["remotes"], "cluster")[cluster]


def api_fault_named(case: FaultCase, name: str, doc: dict[str, Any]) -> bool | None:
    """Does one command's answer name the faulty cluster and what is wrong (``None``: it says "ok")?

    A command that says nothing about the fault must say the cluster is fine: at 5xx 50 % a
    command whose every read got through (on a retry) is right to. Anything else fails.
    """
    ids = (case.faulty, NAME[case.faulty])
    what = WHAT[case.method]
    if name == "status":
        state = by(doc["clusters"], "context")[case.faulty]["state"]
        if state == "ok":
            return None
        assert state.startswith("unreachable: ") and what in state, state
        findings = [(f["severity"], f["check"], f["clusters"], f["message"]) for f in doc["findings"]]
        assert any(
            f[:2] == ("error", "cluster-unreadable") and f[2] in ([c] for c in ids) and what in f[3]
            for f in findings
        ), findings
        return True
    if name == "services":
        [row] = doc["services"]
        # Keyed by the Cilium name once read (5xx at 50 %: some reads got through), else the context.
        key = case.faulty if case.faulty in row["clusters"] else NAME[case.faulty]
        if row["clusters"][key].get("state") is None and row["clusters"][key]["present"]:
            return None
        assert row["clusters"][key]["state"] == "unreachable", row
        assert f"{key}: unreachable" in row["warnings"], row
        return True
    views = by(doc["views"], "context")
    if not views[case.healthy]["unknown"] and views[case.faulty]["note"] is None:
        return None
    assert what in (views[case.faulty]["note"] or ""), views[case.faulty]
    [unknown] = views[case.healthy]["unknown"]
    assert unknown in ({"cluster": c, "state": "unreachable"} for c in ids), unknown
    return True


def check_fault_shown(case: FaultCase, answers: dict[str, Any]) -> None:
    """The commands name the faulty cluster and what is wrong with it."""
    status, services, backends = answers["status"], answers["services"], answers["backends"]
    findings = [(f["severity"], f["check"], f["clusters"], f["message"]) for f in status["findings"]]
    if case.api:
        named = {name: api_fault_named(case, name, doc) for name, doc in answers.items()}
        if case.method == "api_errors":  # half the reads fail: at least one command meets one
            assert any(named.values()), named
        else:
            assert all(named.values()), named
        return
    link = remote(status, "bastion02", "cluster2")
    assert link["connected"] == 0, link
    why = "context deadline exceeded" if case.method == "link_down" else "connection refused"
    assert why in (link["error"] or ""), link
    assert any(f[0] == "error" and "cluster2" in f[2] for f in findings), findings
    if case.method == "apiserver_down":
        access = by(status["clusters"], "context")["bastion03"]["access"]
        assert access["apiserver_ready"] is False, access
    [row] = services["services"]
    # cilium/cilium#20729: a lost remote's backends stay in use (cached), and say so
    assert any(
        w.startswith("cluster1: cluster2 unreachable since ")
        and w.endswith("its cached backends are still used")
        for w in row["warnings"]
    ), row
    view = by(backends["views"], "context")["bastion02"]
    assert all(e["cluster"] != "cluster2" for e in view["excluded"]), view
    assert any(text.startswith("cluster2 unreachable since ") for text in view["lost_remotes"]), view
    assert any(b["cluster"] == "cluster2" and "cached" in b["why"] for b in view["backends"]), view


def healed(cli: Cli, sim: SimThread, case: FaultCase, value: str) -> bool:
    """A fresh ``status`` and ``services`` say every cluster is fine and show the faulty one's change."""
    kubeconfig = Path(sim.kubeconfig_path)
    status = cli("status", "-o", "json", "--timeout", "5", kubeconfig=kubeconfig)
    if status.code != 0:
        return False
    doc = status.json()
    if any(c["state"] != "ok" for c in doc["clusters"]):
        return False
    if any(r["connected"] != r["configured"] for c in doc["clusters"] for r in c["mesh"]["remotes"]):
        return False
    services = cli("services", "-o", "json", "--timeout", "5", kubeconfig=kubeconfig)
    return services.code == 0 and affinity_in(services.json(), NAME[case.faulty]) == value


def test_every_fault_while_headless_commands_run(cli: Cli, sim: SimThread) -> None:
    baseline = reads(cli, sim)
    assert [r.code for r, _ in baseline.values()] == [0, 0, 0], [r.err for r, _ in baseline.values()]
    healthy_run = max(t for _, t in baseline.values())
    cases = [API_DOWN, API_SLOW, API_ERRORS, LINK_DOWN, APISERVER_DOWN]
    for case, value in zip(cases, ["local", "remote", "local", "remote", "local"], strict=True):
        started = time.monotonic()
        fault_id = set_fault(sim, case.method, *case.args)
        set_affinity(sim, case.healthy, value)
        set_affinity(sim, case.faulty, value)
        answers = reads(cli, sim)
        shown_in = time.monotonic() - started
        survived = all(result.code in (0, 1) for result, _ in answers.values())
        for name, (result, took) in answers.items():
            assert result.code in (0, 1), f"{case.label}: {name} exit {result.code}: {result.err}"
            assert took <= SHOWN_WITHIN, f"{case.label}: {name} took {took:.1f} s"
        docs = {name: result.json() for name, (result, _) in answers.items()}
        check_fault_shown(case, docs)
        # The healthy cluster's change made during the fault is in the answer.
        assert affinity_in(docs["services"], NAME[case.healthy]) == value
        set_fault(sim, "heal", fault_id)
        healed_at = time.monotonic()
        deadline = healed_at + PERIOD + SHOWN_WITHIN
        while not healed(cli, sim, case, value):
            assert time.monotonic() < deadline, f"{case.label}: not recovered after the heal"
            time.sleep(0.05)
        recovered_in = time.monotonic() - healed_at
        record(Figure(case.label, "headless", survived, shown_in, recovered_in, NOTE))
        assert shown_in <= SHOWN_WITHIN
        # A fresh command has no backoff to wait out: its own run time, at most a period more.
        assert recovered_in <= PERIOD + 2 * healthy_run, f"{case.label}: {recovered_in:.2f} s"
    wait_nothing_left(sim)


class Background:
    """One in-process command on a thread (the test deletes pods or expires watches meanwhile)."""

    def __init__(self, cli: Cli, *args: str, kubeconfig: Path) -> None:
        self.result: Result | None = None
        self.thread = threading.Thread(target=self._run, args=(cli, args, kubeconfig), name="headless")

    def _run(self, cli: Cli, args: tuple[str, ...], kubeconfig: Path) -> None:
        self.result = cli(*args, kubeconfig=kubeconfig)

    def __enter__(self) -> Background:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.thread.join(60)
        assert not self.thread.is_alive(), "the command did not end"

    def wait_running(self, sim: SimThread, timeout: float = 15.0) -> None:
        """Until the curl loop runs in its pod."""

        def running() -> bool:
            assert self.thread.is_alive(), self.result
            return programs_running(sim) >= 1

        until_blocking(running, timeout, describe=lambda: "the curl loop did not start")


CURL = ("curl", "song/userlist-svc", "--from", "bastion02", "--interval", "0.05", "-o", "json")


def test_curl_survives_its_client_pod_being_deleted(cli: Cli, sim: SimThread) -> None:
    kubeconfig = Path(sim.kubeconfig_path)
    [first] = pod_names(sim, "bastion02", "song", "curltest")
    with Background(cli, *CURL, "--count", "40", kubeconfig=kubeconfig) as command:
        command.wait_running(sim)
        time.sleep(0.3)  # a few answers from the first pod
        deleted_at = time.time()
        delete_pod(sim, "bastion02", first)
        set_affinity(sim, "bastion03", "remote")  # the other cluster changes meanwhile
    result = command.result
    assert result is not None and result.code == 0, result and result.err
    doc = result.json()
    assert doc["requests"] == 40 and doc["complete"] is True and doc["errors"] == {}
    reattached = [e for e in doc["events"] if e["kind"] == "reattached"]
    assert reattached, doc["events"]
    second = reattached[0]["text"].removeprefix("reattached to ")
    assert second != first and second.startswith("curltest-")
    assert reattached[0]["context"] == "bastion02"
    shown_in = reattached[0]["at"] - deleted_at
    after = [a["at"] for a in doc["answers"] if a["client_pod"] == second]
    assert after, "no answer from the new client pod"
    recovered_in = min(after) - deleted_at
    # Both clusters kept answering, and the other cluster's change did not disturb the loop.
    assert set(doc["by_cluster"]) == {"cluster1", "cluster2"}
    assert any(a["client_pod"] == first for a in doc["answers"])
    ok = result.code == 0
    record(Figure(POD_DELETED, "headless", ok, shown_in, recovered_in, "meshtui curl, 40 requests"))
    assert 0 <= shown_in <= SHOWN_WITHIN
    assert recovered_in <= PERIOD, f"{recovered_in:.2f} s"
    wait_nothing_left(sim)


def test_curl_keeps_answering_when_every_watch_expires(cli: Cli, sim: SimThread) -> None:
    kubeconfig = Path(sim.kubeconfig_path)
    with Background(cli, *CURL, "--count", "30", kubeconfig=kubeconfig) as command:
        command.wait_running(sim)
        time.sleep(0.2)
        expired_at = time.time()
        for context in ("cluster1", "cluster2"):
            set_fault(sim, WATCH_EXPIRED.method, context)
    result = command.result
    assert result is not None and result.code == 0, result and result.err
    doc = result.json()
    assert doc["requests"] == 30 and doc["complete"] is True and doc["errors"] == {}
    later = [a["at"] for a in doc["answers"] if a["at"] > expired_at]
    assert later, "no answer after the watches expired"
    gap = min(later) - expired_at
    record(Figure(WATCH_EXPIRED.label, "headless", result.code == 0, None, gap, "meshtui curl; next answer"))
    assert gap <= PERIOD
    # And a read right after: both clusters fine, nothing stale.
    status = cli("status", "-o", "json", kubeconfig=kubeconfig)
    assert status.code == 0 and {c["state"] for c in status.json()["clusters"]} == {"ok"}
    wait_nothing_left(sim)
