"""Helpers for tests and benchmarks that stand on the simulator (no pytest import here).

``fast_sim()`` starts a :class:`~tui.sim.mesh.SimThread` with near-zero pod delays;
:class:`Kubectl` runs the real ``/usr/bin/kubectl`` against it with an isolated cache dir and a
timeout on every call (kubectl caches discovery per server, and a hung call must not hang a test).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.sim.mesh import SimThread
from tui.sim.scenario import Scenario

KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"


def fast_sim(scenario: Scenario | str = "seed", **kwargs: Any) -> SimThread:
    """A started simulator whose pods become Ready in 20 ms and terminate in 100 ms."""
    kwargs.setdefault("ready_delay", 0.02)
    kwargs.setdefault("termination_grace", 0.1)
    kwargs.setdefault("seed", 1)
    return SimThread(scenario, **kwargs).start()


@dataclass
class Kubectl:
    """``kubectl --kubeconfig K --cache-dir C ...`` with a timeout on every call."""

    kubeconfig: Path
    cache_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="meshtui-kubectl-")))
    timeout: float = 30.0

    def __call__(
        self, *args: str, context: str | None = None, input: str | None = None, timeout: float | None = None
    ) -> subprocess.CompletedProcess[str]:
        command = [KUBECTL, "--kubeconfig", str(self.kubeconfig), "--cache-dir", str(self.cache_dir)]
        if context:
            command += ["--context", context]
        env = {**os.environ, "HOME": str(self.cache_dir), "KUBECONFIG": str(self.kubeconfig)}
        return subprocess.run(
            [*command, *args],
            capture_output=True,
            text=True,
            input=input,
            timeout=timeout or self.timeout,
            env=env,
            check=False,
        )

    def cleanup(self) -> None:
        shutil.rmtree(self.cache_dir, ignore_errors=True)
