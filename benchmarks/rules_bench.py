"""Timing of the rules core and the view builders at the design size (64 clusters).

Run: ``python benchmarks/rules_bench.py [--json PATH]`` (``benchmarks/run.py`` runs it as the
``rules`` step and judges the figures with a goal). "cold" calls see new Service objects
(per-service facts are computed and cached), "warm" calls see the same objects again, as views
do when the cluster-access layer keeps unchanged objects between snapshots.

The three figures with a goal were time bounds in unit tests (which now assert only what was
computed): the pod-CIDR overlap check at 64 clusters × 200 nodes (≤ 2 s), index + export
matrix + merge + shares for one client at 64 clusters × 150 services (≤ 5 s), and the services
view after one changed service at 64 clusters × 1,200 services (≤ 500 ms).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the fixture meshes (tests/meshmodels.py)

from tui.mesh.checks import connect_checks  # noqa: E402
from tui.mesh.merge import export_matrix, global_service_index, merge_global_service  # noqa: E402
from tui.mesh.model import AgentStatus, Backend, CiliumInfo, ClusterState, Node, Service, frozen_map  # noqa: E402
from tui.mesh.selection import expected_share, select_backends  # noqa: E402
from tui.mesh.status import cluster_mesh_status  # noqa: E402

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


FIGURES: dict[str, float] = {}


def timed(label: str, fn, key: str | None = None) -> object:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - started
    print(f"{label:<58} {elapsed:6.3f} s")
    if key is not None:
        FIGURES[key] = elapsed
    return result


def cidr_overlap() -> None:
    """64 clusters × 200 nodes with disjoint /24s and one overlapping pair (was a unit test bound)."""
    from meshmodels import cluster

    states = [
        cluster(f"ctx{i}", f"c{i}", i + 1, pod_cidrs=tuple(f"10.{i}.{n}.0/24" for n in range(200)))
        for i in range(64)
    ]
    states.append(cluster("ctx64", "c64", 65, pod_cidrs=("10.5.7.0/24",)))
    findings = timed(
        "connect_checks, pod-CIDR overlap, 64 clusters × 200 nodes",
        lambda: connect_checks(states),
        "cidr_overlap_s",
    )
    assert [(f.check, f.clusters) for f in findings] == [("pod-cidr-overlap", ("c5", "c64"))]  # type: ignore[attr-defined]


def one_client_150() -> None:
    """Index, export matrix, merges and shares for one client, 64 clusters × 150 services."""
    annotations = frozen_map({"service.cilium.io/global": "true"})
    states = []
    for c in range(64):
        name = f"cluster{c + 1}"
        services = {
            ("ns", f"svc{s}"): Service(
                "ns", f"svc{s}", annotations=annotations, backends=(Backend(name, f"10.{c}.{s}.1", 80),)
            )
            for s in range(150)
        }
        states.append(
            ClusterState(
                context=f"ctx{c}",
                phase="ok",
                services=frozen_map(services),
                cilium=CiliumInfo(cluster_name=name),
            )
        )

    def work() -> None:
        index = global_service_index(states)
        [export_matrix(key, services) for key, services in index.items()]
        [merge_global_service(key, "cluster1", services) for key, services in index.items()]
        [expected_share(key, "cluster1", services, "1.18.0") for key, services in index.items()]

    timed("index + matrix + merge + shares, 64 × 150, one client", work, "one_client_64x150_s")


def one_changed_service() -> None:
    """The services view rebuilt after one service changed, 64 clusters × 1,200 services."""
    from meshmodels import apply_write, large_snapshot

    from tui.mesh.actions import SetAnnotation
    from tui.views.services import ServicesViewBuilder

    snap = large_snapshot(clusters=64, services=1200)
    builder = ServicesViewBuilder()
    builder.build(snap)
    changed = apply_write(
        snap, SetAnnotation("ctx-05", "team-00", "svc-0000", "service.cilium.io/shared", "false")
    )
    timed(
        "services view after one changed service, 64 × 1,200",
        lambda: builder.build(changed),
        "one_changed_service_s",
    )
    assert builder.recomputed == 1


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", metavar="PATH", help="also write the figures to PATH as JSON")
    parser.add_argument("--quick", action="store_true", help="only the figures with a goal")
    args = parser.parse_args()
    try:
        cidr_overlap()
        one_client_150()
        one_changed_service()
        if not args.quick:
            design_size()
    finally:
        if args.json:
            Path(args.json).write_text(json.dumps(FIGURES))


def design_size() -> None:
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
