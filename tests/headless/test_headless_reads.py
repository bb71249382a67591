"""``meshtui status|services|backends`` in-process against a seed simulator: shapes, values, exits."""

from __future__ import annotations

from typing import Any

import yaml
from headlesshelp import Cli

from tui.sim.mesh import SimThread

SEED = ("bastion02", "bastion03")


def test_status_json_on_the_seed(cli: Cli, seed_sim: SimThread) -> None:
    result = cli("status", "-o", "json", kubeconfig=seed_sim.kubeconfig_path)
    assert result.code == 0, result.err
    doc = result.json()
    assert set(doc) >= {"clusters", "findings"}
    assert [c["context"] for c in doc["clusters"]] == list(SEED)
    one, two = doc["clusters"]
    assert (one["cluster"], one["id"], one["cilium_version"], one["state"]) == ("cluster1", 1, "1.14.1", "ok")
    assert (two["cluster"], two["id"]) == ("cluster2", 2)
    mesh = one["mesh"]
    assert set(mesh) >= {"remotes", "min", "avg", "max"}
    assert (mesh["min"], mesh["avg"], mesh["max"]) == (1, 1.0, 1)
    [remote] = mesh["remotes"]
    assert set(remote) >= {"cluster", "configured", "connected", "error"}
    assert (remote["cluster"], remote["configured"], remote["connected"], remote["error"]) == (
        "cluster2",
        1,
        1,
        None,
    )
    assert two["mesh"]["remotes"][0]["cluster"] == "cluster1"
    # The seed's only findings: NodePort warnings, one per cluster, with their fixes.
    assert doc["findings"], "the seed has NodePort warnings"
    for finding in doc["findings"]:
        assert set(finding) == {"severity", "check", "clusters", "message", "fix"}
        assert finding["severity"] != "error"
    assert {f["check"] for f in doc["findings"]} == {"nodeport"}
    assert sorted(c for f in doc["findings"] for c in f["clusters"]) == ["cluster1", "cluster2"]
    assert result.err == ""


def test_status_yaml_is_the_same_data(cli: Cli, seed_sim: SimThread) -> None:
    as_json = cli("status", "-o", "json", kubeconfig=seed_sim.kubeconfig_path).json()
    as_yaml = cli("status", "-o", "yaml", kubeconfig=seed_sim.kubeconfig_path)
    assert as_yaml.code == 0
    assert yaml.safe_load(as_yaml.out) == as_json


def test_status_table_is_plain_text_off_a_terminal(cli: Cli, seed_sim: SimThread) -> None:
    result = cli("status", kubeconfig=seed_sim.kubeconfig_path)
    assert result.code == 0
    assert "\x1b[" not in result.out  # no colour when stdout is not a terminal
    lines = result.out.splitlines()
    row = next(line for line in lines if line.startswith("bastion02"))
    assert "cluster1" in row and "1.14.1" in row and "cluster2: 1/1 configured, 1/1 connected" in row
    assert "All 1 nodes are connected to all clusters [min:1 / avg:1.0 / max:1]" in result.out
    assert "Findings: 2 warnings" in result.out
    assert "fix: cilium clustermesh enable --context bastion02 --service-type LoadBalancer" in result.out


def test_status_of_one_context(cli: Cli, seed_sim: SimThread) -> None:
    result = cli("status", "--context", "bastion03", "-o", "json", kubeconfig=seed_sim.kubeconfig_path)
    assert result.code == 0
    assert [c["context"] for c in result.json()["clusters"]] == ["bastion03"]


def test_services_json_on_the_seed(cli: Cli, seed_sim: SimThread) -> None:
    result = cli("services", "-o", "json", kubeconfig=seed_sim.kubeconfig_path)
    assert result.code == 0, result.err
    [service] = result.json()["services"]
    assert (service["namespace"], service["name"]) == ("song", "userlist-svc")
    assert set(service["clusters"]) == {"cluster1", "cluster2"}
    for cell in service["clusters"].values():
        assert cell == {
            "present": True,
            "global": True,
            "shared": True,
            "affinity": None,  # no annotation: null, not the word "none" (README)
            "ready_endpoints": 1,
        }
    assert service["warnings"] == []


def test_services_namespace_filter_and_all(cli: Cli, seed_sim: SimThread) -> None:
    kubeconfig = seed_sim.kubeconfig_path
    assert cli("services", "-n", "song", "-o", "json", kubeconfig=kubeconfig).json()["services"]
    assert cli("services", "-n", "other", "-o", "json", kubeconfig=kubeconfig).json() == {"services": []}
    every = cli("services", "--all", "-o", "json", kubeconfig=kubeconfig).json()["services"]
    names = {(s["namespace"], s["name"]) for s in every}
    assert ("song", "userlist-svc") in names and ("default", "kubernetes") in names
    plain = next(s for s in every if s["name"] == "kubernetes")
    assert plain["clusters"]["cluster1"]["global"] is False
    table = cli("services", kubeconfig=kubeconfig)
    assert "song/userlist-svc" in table.out and "global shared (unset)  1 rdy" in table.out


def test_services_rejects_a_bad_namespace(cli: Cli, seed_sim: SimThread) -> None:
    result = cli("services", "-n", "Not_A_Name", kubeconfig=seed_sim.kubeconfig_path)
    assert result.code == 2
    assert "invalid namespace name 'Not_A_Name'" in result.err
    assert result.out == ""


def test_backends_json_from_every_cluster(cli: Cli, seed_sim: SimThread) -> None:
    result = cli("backends", "song/userlist-svc", "-o", "json", kubeconfig=seed_sim.kubeconfig_path)
    assert result.code == 0, result.err
    doc = result.json()
    assert doc["service"] == "song/userlist-svc"
    assert [v["context"] for v in doc["views"]] == list(SEED)
    for view, own in zip(doc["views"], ("cluster1", "cluster2"), strict=True):
        assert set(view) >= {
            "context",
            "cluster",
            "cilium_version",
            "affinity",
            "expected_share",
            "excluded",
            "backends",
            "agent_backends",
        }
        assert (view["cluster"], view["cilium_version"], view["affinity"]) == (own, "1.14.1", "none")
        assert view["expected_share"] == {"cluster1": 0.5, "cluster2": 0.5}
        assert view["excluded"] == []
        assert len(view["backends"]) == 2
        for backend in view["backends"]:
            assert set(backend) >= {"ip", "port", "cluster", "pod", "ready", "selected"}
            assert backend["port"] == 8181 and backend["ready"] and backend["selected"]
            assert backend["pod"].startswith("userlist-")
        assert {b["cluster"] for b in view["backends"]} == {"cluster1", "cluster2"}
        # The agent's own list was read and agrees with the computation.
        agent = view["agent_backends"]
        assert agent is not None and len(agent) == 2
        assert {(a["ip"], a["port"]) for a in agent} == {(b["ip"], b["port"]) for b in view["backends"]}


def test_backends_from_one_context_without_the_agent(cli: Cli, seed_sim: SimThread) -> None:
    result = cli(
        "backends",
        "song/userlist-svc",
        "--from",
        "bastion03",
        "--no-agent",
        "-o",
        "json",
        kubeconfig=seed_sim.kubeconfig_path,
    )
    assert result.code == 0
    [view] = result.json()["views"]
    assert view["context"] == "bastion03" and view["agent_backends"] is None
    table = cli("backends", "song/userlist-svc", "--from", "bastion02", kubeconfig=seed_sim.kubeconfig_path)
    assert "From bastion02 (cluster1, Cilium 1.14.1" in table.out
    assert "expected share: cluster1 50% · cluster2 50%" in table.out
    assert "From bastion03" not in table.out


def test_backends_usage_errors(cli: Cli, seed_sim: SimThread) -> None:
    kubeconfig = seed_sim.kubeconfig_path
    missing = cli("backends", "song/nope", kubeconfig=kubeconfig)
    assert missing.code == 2 and "service song/nope not found" in missing.err and missing.out == ""
    no_namespace = cli("backends", "userlist-svc", kubeconfig=kubeconfig)
    assert no_namespace.code == 2 and "NAMESPACE/NAME" in no_namespace.err
    shell = cli("backends", "song/x;rm -rf ~", kubeconfig=kubeconfig)
    assert shell.code == 2 and "DNS-1123" in shell.err
    viewer = cli("backends", "song/userlist-svc", "--from", "nowhere", kubeconfig=kubeconfig)
    assert viewer.code == 2 and "'nowhere'" in viewer.err


def test_unknown_context_is_a_usage_error(cli: Cli, seed_sim: SimThread) -> None:
    result = cli("status", "--context", "bastion09", kubeconfig=seed_sim.kubeconfig_path)
    assert result.code == 2
    assert (
        "context 'bastion09' not found in the kubeconfig (its contexts: bastion02, bastion03)" in result.err
    )
    assert result.out == ""
    # Also when it comes with a good one: a typo must not silently shrink the answer.
    mixed = cli(
        "services", "--context", "bastion02", "--context", "bastion09", kubeconfig=seed_sim.kubeconfig_path
    )
    assert mixed.code == 2 and "'bastion09'" in mixed.err


def test_context_before_the_command_counts_too(cli: Cli, seed_sim: SimThread) -> None:
    result = cli(
        "--context", "bastion02", "--kubeconfig", str(seed_sim.kubeconfig_path), "status", "-o", "json"
    )
    assert result.code == 0
    assert [c["context"] for c in result.json()["clusters"]] == ["bastion02"]


def test_broken_kubeconfig_files(cli: Cli, tmp_path) -> None:
    garbage = tmp_path / "garbage.yaml"
    garbage.write_text("clusters: [unclosed\n  token: abcdefsecret123456\n")
    result = cli("status", "--kubeconfig", str(garbage))
    assert result.code == 2 and "cannot parse kubeconfig" in result.err
    assert "abcdefsecret123456" not in result.err
    missing = cli("services", "--kubeconfig", str(tmp_path / "missing.yaml"))
    assert missing.code == 2 and "does not exist" in missing.err
    empty = tmp_path / "empty.yaml"
    empty.write_text("apiVersion: v1\nkind: Config\n")
    assert cli("status", "--kubeconfig", str(empty)).code == 2


def test_bad_option_values_exit_2(cli: Cli, seed_sim: SimThread) -> None:
    assert cli("status", "-o", "xml", kubeconfig=seed_sim.kubeconfig_path).code == 2
    assert cli("status", "--timeout", "-3", kubeconfig=seed_sim.kubeconfig_path).code == 2
    both = cli("status", "--demo", kubeconfig=seed_sim.kubeconfig_path)
    assert both.code == 2 and "--demo and --kubeconfig" in both.err


def test_unknown_scenario_is_a_usage_error(cli: Cli) -> None:
    result = cli("services", "--demo", "--scenario", "no-such-scenario")
    assert result.code == 2
    assert "--scenario" in result.err and result.out == ""


def test_reads_answer_from_lists_and_ask_each_agent_once(cli: Cli, seed_sim: SimThread) -> None:
    """``status``/``services``/``backends`` answer from one snapshot: every resource is listed
    and none watched (a watch each would be opened only to be closed), no cluster is probed
    or asked for access reviews (no write follows), and each agent's
    ``cilium status`` is read once: the read the command asks for joins the start-up round
    instead of a second round right after it."""
    seen: list[tuple[str, str]] = []

    async def record(request: Any) -> None:
        seen.append((request.path, request.query_string))

    assert seed_sim.mesh is not None
    clusters = list(seed_sim.mesh.clusters.values())
    seed_sim.call(lambda: [c.request_hooks.insert(0, record) for c in clusters])
    try:
        result = cli("services", "-o", "json", kubeconfig=seed_sim.kubeconfig_path)
    finally:
        seed_sim.call(lambda: [c.request_hooks.remove(record) for c in clusters])
    assert result.code == 0, result.err
    assert [q for _, q in seen if "watch=true" in q] == []
    assert [p for p, _ in seen if p == "/version" or "accessreview" in p] == []  # no probe, no review
    lists = [p for p, q in seen if p.endswith("/services") and "watch" not in q]
    assert len(lists) == len(clusters)
    status_reads = [p for p, q in seen if p.endswith("/exec") and "command=status" in q]
    agents = set(status_reads)
    assert agents and len(status_reads) == len(agents), status_reads
