"""``meshtui curl``: a bounded loop in the simulator's curltest pod, answers checked against it."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time

import pytest
from headlesshelp import Cli, pod_names, programs_running

from tui.sim.mesh import SimThread


def test_curl_json_counts_who_answered(cli: Cli, msim: SimThread) -> None:
    result = cli(
        "curl", "song/userlist-svc", "--from", "bastion02", "--count", "8", "--interval", "0", "-o", "json",
        kubeconfig=msim.kubeconfig_path,
    )  # fmt: skip
    assert result.code == 0, result.err
    doc = result.json()
    assert set(doc) >= {"requests", "by_cluster", "by_pod", "unknown", "errors", "latency_ms"}
    assert doc["requests"] == 8
    assert doc["errors"] == {} and doc["unknown"] == 0
    assert sum(doc["by_cluster"].values()) == 8 and set(doc["by_cluster"]) <= {"cluster1", "cluster2"}
    assert sum(doc["by_pod"].values()) == 8
    assert set(doc["latency_ms"]) == {"p50", "p95"}
    assert 0 < doc["latency_ms"]["p50"] <= doc["latency_ms"]["p95"]
    assert doc["from"] == {"context": "bastion02", "cluster": "cluster1"}
    assert doc["url"] == "http://userlist-svc.song.svc:80/users/1"
    assert doc["expected_share"] == {"cluster1": 0.5, "cluster2": 0.5}
    assert doc["client_pod"].startswith("curltest-") and doc["complete"] is True
    # Every answer names a pod of the cluster it is counted for (the simulator's truth).
    pods = {cluster: pod_names(msim, context, "song", "userlist") for cluster, context in
            (("cluster1", "bastion02"), ("cluster2", "bastion03"))}  # fmt: skip
    assert len(doc["answers"]) == 8
    for answer in doc["answers"]:
        assert answer["code"] == 200 and answer["from"] == "cluster1"
        assert answer["pod"] in pods[answer["to"]]


def test_affinity_local_keeps_the_answers_local(cli: Cli, msim: SimThread) -> None:
    kubeconfig = msim.kubeconfig_path
    assert (
        cli(
            "affinity", "song/userlist-svc", "local", "--context", "bastion03", "-y", kubeconfig=kubeconfig
        ).code
        == 0
    )
    time.sleep(0.2)  # the agents realize the annotation (sync delay 20 ms)
    result = cli(
        "curl", "song/userlist-svc", "--from", "bastion03", "--count", "6", "--interval", "0", "-o", "json",
        kubeconfig=kubeconfig,
    )  # fmt: skip
    assert result.code == 0, result.err
    doc = result.json()
    assert doc["by_cluster"] == {"cluster2": 6}
    assert doc["expected_share"] == {"cluster2": 1.0}


def test_table_streams_one_line_per_request_then_the_summary(cli: Cli, msim: SimThread) -> None:
    result = cli(
        "curl", "song/userlist-svc", "--from", "bastion02", "--count", "3", "--interval", "0",
        kubeconfig=msim.kubeconfig_path,
    )  # fmt: skip
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == "curl http://userlist-svc.song.svc:80/users/1 from bastion02 (cluster1)"
    assert [line.split()[0] for line in lines[1:4]] == ["1", "2", "3"]
    assert all("cluster1 →" in line and " 200 " in line for line in lines[1:4])
    assert "3 requests from bastion02 (cluster1) in curltest-" in result.out
    assert "errors: none" in result.out
    assert "curl loop running in curltest-" in result.err


def test_failed_requests_exit_1_with_errors_by_kind(cli: Cli, msim: SimThread) -> None:
    kubeconfig = msim.kubeconfig_path
    scaled = cli(
        "scale", "song/userlist", "0", "--context", "bastion02", "--context", "bastion03", "-y",
        kubeconfig=kubeconfig,
    )  # fmt: skip
    assert scaled.code == 0
    time.sleep(0.5)  # the pods terminate, the agents drop the backends
    result = cli(
        "curl", "song/userlist-svc", "--from", "bastion02", "--count", "3", "--interval", "0",
        "--request-timeout", "1", "-o", "json", kubeconfig=kubeconfig,
    )  # fmt: skip
    assert result.code == 1
    doc = result.json()
    assert doc["requests"] == 3 and doc["by_cluster"] == {}
    assert sum(doc["errors"].values()) == 3
    assert doc["latency_ms"] == {"p50": None, "p95": None}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("song/userlist-svc", "--path", "/users/1;id"), "not allowed: ';'"),
        (("song/userlist-svc", "--path", "/$(reboot)"), "not allowed"),
        (("song/user_list",), "not a valid name"),
        (("song/userlist-svc", "--count", "0"), "--count must be between 1"),
        (("song/userlist-svc", "--interval", "soon"), "--interval"),
        (("song/userlist-svc", "--port", "99999"), "port"),
        (("song/nope",), "service song/nope not found"),
    ],
)
def test_bad_input_is_refused(cli: Cli, seed_sim: SimThread, args: tuple[str, ...], message: str) -> None:
    result = cli("curl", *args, "--from", "bastion02", kubeconfig=seed_sim.kubeconfig_path)
    assert result.code == 2
    assert message in result.err
    assert result.out == ""


def test_from_is_required_and_must_be_readable(cli: Cli, seed_sim: SimThread) -> None:
    assert cli("curl", "song/userlist-svc", kubeconfig=seed_sim.kubeconfig_path).code == 2
    unknown = cli("curl", "song/userlist-svc", "--from", "bastion7", kubeconfig=seed_sim.kubeconfig_path)
    assert unknown.code == 2 and "'bastion7'" in unknown.err


def test_no_client_pod_is_reported_within_the_timeout(cli: Cli, seed_sim: SimThread) -> None:
    started = time.monotonic()
    result = cli(
        "curl", "kube-system/clustermesh-apiserver", "--from", "bastion02", "--timeout", "1",
        kubeconfig=seed_sim.kubeconfig_path,
    )  # fmt: skip
    assert result.code == 2
    assert time.monotonic() - started < 15
    assert "no curl loop in bastion02" in result.err and "curltest" in result.err
    assert result.out == ""


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_stops_the_loop_in_the_pod_and_prints_the_partial_summary(
    msim: SimThread, sig: signal.Signals, code: int
) -> None:
    env = {**os.environ, "NO_COLOR": "1"}
    command = [
        sys.executable, "-X", "faulthandler", "-m", "tui", "curl", "song/userlist-svc", "--from", "bastion02",
        "--count", "5000", "--interval", "0.05", "--kubeconfig", str(msim.kubeconfig_path),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        assert process.stdout is not None
        seen = b""
        deadline = time.monotonic() + 60
        while seen.count("→".encode()) < 2:
            assert time.monotonic() < deadline, seen
            ready, _, _ = select.select([process.stdout], [], [], 1.0)
            if ready:
                chunk = os.read(process.stdout.fileno(), 4096)
                assert chunk, f"stdout closed early: {seen!r}"
                seen += chunk
        assert programs_running(msim) >= 1
        process.send_signal(sig)
        try:
            out, err = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            # Seen once in CI (not reproduced in 130 runs): say where it hangs next time.
            process.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack
            _out, err = process.communicate(timeout=10)
            stacks = err.decode()[-8000:]
            raise AssertionError(f"no exit 30 s after {sig.name}; its stacks:\n{stacks}") from None
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    assert process.returncode == code, err
    text = (seen + out).decode()
    assert "requests from bastion02 (cluster1)" in text
    assert "interrupted; the loop was stopped in the pod" in err.decode()
    deadline = time.monotonic() + 10
    while programs_running(msim) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert programs_running(msim) == 0, "the curl loop kept running in the pod"
