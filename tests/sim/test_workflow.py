"""The field guide's workflow (the-workflow.md) replayed against the simulator with real kubectl.

Every step goes through the API server and ``kubectl exec`` only: the curl loop runs in the
curltest pod, answers are mapped to clusters by curling each userlist pod directly, and the
Cilium views come from ``kubectl exec ds/cilium -- cilium ...``. Distributions are asserted over
a bounded number of requests with the simulator's fixed seed, with margins that cannot flake.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from agentoutput import parse_service_list_text

from tui.mesh.model import AgentStatus
from tui.mesh.status import clustermesh_status
from tui.sim.mesh import SimThread
from tui.sim.meshtesting import Answers, agent_exec, by_cluster, curl_loop, mesh_sim, userlist_owners
from tui.sim.testing import Kubectl

SEED = {"bastion02": "cluster1", "bastion03": "cluster2"}
URL = "userlist-svc.song.svc:80/users/1"


@pytest.fixture
def seed() -> Iterator[tuple[SimThread, Kubectl]]:
    sim = mesh_sim("seed")
    kubectl = Kubectl(sim.kubeconfig_path)
    try:
        yield sim, kubectl
    finally:
        kubectl.cleanup()
        sim.stop()


_answers: dict[int, Answers] = {}


def until(
    kubectl: Kubectl, context: str, check: Callable[[Counter[str]], bool], count: int = 20
) -> Counter[str]:
    """Run the curl loop until ``check`` holds for one whole run (at most 5 runs: a write
    reaches the agents a few ms after kubectl returns, a scaled pod needs a moment)."""
    answers = _answers.setdefault(id(kubectl), Answers(kubectl, SEED))
    seen: Counter[str] = Counter()
    for _ in range(5):
        seen = answers.count(context, URL, count)
        if check(seen):
            return seen
        time.sleep(0.1)
    raise AssertionError(f"never reached: {dict(seen)}")


def only(cluster: str, total: int = 20) -> Callable[[Counter[str]], bool]:
    """Every answer from ``cluster`` (20 in a row from one side by chance: p ≈ 2e-6)."""
    return lambda seen: seen == Counter({cluster: total})


def both(total: int = 40, least: int = 8) -> Callable[[Counter[str]], bool]:
    """Both clusters answer, neither fewer than ``least`` times (p < 1e-4 by chance at 50/50)."""
    return lambda seen: (
        sum(seen.values()) == total and seen["cluster1"] >= least and seen["cluster2"] >= least
    )


def annotate(kubectl: Kubectl, context: str, *assignment: str) -> None:
    result = kubectl(
        "annotate", "service", "userlist-svc", "-n", "song", *assignment, "--overwrite", context=context
    )
    assert result.returncode == 0, result.stderr


def scale(kubectl: Kubectl, context: str, replicas: int) -> None:
    result = kubectl("scale", "deploy/userlist", "-n", "song", f"--replicas={replicas}", context=context)
    assert result.returncode == 0, result.stderr


def test_steps_1_to_4_contexts_cilium_and_a_connected_mesh(seed: tuple[SimThread, Kubectl]) -> None:
    _sim, kubectl = seed
    contexts = kubectl("config", "get-contexts", "-o", "name")
    assert contexts.stdout.split() == ["bastion02", "bastion03"]
    for context, cluster in SEED.items():
        ds = json.loads(
            kubectl("get", "ds", "cilium", "-n", "kube-system", "-o", "json", context=context).stdout
        )
        assert ds["spec"]["template"]["spec"]["containers"][0]["image"] == "quay.io/cilium/cilium:v1.14.1"
        text = agent_exec(kubectl, context, "cilium", "status")
        assert text.returncode == 0 and "Cilium:" in text.stdout and "1.14.1" in text.stdout
        assert "ClusterMesh:" in text.stdout and "1/1 remote clusters ready, 1 global-services" in text.stdout
        svc = json.loads(
            kubectl(
                "get", "svc", "clustermesh-apiserver", "-n", "kube-system", "-o", "json", context=context
            ).stdout
        )
        assert svc["spec"]["type"] == "NodePort" and svc["spec"]["ports"][0]["nodePort"] == 32379
        pods = json.loads(
            kubectl(
                "get", "pods", "-n", "kube-system", "-l", "k8s-app=cilium", "-o", "json", context=context
            ).stdout
        )
        agents = []
        for pod in pods["items"]:
            result = kubectl(
                "exec", "-n", "kube-system", pod["metadata"]["name"], "-c", "cilium-agent", "--",
                "cilium", "status", "-o", "json", context=context,
            )  # fmt: skip
            assert result.returncode == 0, result.stderr
            agents.append(AgentStatus(pod=pod["metadata"]["name"], status=json.loads(result.stdout)))
        other = "cluster2" if cluster == "cluster1" else "cluster1"
        status = clustermesh_status(agents, [other], "1.14.1")
        assert status.lines == (
            "All 1 nodes are connected to all clusters [min:1 / avg:1.0 / max:1]",
            "Cluster Connections:",
            f"  - {other}: 1/1 configured, 1/1 connected",
            "Global services: [ min:1 / avg:1.0 / max:1 ]",
        )


def test_step_7_curl_loop_answers_from_both_then_the_other_cluster_only(
    seed: tuple[SimThread, Kubectl],
) -> None:
    _sim, kubectl = seed
    owners = userlist_owners(kubectl, SEED)
    assert sorted(owners.values()) == ["cluster1", "cluster2"]  # one pod each, distinct names
    for context in SEED:
        seen = by_cluster(curl_loop(kubectl, context, URL, 40), owners)
        assert both()(seen), seen
    scale(kubectl, "bastion02", 0)
    until(kubectl, "bastion02", only("cluster2"))
    until(kubectl, "bastion03", only("cluster2"))
    scale(kubectl, "bastion02", 1)
    until(kubectl, "bastion02", both(), count=40)


def test_step_8_affinity_with_the_1_14_rules(seed: tuple[SimThread, Kubectl]) -> None:
    _sim, kubectl = seed
    annotate(kubectl, "bastion02", "service.cilium.io/affinity=local")
    until(kubectl, "bastion02", only("cluster1"))
    listing = agent_exec(kubectl, "bastion02", "cilium", "service", "list", "--clustermesh-affinity")
    assert listing.returncode == 0
    frontend = next(f for f in parse_service_list_text(listing.stdout) if f.port == 80)
    marks = {b.ip.split(".")[1]: b.preferred for b in frontend.backends}
    assert marks == {"1": True, "2": False}  # 10.1.x is cluster1's pod: the local one is preferred
    annotate(kubectl, "bastion02", "service.cilium.io/affinity=remote")
    until(kubectl, "bastion02", only("cluster2"))
    annotate(kubectl, "bastion02", "service.cilium.io/affinity=none")
    until(kubectl, "bastion02", both(), count=40)
    # remote affinity with no remote backend falls back to the local ones
    annotate(kubectl, "bastion02", "service.cilium.io/affinity=remote")
    scale(kubectl, "bastion03", 0)
    until(kubectl, "bastion02", only("cluster1"))
    scale(kubectl, "bastion03", 1)
    annotate(kubectl, "bastion02", "service.cilium.io/affinity-")
    until(kubectl, "bastion02", both(), count=40)


def test_step_8_affinity_with_the_1_18_rules() -> None:
    sim = mesh_sim("mixed-versions")
    kubectl = Kubectl(sim.kubeconfig_path)
    try:
        # cluster2 runs 1.18.3: remote affinity uses cluster1's backends only
        annotate(kubectl, "bastion03", "service.cilium.io/affinity=remote")
        until(kubectl, "bastion03", only("cluster1"))
        listing = agent_exec(kubectl, "bastion03", "cilium", "service", "list", "--clustermesh-affinity")
        frontend = next(f for f in parse_service_list_text(listing.stdout) if f.port == 80)
        # a 1.18 agent lists only what it selected, every one marked preferred
        assert [(b.ip.split(".")[1], b.preferred) for b in frontend.backends] == [("1", True)]
        # cilium/cilium#46623: 1.18 reads the word 'none' as neither none nor local/remote, and
        # keeps the local backends only; removing the annotation is what means "no preference"
        annotate(kubectl, "bastion03", "service.cilium.io/affinity=none")
        until(kubectl, "bastion03", only("cluster2"))
        annotate(kubectl, "bastion03", "service.cilium.io/affinity-")
        until(kubectl, "bastion03", both(), count=40)
        annotate(kubectl, "bastion03", "service.cilium.io/affinity=local")
        until(kubectl, "bastion03", only("cluster2"))
        # local affinity with no local backend: the remote ones are used
        scale(kubectl, "bastion03", 0)
        until(kubectl, "bastion03", only("cluster1"))
        # ... but 'none' with no local backend is a blackhole on 1.18 (#46623): nothing answers
        annotate(kubectl, "bastion03", "service.cilium.io/affinity=none")
        time.sleep(0.1)
        dead = kubectl(
            "exec", "deploy/curltest", "-n", "song", "--", "curl", "-sS", "-m", "2", URL, context="bastion03"
        )
        assert dead.returncode == 7 and "Failed to connect" in dead.stderr, dead.stderr
        annotate(kubectl, "bastion03", "service.cilium.io/affinity-")
        until(kubectl, "bastion03", only("cluster1"))
    finally:
        kubectl.cleanup()
        sim.stop()


def test_step_9_shared_false_a_cut_link_and_a_missing_service(seed: tuple[SimThread, Kubectl]) -> None:
    sim, kubectl = seed
    # cluster2 stops exporting: cluster1 keeps to itself, cluster2 still uses both
    annotate(kubectl, "bastion03", "service.cilium.io/shared=false")
    until(kubectl, "bastion02", only("cluster1"))
    until(kubectl, "bastion03", both(), count=40)
    annotate(kubectl, "bastion03", "service.cilium.io/shared=true")
    until(kubectl, "bastion02", both(), count=40)
    # a cut link: the agents keep the lost remote's backends (never revoked, cilium/cilium#20729),
    # so some requests still go there and time out; only local backends answer, on both sides
    sim.call(sim.mesh.faults.link_down, "cluster1", "cluster2")
    time.sleep(0.05)
    answers = _answers.setdefault(id(kubectl), Answers(kubectl, SEED))
    for context, own in SEED.items():
        seen = answers.count(context, URL, 20, options="-sS -m 1 --connect-timeout 0.2")
        assert set(seen) == {own} and 0 < seen[own] < 20, seen
    sim.call(sim.mesh.faults.heal, "all")
    # the service exists in cluster1 only: cluster2's pods cannot resolve it at all
    deleted = kubectl("delete", "service", "userlist-svc", "-n", "song", context="bastion03")
    assert deleted.returncode == 0, deleted.stderr
    until(kubectl, "bastion02", only("cluster1"))
    missing = kubectl("exec", "deploy/curltest", "-n", "song", "--", "curl", "-sS", URL, context="bastion03")
    assert missing.returncode == 6 and "Could not resolve host: userlist-svc.song.svc" in missing.stderr


def test_rebel_base_demo() -> None:
    sim = mesh_sim("rebel-base")
    kubectl = Kubectl(sim.kubeconfig_path)
    try:
        lines = curl_loop(
            kubectl,
            "kind-cluster1",
            "rebel-base",
            40,
            namespace="default",
            target="deployment/x-wing",
            options="-s",
        )
        answers = Counter(lines)
        assert set(answers) == {
            '{"Galaxy": "Alderaan", "Cluster": "Cluster-1"}',
            '{"Galaxy": "Alderaan", "Cluster": "Cluster-2"}',
        }
        assert min(answers.values()) >= 8
    finally:
        kubectl.cleanup()
        sim.stop()
