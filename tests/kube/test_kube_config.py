"""Kubeconfig loading by kubectl's rules: several files, broken entries beside good ones."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import pytest
from kubehelp import Hubs, phase_of, tokens_of, write_yaml

from tui.kube.config import read_kubeconfig
from tui.kube.redact import REDACTOR


def split_config(doc: dict[str, Any], context: str) -> dict[str, Any]:
    """A kubeconfig with just one context (and its cluster and user)."""
    ctx = next(c for c in doc["contexts"] if c["name"] == context)
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [c for c in doc["clusters"] if c["name"] == ctx["context"]["cluster"]],
        "users": [u for u in doc["users"] if u["name"] == ctx["context"]["user"]],
        "contexts": [ctx],
        "current-context": context,
    }


async def test_several_files_in_kubeconfig_env_load_together(
    kubeconfig_doc: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hubs: Hubs
) -> None:
    first = write_yaml(tmp_path / "one.yaml", split_config(kubeconfig_doc, "bastion02"))
    second = write_yaml(tmp_path / "two.yaml", split_config(kubeconfig_doc, "bastion03"))
    missing = tmp_path / "missing.yaml"  # kubectl skips missing files in $KUBECONFIG
    monkeypatch.setenv("KUBECONFIG", f"{first}:{missing}:{second}")
    hub = await hubs.start(None)
    snapshot = hub.snapshot()
    assert [c.context for c in snapshot.clusters] == ["bastion02", "bastion03"]
    assert [c.phase for c in snapshot.clusters] == ["ok", "ok"]
    assert snapshot.config_errors == ()
    assert all(("song", "userlist-svc") in c.services for c in snapshot.clusters)


def test_first_definition_of_a_name_wins(
    kubeconfig_doc: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = split_config(kubeconfig_doc, "bastion02")
    two = copy.deepcopy(one)
    two["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:1"
    a = write_yaml(tmp_path / "a.yaml", one)
    b = write_yaml(tmp_path / "b.yaml", two)
    monkeypatch.setenv("KUBECONFIG", f"{a}:{b}")
    merged = read_kubeconfig()
    assert [e.name for e in merged.contexts] == ["bastion02"]
    assert merged.contexts[0].server == one["clusters"][0]["cluster"]["server"]


async def test_context_with_missing_cluster_or_user_is_an_error_beside_good_ones(
    kubeconfig_doc: dict[str, Any], tmp_path: Path, hubs: Hubs
) -> None:
    doc = copy.deepcopy(kubeconfig_doc)
    doc["contexts"].insert(1, {"name": "ghost-cluster", "context": {"cluster": "nowhere", "user": "x"}})
    doc["contexts"].append({"name": "ghost-user", "context": {"cluster": "bastion02", "user": "nobody"}})
    path = write_yaml(tmp_path / "config", doc)
    hub = await hubs.start(path)
    snapshot = hub.snapshot()
    assert [c.context for c in snapshot.clusters] == ["bastion02", "ghost-cluster", "bastion03", "ghost-user"]
    ghost_cluster = snapshot.by_context("ghost-cluster")
    ghost_user = snapshot.by_context("ghost-user")
    assert ghost_cluster is not None and ghost_user is not None
    assert ghost_cluster.phase == "error"
    assert "cluster 'nowhere' not found" in ghost_cluster.reason
    assert ghost_user.phase == "error"
    assert "user 'nobody' not found" in ghost_user.reason
    assert phase_of(snapshot, "bastion02") == "ok"
    assert phase_of(snapshot, "bastion03") == "ok"


async def test_unknown_context_is_named_and_the_others_load(sim: Any, hubs: Hubs) -> None:
    hub = await hubs.start(sim.kubeconfig_path, ["bastion03", "nope", "bastion03"])
    snapshot = hub.snapshot()
    assert [c.context for c in snapshot.clusters] == ["bastion03"]
    assert snapshot.clusters[0].phase == "ok"
    assert snapshot.config_errors == ("context 'nope' not found in the kubeconfig",)


async def test_unreadable_and_malformed_files_are_reported_without_their_contents(
    kubeconfig_doc: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hubs: Hubs
) -> None:
    good = write_yaml(tmp_path / "good.yaml", kubeconfig_doc)
    directory = tmp_path / "a-directory"
    directory.mkdir()
    token = tokens_of(kubeconfig_doc)[0]
    broken = tmp_path / "broken.yaml"
    broken.write_text(f"users:\n- name: x\n  user:\n    token: {token}\n  : [unbalanced\n")
    monkeypatch.setenv("KUBECONFIG", f"{directory}:{good}:{broken}")
    hub = await hubs.start(None)
    snapshot = hub.snapshot()
    assert [c.phase for c in snapshot.clusters] == ["ok", "ok"]
    errors = snapshot.config_errors
    assert len(errors) == 2
    assert errors[0].startswith(f"cannot read kubeconfig {directory}: ")
    assert errors[1].startswith(f"cannot parse kubeconfig {broken} (line ")
    assert not any(token in e for e in errors)


async def test_explicit_kubeconfig_that_does_not_exist(tmp_path: Path, hubs: Hubs) -> None:
    hub = await hubs.start(tmp_path / "nope.yaml")
    snapshot = hub.snapshot()
    assert snapshot.clusters == ()
    assert snapshot.config_errors == (f"kubeconfig {tmp_path / 'nope.yaml'} does not exist",)


def exec_plugin(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "plugin.py"
    script.write_text(body)
    return script


@pytest.mark.smoke
async def test_exec_credential_plugin_and_token_file(
    kubeconfig_doc: dict[str, Any], tmp_path: Path, hubs: Hubs
) -> None:
    doc = copy.deepcopy(kubeconfig_doc)
    token_02, token_03 = tokens_of(doc)
    script = exec_plugin(
        tmp_path,
        "import json, os\n"
        "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1', 'kind': 'ExecCredential',\n"
        "  'status': {'token': os.environ['SIM_TOKEN'], 'expirationTimestamp': '2999-01-01T00:00:00Z'}}))\n",
    )
    doc["users"][0]["user"] = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": sys.executable,
            "args": [str(script)],
            "env": [{"name": "SIM_TOKEN", "value": token_02}],
        }
    }
    token_file = tmp_path / "token"
    token_file.write_text(token_03)
    doc["users"][1]["user"] = {"tokenFile": str(token_file)}
    hub = await hubs.start(write_yaml(tmp_path / "config", doc))
    snapshot = hub.snapshot()
    assert [c.phase for c in snapshot.clusters] == ["ok", "ok"], [c.reason for c in snapshot.clusters]
    assert token_02 in REDACTOR.known() and token_03 in REDACTOR.known()


async def test_failing_exec_plugin_is_an_error_that_names_it_without_secrets(
    kubeconfig_doc: dict[str, Any], tmp_path: Path, hubs: Hubs
) -> None:
    doc = copy.deepcopy(kubeconfig_doc)
    secret = "s3cr3t-value-from-env-0123456789"
    script = exec_plugin(
        tmp_path, "import os, sys\nsys.stderr.write('login failed for ' + os.environ['PASS'])\nsys.exit(3)\n"
    )
    doc["users"][0]["user"] = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": sys.executable,
            "args": [str(script)],
            "env": [{"name": "PASS", "value": secret}],
        }
    }
    hub = await hubs.start(write_yaml(tmp_path / "config", doc))
    state = hub.snapshot().by_context("bastion02")
    assert state is not None
    assert state.phase == "error"
    assert "exec credential plugin" in state.reason and "returned 3" in state.reason
    assert secret not in state.reason
    assert phase_of(hub.snapshot(), "bastion03") == "ok"


async def test_server_is_shown_without_credentials(sim: Any, hubs: Hubs) -> None:
    hub = await hubs.start(sim.kubeconfig_path)
    for state in hub.snapshot().clusters:
        assert state.server.startswith("https://127.0.0.1:")
