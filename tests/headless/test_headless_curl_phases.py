"""``meshtui curl`` cuts its summary at each change it saw (issue 14, bug 5).

The loop runs from bastion03 while ``affinity local`` is set there: the rules' expected share
goes from 50/50 to cluster2 only. The split of the whole run matches neither; each phase's
split is reported beside the share that held during it (``phases`` in JSON, a table per phase
in text).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from headlesshelp import Cli, programs_running

from tui.sim.mesh import SimThread

COUNT = 80


def run_with_a_change(cli: Cli, msim: SimThread, *output: str) -> tuple[int, str, str]:
    """``meshtui curl`` from bastion03 in a subprocess; ``affinity local`` set there meanwhile."""
    command = [
        sys.executable, "-m", "tui", "curl", "song/userlist-svc", "--from", "bastion03",
        "--count", str(COUNT), "--interval", "0.05", "--kubeconfig", str(msim.kubeconfig_path), *output,
    ]  # fmt: skip
    env = {**os.environ, "NO_COLOR": "1"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    try:
        deadline = time.monotonic() + 30
        while programs_running(msim) < 1:  # the loop runs in the pod
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the loop never started"
            time.sleep(0.05)
        time.sleep(0.8)  # some answers under the first rules
        changed = cli(
            "affinity", "song/userlist-svc", "local", "--context", "bastion03", "-y",
            kubeconfig=msim.kubeconfig_path,
        )  # fmt: skip
        assert changed.code == 0, changed.err
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    return process.returncode, out, err


def test_json_reports_each_phase_against_its_own_expected_share(cli: Cli, msim: SimThread) -> None:
    code, out, err = run_with_a_change(cli, msim, "-o", "json")
    assert code == 0, err
    doc = json.loads(out)
    phases = doc["phases"]
    assert len(phases) == 2, phases
    before, after = phases
    assert before["change"] is None and before["expected_share"] == {"cluster1": 0.5, "cluster2": 0.5}
    assert after["expected_share"] == {"cluster2": 1.0}
    assert after["change"] == "expected cluster1 50% cluster2 50% → cluster2 100%"
    assert before["since"] < after["since"]
    assert before["requests"] >= 5 and after["requests"] >= 20
    assert sum(p["requests"] for p in phases) == doc["requests"] == COUNT
    for phase in phases:
        assert sum(phase["by_cluster"].values()) + phase["unknown"] == phase["requests"]
    # Each answer is counted in the phase during which it arrived (the JSON rounds times to the
    # millisecond, so an answer within the same millisecond as the change may fall either side).
    surely_after = len([a for a in doc["answers"] if a["at"] > after["since"]])
    maybe_after = len([a for a in doc["answers"] if a["at"] >= after["since"]])
    assert surely_after <= after["requests"] <= maybe_after, (surely_after, after, maybe_after)
    # After the change the answers are local (the agents realize it ~20 ms after the watch).
    assert after["by_cluster"].get("cluster2", 0) >= after["requests"] - 2, after
    assert doc["expected_share"] == {"cluster2": 1.0}  # the last phase's, as before


def test_text_prints_a_table_per_phase(cli: Cli, msim: SimThread) -> None:
    code, out, err = run_with_a_change(cli, msim)
    assert code == 0, err
    lines = out.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("phase 1: "))
    second = next(i for i, line in enumerate(lines) if line.startswith("phase 2: "))
    assert "from the start" in lines[first]
    assert lines[second].endswith("after expected cluster1 50% cluster2 50% → cluster2 100%")
    table_one = "\n".join(lines[first:second])
    table_two = "\n".join(lines[second:])
    assert "EXPECTED" in table_one and "50%" in table_one
    assert any(line.split()[:1] == ["cluster2"] and line.split()[-1] == "100%" for line in lines[second:])
    assert "whole run:" in table_two
    assert "seen: expected cluster1 50% cluster2 50% → cluster2 100%" in err
