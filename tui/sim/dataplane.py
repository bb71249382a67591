"""The simulated data plane: DNS and TCP/HTTP between pods, routed the way Cilium would.

A curl in a pod of cluster C goes through :class:`PodNetwork` (the :class:`tui.sim.curl.Network`
of that pod):

* **DNS** is cluster C's CoreDNS: the pod's search path (``<ns>.svc.cluster.local``,
  ``svc.cluster.local``, ``cluster.local``, ndots 5) over C's own Services — a service that does
  not exist in C does not resolve, whatever the other clusters have. Headless services answer a
  ready endpoint's IP; ``a-b-c-d.<ns>.pod.cluster.local`` answers ``a.b.c.d``.
* **A ClusterIP of C** is load-balanced by C's agents (socket LB: ``%{remote_ip}`` stays the
  service IP): the backends are what C's agents realized (:mod:`tui.sim.agentview`) — C's own
  plus those of the remotes C is connected to that export the service — chosen by
  :func:`tui.mesh.selection.select_backends` under C's Cilium version, then one at random
  (seeded). Nothing selected → ``connection refused`` (Cilium's socket LB answers so).
* **A pod IP** reaches that pod directly, in C or in a remote C is meshed with.
* **A load-balancer IP or a node's NodePort** of any cluster is load-balanced by that
  cluster's agents.
* A path that is cut (``link-down``), a backend that no longer exists, or an address nobody
  owns swallow the SYN: curl waits for its connect timeout (exit 28), or for the kernel's
  ``syn_timeout`` (exit 7). A pod that does not listen on the port answers RST (exit 7).
* With overlapping pod CIDRs, an address inside C's own pod CIDR is routed inside C.

Latency: ``local_latency`` (about 1 ms) inside a cluster, the link's latency to a remote.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import time
from collections.abc import Iterable
from random import Random
from typing import TYPE_CHECKING, Any

from tui.mesh.selection import select_backends
from tui.sim.apps import App, app_port_matches, make_app
from tui.sim.curl import (
    ConnectionRefused,
    ConnectTimeout,
    HostUnreachable,
    HttpRequest,
    HttpResponse,
    OperationTimeout,
)
from tui.sim.store import DELETED, SLICES, Event

if TYPE_CHECKING:
    from tui.sim.agentview import ServiceRecord
    from tui.sim.ciliummesh import CiliumMesh

PODS, SERVICES = "pods", "services"
CLUSTER_DOMAIN = "cluster.local"
_POD_NAME = re.compile(r"^(\d{1,3})-(\d{1,3})-(\d{1,3})-(\d{1,3})$")
APP_CACHE = 4096


class PodIndex:
    """Pod IPs of one cluster (pods on the pod network; host-network pods use the node's IP)."""

    def __init__(self, cluster: Any) -> None:
        self.store = cluster.store
        self._ips: dict[str, tuple[str, str]] | None = None
        self._unsubscribe = self.store.subscribe(self._on_event)

    def close(self) -> None:
        self._unsubscribe()

    def _index(self) -> dict[str, tuple[str, str]]:
        if self._ips is None:
            self._ips = {}
            for entry in self.store.iter(PODS):
                self._add(entry.obj)
        return self._ips

    def _add(self, obj: dict[str, Any]) -> None:
        assert self._ips is not None
        ip = (obj.get("status") or {}).get("podIP")
        if ip and not (obj.get("spec") or {}).get("hostNetwork"):
            meta = obj.get("metadata") or {}
            self._ips[ip] = (meta.get("namespace", ""), meta.get("name", ""))

    def _on_event(self, event: Event) -> None:
        if event.key != PODS or self._ips is None:
            return
        if event.prev is not None:
            ip = (event.prev.obj.get("status") or {}).get("podIP")
            if ip and self._ips.get(ip) == (event.prev.namespace, event.prev.name):
                del self._ips[ip]
        if event.type != DELETED:
            self._add(event.entry.obj)

    def pod(self, ip: str) -> dict[str, Any] | None:
        """The live pod holding ``ip`` (``None`` when no pod has it)."""
        found = self._index().get(ip)
        if found is None:
            return None
        entry = self.store.get(PODS, found[0], found[1])
        return entry.obj if entry is not None else None


def _in_networks(ip: str, networks: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in network for network in networks)


class DataPlane:
    """Routing for every pod of the mesh (one instance per :class:`CiliumMesh`)."""

    def __init__(self, mesh: CiliumMesh, seed: int) -> None:
        self.mesh = mesh
        self.rng = Random(f"{seed}:dataplane")
        self.seed = seed
        self._apps: dict[str, App] = {}
        self.requests = 0

    # -- DNS -----------------------------------------------------------------------------------

    def resolve(self, cluster: str, namespace: str, host: str) -> str | None:
        host = host.lower().rstrip(".")
        try:
            ipaddress.ip_address(host)
            return host
        except ValueError:
            pass
        search = [f"{namespace}.svc.{CLUSTER_DOMAIN}", f"svc.{CLUSTER_DOMAIN}", CLUSTER_DOMAIN]
        names = [f"{host}.{s}" for s in search] + [host] if host.count(".") < 5 else [host]
        for name in names:
            ip = self._lookup(cluster, name)
            if ip is not None:
                return ip
        return None

    def _lookup(self, cluster: str, name: str) -> str | None:
        suffix = "." + CLUSTER_DOMAIN
        if not name.endswith(suffix):
            return None
        parts = name[: -len(suffix)].split(".")
        store = self.mesh.sim(cluster).store
        if len(parts) == 3 and parts[2] == "svc":
            entry = store.get(SERVICES, parts[1], parts[0])
            if entry is None:
                return None
            spec = entry.obj.get("spec") or {}
            if spec.get("type") == "ExternalName":
                return None
            ip = spec.get("clusterIP")
            if ip and ip != "None":
                return str(ip)
            ready = [
                address
                for s in store.iter(SLICES, parts[1])
                if s.labels.get("kubernetes.io/service-name") == parts[0]
                for ep in s.obj.get("endpoints") or []
                if (ep.get("conditions") or {}).get("ready", True)
                for address in ep.get("addresses") or []
            ]
            return self.rng.choice(sorted(ready)) if ready else None
        if len(parts) == 3 and parts[2] == "pod":
            match = _POD_NAME.match(parts[0])
            if match and store.get("namespaces", "", parts[1]) is not None:
                return ".".join(match.groups())
        return None

    # -- TCP + HTTP ----------------------------------------------------------------------------

    async def request(
        self,
        cluster: str,
        ip: str,
        port: int,
        req: HttpRequest,
        *,
        connect_timeout: float | None,
        max_time: float | None,
    ) -> HttpResponse:
        """One connection from a pod of ``cluster`` to ``ip:port`` and one HTTP exchange."""
        self.requests += 1
        started = time.monotonic()
        target = self._route(cluster, ip, port)
        return await self._exchange(cluster, target, ip, port, req, started, connect_timeout, max_time)

    def _route(self, cluster: str, ip: str, port: int) -> tuple[str, str, int] | BaseException:
        """(backend cluster, backend IP, backend port) or the error the connection meets."""
        mesh = self.mesh
        view = mesh.views[cluster]
        key = view.service_at(ip)
        if key is not None:
            return self._balance(cluster, cluster, key, ip, port)
        node_cluster = mesh.node_owner(ip)
        if node_cluster is not None:
            if mesh.links.partitioned(cluster, node_cluster):
                return _blackhole()
            node_key = mesh.views[node_cluster].service_at_node_port(port)
            if node_key is None:
                return ConnectionRefused(f"{ip}:{port}")
            return self._balance(node_cluster, cluster, node_key, ip, port, node_port=True)
        if any(_in_networks(ip, mesh.pod_networks(other)) for other in mesh.views):
            return self._pod_route(cluster, ip, port)
        for other, other_view in mesh.views.items():  # a load-balancer IP of another cluster
            if other == cluster:
                continue
            other_key = other_view.service_at(ip)
            if other_key is not None:
                record = other_view.record(other_key)
                if record is not None and ip in record.lb_ips:
                    if mesh.links.partitioned(cluster, other):
                        return _blackhole()
                    return self._balance(other, cluster, other_key, ip, port)
        return _blackhole()

    def _pod_route(self, cluster: str, ip: str, port: int) -> tuple[str, str, int] | BaseException:
        mesh = self.mesh
        if _in_networks(ip, mesh.pod_networks(cluster)):
            return (cluster, ip, port)
        for other in mesh.views:
            if other != cluster and _in_networks(ip, mesh.pod_networks(other)):
                if mesh.links.partitioned(cluster, other) or other not in mesh.links.usable(cluster):
                    return _blackhole()
                return (other, ip, port)
        return _blackhole()

    def _balance(
        self,
        lb_cluster: str,
        client: str,
        key: tuple[str, str],
        ip: str,
        port: int,
        *,
        node_port: bool = False,
    ) -> tuple[str, str, int] | BaseException:
        """Cilium's load-balancing in ``lb_cluster`` for service ``key`` (frontend ``ip:port``)."""
        mesh = self.mesh
        view = mesh.views[lb_cluster]
        record = view.record(key)
        if record is None:
            return _blackhole()
        service_port = next((p for p in record.ports if p.node_port == port), None) if node_port else None
        if service_port is None:
            service_port = record.port_number(port)
        if service_port is None:
            return _blackhole()
        services, usable = self.merged(lb_cluster, record, service_port.name)
        selection = select_backends(key, lb_cluster, services, mesh.version(lb_cluster), connected=usable)
        selected = selection.selected
        if not selected:
            return ConnectionRefused(f"{ip}:{port}")
        backend = self.rng.choice(selected)
        if backend.cluster != client and mesh.links.partitioned(client, backend.cluster):
            return _blackhole()
        if backend.cluster != lb_cluster and mesh.links.partitioned(lb_cluster, backend.cluster):
            return _blackhole()
        return (backend.cluster, backend.ip, backend.port)

    def merged(self, cluster: str, record: ServiceRecord, port_name: str) -> tuple[dict[str, Any], set[str]]:
        """The services map the rules need: this cluster's realized service plus each usable
        remote's exported one with the same key (``None`` where a remote has none)."""
        mesh = self.mesh
        usable = mesh.links.usable(cluster)
        services: dict[str, Any] = {cluster: record.frontend(port_name)}
        for remote in sorted(usable):
            remote_record = mesh.remote_record(cluster, remote, record.key)
            if remote_record is not None and remote_record.exported:
                services[remote] = remote_record.frontend(port_name)
            else:
                services[remote] = None
        return services, usable

    async def _exchange(
        self,
        client: str,
        target: tuple[str, str, int] | BaseException,
        ip: str,
        port: int,
        req: HttpRequest,
        started: float,
        connect_timeout: float | None,
        max_time: float | None,
    ) -> HttpResponse:
        settings = self.mesh.settings
        if isinstance(target, _Blackhole):
            await self._black_hole(connect_timeout)
        if isinstance(target, BaseException):
            await asyncio.sleep(settings.local_latency)
            raise target
        backend_cluster, backend_ip, backend_port = target
        pod = self._pod_for(client, backend_cluster, backend_ip)
        if pod is None:
            await self._black_hole(connect_timeout)
            raise AssertionError("unreachable")  # _black_hole always raises
        pod_cluster, pod_obj = pod
        latency = settings.latency(client, backend_cluster) * self.rng.uniform(0.8, 1.2)
        half = latency / 2
        if connect_timeout is not None and half > connect_timeout:
            await asyncio.sleep(connect_timeout)
            raise ConnectTimeout()
        if not _running(pod_obj):
            await self._black_hole(connect_timeout)
        if not app_port_matches(pod_obj, backend_port):
            await asyncio.sleep(half)
            raise ConnectionRefused(f"{backend_ip}:{backend_port}")
        await asyncio.sleep(half)
        time_connect = time.monotonic() - started
        response = self._app(pod_obj, pod_cluster).handle(req)
        if max_time is not None and time.monotonic() - started + half > max_time:
            await asyncio.sleep(max(0.0, max_time - (time.monotonic() - started)))
            raise OperationTimeout()
        await asyncio.sleep(half)
        response.remote_ip, response.remote_port = ip, port
        response.time_connect = time_connect
        response.time_total = time.monotonic() - started
        return response

    def _pod_for(self, client: str, backend_cluster: str, ip: str) -> tuple[str, dict[str, Any]] | None:
        """The pod that receives packets for ``ip`` sent from ``client`` (overlapping pod CIDRs
        route to the client's own cluster)."""
        mesh = self.mesh
        if backend_cluster != client and _in_networks(ip, mesh.pod_networks(client)):
            local = mesh.pods[client].pod(ip)
            return (client, local) if local is not None else None
        pod = mesh.pods[backend_cluster].pod(ip)
        return (backend_cluster, pod) if pod is not None else None

    async def _black_hole(self, connect_timeout: float | None) -> None:
        syn_timeout = self.mesh.settings.syn_timeout
        if connect_timeout is not None and connect_timeout < syn_timeout:
            await asyncio.sleep(connect_timeout)
            raise ConnectTimeout()
        await asyncio.sleep(syn_timeout)
        raise HostUnreachable()

    def _app(self, pod: dict[str, Any], cluster: str) -> App:
        uid = str((pod.get("metadata") or {}).get("uid") or "")
        app = self._apps.get(uid)
        if app is None:
            if len(self._apps) >= APP_CACHE:
                self._apps.clear()
            app = self._apps[uid] = make_app(pod, cluster, seed=self.seed)
        return app


class _Blackhole(Exception):
    """The SYN goes nowhere."""


def _blackhole() -> _Blackhole:
    return _Blackhole()


def _running(pod: dict[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running"


class PodNetwork:
    """:class:`tui.sim.curl.Network` as one pod sees it."""

    def __init__(self, dataplane: DataPlane, cluster: str, namespace: str) -> None:
        self.dataplane = dataplane
        self.cluster = cluster
        self.namespace = namespace

    async def resolve(self, host: str) -> str | None:
        return self.dataplane.resolve(self.cluster, self.namespace, host)

    async def request(
        self, ip: str, port: int, req: HttpRequest, *, connect_timeout: float | None, max_time: float | None
    ) -> HttpResponse:
        return await self.dataplane.request(
            self.cluster, ip, port, req, connect_timeout=connect_timeout, max_time=max_time
        )
