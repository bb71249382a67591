"""kubectl exec into the curl client runs the simulated shell (tui/sim/shell.py): exit codes pass through."""

from __future__ import annotations

from tui.sim.testing import Kubectl


def test_exec_exit_code_through_the_shell(kubectl: Kubectl) -> None:
    result = kubectl("exec", "deploy/curltest", "-n", "song", "--", "sh", "-c", "exit 3")
    assert result.returncode == 3, result.stderr
