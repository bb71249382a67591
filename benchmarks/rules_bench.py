"""Timing of the rules core at the design size: 64 clusters × 2,000 global services.

Run: ``python benchmarks/rules_bench.py``. "cold" calls see new
Service objects (per-service facts are computed and cached), "warm" calls see the same objects
again, as views do when the cluster-access layer keeps unchanged objects between snapshots.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tui.mesh.checks import connect_checks
from tui.mesh.merge import export_matrix, global_service_index, merge_global_service
from tui.mesh.model import AgentStatus, Backend, CiliumInfo, ClusterState, Node, Service, frozen_map
from tui.mesh.selection import expected_share, select_backends
from tui.mesh.status import cluster_mesh_status

CLUSTERS, SERVICES = 64, 2000


def build() -> list[ClusterState]:
    annotations = frozen_map({"service.cilium.io/global": "true", "service.cilium.io/affinity": "local"})
    states = []
    for c in range(CLUSTERS):
        name = f"cluster{c + 1}"
        services = {}
        for s in range(SERVICES):
            ip = f"10.{c}.{s // 250}.{s % 250}"
            services[("ns", f"svc{s}")] = Service(
                "ns",
                f"svc{s}",
                annotations=annotations,
                backends=(Backend(name, ip, 80), Backend(name, ip, 81)),
            )
        remotes = [
            {"name": f"cluster{r + 1}", "connected": True, "ready": True} for r in range(CLUSTERS) if r != c
        ]
        agents = tuple(
            AgentStatus(pod=f"cilium-{n}", status=frozen_map({"cluster-mesh": {"clusters": remotes}}))
            for n in range(10)
        )
        states.append(
            ClusterState(
                context=f"ctx{c}",
                phase="ok",
                services=frozen_map(services),
                cilium=CiliumInfo(
                    cluster_name=name, cluster_id=c + 1, config_present=True, version="1.14.1", agents=agents
                ),
                nodes=tuple(Node(f"n{c}-{i}", pod_cidrs=(f"10.{c}.{i}.0/24",)) for i in range(50)),
            )
        )
    return states


def timed(label: str, fn) -> object:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = fn()
    print(f"{label:<58} {time.perf_counter() - started:6.3f} s")
    return result


def main() -> None:
    states = build()
    index = timed("global_service_index (cold)", lambda: global_service_index(states))
    timed("global_service_index (warm)", lambda: global_service_index(states))
    items = list(index.items())  # type: ignore[attr-defined]
    timed("export_matrix, every service (cold)", lambda: [export_matrix(k, s) for k, s in items])
    timed("export_matrix, every service (warm)", lambda: [export_matrix(k, s) for k, s in items])
    timed(
        "merge_global_service, every service, one client",
        lambda: [merge_global_service(k, "cluster1", s) for k, s in items],
    )
    timed(
        "expected_share, every service, one client",
        lambda: [expected_share(k, "cluster1", s, "1.14.1") for k, s in items],
    )
    timed(
        "select_backends, every service, one client",
        lambda: [select_backends(k, "cluster1", s, "1.14.1") for k, s in items],
    )
    timed(
        "select_backends, one service, one client",
        lambda: select_backends(items[0][0], "cluster1", items[0][1], "1.14.1"),
    )
    timed(
        "merge_global_service, 200 services × 64 clients",
        lambda: [
            merge_global_service(k, f"cluster{c + 1}", s) for k, s in items[:200] for c in range(CLUSTERS)
        ],
    )
    timed(
        "cluster_mesh_status, 64 clusters × 10 agents × 63 remotes",
        lambda: [cluster_mesh_status(s.cilium) for s in states],
    )
    timed("connect_checks, 64 clusters (50 nodes each)", lambda: connect_checks(states))


if __name__ == "__main__":
    main()
