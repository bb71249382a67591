"""Helpers for the reliability suite: the faults, the hub settings, the figures and leak checks.

Every figure a test measures (how long a fault took to show, how long the picture took to
recover after healing) is recorded in :data:`FIGURES`; ``conftest.pytest_terminal_summary``
prints them as one table at the end of the run, the table the README quotes.

The settings are the other simulator tests' (``FAST_HUB``, ``SIM_KWARGS``) with the backoff
capped at 1.5 s. "One backoff period" is that cap plus the longest poll interval (probe,
kube-system poll, agents' ``cilium status``): after a heal, a retry or a poll must have seen it.
The cap is above the probe's 1 s timeout on purpose: a probe sent while the API was slow has to
time out before the next one can see it healed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curlhelp import programs_running
from kubehelp import sim_patch
from simapp import FAST_HUB, SIM_KWARGS, no_threads_left, seed_sim  # noqa: F401  (seed_sim: re-exported)
from testkit import until_blocking

from tui.kube.settings import HubSettings
from tui.sim.mesh import SimThread

REL_HUB: HubSettings = dataclasses.replace(
    FAST_HUB,
    backoff=dataclasses.replace(FAST_HUB.backoff, maximum=1.5),
    timeouts=dataclasses.replace(FAST_HUB.timeouts, connect=3.0),
    startup_watch_delay=0.5,
)
"""FAST_HUB with a 1.5 s backoff cap; watches of a synced context wait at most 0.5 s for a slow one.
The connect timeout is 3 s, not 1 s: on a loaded 2-core machine a healthy cluster's TLS handshake
can take over a second, and the faults here refuse or hold requests rather than connections."""

POLL = max(REL_HUB.probe_interval, REL_HUB.kube_system_poll, REL_HUB.cilium_interval)
PERIOD = REL_HUB.backoff.maximum + POLL
"""One backoff period: the retry cap plus the longest poll interval (1.8 s)."""

SHOWN_WITHIN = 15.0
"""A fault must be on screen (or in the command's answer) this many seconds after it began."""

AFFINITY = "service.cilium.io/affinity"


@dataclass(frozen=True)
class FaultCase:
    """One simulator fault: how to set it, on which cluster, and which cluster stays healthy."""

    label: str
    method: str
    args: tuple[Any, ...]
    faulty: str
    """Context whose API or mesh link the fault breaks."""
    healthy: str
    """Context whose changes must keep showing meanwhile."""
    api: bool = True
    """The fault breaks the faulty cluster's API (its cluster state), not only the mesh."""


API_DOWN = FaultCase("API down", "api_down", ("cluster2",), "bastion03", "bastion02")
API_SLOW = FaultCase("API slow 5 s", "api_slow", ("cluster2", 5.0), "bastion03", "bastion02")
API_ERRORS = FaultCase("5xx at 50 %", "api_errors", ("cluster2", 0.5, 503), "bastion03", "bastion02")
WATCH_EXPIRED = FaultCase("watch expired", "expire_watches", ("cluster2",), "bastion03", "bastion02")
LINK_DOWN = FaultCase(
    "mesh link down", "link_down", ("cluster1", "cluster2"), "bastion03", "bastion02", api=False
)
APISERVER_DOWN = FaultCase(
    "clustermesh-apiserver down", "apiserver_down", ("cluster2",), "bastion03", "bastion02", api=False
)
POD_DELETED = "client pod deleted (curl loop)"
CASES = (API_DOWN, API_SLOW, API_ERRORS, WATCH_EXPIRED, LINK_DOWN, APISERVER_DOWN)

WHAT = {
    "api_down": "connection refused",
    "api_slow": f"timeout after {REL_HUB.timeouts.connect:g} s",  # the probe waits this long
    "api_errors": "HTTP 503 Service Unavailable",
}
"""The words the product uses for each API fault (the cluster's state reason)."""


@dataclass
class Figure:
    """One row of the summary table."""

    fault: str
    mode: str
    survived: bool
    shown_in: float | None
    """Seconds from the fault to it being shown; ``None``: nothing to show (see ``note``)."""
    recovered_in: float | None
    note: str = ""


FIGURES: list[Figure] = []


def record(figure: Figure) -> Figure:
    FIGURES.append(figure)
    return figure


def seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} s"


def summary_lines() -> list[str]:
    """``fault × mode | survived | shown in | recovered in`` for every recorded figure."""
    order = [case.label for case in CASES] + [POD_DELETED]
    figures = sorted(FIGURES, key=lambda f: (order.index(f.fault) if f.fault in order else 99, f.mode))
    rows = [
        (f.fault, f.mode, "yes" if f.survived else "NO", seconds(f.shown_in), seconds(f.recovered_in), f.note)
        for f in figures
    ]
    head = ("fault", "mode", "survived", "shown in", "recovered in", "note")
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    fmt = lambda r: "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) + " |"  # noqa: E731
    out = [fmt(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [fmt(r) for r in rows]
    out.append(
        f"(bounds: shown within {SHOWN_WITHIN:g} s; recovered within one backoff period = "
        f"{REL_HUB.backoff.maximum:g} s cap + {POLL:g} s poll = {PERIOD:g} s)"
    )
    return out


# -- the simulator ----------------------------------------------------------------------------------


def set_fault(sim: SimThread, method: str, *args: Any) -> Any:
    """``await sim.mesh.faults.<method>(*args)`` on the simulator's loop (blocking: call from a thread)."""
    assert sim.mesh is not None
    return sim.call(getattr(sim.mesh.faults, method), *args)


def set_affinity(sim: SimThread, context: str, value: str) -> None:
    """Another client changes the userlist service's affinity (a change every mode can show)."""
    patch = {"metadata": {"annotations": {AFFINITY: value}}}
    sim_patch(sim, context, "services", "song", "userlist-svc", patch)


def delete_pod(sim: SimThread, context: str, name: str, namespace: str = "song") -> None:
    """Delete a pod as another client would (its deployment makes a new one)."""
    assert sim.mesh is not None
    cluster = sim.mesh.cluster(context)
    sim.call(lambda: cluster.delete(cluster.registry.by_key("pods"), namespace, name))


def watchers(sim: SimThread) -> int:
    """Open watches in every simulated cluster."""
    assert sim.mesh is not None
    mesh = sim.mesh
    return sim.call(lambda: sum(c.store.watcher_count() for c in mesh.clusters.values()))


def snapshot_objects(sim: SimThread) -> dict[str, list[tuple[str, str, str]]]:
    """Every stored object's (kind, namespace/name, resourceVersion) per cluster: a change shows."""
    assert sim.mesh is not None
    mesh = sim.mesh

    def read() -> dict[str, list[tuple[str, str, str]]]:
        out: dict[str, list[tuple[str, str, str]]] = {}
        for name, cluster in mesh.clusters.items():
            rows = []
            for kind in ("services", "deployments.apps", "configmaps", "secrets"):
                rows += [(kind, f"{e.namespace}/{e.name}", str(e.rv)) for e in cluster.store.items(kind)]
            out[name] = sorted(rows)
        return out

    return sim.call(read)


def write_recorder(sim: SimThread) -> Any:
    """Every request that would change an object, as it reaches any simulated API server.

    Access reviews are POSTs that change nothing (the layer asks what it may do): not writes.
    """

    def write(request: Any) -> str | None:
        if request.method in ("POST", "PUT", "PATCH", "DELETE") and "accessreview" not in request.path:
            return f"{request.method} {request.path}"
        return None

    return request_recorder(sim, write)


def exec_recorder(sim: SimThread) -> Any:
    """The command of every exec any simulated API server receives (``sh -c kill 12``)."""

    def command(request: Any) -> str | None:
        return " ".join(request.query.getall("command", [])) if request.path.endswith("/exec") else None

    return request_recorder(sim, command)


@contextmanager
def request_recorder(sim: SimThread, note: Callable[[Any], str | None]) -> Iterator[list[str]]:
    """``note(request)`` of every request any simulated API server receives (``None``: skipped)."""
    assert sim.mesh is not None
    seen: list[str] = []

    async def hook(request: Any) -> None:
        noted = note(request)
        if noted is not None:
            seen.append(noted)

    clusters = list(sim.mesh.clusters.values())
    sim.call(lambda: [c.request_hooks.insert(0, hook) for c in clusters])
    try:
        yield seen
    finally:
        sim.call(lambda: [c.request_hooks.remove(hook) for c in clusters if hook in c.request_hooks])


def wait_nothing_left(sim: SimThread, timeout: float = 5.0) -> None:
    """No watch and no exec program left in the simulator (bounded wait for closes in flight)."""
    until_blocking(
        lambda: (watchers(sim), programs_running(sim)) == (0, 0),
        timeout,
        0.05,
        describe=lambda: (
            f"{watchers(sim)} watches left open and {programs_running(sim)} exec "
            "programs left running in the simulator"
        ),
    )


def utc_seconds_of_day(epoch: float) -> int:
    return int(epoch) % 86400


def hms_seconds(text: str) -> int:
    hours, minutes, secs = (int(part) for part in text.split(":"))
    return hours * 3600 + minutes * 60 + secs


def within_day(shown: int, start: float, end: float, slack: int = 1) -> bool:
    """``shown`` (seconds of a UTC day, as HH:MM:SS) lies between two epoch times (± slack)."""
    low, high = utc_seconds_of_day(start) - slack, utc_seconds_of_day(end) + slack
    if low <= high:
        return low <= shown <= high
    return shown >= low or shown <= high  # across midnight


def tokens_of_sim(sim: SimThread) -> list[str]:
    """Every token of the simulator's kubeconfig (admin and any other users written so far)."""
    import yaml

    doc = yaml.safe_load(Path(sim.kubeconfig_path).read_text())
    tokens = [u["user"]["token"] for u in doc["users"] if u.get("user", {}).get("token")]
    assert tokens and all(len(t) > 8 for t in tokens)
    return tokens


def no_token_in(texts: list[str], tokens: list[str]) -> None:
    for text in texts:
        for token in tokens:
            assert token not in text, "a kubeconfig token was shown"
