"""One failing cluster never stops the others; every kind of failure is a clear message, no token."""

from __future__ import annotations

from typing import Any

from headlesshelp import Cli, add_dead_context

from tui.sim.mesh import SimThread


def test_an_unreachable_cluster_is_an_error_finding_in_status(cli: Cli, seed_sim: SimThread) -> None:
    kubeconfig = cli.kubeconfig_variant(seed_sim, "dead.yaml", add_dead_context)
    result = cli("status", "-o", "json", kubeconfig=kubeconfig)
    assert result.code == 1, result.err
    doc = result.json()
    states = {c["context"]: c["state"] for c in doc["clusters"]}
    assert states == {"bastion02": "ok", "bastion03": "ok", "dead": "unreachable: connection refused"}
    dead = next(c for c in doc["clusters"] if c["context"] == "dead")
    assert dead["cluster"] is None and dead["mesh"]["remotes"] == []
    finding = doc["findings"][0]
    assert (finding["severity"], finding["check"]) == ("error", "cluster-unreadable")
    assert finding["message"].startswith("dead: unreachable: connection refused")
    assert "kubectl get --raw /readyz --context dead" in finding["fix"]
    # The reachable clusters were still judged: their mesh is intact.
    ok = next(c for c in doc["clusters"] if c["context"] == "bastion02")
    assert ok["mesh"]["remotes"][0]["connected"] == 1


def test_services_and_backends_answer_for_the_reachable_clusters(cli: Cli, seed_sim: SimThread) -> None:
    kubeconfig = cli.kubeconfig_variant(seed_sim, "dead.yaml", add_dead_context)
    services = cli("services", "-o", "json", kubeconfig=kubeconfig)
    assert services.code == 0
    [row] = services.json()["services"]
    assert row["clusters"]["dead"] == {
        "present": None,
        "global": None,
        "shared": None,
        "affinity": None,
        "ready_endpoints": None,
        "state": "unreachable",
    }
    assert row["clusters"]["cluster1"]["present"] is True
    assert "dead: unreachable" in row["warnings"]
    assert "warning: dead: unreachable: connection refused" in services.err
    backends = cli("backends", "song/userlist-svc", "-o", "json", kubeconfig=kubeconfig)
    assert backends.code == 0
    views = {v["context"]: v for v in backends.json()["views"]}
    assert views["dead"]["backends"] == [] and "unreachable" in views["dead"]["note"]
    assert views["bastion02"]["unknown"] == [{"cluster": "dead", "state": "unreachable"}]
    assert len(views["bastion02"]["backends"]) == 2
    refused = cli("backends", "song/userlist-svc", "--from", "dead", kubeconfig=kubeconfig)
    assert refused.code == 2 and "--from dead: unreachable: connection refused" in refused.err


def test_no_reachable_cluster_is_a_connection_error(cli: Cli, seed_sim: SimThread) -> None:
    kubeconfig = cli.kubeconfig_variant(seed_sim, "dead.yaml", add_dead_context)
    result = cli("status", "--context", "dead", kubeconfig=kubeconfig)
    assert result.code == 2
    assert "no cluster could be read: dead: unreachable: connection refused" in result.err
    assert result.out == ""


def test_broken_context_entry_and_wrong_token(cli: Cli, seed_sim: SimThread) -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["contexts"].append({"name": "orphan", "context": {"cluster": "gone", "user": "nobody"}})
        doc["users"][1]["user"]["token"] = "wrong-token-0123456789abcdef"

    kubeconfig = cli.kubeconfig_variant(seed_sim, "broken.yaml", edit)
    cli.secrets.add("wrong-token-0123456789abcdef")
    result = cli("status", "-o", "json", "-v", kubeconfig=kubeconfig)  # -v: logs must be redacted too
    assert result.code == 1
    states = {c["context"]: c["state"] for c in result.json()["clusters"]}
    assert states["bastion02"] == "ok"
    assert states["orphan"] == "error: context 'orphan': cluster 'gone' not found in the kubeconfig"
    assert "unauthorized" in states["bastion03"] or "401" in states["bastion03"]
    checks = [(f["check"], f["clusters"]) for f in result.json()["findings"] if f["severity"] == "error"]
    assert ("cluster-unreadable", ["orphan"]) in checks
    assert "tui.kube" in result.err  # the verbose log was written (and scanned for tokens)


def test_a_cluster_not_synced_in_time_is_reported_not_awaited(cli: Cli, sim: SimThread) -> None:
    import time

    assert sim.mesh is not None
    sim.call(sim.mesh.faults.api_slow, "cluster2", 30.0)
    started = time.monotonic()
    result = cli("status", "--timeout", "1", "-o", "json", kubeconfig=sim.kubeconfig_path)
    elapsed = time.monotonic() - started
    assert result.code == 1
    assert elapsed < 10, f"took {elapsed:.1f} s"
    doc = result.json()
    states = {c["context"]: c["state"] for c in doc["clusters"]}
    assert states == {"bastion02": "ok", "bastion03": "syncing"}
    finding = doc["findings"][0]
    assert finding["check"] == "cluster-unreadable"
    assert finding["message"].startswith("bastion03: not synced within 1 s")
