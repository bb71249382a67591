"""``meshtui affinity|global|shared|scale`` in-process: the simulator changes only when it should."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from headlesshelp import Cli, add_dead_context, annotation, replicas

from tui.headless import writes
from tui.sim.mesh import SimThread

AFFINITY = "service.cilium.io/affinity"
SVC = ("song", "userlist-svc")


def affinity_of(sim: SimThread, context: str) -> str | None:
    return annotation(sim, context, *SVC, AFFINITY)


def test_affinity_with_yes_changes_the_cluster(cli: Cli, sim: SimThread) -> None:
    result = cli(
        "affinity", "song/userlist-svc", "local", "--context", "bastion02", "--yes", "-o", "json",
        kubeconfig=sim.kubeconfig_path,
    )  # fmt: skip
    assert result.code == 0, result.err
    [entry] = result.json()["results"]
    assert entry == {
        "context": "bastion02",
        "cluster": "cluster1",
        "target": "service song/userlist-svc",
        "change": f"{AFFINITY}: (unset) → local",
        "kubectl": (
            f"kubectl --context bastion02 -n song annotate service userlist-svc {AFFINITY}=local --overwrite"
        ),
        "ok": True,
        "changed": True,
        "message": f"service song/userlist-svc: {AFFINITY} is now local",
        "status": None,
        "visible": True,
        "warning": None,
    }
    assert affinity_of(sim, "bastion02") == "local"
    assert affinity_of(sim, "bastion03") is None  # only the named context
    # Again: nothing to change, still success.
    again = cli(
        "affinity",
        "song/userlist-svc",
        "local",
        "--context",
        "bastion02",
        "-y",
        kubeconfig=sim.kubeconfig_path,
    )
    assert again.code == 0
    assert (
        f"= bastion02 song/userlist-svc {AFFINITY}: local → local: {AFFINITY} is already local" in again.out
    )
    removed = cli(
        "affinity",
        "song/userlist-svc",
        "remove",
        "--context",
        "bastion02",
        "-y",
        kubeconfig=sim.kubeconfig_path,
    )
    assert removed.code == 0
    assert f"✓ bastion02 song/userlist-svc {AFFINITY}: local → (removed)" in removed.out
    assert affinity_of(sim, "bastion02") is None


def test_global_and_shared_write_true_and_false(cli: Cli, sim: SimThread) -> None:
    kubeconfig = sim.kubeconfig_path
    off = cli(
        "shared",
        "song/userlist-svc",
        "off",
        "--context",
        "bastion03",
        "-y",
        "-o",
        "json",
        kubeconfig=kubeconfig,
    )
    assert off.code == 0
    assert (
        off.json()["results"][0]["warning"]
        == "cluster2's backends will no longer be used by the other clusters"
    )
    assert annotation(sim, "bastion03", *SVC, "service.cilium.io/shared") == "false"
    assert (
        cli("global", "song/userlist-svc", "off", "--context", "bastion02", "-y", kubeconfig=kubeconfig).code
        == 0
    )
    assert annotation(sim, "bastion02", *SVC, "service.cilium.io/global") == "false"
    on = cli("global", "song/userlist-svc", "on", "--context", "bastion02", "-y", kubeconfig=kubeconfig)
    assert on.code == 0 and "service.cilium.io/global: false → true" in on.out
    assert annotation(sim, "bastion02", *SVC, "service.cilium.io/global") == "true"
    # The services matrix shows what was written.
    matrix = cli("services", "-o", "json", kubeconfig=kubeconfig).json()["services"][0]["clusters"]
    assert matrix["cluster2"]["shared"] is False and matrix["cluster1"]["shared"] is True


def test_scale_several_contexts_at_once(cli: Cli, sim: SimThread) -> None:
    result = cli(
        "scale", "song/userlist", "0", "--context", "bastion02", "--context", "bastion03", "--yes",
        kubeconfig=sim.kubeconfig_path,
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "✓ bastion02 song/userlist replicas: 1 → 0" in result.out
    assert "✓ bastion03 song/userlist replicas: 1 → 0" in result.out
    assert replicas(sim, "bastion02", "song", "userlist") == 0
    assert replicas(sim, "bastion03", "song", "userlist") == 0


@pytest.mark.parametrize(
    "args",
    [
        ("affinity", "song/userlist-svc", "sideways"),  # not a value
        ("affinity", "song/Userlist", "local"),  # not DNS-1123
        ("affinity", "song/userlist-svc;id", "local"),  # shell metacharacters
        ("affinity", "song/$(reboot)", "local"),
        ("affinity", "userlist-svc", "local"),  # no namespace
        ("global", "song/userlist-svc", "maybe"),
        ("scale", "song/userlist", "-1"),
        ("scale", "song/userlist", "three"),
        ("scale", "song/userlist", "5000"),
        ("scale", "song/user list", "1"),
    ],
)
def test_invalid_input_is_refused_before_connecting(cli: Cli, sim: SimThread, args: tuple[str, ...]) -> None:
    result = cli(*args, "--context", "bastion02", "--yes", kubeconfig=sim.kubeconfig_path)
    assert result.code == 2
    assert result.out == ""
    assert result.err.strip()
    assert affinity_of(sim, "bastion02") is None
    assert replicas(sim, "bastion02", "song", "userlist") == 1


def test_writes_need_a_named_context(cli: Cli, sim: SimThread) -> None:
    result = cli("affinity", "song/userlist-svc", "local", "--yes", kubeconfig=sim.kubeconfig_path)
    assert result.code == 2 and "--context is required" in result.err
    unknown = cli(
        "affinity",
        "song/userlist-svc",
        "local",
        "--context",
        "bastion9",
        "-y",
        kubeconfig=sim.kubeconfig_path,
    )
    assert unknown.code == 2 and "context 'bastion9' not found" in unknown.err
    assert affinity_of(sim, "bastion02") is None


def test_no_terminal_without_yes_refuses(cli: Cli, sim: SimThread, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writes, "stdin_is_tty", lambda: False)
    result = cli(
        "affinity", "song/userlist-svc", "local", "--context", "bastion02", kubeconfig=sim.kubeconfig_path
    )
    assert result.code == 2
    assert "refusing to write without a terminal" in result.err and "--yes" in result.err
    assert affinity_of(sim, "bastion02") is None


def test_read_only_refuses_and_names_the_command(cli: Cli, sim: SimThread) -> None:
    result = cli(
        "global", "song/userlist-svc", "off", "--context", "bastion02", "--yes", "--read-only",
        kubeconfig=sim.kubeconfig_path,
    )  # fmt: skip
    assert result.code == 2
    assert "--read-only: refusing to write" in result.err
    assert (
        "kubectl --context bastion02 -n song annotate service userlist-svc service.cilium.io/global=false"
        in result.err
    )
    assert annotation(sim, "bastion02", *SVC, "service.cilium.io/global") == "true"
    before = cli(
        "--read-only",
        "scale",
        "song/userlist",
        "2",
        "--context",
        "bastion02",
        "-y",
        kubeconfig=sim.kubeconfig_path,
    )
    assert before.code == 2 and replicas(sim, "bastion02", "song", "userlist") == 1


def test_prompt_on_a_terminal(cli: Cli, sim: SimThread, monkeypatch: pytest.MonkeyPatch) -> None:
    answers: list[bool] = [False, True]
    prompts: list[str] = []

    async def ask(prompt: str) -> bool:
        prompts.append(prompt)
        return answers.pop(0)

    monkeypatch.setattr(writes, "stdin_is_tty", lambda: True)
    monkeypatch.setattr(writes, "ask", ask)
    args = ("scale", "song/userlist", "0", "--context", "bastion03")
    declined = cli(*args, kubeconfig=sim.kubeconfig_path)
    assert declined.code == 1
    assert "bastion03 song/userlist replicas: 1 → 0" in declined.err
    assert "kubectl --context bastion03 -n song scale deployment/userlist --replicas=0" in declined.err
    assert "warning: every pod of userlist in cluster2 goes away" in declined.err
    assert "not confirmed; nothing was written" in declined.err
    assert replicas(sim, "bastion03", "song", "userlist") == 1
    confirmed = cli(*args, kubeconfig=sim.kubeconfig_path)
    assert confirmed.code == 0
    assert replicas(sim, "bastion03", "song", "userlist") == 0
    assert prompts == ["Apply this change? [y/N] "] * 2


def test_rbac_denial_is_a_failed_write(cli: Cli, sim: SimThread, tmp_path: Path) -> None:
    assert sim.mesh is not None
    readonly = tmp_path / "readonly.yaml"
    sim.call(lambda: sim.mesh.write_kubeconfig(readonly, user="readonly"))
    result = cli(
        "affinity", "song/userlist-svc", "remote", "--context", "bastion02", "-y", "-o", "json",
        kubeconfig=readonly,
    )  # fmt: skip
    assert result.code == 1
    [entry] = result.json()["results"]
    assert entry["ok"] is False and entry["status"] == 403
    assert "forbidden: cannot patch services in namespace song" in entry["message"]
    table = cli("scale", "song/userlist", "2", "--context", "bastion02", "-y", kubeconfig=readonly)
    assert table.code == 1
    assert "failed: deployment song/userlist: forbidden: cannot patch deployments/scale" in table.out
    assert affinity_of(sim, "bastion02") is None
    assert replicas(sim, "bastion02", "song", "userlist") == 1


def test_missing_target_fails_and_writes_nowhere(cli: Cli, sim: SimThread) -> None:
    sim.call(_delete_service, sim, "bastion03")
    result = cli(
        "affinity", "song/userlist-svc", "local", "--context", "bastion02", "--context", "bastion03", "-y",
        kubeconfig=sim.kubeconfig_path,
    )  # fmt: skip
    assert result.code == 1
    assert "✗ bastion03: service song/userlist-svc not found" in result.out
    assert "nothing was written" in result.err
    assert affinity_of(sim, "bastion02") is None
    scale = cli(
        "scale",
        "song/nothing",
        "1",
        "--context",
        "bastion02",
        "-y",
        "-o",
        "json",
        kubeconfig=sim.kubeconfig_path,
    )
    assert scale.code == 1 and scale.json()["results"][0]["status"] == 404


def _delete_service(sim: SimThread, context: str) -> None:
    assert sim.mesh is not None
    cluster = sim.mesh.cluster(context)
    cluster.store.delete(cluster.registry.by_key("services"), "song", "userlist-svc")


def test_unreachable_named_context_writes_nowhere(cli: Cli, sim: SimThread) -> None:
    kubeconfig = cli.kubeconfig_variant(sim, "dead.yaml", add_dead_context)
    result = cli(
        "affinity", "song/userlist-svc", "local", "--context", "bastion02", "--context", "dead", "-y",
        kubeconfig=kubeconfig,
    )  # fmt: skip
    assert result.code == 2
    assert "cannot change dead: dead: unreachable: connection refused; nothing was written" in result.err
    assert affinity_of(sim, "bastion02") is None


def _annotate_in_sim(sim: SimThread, context: str, annotations: dict[str, str]) -> None:
    """Put annotations on song/userlist-svc as any other client would (merge patch)."""
    import json

    assert sim.mesh is not None
    cluster = sim.mesh.cluster(context)
    rtype = cluster.registry.by_key("services")
    body = json.dumps({"metadata": {"annotations": annotations}}).encode()
    sim.call(cluster.patch, rtype, *SVC, "merge", body)


def test_affinity_none_removes_the_word_none_and_its_alias(cli: Cli, sim: SimThread) -> None:
    """cilium/cilium#46623: the literal 'none' keeps only local backends on Cilium 1.18/1.19, so
    "none" must mean "no preference" by removing every affinity annotation, and say so."""
    legacy = "io.cilium/service-affinity"
    _annotate_in_sim(sim, "bastion02", {AFFINITY: "none", legacy: "none"})
    result = cli(
        "affinity", "song/userlist-svc", "none", "--context", "bastion02", "-y", "-o", "json",
        kubeconfig=sim.kubeconfig_path,
    )  # fmt: skip
    assert result.code == 0, result.err
    [entry] = result.json()["results"]
    assert entry["change"] == f"{AFFINITY}: none → (removed); {legacy} removed"
    assert entry["kubectl"] == (
        f"kubectl --context bastion02 -n song annotate service userlist-svc {AFFINITY}- {legacy}-"
    )
    assert "removes the annotation" in entry["warning"] and "#46623" in entry["warning"]
    assert affinity_of(sim, "bastion02") is None
    assert annotation(sim, "bastion02", *SVC, legacy) is None
    again = cli(
        "affinity", "song/userlist-svc", "none", "--context", "bastion02", "-y",
        kubeconfig=sim.kubeconfig_path,
    )  # fmt: skip
    assert again.code == 0
    assert f"{AFFINITY} is already absent (no preference)" in again.out


def test_a_stale_context_is_written_neither_by_the_app_nor_headless() -> None:
    """One phase rule for every write (tui.writeplan): ``ok`` only. A stale cluster's data may be
    old (the old value shown, an "already so" that would skip the write) and its broken watch
    could never show the write landing. The headless commands used to accept ``stale`` while the
    app refused it; both now refuse, naming the state, and nothing is planned."""
    import dataclasses

    from meshmodels import SEED_TIME, replace_cluster, seed_snapshot

    from tui.headless.options import UsageError
    from tui.writeplan import unwritable_reason, write_block_reason

    snapshot = seed_snapshot()
    state = snapshot.by_context("bastion03")
    assert state is not None and state.writable
    stale = dataclasses.replace(state, phase="stale", since=SEED_TIME, reason="connection refused")
    snapshot = replace_cluster(snapshot, stale)
    assert stale.usable and not stale.writable
    assert unwritable_reason(stale).startswith("stale since ") and "connection refused" in unwritable_reason(
        stale
    )

    # the app: every write key of the viewing cluster says why
    for action in ("affinity", "toggle_global", "toggle_shared", "scale"):
        reason = write_block_reason(snapshot, "bastion03", SVC, action, read_only=False)
        assert reason.startswith("bastion03 is stale since ") and reason.endswith("connection refused")
    assert write_block_reason(snapshot, "bastion02", SVC, "toggle_shared", read_only=False) == ""

    # headless: a named stale context stops the whole command before anything is written
    for argv in (["shared", "song/userlist-svc", "off"], ["scale", "song/userlist", "2"]):
        args = argparse.Namespace(command=argv[0], contexts=["bastion02", "bastion03"], yes=True)
        if argv[0] == "scale":
            args.deployment, args.replicas = argv[1], argv[2]
        else:
            args.service, args.value = argv[1], argv[2]
        request = writes.parse_request(args)
        with pytest.raises(UsageError) as refused:
            writes.plan(request, snapshot)
        message = str(refused.value)
        assert message.startswith("cannot change bastion03: bastion03 is stale since ")
        assert "connection refused; a write needs a live cluster; nothing was written" in message
        assert len(writes.plan(dataclasses.replace(request, contexts=("bastion02",)), snapshot)) == 1
