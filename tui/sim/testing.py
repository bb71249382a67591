"""Helpers for tests and benchmarks that stand on the simulator (no pytest import here).

``fast_sim()`` starts a :class:`~tui.sim.mesh.SimThread` with near-zero pod delays;
:class:`Kubectl` runs the real ``/usr/bin/kubectl`` against it with an isolated cache dir and a
timeout on every call (kubectl caches discovery per server, and a hung call must not hang a test);
:func:`versioned_kubectl` finds a given kubectl release beside it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.sim.mesh import SimThread
from tui.sim.scenario import Scenario

KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
KUBECTL_RELEASES = ("1.27", "1.28", "1.29", "1.30", "1.31", "1.32", "1.33")
"""The kubectl releases installed beside ``kubectl`` (the Google Cloud SDK's ``kubectl.1.27`` …)."""


def versioned_kubectl(version: str) -> Path:
    """The path of ``kubectl.<version>`` beside the ``kubectl`` on PATH, or FileNotFoundError
    saying it is not installed (a test that needs a release fails, it does not skip)."""
    path = Path(os.path.realpath(KUBECTL)).parent / f"kubectl.{version}"
    if not path.is_file():
        raise FileNotFoundError(
            f"kubectl {version} is not installed: no {path} (the Google Cloud SDK's versioned "
            f"kubectl binaries, kubectl.1.27 ... kubectl.1.33, are expected beside {KUBECTL})"
        )
    return path


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
    binary: str | Path = KUBECTL
    """``kubectl`` on PATH, or a release (:func:`versioned_kubectl`)."""

    def command(self, *args: str, context: str | None = None) -> list[str]:
        command = [str(self.binary), "--kubeconfig", str(self.kubeconfig), "--cache-dir", str(self.cache_dir)]
        if context:
            command += ["--context", context]
        return [*command, *args]

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        return {
            **os.environ,
            "HOME": str(self.cache_dir),
            "KUBECONFIG": str(self.kubeconfig),
            **(extra or {}),
        }

    def __call__(
        self,
        *args: str,
        context: str | None = None,
        input: str | None = None,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args, context=context),
            capture_output=True,
            text=True,
            input=input,
            timeout=timeout or self.timeout,
            env=self.env(env),
            check=False,
        )

    def cleanup(self) -> None:
        shutil.rmtree(self.cache_dir, ignore_errors=True)
