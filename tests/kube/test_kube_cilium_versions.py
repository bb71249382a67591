"""The kube layer against the simulator's per-version Cilium: what a real mesh answers.

* exec of a missing ``cilium`` (1.15+ image without the link): containerd fails it with no exit
  code; the agent is read through ``cilium-dbg`` all the same (ARCHITECTURE.md Cilium §2);
* a digest-only agent image: the version comes from ``cilium version`` in the agent;
* KVStoreMesh: ``kvstoremesh-dbg status -o json`` in the ``kvstoremesh`` container of the
  clustermesh-apiserver pods, expected remotes from ``cilium-kvstoremesh``;
* mirrored EndpointSlices (``managed-by: endpointslice-mesh-controller.cilium.io``) are never a
  cluster's own backends (cilium/cilium ``pkg/k8s/utils/utils.go``);
* cluster-pool IPAM: the pod ranges come from ``cilium-config``, not from the Nodes.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from kubehelp import Hubs, wait_snapshot

from tui.kube import parse
from tui.kube.cilium import binary_missing, version_of
from tui.kube.exec import ExecResult
from tui.mesh.checks import connect_checks
from tui.mesh.model import MeshSnapshot
from tui.sim.mesh import SimThread
from tui.sim.meshtesting import mesh_sim
from tui.sim.scenario import load
from tui.views.status import status_view


def variant(name: str, **cilium: object) -> object:
    """The seed scenario with other Cilium settings."""
    data = load("seed")
    data.extra = {**data.extra, "cilium": {**data.extra["cilium"], **cilium}}
    data.name = name
    return data


@pytest.fixture
def dbg_only() -> Iterator[SimThread]:
    sim = mesh_sim(variant("dbg-only", version="1.16.5", ciliumLink=False, imageDigestOnly=True))
    try:
        yield sim
    finally:
        sim.stop()


def agents_read(snapshot: MeshSnapshot) -> bool:
    return all(
        state.cilium.agents and all(a.read_at is not None or a.error for a in state.cilium.agents)
        for state in snapshot.clusters
    )


async def test_missing_cilium_binary_and_digest_only_image(dbg_only: SimThread, hubs: Hubs) -> None:
    hub = await hubs.start(dbg_only.kubeconfig_path)
    snapshot = await wait_snapshot(
        hub, lambda s: agents_read(s) and all(c.cilium.version for c in s.clusters), timeout=10
    )
    for state in snapshot.clusters:
        assert [a.error for a in state.cilium.agents] == [None]  # read through cilium-dbg
        assert (state.cilium.version, state.cilium.version_source) == ("1.16.5", "agent")
    view = status_view(snapshot).by_context("bastion02")
    assert view is not None and view.cilium_version == "1.16.5"


@pytest.mark.parametrize(
    ("result", "missing"),
    [
        (ExecResult(b"", b"sh: cilium: not found\n", 127), True),
        (ExecResult(b"", b"", 126, "command terminated with non-zero exit code"), True),
        (
            ExecResult(
                b"",
                b"",
                None,
                'OCI runtime exec failed: exec failed: unable to start container process: exec: "cilium": '
                "executable file not found in $PATH: unknown",
            ),
            True,
        ),
        (
            ExecResult(
                b"", b"", None, "exec: /usr/bin/cilium: stat /usr/bin/cilium: no such file or directory"
            ),
            True,
        ),
        (ExecResult(b"", b"", None, "timeout after 5 s"), False),
        (ExecResult(b"", b"Error: unknown flag\n", 1, "exit 1"), False),
    ],
)
def test_binary_missing_in_every_runtimes_words(result: ExecResult, missing: bool) -> None:
    assert binary_missing(result) is missing


def test_version_from_cilium_version_output() -> None:
    text = (
        "Client: 1.16.5 ad688277 2024-12-12T10:01:02+00:00 go version go1.22.10 linux/amd64\n"
        "Daemon: 1.16.5 ad688277 2024-12-12T10:01:02+00:00 go version go1.22.10 linux/amd64\n"
    )
    assert version_of(text) == "1.16.5"
    assert version_of("Client: v1.19.0-rc.1 abc\n") == "1.19.0-rc.1"
    assert version_of("garbage") is None


async def test_kvstoremesh_status_is_read_and_told_apart(hubs: Hubs) -> None:
    """KVStoreMesh on (1.16): the agents connect to their own clustermesh-apiserver; a cut link
    shows as KVStoreMesh → remote, not as the agents' problem."""
    sim = mesh_sim("kvstoremesh")
    try:
        hub = await hubs.start(sim.kubeconfig_path)

        def kvm_read(s: MeshSnapshot) -> bool:
            return agents_read(s) and all(
                c.cilium.kvstoremesh and all(r.remotes is not None for r in c.cilium.kvstoremesh)
                for c in s.clusters
            )

        snapshot = await wait_snapshot(hub, kvm_read, timeout=10)
        cluster1 = snapshot.by_context("bastion02")
        assert cluster1 is not None
        assert cluster1.cilium.kvstoremesh_secret_remotes == ("cluster2",)
        (read,) = cluster1.cilium.kvstoremesh
        (remote,) = read.remotes or ()
        assert remote["name"] == "cluster2" and "connected" not in remote
        assert "context deadline exceeded" in remote["status"]
        view = status_view(snapshot).by_context("bastion02")
        assert view is not None and view.kvstoremesh
        assert view.remote("cluster2") is not None and view.remote("cluster2").ok  # type: ignore[union-attr]
        kvm = view.kvstoremesh_remote("cluster2")
        assert kvm is not None and not kvm.ok and "context deadline exceeded" in kvm.error
        assert view.link_lines()[0] == (
            "cluster2: 1/1 configured, 1/1 connected - KVStoreMesh: 1/1 configured, 0/1 connected",
            False,
        )
        checks = {f.check for f in connect_checks(snapshot.clusters)}
        assert "kvstoremesh-not-connected" in checks and "remote-not-connected" not in checks
        # the other problem: agents cut off from their own clustermesh-apiserver
        await hub_fault(sim, "heal", "all")
        await hub_fault(sim, "apiserver_down", "cluster1")
        snapshot = await wait_snapshot(
            hub,
            lambda s: any(f.check == "kvstoremesh-local" for f in connect_checks(s.clusters)),
            timeout=10,
        )
        local = next(f for f in connect_checks(snapshot.clusters) if f.check == "kvstoremesh-local")
        assert local.clusters == ("cluster1",) and "own clustermesh-apiserver" in local.message
    finally:
        sim.stop()


async def hub_fault(sim: SimThread, method: str, *args: object) -> object:
    import asyncio

    return await asyncio.to_thread(sim.call, getattr(sim.mesh.faults, method), *args)


async def test_mirrored_slices_are_not_backends_and_pools_come_from_cilium_config(hubs: Hubs) -> None:
    sim = mesh_sim("mirrored-slices")
    try:
        hub = await hubs.start(sim.kubeconfig_path)
        snapshot = await wait_snapshot(
            hub, lambda s: all(("song", "userlist-headless") in c.services for c in s.clusters), timeout=10
        )
        cluster1 = snapshot.by_context("bastion02")
        assert cluster1 is not None
        ips = {b.ip for b in cluster1.services[("song", "userlist-svc")].backends}
        assert "10.2.0.251" not in ips and all(ip.startswith("10.1.") for ip in ips)
        headless = cluster1.services[("song", "userlist-headless")]
        assert headless.cluster_ip == "None" and "10.2.0.250" not in {b.ip for b in headless.backends}
        assert (cluster1.cilium.ipam_mode, cluster1.cilium.pool_cidrs) == ("cluster-pool", ("10.1.0.0/16",))
        # kubeadm Node podCIDRs (10.244.0.0/24 in both clusters) are no overlap under cluster-pool
        assert {n.pod_cidrs for c in snapshot.clusters for n in c.nodes} == {("10.244.0.0/24",)}
        assert "pod-cidr-overlap" not in {f.check for f in connect_checks(snapshot.clusters)}
    finally:
        sim.stop()


def test_ca_from_tls_crt_when_ca_crt_is_absent() -> None:
    """cilium-cli ``getCACert`` (clustermesh/clustermesh.go): ``ca.crt``, else ``tls.crt`` as
    cert-manager stores it; the key is never decoded."""
    from tui.sim.cilium import make_ca

    ca = make_ca("test")
    encoded = base64.b64encode(ca.cert_pem).decode()
    cert_manager = {"data": {"tls.crt": encoded, "tls.key": "bm90IGEga2V5"}}
    helm = {"data": {"ca.crt": encoded, "ca.key": "bm90IGEga2V5"}}
    ski = parse.ca_ski(helm)
    assert ski is not None and parse.ca_ski(cert_manager) == ski
    assert parse.ca_ski({"data": {"tls.key": "eA=="}}) is None


def test_cilium_config_pools() -> None:
    config = parse.cilium_config(
        {"data": {"cluster-name": "c1", "cluster-pool-ipv4-cidr": "10.1.0.0/16 10.9.0.0/16"}}
    )
    assert (config.ipam_mode, config.pool_cidrs) == ("cluster-pool", ("10.1.0.0/16", "10.9.0.0/16"))
    kubernetes = parse.cilium_config({"data": {"ipam": "kubernetes"}})
    assert (kubernetes.ipam_mode, kubernetes.pool_cidrs) == ("kubernetes", ())
