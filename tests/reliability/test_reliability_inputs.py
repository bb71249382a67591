"""Bad inputs are refused with a clear message and change nothing; tokens are never shown.

Each bad input runs against a live simulator with a recorder on every API server: no request
that writes (POST/PUT/PATCH/DELETE, access reviews aside) may reach it, and every stored
object keeps its resourceVersion. The one exception is RBAC: the server itself is the judge of
a denied write, so the PATCH arrives and is refused (403) — then the objects are unchanged and
the message names the verb and resource. The kubeconfig's tokens are looked for in every
output format of every read command, with the layer's log on (``-v``), during a fault.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from curlhelp import programs_running
from headlesshelp import Cli
from reliabilityhelp import (
    AFFINITY,
    REL_HUB,
    no_token_in,
    seed_sim,
    set_fault,
    snapshot_objects,
    tokens_of_sim,
    wait_nothing_left,
    write_recorder,
)

from tui.kube.source import KubeSource
from tui.mesh.actions import InvalidAction, SetAnnotation
from tui.sim.mesh import SimThread

BROKEN = "apiVersion: v1\nclusters: [\n  - {name: x\n"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimThread]:
    """One seed mesh for the module: nothing here may change it (that is what is checked)."""
    with seed_sim() as running:
        yield running


@pytest.fixture
def unchanged(sim: SimThread) -> Iterator[list[str]]:
    """The writes that reached the simulator during the test; its objects must be as before."""
    before = snapshot_objects(sim)
    with write_recorder(sim) as writes:
        yield writes
    assert snapshot_objects(sim) == before, "an object in the simulator changed"


def broken_kubeconfig(tmp_path: Path) -> Path:
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN)
    return path


def readonly_kubeconfig(sim: SimThread, tmp_path: Path, cli: Cli) -> Path:
    """The simulator's read-only users in every context (their tokens are watched by ``cli``)."""
    assert sim.mesh is not None
    path = tmp_path / "readonly.yaml"
    sim.call(sim.mesh.write_kubeconfig, path, "readonly")
    cli.secrets.update(tokens_of_sim(sim))
    import yaml

    cli.secrets.update(u["user"]["token"] for u in yaml.safe_load(path.read_text())["users"])
    return path


WRITES = [
    ("affinity", "song/userlist-svc", "local", "--context", "bastion02", "--yes"),
    ("shared", "song/userlist-svc", "off", "--context", "bastion03", "--yes"),
    ("scale", "song/userlist", "3", "--context", "bastion02", "--yes"),
]


def test_broken_kubeconfig_is_named_and_nothing_is_written(
    cli: Cli, tmp_path: Path, unchanged: list[str]
) -> None:
    path = broken_kubeconfig(tmp_path)
    for args in [("status",), ("services",), *WRITES]:
        result = cli(*args, "--kubeconfig", str(path))
        assert result.code == 2, (args, result.err)
        assert f"cannot parse kubeconfig {path} (line 3, column 3)" in result.err, (args, result.err)
        assert result.out == ""
    assert unchanged == []


def test_unknown_context_is_named_with_the_known_ones(cli: Cli, sim: SimThread, unchanged: list[str]) -> None:
    kubeconfig = Path(sim.kubeconfig_path)
    for args in [
        ("status", "--context", "nope"),
        ("affinity", "song/userlist-svc", "local", "--context", "nope", "--yes"),
        ("scale", "song/userlist", "2", "--context", "bastion02", "--context", "nope", "--yes"),
    ]:
        result = cli(*args, kubeconfig=kubeconfig)
        assert result.code == 2, (args, result.err)
        assert "context 'nope' not found in the kubeconfig (its contexts: bastion02, bastion03)" in result.err
    assert unchanged == []


def test_rbac_denial_names_verb_and_resource_and_changes_nothing(
    cli: Cli, sim: SimThread, tmp_path: Path, unchanged: list[str]
) -> None:
    kubeconfig = readonly_kubeconfig(sim, tmp_path, cli)
    for args, words in zip(
        WRITES,
        [
            "forbidden: cannot patch services in namespace song",
            "forbidden: cannot patch services in namespace song",
            "forbidden: cannot patch deployments/scale in namespace song",
        ],
        strict=True,
    ):
        result = cli(*args, "-o", "json", kubeconfig=kubeconfig)
        assert result.code == 1, (args, result.err)
        [outcome] = result.json()["results"]
        assert outcome["ok"] is False and outcome["status"] == 403 and words in outcome["message"], outcome
    # The server judged each write (a PATCH per command) and refused it: nothing else arrived.
    assert len(unchanged) == 3 and all(w.startswith("PATCH ") for w in unchanged), unchanged


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("affinity", "song/userlist-svc", "sideways"), "invalid choice: 'sideways'"),
        (("global", "song/userlist-svc", "maybe"), "invalid choice: 'maybe'"),
        (("affinity", "song/User_List", "local"), "invalid service name 'User_List': must be a DNS-1123"),
        (("shared", "Song/userlist-svc", "on"), "invalid namespace name 'Song': must be a DNS-1123"),
        (("scale", "song/userlist.", "2"), "invalid deployment name 'userlist.': must be a DNS-1123"),
        (("scale", "song/userlist", "-1"), "invalid replica count -1: must be a whole number"),
    ],
)
def test_invalid_values_and_names_are_refused_before_connecting(
    cli: Cli, sim: SimThread, unchanged: list[str], args: tuple[str, ...], message: str
) -> None:
    result = cli(*args, "--context", "bastion02", "--yes", kubeconfig=Path(sim.kubeconfig_path))
    assert result.code == 2, result.err
    assert message in result.err
    assert result.out == ""
    assert unchanged == []


@pytest.mark.parametrize("path", ["/users/1;id", "/x`reboot`", "/$(reboot)", "/a|b&c>d", "/a b", "/a'b\"c"])
def test_a_curl_path_with_shell_metacharacters_runs_nothing(
    cli: Cli, sim: SimThread, unchanged: list[str], path: str
) -> None:
    result = cli(
        "curl",
        "song/userlist-svc",
        "--from",
        "bastion02",
        "--path",
        path,
        kubeconfig=Path(sim.kubeconfig_path),
    )
    assert result.code == 2
    assert "has characters that are not allowed" in result.err and repr(path) in result.err
    assert result.out == ""
    assert programs_running(sim) == 0
    assert unchanged == []


async def test_the_write_layer_under_the_app_refuses_the_same_inputs(
    sim: SimThread, unchanged: list[str]
) -> None:
    """What the app's dialogs call: an invalid value or name never becomes a request."""
    source = KubeSource(str(sim.kubeconfig_path), settings=REL_HUB, threaded=False)
    await source.start()
    try:
        await source.wait_synced(10)
        bad = [
            ("bastion02", "song", "userlist-svc", AFFINITY, "sideways"),
            ("bastion02", "song", "userlist_svc", AFFINITY, "local"),
            ("bastion02", "Song", "userlist-svc", AFFINITY, "local"),
            ("bastion02", "song", "userlist-svc", "service.cilium.io/affinity;rm", "local"),
        ]
        for context, namespace, name, key, value in bad:
            try:
                action = SetAnnotation(context, namespace, name, key, value)
            except InvalidAction as exc:
                assert str(exc)
                continue
            result = await source.write(action)
            assert result.refused and not result.ok, result
            assert "invalid" in result.message or "must be" in result.message, result.message
    finally:
        await source.stop()
    assert unchanged == []


def test_no_token_in_any_output_during_a_fault(
    cli: Cli, sim: SimThread, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    kubeconfig = Path(sim.kubeconfig_path)
    tokens = tokens_of_sim(sim)
    readonly = readonly_kubeconfig(sim, tmp_path, cli)
    fault_id = set_fault(sim, "api_down", "cluster2")
    try:
        outputs: list[str] = []
        for config in (kubeconfig, readonly):
            for fmt in ("json", "yaml", "table"):
                for args in (("status",), ("services", "--all"), ("backends", "song/userlist-svc")):
                    result = cli(*args, "-o", fmt, "-v", "--timeout", "5", kubeconfig=config)
                    assert result.code in (0, 1), (args, result.err)
                    assert "tui.kube" in result.err  # the verbose log was written, and scanned
                    outputs += [result.out, result.err]
        for fmt in ("json", "table"):  # a refused write quotes the server: still no token
            denied = cli(*WRITES[0], "-o", fmt, "-v", kubeconfig=readonly)
            assert denied.code == 1 and "forbidden" in denied.out
            outputs += [denied.out, denied.err]
    finally:
        set_fault(sim, "heal", fault_id)
    logs = [caplog.text, *(r.getMessage() for r in caplog.records)]
    assert any("connection refused" in line for line in logs)  # the fault was logged, and scanned
    no_token_in([*outputs, *logs], tokens + sorted(cli.secrets))
    wait_nothing_left(sim)


@pytest.mark.parametrize("bad", ["broken kubeconfig", "unknown context"])
async def test_the_app_names_a_broken_kubeconfig_or_unknown_context(
    sim: SimThread, tmp_path: Path, unchanged: list[str], bad: str
) -> None:
    """The app starts, says what is wrong in the contexts and mesh panes, and writes nothing."""
    from apphelpers import contexts_text, mesh_text
    from testkit import until

    from tui.app import MeshtuiApp

    if bad == "broken kubeconfig":
        path, contexts = str(broken_kubeconfig(tmp_path)), None
        message = f"cannot parse kubeconfig {path} (line 3, column 3)"
    else:
        path, contexts = str(sim.kubeconfig_path), ["nope"]
        message = "context 'nope' not found in the kubeconfig"
    source = KubeSource(path, contexts=contexts, settings=REL_HUB, threaded=True)
    app = MeshtuiApp(source, kubeconfig_label=path, refresh_interval=0.02)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(lambda: message in mesh_text(app), timeout=10, pilot=pilot)
        assert "No contexts." in contexts_text(app) and message in " ".join(contexts_text(app).split())
        assert f"✗ kubeconfig: {message}" in " ".join(mesh_text(app).split())
        await pilot.press("a", "l", "enter", "s", "enter")  # write keys: nothing to write to
        await pilot.pause(0.2)
        assert app.is_running
    assert unchanged == []
