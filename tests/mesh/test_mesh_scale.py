"""The rules at the design size (64 clusters) compute what they should; how long they take is a
figure of benchmarks/rules_bench.py (goal ≤ 5 s for this one)."""

from __future__ import annotations

from tui.mesh.merge import export_matrix, global_service_index, merge_global_service
from tui.mesh.model import Backend, CiliumInfo, ClusterState, Service, frozen_map
from tui.mesh.selection import expected_share, select_backends


def test_64_clusters_every_service_for_one_client() -> None:
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
    index = global_service_index(states)
    rows = [export_matrix(key, services) for key, services in index.items()]
    merges = [merge_global_service(key, "cluster1", services) for key, services in index.items()]
    shares = [expected_share(key, "cluster1", services, "1.18.0") for key, services in index.items()]
    assert len(index) == 150
    assert all(len(row) == 64 and all(cell.exported for cell in row) for row in rows)
    assert all(len(merge.included) == 64 for merge in merges)
    assert all(abs(share["cluster1"] - 1 / 64) < 1e-9 for share in shares)
    key, services = next(iter(index.items()))
    assert select_backends(key, "cluster1", services, "1.18.0").expected_share == shares[0]
