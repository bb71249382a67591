"""Helpers for the headless tests: run ``meshtui`` in-process and look at what it printed.

:class:`Cli` calls :func:`tui.cli.main` with stdout/stderr captured (not terminals, so tables
come without colour) and asserts after every run that no token of any kubeconfig the test used
appears in either stream.
"""

from __future__ import annotations

import contextlib
import faulthandler
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tui.cli import main
from tui.sim.mesh import SimThread

CALL_LIMIT = 120.0
"""Seconds one in-process command may take before the test process is ended with its stacks."""


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def tokens_of(path: Path) -> list[str]:
    """Every user token of a kubeconfig file (what must never be printed)."""
    doc = yaml.safe_load(Path(path).read_text()) or {}
    return [
        u["user"]["token"]
        for u in doc.get("users") or []
        if isinstance(u, dict) and (u.get("user") or {}).get("token")
    ]


@dataclass
class Cli:
    tmp_path: Path
    secrets: set[str] = field(default_factory=set)

    def __call__(self, *args: str, kubeconfig: Path | str | None = None) -> Result:
        argv = list(args)
        if kubeconfig is not None:
            self.secrets.update(tokens_of(Path(kubeconfig)))
            argv += ["--kubeconfig", str(kubeconfig)]
        out, err = io.StringIO(), io.StringIO()
        # A command that never returns must not hang the suite: dump every stack and exit.
        faulthandler.dump_traceback_later(CALL_LIMIT, exit=True)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    code = main(argv)
                except SystemExit as exc:  # argparse usage errors
                    code = exc.code if isinstance(exc.code, int) else 2
        finally:
            faulthandler.cancel_dump_traceback_later()
        result = Result(code, out.getvalue(), err.getvalue())
        for secret in self.secrets:
            assert secret not in result.out and secret not in result.err, "a token was printed"
        return result

    def kubeconfig_variant(self, sim: SimThread, name: str, edit: Any) -> Path:
        """A copy of the simulator's kubeconfig changed by ``edit(doc)`` (its tokens are watched)."""
        doc = yaml.safe_load(Path(sim.kubeconfig_path).read_text())
        self.secrets.update(tokens_of(Path(sim.kubeconfig_path)))
        edit(doc)
        path = self.tmp_path / name
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        path.chmod(0o600)
        return path


def add_dead_context(doc: dict[str, Any], name: str = "dead", server: str = "https://127.0.0.1:1") -> None:
    """A context whose API server refuses connections (port 1 on 127.0.0.1), with a real user."""
    cluster = {"name": f"{name}-cluster", "cluster": {**doc["clusters"][0]["cluster"], "server": server}}
    doc["clusters"].append(cluster)
    user = doc["contexts"][0]["context"]["user"]
    doc["contexts"].append({"name": name, "context": {"cluster": f"{name}-cluster", "user": user}})


def annotation(sim: SimThread, context: str, namespace: str, service: str, key: str) -> str | None:
    """The annotation as the simulated API server stores it now."""
    return (
        sim_object(sim, context, "services", namespace, service)["metadata"].get("annotations") or {}
    ).get(key)


def replicas(sim: SimThread, context: str, namespace: str, deployment: str) -> int:
    return sim_object(sim, context, "deployments.apps", namespace, deployment)["spec"]["replicas"]


def sim_object(sim: SimThread, context: str, resource: str, namespace: str, name: str) -> dict[str, Any]:
    """A copy of one stored object (``resource`` as the store keys it: ``deployments.apps``)."""
    assert sim.mesh is not None
    cluster = sim.mesh.cluster(context)

    def read() -> dict[str, Any] | None:
        entry = cluster.store.get(resource, namespace, name)
        return None if entry is None else json.loads(json.dumps(entry.obj))

    obj = sim.call(read)
    assert obj is not None, f"{resource} {namespace}/{name} not in {context}"
    return obj


def pod_names(sim: SimThread, context: str, namespace: str, app: str) -> set[str]:
    """Names of the pods labelled ``app=<app>`` in one simulated cluster."""
    assert sim.mesh is not None
    cluster = sim.mesh.cluster(context)

    def read() -> set[str]:
        return {
            e.name
            for e in cluster.store.items("pods", namespace)
            if (e.obj["metadata"].get("labels") or {}).get("app") == app
        }

    return sim.call(read)


def programs_running(sim: SimThread) -> int:
    """Exec programs alive in the simulator (each exec runs its program as a task)."""
    import asyncio

    def count() -> int:
        return sum(1 for t in asyncio.all_tasks() if "program" in t.get_coro().__qualname__ and not t.done())

    return sim.call(count)
