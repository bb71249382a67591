"""What a presenter types beside the demo, with every installed kubectl (1.27 … 1.33).

The Google Cloud SDK installs versioned binaries (``kubectl.1.27`` …) beside the ``kubectl``
dispatcher; each is run against the simulator with its own cache directory:

* ``apply`` (twice: create, then a client-side three-way patch), ``diff`` and ``explain`` — 1.27
  to 1.29 read ``/openapi/v2`` (protobuf), 1.30+ OpenAPI v3;
* ``get endpoints``;
* a Node's ``spec.podCIDR`` cannot change once set (the apiserver's ``ValidateNodeUpdate``);
* ``exec``: over WebSocket with 1.30+ and with 1.29 given ``KUBECTL_REMOTE_COMMAND_WEBSOCKETS=true``,
  over SPDY/3.1 with 1.27, 1.28 and 1.29 by default (tests/sim/test_sim_spdy.py goes further).

The binaries are on this machine and CI's: a missing one fails the tests that need it, by name.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from tui.sim.mesh import SimThread
from tui.sim.testing import KUBECTL_RELEASES, Kubectl, fast_sim, versioned_kubectl

VERSIONS = list(KUBECTL_RELEASES)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimThread]:
    running = fast_sim("seed")
    try:
        yield running
    finally:
        running.stop()


def kubectl(
    sim: SimThread, version: str, *args: str, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    runner = Kubectl(sim.kubeconfig_path, timeout=60, binary=versioned_kubectl(version))
    try:
        return runner(*args, context="bastion02", input=stdin, env=env)
    finally:
        runner.cleanup()


@pytest.mark.parametrize("version", VERSIONS)
def test_apply_diff_explain(sim: SimThread, version: str) -> None:
    name = f"cm-{version.replace('.', '-')}"
    manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s, namespace: song}\ndata: {a: %s}\n"
    created = kubectl(sim, version, "apply", "-f", "-", stdin=manifest % (name, "b"))
    assert created.returncode == 0 and f"configmap/{name} created" in created.stdout, created.stderr
    changed = kubectl(sim, version, "apply", "-f", "-", stdin=manifest % (name, "c"))
    assert changed.returncode == 0 and f"configmap/{name} configured" in changed.stdout, changed.stderr
    diff = kubectl(sim, version, "diff", "-f", "-", stdin=manifest % (name, "d"))
    assert diff.returncode == 1 and "-  a: c" in diff.stdout and "+  a: d" in diff.stdout, diff.stderr
    explained = kubectl(sim, version, "explain", "pod.spec.containers.ports")
    assert explained.returncode == 0, explained.stderr
    assert "containerPort" in explained.stdout and "hostPort" in explained.stdout
    cidr = kubectl(sim, version, "explain", "node.spec.podCIDR")
    assert cidr.returncode == 0 and "podCIDR" in cidr.stdout, cidr.stderr


def test_deployment_apply_merges_containers_by_name(sim: SimThread) -> None:
    """Client-side apply finds the containers' merge key (name) in the served schema: a second
    apply that adds an env var patches the container in place."""
    version = VERSIONS[-1]
    manifest = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: song}\n"
        "spec:\n  replicas: 1\n  selector: {matchLabels: {app: web}}\n  template:\n"
        "    metadata: {labels: {app: web}}\n    spec:\n      containers:\n"
        "      - name: web\n        image: nginx:1.27\n%s"
    )
    assert kubectl(sim, version, "apply", "-f", "-", stdin=manifest % "").returncode == 0
    again = kubectl(sim, version, "apply", "-f", "-", stdin=manifest % "        env: [{name: A, value: b}]\n")
    assert again.returncode == 0, again.stderr
    got = kubectl(
        sim,
        version,
        "get",
        "deploy",
        "web",
        "-n",
        "song",
        "-o",
        "jsonpath={.spec.template.spec.containers[*].name} {.spec.template.spec.containers[0].env[0].value}",
    )
    assert got.stdout == "web b", got.stdout


def test_get_endpoints(sim: SimThread) -> None:
    got = kubectl(sim, VERSIONS[-1], "get", "endpoints", "-n", "song")
    assert got.returncode == 0, got.stderr
    header, row = got.stdout.splitlines()[:2]
    assert header.split() == ["NAME", "ENDPOINTS", "AGE"]
    assert row.split()[0] == "userlist-svc" and row.split()[1].endswith(":8181")


def test_node_pod_cidr_is_immutable(sim: SimThread) -> None:
    patch = '{"spec":{"podCIDR":"10.9.0.0/24","podCIDRs":["10.9.0.0/24"]}}'
    result = kubectl(sim, VERSIONS[-1], "patch", "node", "cluster1-node1", "-p", patch)
    assert result.returncode == 1
    assert (
        'spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to valid'
        in result.stderr
    )


@pytest.mark.parametrize(
    ("version", "websockets"),
    [(v, "") for v in VERSIONS] + [("1.29", "true")],
    ids=[*VERSIONS, "1.29-websockets"],
)
def test_exec_by_version(sim: SimThread, version: str, websockets: str) -> None:
    env = {"KUBECTL_REMOTE_COMMAND_WEBSOCKETS": websockets} if websockets else {}
    result = kubectl(
        sim,
        version,
        "exec",
        "-n",
        "kube-system",
        "ds/cilium",
        "--",
        "sh",
        "-c",
        "cilium status --brief",
        **env,
    )
    assert (result.returncode, result.stdout) == (0, "OK\n"), result.stderr
