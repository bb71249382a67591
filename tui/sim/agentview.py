"""What the Cilium agents of one cluster have *realized* of its Services and EndpointSlices.

A real agent learns of an API change a moment after it happens (informers, then its
load-balancer tables; remote agents later still, through the clustermesh-apiserver). The
simulator models this with one :class:`ClusterView` per cluster: every change to a Service or
EndpointSlice marks that service dirty, and ``sync_delay`` seconds after the first mark of a
burst the view forgets its realized copy, so the next read sees the new state. Until then reads
return the state as it was before the change (captured when the first change of the burst
arrives). Local and remote agents read the same view, so "annotate → selection changes" and
"scale → endpoints → selection" both take ``sync_delay`` to show in curl answers and in
``cilium service list``.

Cheap at 64 clusters × 2,000 services: nothing is built at start; a service's record is built
the first time something reads it (a curl, a service list), and the counts the status document
needs (global/shared services) come from one scan of the annotations, kept up to date by events.
Bulk-loaded objects are parsed from their JSON bytes without keeping the parsed copy.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from tui.mesh.annotations import ServiceFlags, service_flags
from tui.mesh.model import Backend, Service, ServiceKey, ServicePort, frozen_map
from tui.sim.store import DELETED, SERVICE_NAME_LABEL, SLICES, Entry, Event, peek

if TYPE_CHECKING:
    from tui.sim.cluster import SimCluster

SERVICES, PODS = "services", "pods"
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
MESH_CONTROLLER = "endpointslice-mesh-controller.cilium.io"
"""Agents list EndpointSlices with ``managed-by!=endpointslice-mesh-controller.cilium.io``
(cilium/cilium ``pkg/k8s/utils/utils.go``): the mirrors of remote endpoints are not backends."""
_ANNOTATIONS = re.compile(rb'"annotations":(\{[^{}]*\})')
_NO_FLAGS = service_flags({})


@lru_cache(maxsize=1024)
def _flags_of_json(annotations: bytes) -> ServiceFlags:
    try:
        data = json.loads(annotations)
    except ValueError:
        return _NO_FLAGS
    return service_flags(data if isinstance(data, dict) else {})


def flags_of_entry(entry: Entry) -> ServiceFlags:
    """A Service entry's global/shared/affinity flags, reading only its annotations when it can."""
    raw = entry.raw
    if raw.count(b'"annotations":') == 1:
        found = _ANNOTATIONS.search(raw)
        if found is not None:
            return _flags_of_json(found.group(1))
        if b'"annotations":{}' in raw or b'"annotations":null' in raw:
            return _NO_FLAGS
    elif b'"annotations":' not in raw:
        return _NO_FLAGS
    annotations = (peek(entry).get("metadata") or {}).get("annotations") or {}
    return service_flags(annotations)


_SHARED_LIMIT = 1 << 14
_maps: dict[tuple[tuple[str, str], ...], Mapping[str, str]] = {}
_ports: dict[tuple[tuple[Any, ...], ...], tuple[ServicePort, ...]] = {}


def shared_map(data: Mapping[str, Any] | None) -> Mapping[str, str]:
    """A read-only map, one object per distinct content (thousands of services share few)."""
    if not data:
        return frozen_map()
    key = tuple(sorted((str(k), str(v)) for k, v in data.items()))
    found = _maps.get(key)
    if found is None:
        if len(_maps) >= _SHARED_LIMIT:
            _maps.clear()
        found = _maps[key] = frozen_map(dict(key))
    return found


def shared_ports(ports: list[dict[str, Any]]) -> tuple[ServicePort, ...]:
    key = tuple(
        (
            int(p.get("port") or 0),
            p.get("targetPort"),
            str(p.get("name") or ""),
            str(p.get("protocol") or "TCP"),
            p.get("nodePort"),
        )
        for p in ports
    )
    found = _ports.get(key)
    if found is None:
        if len(_ports) >= _SHARED_LIMIT:
            _ports.clear()
        found = _ports[key] = tuple(
            ServicePort(port=a, target_port=b, name=c, protocol=d, node_port=e) for a, b, c, d, e in key
        )
    return found


_flags_by_map: dict[int, tuple[Mapping[str, str], ServiceFlags]] = {}


def _shared_flags(annotations: Mapping[str, str]) -> ServiceFlags:
    """Flags of a shared annotations map, computed once per map object."""
    found = _flags_by_map.get(id(annotations))
    if found is not None and found[0] is annotations:
        return found[1]
    if len(_flags_by_map) >= _SHARED_LIMIT:
        _flags_by_map.clear()
    flags = service_flags(annotations)
    _flags_by_map[id(annotations)] = (annotations, flags)
    return flags


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One address of a service's EndpointSlices with its conditions."""

    ip: str
    pod: str
    node: str
    ready: bool
    serving: bool
    terminating: bool


class ServiceRecord:
    """One realized Service of one cluster: the spec Cilium uses and its endpoints."""

    __slots__ = (
        "_frontends",
        "annotations",
        "cluster",
        "cluster_ip",
        "endpoints",
        "flags",
        "labels",
        "lb_ips",
        "name",
        "namespace",
        "ports",
        "selector",
        "slice_ports",
        "type",
    )

    def __init__(self, cluster: str, obj: dict[str, Any], slices: list[dict[str, Any]]) -> None:
        meta = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        self.cluster = cluster
        self.namespace = str(meta.get("namespace") or "")
        self.name = str(meta.get("name") or "")
        self.annotations = shared_map(meta.get("annotations"))
        self.labels = shared_map(meta.get("labels"))
        self.flags = _shared_flags(self.annotations)
        self.type = str(spec.get("type") or "ClusterIP")
        self.cluster_ip = str(spec.get("clusterIP") or "")
        self.selector = shared_map(spec.get("selector"))
        self.ports = shared_ports(spec.get("ports") or [])
        ingress = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        self.lb_ips = tuple(str(i["ip"]) for i in ingress if i.get("ip"))
        endpoints: dict[str, Endpoint] = {}
        slice_ports: dict[str, int] = {}
        for item in slices:
            if item.get("addressType", "IPv4") == "FQDN":
                continue
            labels = (item.get("metadata") or {}).get("labels") or {}
            if labels.get(MANAGED_BY) == MESH_CONTROLLER:
                continue  # Cilium's mirror of remote endpoints: never a local backend
            for port in item.get("ports") or []:
                if port.get("port") is not None:
                    slice_ports.setdefault(str(port.get("name") or ""), int(port["port"]))
            for ep in item.get("endpoints") or []:
                cond = ep.get("conditions") or {}
                ready = True if cond.get("ready") is None else bool(cond.get("ready"))
                serving = ready if cond.get("serving") is None else bool(cond.get("serving"))
                terminating = bool(cond.get("terminating") or False)
                ref = ep.get("targetRef") or {}
                pod = str(ref.get("name") or "") if ref.get("kind", "Pod") == "Pod" else ""
                for address in ep.get("addresses") or []:
                    endpoints.setdefault(
                        address,
                        Endpoint(address, pod, str(ep.get("nodeName") or ""), ready, serving, terminating),
                    )
        if len(endpoints) > 1:
            self.endpoints = tuple(endpoints[k] for k in sorted(endpoints, key=_ip_sort_key))
        else:
            self.endpoints = tuple(endpoints.values())
        self.slice_ports = slice_ports
        self._frontends: dict[str, Service] = {}

    @property
    def key(self) -> ServiceKey:
        return (self.namespace, self.name)

    @property
    def exported(self) -> bool:
        """Offered to the other clusters (their clustermesh-apiserver copy): global and shared."""
        return self.flags.is_global and self.flags.shared

    @property
    def headless(self) -> bool:
        return self.cluster_ip in ("", "None")

    def port_named(self, name: str) -> ServicePort | None:
        for port in self.ports:
            if port.name == name:
                return port
        return None

    def port_number(self, number: int) -> ServicePort | None:
        for port in self.ports:
            if port.port == number:
                return port
        return None

    def target_port(self, port_name: str) -> int | None:
        """The endpoints' port for the service port called ``port_name`` (Cilium matches by name)."""
        if port_name in self.slice_ports:
            return self.slice_ports[port_name]
        if len(self.slice_ports) == 1 and len(self.ports) == 1:
            return next(iter(self.slice_ports.values()))
        return None

    def frontend(self, port_name: str) -> Service:
        """This service as a :class:`tui.mesh.model.Service` whose backends listen behind the
        port called ``port_name`` (cached: the rules cache by object identity)."""
        service = self._frontends.get(port_name)
        if service is None:
            target = self.target_port(port_name)
            backends = (
                tuple(
                    Backend(self.cluster, e.ip, target, e.pod, e.node, e.ready, e.serving, e.terminating)
                    for e in self.endpoints
                )
                if target is not None
                else ()
            )
            service = Service(
                namespace=self.namespace,
                name=self.name,
                annotations=self.annotations,
                labels=self.labels,
                type=self.type,
                cluster_ip=self.cluster_ip,
                ports=self.ports,
                selector=self.selector,
                backends=backends,
                load_balancer_ips=self.lb_ips,
            )
            self._frontends[port_name] = service
        return service


def _ip_sort_key(ip: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in ip.split("."))
    except ValueError:
        return (1 << 30,)


class ClusterView:
    """The realized services of one cluster, refreshed ``sync_delay`` after changes."""

    def __init__(self, cluster: SimCluster, sync_delay: Callable[[], float]) -> None:
        self.cluster = cluster
        self.store = cluster.store
        self.name = cluster.name
        self._sync_delay = sync_delay
        self._records: dict[ServiceKey, ServiceRecord | None] = {}
        self._dirty: set[ServiceKey] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._flags: dict[ServiceKey, ServiceFlags] | None = None
        self._exported: set[ServiceKey] = set()
        self._global: set[ServiceKey] = set()
        self.generation = 0
        """Grows whenever the realized set of exported services changes."""
        self.version = 0
        """Grows whenever anything realized changes (for caches over every service)."""
        self._ip_index: dict[str, ServiceKey] | None = None
        self._node_ports: dict[int, ServiceKey] | None = None
        self._listeners: list[Callable[[set[ServiceKey]], None]] = []
        self._unsubscribe = self.store.subscribe(self._on_event)

    def close(self) -> None:
        self._unsubscribe()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def on_realized(self, callback: Callable[[set[ServiceKey]], None]) -> None:
        """Call ``callback(keys)`` after each batch of keys is realized."""
        self._listeners.append(callback)

    # -- reads ---------------------------------------------------------------------------------

    def record(self, key: ServiceKey) -> ServiceRecord | None:
        """The realized service ``key`` (``None``: the agents know no such service)."""
        if key in self._records:
            return self._records[key]
        record = self._build(key)
        self._records[key] = record
        return record

    def keys(self) -> list[ServiceKey]:
        """Every realized service key (store order, pending changes included as before)."""
        keys = {(e.namespace, e.name) for e in self.store.iter(SERVICES)}
        for key in self._dirty:
            if self._records.get(key) is None:
                keys.discard(key)
            else:
                keys.add(key)
        return sorted(keys)

    def records(self) -> Iterator[ServiceRecord]:
        for key in self.keys():
            record = self.record(key)
            if record is not None:
                yield record

    def exported_keys(self) -> set[ServiceKey]:
        """Keys of the realized global + shared services (what remotes receive)."""
        self._ensure_flags()
        return self._exported

    def global_keys(self) -> set[ServiceKey]:
        self._ensure_flags()
        return self._global

    def service_at(self, ip: str) -> ServiceKey | None:
        """The service whose ClusterIP or load-balancer IP is ``ip`` (as the API has it now)."""
        if self._ip_index is None:
            self._index_ips()
        assert self._ip_index is not None
        return self._ip_index.get(ip)

    def service_at_node_port(self, port: int) -> ServiceKey | None:
        if self._node_ports is None:
            self._index_ips()
        assert self._node_ports is not None
        return self._node_ports.get(port)

    # -- building ------------------------------------------------------------------------------

    def _slices_of(self, namespace: str, name: str) -> frozenset[str]:
        return self.store.slices_of(namespace, name)

    def _build(
        self,
        key: ServiceKey,
        *,
        service: Entry | bool | None = True,
        slice_override: tuple[str, Entry | None] | None = None,
    ) -> ServiceRecord | None:
        """Build from the store; ``service``/``slice_override`` put back an object's previous
        version (to capture the state from before a change)."""
        namespace, name = key
        svc = self.store.get(SERVICES, namespace, name) if service is True else service
        if not isinstance(svc, Entry):
            return None
        names = set(self._slices_of(namespace, name))
        if slice_override is not None:
            names.add(slice_override[0])
        slices: list[dict[str, Any]] = []
        for slice_name in sorted(names):
            if slice_override is not None and slice_name == slice_override[0]:
                entry = slice_override[1]
            else:
                entry = self.store.get(SLICES, namespace, slice_name)
            if entry is None:
                continue
            obj = peek(entry)
            if ((obj.get("metadata") or {}).get("labels") or {}).get(SERVICE_NAME_LABEL) == name:
                slices.append(obj)
        return ServiceRecord(self.name, peek(svc), slices)

    def _ensure_flags(self) -> None:
        if self._flags is not None:
            return
        flags: dict[ServiceKey, ServiceFlags] = {}
        for entry in self.store.iter(SERVICES):
            key = (entry.namespace, entry.name)
            if key in self._dirty:
                record = self._records.get(key)
                if record is not None:
                    flags[key] = record.flags
                continue
            flags[key] = flags_of_entry(entry)
        for key in self._dirty:  # pending deletions still count until realized
            record = self._records.get(key)
            if record is not None and key not in flags:
                flags[key] = record.flags
        self._flags = flags
        self._exported = {k for k, f in flags.items() if f.is_global and f.shared}
        self._global = {k for k, f in flags.items() if f.is_global}

    def _index_ips(self) -> None:
        ips: dict[str, ServiceKey] = {}
        node_ports: dict[int, ServiceKey] = {}
        for entry in self.store.iter(SERVICES):
            self._add_ips(ips, node_ports, (entry.namespace, entry.name), peek(entry))
        self._ip_index, self._node_ports = ips, node_ports

    @staticmethod
    def _add_ips(
        ips: dict[str, ServiceKey], node_ports: dict[int, ServiceKey], key: ServiceKey, obj: dict[str, Any]
    ) -> None:
        spec = obj.get("spec") or {}
        ip = spec.get("clusterIP")
        if ip and ip != "None":
            ips[ip] = key
        for item in ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
            if item.get("ip"):
                ips[item["ip"]] = key
        if spec.get("type") in ("NodePort", "LoadBalancer"):
            for port in spec.get("ports") or []:
                if port.get("nodePort"):
                    node_ports[int(port["nodePort"])] = key

    # -- changes -------------------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        if event.key == SERVICES:
            key = (event.entry.namespace, event.entry.name)
            self._reindex_ips(key, event)
            self._touch(key, service=event.prev if event.prev is not None else None)
        elif event.key == SLICES:
            namespace, slice_name = event.entry.namespace, event.entry.name
            new_service = event.entry.labels.get(SERVICE_NAME_LABEL) if event.type != DELETED else None
            old_service = event.prev.labels.get(SERVICE_NAME_LABEL) if event.prev is not None else None
            # the store's slice index already holds the change: the override puts the
            # slice's previous version back, so the record captured is the one from before it
            for service in {new_service, old_service} - {None}:
                assert service is not None
                self._touch((namespace, service), slice_override=(slice_name, event.prev))

    def _reindex_ips(self, key: ServiceKey, event: Event) -> None:
        if self._ip_index is None or self._node_ports is None:
            return
        for ip in [ip for ip, k in self._ip_index.items() if k == key]:
            del self._ip_index[ip]
        for port in [p for p, k in self._node_ports.items() if k == key]:
            del self._node_ports[port]
        if event.type != DELETED:
            self._add_ips(self._ip_index, self._node_ports, key, event.entry.obj)

    def _touch(
        self,
        key: ServiceKey,
        *,
        service: Entry | bool | None = True,
        slice_override: tuple[str, Entry | None] | None = None,
    ) -> None:
        if key not in self._dirty:
            if key not in self._records:
                self._records[key] = self._build(key, service=service, slice_override=slice_override)
            self._dirty.add(key)
        if self._timer is None:
            delay = self._sync_delay()
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(delay, self._flush) if delay > 0 else loop.call_soon(self._flush)

    def _flush(self) -> None:
        """The agents catch up: the dirty services are realized from the store as it is now."""
        self._timer = None
        dirty, self._dirty = self._dirty, set()
        changed_exports = False
        for key in dirty:
            self._records.pop(key, None)
            if self._flags is None:
                continue
            entry = self.store.get(SERVICES, key[0], key[1])
            old = self._flags.get(key)
            new = flags_of_entry(entry) if entry is not None else None
            if new is None:
                self._flags.pop(key, None)
            else:
                self._flags[key] = new
            was = old is not None and old.is_global and old.shared
            now = new is not None and new.is_global and new.shared
            if was != now:
                changed_exports = True
                (self._exported.add if now else self._exported.discard)(key)
            (self._global.add if new is not None and new.is_global else self._global.discard)(key)
        if changed_exports:
            self.generation += 1
        self.version += 1
        for callback in list(self._listeners):
            callback(dirty)
