"""`meshtui sim` as a process: prints the kubeconfig and `ready`, writes it 0600, stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import yaml

from tui.sim.testing import Kubectl


def test_sim_command_serves_until_sigterm(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kube" / "sim.yaml"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "sim", "--kubeconfig-out", str(kubeconfig), "--seed", "7"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
            if line.strip() == "ready":
                break
        assert lines and lines[-1] == "ready", lines
        assert lines[0] == f"kubeconfig: {kubeconfig}  (export KUBECONFIG={kubeconfig})"
        assert any(line.strip().startswith("bastion02: https://127.0.0.1:") for line in lines)
        assert stat.S_IMODE(os.stat(kubeconfig).st_mode) == 0o600
        config = yaml.safe_load(kubeconfig.read_text())
        tokens = [u["user"]["token"] for u in config["users"]]
        assert all(token not in "\n".join(lines) for token in tokens), "tokens are never printed"
        runner = Kubectl(kubeconfig)
        try:
            result = runner("get", "deploy", "-n", "song", context="bastion03")
            assert result.returncode == 0 and "userlist" in result.stdout
        finally:
            runner.cleanup()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        proc.stdout.close()
        proc.stderr.close()


def test_sim_command_rejects_unknown_scenario(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tui", "sim", "--scenario", "nope", "--kubeconfig-out", str(tmp_path / "k")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "no scenario 'nope'" in result.stderr
