"""Cilium across a whole simulated mesh: settings, the agents' views, links and the data plane.

One :class:`CiliumMesh` lives on each :class:`~tui.sim.mesh.SimMesh` (``mesh.cilium``). It adds
Cilium's kube-system objects to every cluster's initial objects, writes the
``cilium-clustermesh`` Secrets of the pairs the scenario connects once every cluster is up,
and from then on keeps, per cluster, the agents' realized services
(:class:`~tui.sim.agentview.ClusterView`), the pod-IP index, and mesh-wide the links
(:class:`~tui.sim.links.Links`). Exec programs reach it through ``ExecRequest.extras["mesh"]``;
curl gets a :class:`~tui.sim.dataplane.PodNetwork` through ``SimMesh.network_factory``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import json
from typing import TYPE_CHECKING, Any

from tui.sim import agent as _agent  # noqa: F401  (registers the agent's exec program)
from tui.sim.agentview import ClusterView
from tui.sim.cilium import (
    APISERVER,
    CA_SECRET,
    CLUSTERMESH_SECRET,
    CONFIG_MAP,
    KVSTOREMESH_SECRET,
    LOCAL_ENDPOINT,
    NAMESPACE,
    CiliumCA,
    CiliumSettings,
    access_addresses,
    cilium_objects,
    encode_secret_value,
    make_ca,
    remote_config,
    settings_of,
)
from tui.sim.dataplane import DataPlane, PodIndex, PodNetwork
from tui.sim.links import Links, read_facts
from tui.sim.store import Event

if TYPE_CHECKING:
    from tui.sim.cluster import SimCluster
    from tui.sim.mesh import SimMesh
    from tui.sim.scenario import ClusterSpec

_NOT_IDENTITY = {"pod-template-hash", "controller-revision-hash", "pod-template-generation"}
FACT_OBJECTS = {
    ("configmaps", CONFIG_MAP),
    ("secrets", CA_SECRET),
    ("secrets", CLUSTERMESH_SECRET),
    ("secrets", KVSTOREMESH_SECRET),
    ("deployments.apps", APISERVER),
    ("services", APISERVER),
}


class MeshError(ValueError):
    """A connect/disconnect or fault that names clusters that cannot take it."""


class CiliumMesh:
    """Cilium's state for every cluster of one :class:`SimMesh`."""

    def __init__(
        self,
        mesh: SimMesh,
        *,
        sync_delay: float | None = None,
        link_latency: float | None = None,
        connect_delay: float | None = None,
        syn_timeout: float | None = None,
        enabled: bool = True,
    ) -> None:
        self.mesh = mesh
        self.settings: CiliumSettings = settings_of(mesh.scenario)
        if not enabled:  # a cluster without Cilium (tests that install their own stand-in)
            self.settings.clusters = {
                name: dataclasses.replace(c, enabled=False) for name, c in self.settings.clusters.items()
            }
            self.settings.connect = []
        if sync_delay is not None:
            self.settings.sync_delay = sync_delay
        if link_latency is not None:
            self.settings.link_latency = link_latency
        if connect_delay is not None:
            self.settings.connect_delay = connect_delay
        if syn_timeout is not None:
            self.settings.syn_timeout = syn_timeout
        self._cas: dict[str, CiliumCA] = {}
        self.views: dict[str, ClusterView] = {}
        self.pods: dict[str, PodIndex] = {}
        self.agents_not_ready: set[str] = set()
        self.dataplane = DataPlane(self, mesh.scenario.seed)
        self.links = Links(
            clusters={},
            sync_delay=lambda: self.settings.sync_delay,
            connect_delay=lambda: self.settings.connect_delay,
            retry_interval=lambda: self.settings.retry_interval,
        )
        self._networks: dict[str, list[Any]] = {}
        self._node_ips: dict[str, str] = {}
        self._unsubscribe: list[Any] = []
        self._stale_facts: set[str] = set()
        self._facts_scheduled = False
        self.frontend_ids: dict[str, dict[tuple[str, int, str], int]] = {}
        self.frozen: dict[tuple[str, str], dict[tuple[str, str], Any]] = {}
        """(local, remote) → the remote's exported services as they were when the link broke:
        what the agents of ``local`` keep using (never revoked, cilium/cilium#20729)."""
        self.links.listeners.append(self._freeze)
        self._counts: dict[str, tuple[Any, tuple[int, int, int, int]]] = {}
        self._globals: dict[str, tuple[Any, int]] = {}
        self._exporters: tuple[tuple[int, ...], dict[tuple[str, str], set[str]]] | None = None
        self.started = False

    # -- set-up ------------------------------------------------------------------------------

    def enabled(self, cluster: str) -> bool:
        return self.settings.cluster(cluster).enabled

    def objects_for(self, spec: ClusterSpec) -> list[dict[str, Any]]:
        """Cilium's kube-system objects for one cluster (appended to its initial objects)."""
        cilium = self.settings.cluster(spec.name)
        if not cilium.enabled:
            return []
        ca = self._cas.get(cilium.ca_group)
        if ca is None:
            ca = self._cas[cilium.ca_group] = make_ca(cilium.ca_group)
        return cilium_objects(spec, cilium, ca)

    def spec_with_cilium(self, spec: ClusterSpec) -> ClusterSpec:
        extra = self.objects_for(spec)
        return dataclasses.replace(spec, objects=[*spec.objects, *extra]) if extra else spec

    async def start(self) -> None:
        """After every cluster loaded: connect the scenario's pairs, then follow the stores."""
        clusters = {n: c for n, c in self.mesh.clusters.items() if self.enabled(n)}
        self.links.clusters = clusters
        for name, cluster in clusters.items():
            self.frontend_ids[name] = {}
            for node in cluster.spec.nodes:
                self._node_ips[node.internal_ip] = name
                if node.external_ip:
                    self._node_ips[node.external_ip] = name
        wanted: dict[str, dict[str, SimCluster | None]] = {}
        for a, b in self.settings.connect:
            if a in clusters and b in clusters:
                wanted.setdefault(a, {})[b] = clusters[b]
                wanted.setdefault(b, {})[a] = clusters[a]
        # each cluster's address is read once, not once per cluster that connects to it (255²)
        addresses = {
            name: self.access_address(clusters[name]) for name in {r for w in wanted.values() for r in w}
        }
        for name, remotes in wanted.items():  # one write per cluster, whatever the mesh's size
            self._write_remotes(clusters[name], remotes, addresses)
        for name, cluster in clusters.items():
            self.views[name] = ClusterView(cluster, lambda: self.settings.sync_delay)
            self.pods[name] = PodIndex(cluster)
            self._unsubscribe.append(cluster.store.subscribe(self._watch_facts(name)))
        self.links.load(established=True)
        for name in clusters:
            if self.settings.cluster(name).agent_not_ready:
                self.set_agent_ready(name, False)
        self.started = True

    async def stop(self) -> None:
        for view in self.views.values():
            view.close()
        for index in self.pods.values():
            index.close()
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        self.started = False

    def _watch_facts(self, name: str) -> Any:
        def on_event(event: Event) -> None:
            entry = event.entry
            if event.key == "nodes" or (
                entry.namespace == NAMESPACE and (event.key, entry.name) in FACT_OBJECTS
            ):
                self._stale_facts.add(name)
                if not self._facts_scheduled:
                    self._facts_scheduled = True
                    asyncio.get_running_loop().call_soon(self._refresh_facts)

        return on_event

    def _refresh_facts(self) -> None:
        self._facts_scheduled = False
        stale, self._stale_facts = self._stale_facts, set()
        for name in stale:
            if name in self.links.clusters:
                self.links.facts[name] = read_facts(self.links.clusters[name])
        self.links.refresh()

    def refresh_now(self) -> None:
        """Apply pending kube-system changes to the links at once (faults call this)."""
        if self._stale_facts:
            self._refresh_facts()
        else:
            self.links.refresh()

    def _freeze(self) -> None:
        """Keep a copy of a remote's exported services from the moment the agents lose it (the
        links call this after every refresh, synchronously with the fault or change)."""
        if not self.views:
            return
        now = self.links.clock()
        keep: set[tuple[str, str]] = set()
        for local in self.views:
            for remote in self.links.stale(local, now):
                key = (local, remote)
                keep.add(key)
                if key not in self.frozen and remote in self.views:
                    view = self.views[remote]
                    self.frozen[key] = {k: view.record(k) for k in view.exported_keys()}
        for key in [k for k in self.frozen if k not in keep]:
            del self.frozen[key]

    def remote_record(self, local: str, remote: str, key: tuple[str, str]) -> Any:
        """What the agents of ``local`` hold of ``remote``'s service ``key``: its live realized
        record, or the copy frozen when the link broke (``None``: not exported then)."""
        frozen = self.frozen.get((local, remote))
        if frozen is not None:
            if remote in self.links.stale(local):
                return frozen.get(key)
            del self.frozen[(local, remote)]  # reconnected since: the live state again
        return self.views[remote].record(key)

    # -- lookups the data plane and the agent need ---------------------------------------------

    def sim(self, cluster: str) -> SimCluster:
        return self.mesh.clusters[cluster]

    def version(self, cluster: str) -> str:
        return self.settings.cluster(cluster).version

    def pod_networks(self, cluster: str) -> list[Any]:
        networks = self._networks.get(cluster)
        if networks is None:
            spec = self.sim(cluster).spec
            cidrs = {spec.pod_cidr, *(n.pod_cidr for n in spec.nodes if n.pod_cidr)}
            networks = self._networks[cluster] = [ipaddress.ip_network(c, strict=False) for c in cidrs if c]
        return networks

    def remote_counts(self, cluster: str) -> tuple[int, int, int, int]:
        """(nodes, endpoints, identities, shared services) a remote cluster offers."""
        store = self.sim(cluster).store
        cached = self._counts.get(cluster)
        view = self.views[cluster]
        if cached is None or cached[0] != (store.rv, view.generation):
            nodes = store.count("nodes")
            endpoints = nodes  # one health endpoint per node
            identities: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
            for entry in store.iter("pods"):
                obj = entry.obj
                if (obj.get("spec") or {}).get("hostNetwork") or not (obj.get("status") or {}).get("podIP"):
                    continue
                endpoints += 1
                labels = tuple(sorted((k, v) for k, v in entry.labels.items() if k not in _NOT_IDENTITY))
                identities.add((entry.namespace, labels))
            counts = (nodes, endpoints, len(identities) + 1, len(view.exported_keys()))
            cached = self._counts[cluster] = ((store.rv, view.generation), counts)
        return cached[1]

    def num_global_services(self, cluster: str, usable: set[str]) -> int:
        """Global services the agents of ``cluster`` know from their remotes (Cilium counts the
        distinct services the connected remotes export)."""
        generations = tuple(view.generation for view in self.views.values())
        if self._exporters is None or self._exporters[0] != generations:
            exporters: dict[tuple[str, str], set[str]] = {}
            for name, view in self.views.items():
                for key in view.exported_keys():
                    exporters.setdefault(key, set()).add(name)
            self._exporters = (generations, exporters)
            self._globals.clear()
        key = frozenset(usable)
        cached = self._globals.get(cluster)
        if cached is None or cached[0] != key:
            count = sum(1 for names in self._exporters[1].values() if not names.isdisjoint(usable))
            cached = self._globals[cluster] = (key, count)
        return cached[1]

    def node_owner(self, ip: str) -> str | None:
        return self._node_ips.get(ip)

    def network_for(self, cluster: SimCluster, pod: dict[str, Any]) -> PodNetwork | None:
        """``SimMesh.network_factory``: the data plane as ``pod`` sees it."""
        if cluster.name not in self.views:
            return None
        namespace = str((pod.get("metadata") or {}).get("namespace") or "default")
        return PodNetwork(self.dataplane, cluster.name, namespace)

    def frontend_id(self, cluster: str, ip: str, port: int, protocol: str) -> int:
        """A stable service ID per frontend, numbered as the agent first sees them."""
        ids = self.frontend_ids.setdefault(cluster, {})
        key = (ip, port, protocol)
        if key not in ids:
            ids[key] = len(ids) + 1
        return ids[key]

    # -- connect / disconnect ------------------------------------------------------------------

    def access_address(self, cluster: SimCluster) -> str | None:
        service = cluster.store.get("services", NAMESPACE, APISERVER)
        nodes = [e.obj for e in cluster.store.items("nodes")]
        addresses = access_addresses(service.obj if service else None, nodes)
        return addresses[0] if addresses else None

    def _write_remotes(
        self,
        local: SimCluster,
        remotes: dict[str, SimCluster | None],
        known: dict[str, str | None] | None = None,
    ) -> None:
        """Set (cluster) or remove (``None``) remotes in ``local``'s ``cilium-clustermesh`` — and,
        with KVStoreMesh, in ``cilium-kvstoremesh``, the agents' entries then pointing at the
        local clustermesh-apiserver (what the Helm chart writes). ``known``: access addresses
        already read, by cluster name."""
        addresses: dict[str, str | None] = {}
        for remote_name, remote in remotes.items():
            if remote is None:
                addresses[remote_name] = None
                continue
            address = known[remote_name] if known and remote_name in known else self.access_address(remote)
            if address is None:
                raise MeshError(f"{remote_name}: clustermesh-apiserver has no access address")
            addresses[remote_name] = address
        if self.settings.cluster(local.name).kvstoremesh:
            self._write_secret(local, KVSTOREMESH_SECRET, addresses)
            addresses = {k: (None if v is None else LOCAL_ENDPOINT) for k, v in addresses.items()}
        self._write_secret(local, CLUSTERMESH_SECRET, addresses)

    def _write_secret(self, local: SimCluster, name: str, addresses: dict[str, str | None]) -> None:
        rtype = local.registry.by_key("secrets")
        entry = local.store.get("secrets", NAMESPACE, name)
        if entry is None:
            obj: dict[str, Any] = {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": name, "namespace": NAMESPACE},
                "type": "Opaque",
                "data": {},
            }
        else:
            obj = entry.copy()
        data = obj.get("data") or {}
        obj["data"] = data
        for remote_name, address in addresses.items():
            if address is None:
                data.pop(remote_name, None)
            else:
                data[remote_name] = encode_secret_value(remote_config(remote_name, address))
        if entry is None:
            local.create(rtype, obj, NAMESPACE)
        else:
            local.update(rtype, obj, NAMESPACE, name)

    def _pair(self, a: str, b: str) -> tuple[SimCluster, SimCluster]:
        try:
            first, second = self.mesh.cluster(a), self.mesh.cluster(b)
        except KeyError as exc:
            raise MeshError(f"no cluster {exc.args[0]!r}") from exc
        if first is second:
            raise MeshError("a cluster cannot be connected to itself")
        for cluster in (first, second):
            if cluster.name not in self.views:
                raise MeshError(f"{cluster.name} does not run Cilium")
        return first, second

    def connect(self, a: str, b: str) -> None:
        """``cilium clustermesh connect``: each cluster's Secret gets the other's endpoint."""
        first, second = self._pair(a, b)
        self._write_remotes(first, {second.name: second})
        self._write_remotes(second, {first.name: first})
        self.refresh_now()

    def disconnect(self, a: str, b: str) -> None:
        """``cilium clustermesh disconnect``: both Secrets forget the other cluster."""
        first, second = self._pair(a, b)
        self._write_remotes(first, {second.name: None})
        self._write_remotes(second, {first.name: None})
        self.refresh_now()

    # -- agent pods ----------------------------------------------------------------------------

    def agent_pods(self, cluster: str) -> list[dict[str, Any]]:
        store = self.sim(cluster).store
        return [e.obj for e in store.items("pods", NAMESPACE) if e.labels.get("k8s-app") == "cilium"]

    def set_agent_ready(self, cluster: str, ready: bool) -> None:
        """Mark the agents of ``cluster`` (not) ready: their pods' Ready condition and status."""
        if ready:
            self.agents_not_ready.discard(cluster)
        else:
            self.agents_not_ready.add(cluster)
        set_pods_ready(self.sim(cluster), {"k8s-app": "cilium"}, ready)

    def set_apiserver_down(self, cluster: str, down: bool) -> None:
        if down:
            self.links.apiservers_down.add(cluster)
        else:
            self.links.apiservers_down.discard(cluster)
        set_pods_ready(self.sim(cluster), {"k8s-app": APISERVER}, not down)
        self.refresh_now()


def set_pods_ready(cluster: SimCluster, labels: dict[str, str], ready: bool) -> None:
    """Flip the Ready condition of the running kube-system pods matching ``labels``."""
    rtype = cluster.registry.by_key("pods")
    now = cluster.store.now()
    for entry in list(cluster.store.iter("pods", NAMESPACE)):
        if any(entry.labels.get(k) != v for k, v in labels.items()):
            continue
        obj = entry.copy()
        status = obj.get("status") or {}
        if status.get("phase") != "Running":
            continue
        value = "True" if ready else "False"
        changed = False
        for condition in status.get("conditions") or []:
            if condition.get("type") in ("Ready", "ContainersReady") and condition.get("status") != value:
                condition["status"] = value
                condition["lastTransitionTime"] = now
                if ready:
                    condition.pop("reason", None)
                else:
                    condition["reason"] = "ContainersNotReady"
                changed = True
        for container in status.get("containerStatuses") or []:
            container["ready"] = ready
        if changed:
            cluster.store.update(rtype, json.loads(json.dumps(obj)))
