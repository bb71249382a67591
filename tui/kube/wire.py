"""The API's JSON decoded straight into typed structs that keep only what meshtui reads.

Why: at 64 clusters × 2,000 services the stdlib path (``json.loads`` into dicts, then
:mod:`tui.kube.parse`) spent most of the first snapshot building dicts of fields nobody reads
(``managedFields``, ``uid``, ``ownerReferences`` of a slice...) and freeing them again. msgspec
decodes a list page into the structs below in one pass: unknown fields are skipped without
creating an object, and what is left is a handful of small objects per item, turned into the
``tui.mesh.model`` values by the ``read`` functions here. They give the same values as
:mod:`tui.kube.parse` (tests compare them on the simulator's answers and on edge cases) and
share its caches (interned strings, shared label maps, port lists and backends).

The rules of a field: absent and ``null`` mean the same (as in Kubernetes' Go types); a value
of the wrong type (a number where a name belongs) is not coerced: the page or event fails with
:class:`msgspec.ValidationError`, which the reflector reports as "unexpected answer listing
services: Expected `str | null`, got `int` - at `$.items[3].metadata.name`" on that cluster.

Single objects that are not decoded here (a write's answer, the few ``kube-system`` objects
polled by name) still go through :mod:`tui.kube.parse`.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from tui.kube.parse import (
    CILIUM_AGENT_CONTAINER,
    MANAGED_BY_LABEL,
    MESH_CONTROLLER,
    SERVICE_NAME_LABEL,
    AgentPod,
    SliceBackends,
    backend_of,
    new_service,
    parse_time,
    ports_of,
    shared_map,
    text,
)
from tui.mesh.model import Container, Deployment, Node, Pod, Service, ServicePort

_intern = sys.intern


class Wire(msgspec.Struct, gc=False, rename="camel"):
    """Base of every struct: camelCase names on the wire; not tracked by the cyclic collector
    (decoded JSON holds no cycles), so a page of them costs the collector nothing."""


# -- metadata -------------------------------------------------------------------------------------


class Meta(Wire):
    name: str | None = None
    namespace: str | None = None
    resource_version: str | None = None


class LabelledMeta(Meta):
    labels: dict[str, str] | None = None


class ServiceMeta(LabelledMeta):
    annotations: dict[str, str] | None = None


class OwnerReference(Wire):
    kind: str | None = None
    name: str | None = None


class PodMeta(LabelledMeta):
    deletion_timestamp: str | None = None
    owner_references: list[OwnerReference] | None = None


class DeploymentMeta(ServiceMeta):
    generation: int | None = None


class ListMeta(Wire):
    resource_version: str | None = None
    continue_: str | None = msgspec.field(default=None, name="continue")


class WireList(Wire):
    """One page of a list (each kind's page is a subclass typing ``items``: :func:`decoders`)."""

    items: list[Any] | None = None
    metadata: ListMeta | None = None


class WatchEvent(Wire):
    """One line of a watch; ``object`` is decoded once ``type`` says what it is."""

    type: str | None = None
    object: msgspec.Raw = msgspec.Raw()
    """Empty when absent (a ``Raw`` cannot be optional)."""


class Status(Wire):
    """The object of an ``ERROR`` event (any type accepted: only quoted)."""

    code: Any = None
    message: Any = None


NO_META = PodMeta()
"""The metadata of an object that has none."""
_NO_LIST_META = ListMeta()


# -- services ---------------------------------------------------------------------------------------


class ServicePortWire(Wire, frozen=True):
    """Frozen: hashable, so a service's ports tuple is the key of the shared ports cache."""

    port: int | None = None
    target_port: int | str | None = None
    name: str | None = None
    protocol: str | None = None
    node_port: int | None = None


class ServiceSpec(Wire):
    type: str | None = None
    cluster_ip: str | None = msgspec.field(default=None, name="clusterIP")
    ports: tuple[ServicePortWire, ...] | None = None
    selector: dict[str, str] | None = None


class Ingress(Wire):
    ip: str | None = None
    hostname: str | None = None


class LoadBalancerStatus(Wire):
    ingress: list[Ingress] | None = None


class ServiceStatus(Wire):
    load_balancer: LoadBalancerStatus | None = None


class ServiceWire(Wire):
    metadata: ServiceMeta | None = None
    spec: ServiceSpec | None = None
    status: ServiceStatus | None = None


_NO_SERVICE_META = ServiceMeta()
_NO_SERVICE_SPEC = ServiceSpec()


def service(obj: ServiceWire) -> Service:
    """:func:`tui.kube.parse.service` of the struct."""
    m = obj.metadata or _NO_SERVICE_META
    spec = obj.spec or _NO_SERVICE_SPEC
    lb: tuple[str, ...] = ()
    status = obj.status
    if status is not None and status.load_balancer is not None and status.load_balancer.ingress:
        lb = tuple(a for a in (i.ip or i.hostname for i in status.load_balancer.ingress) if a)
    return new_service(
        _intern(m.namespace or ""),
        _intern(m.name or ""),  # the same in every cluster: one string (parse.service_key)
        shared_map(m.annotations),
        shared_map(m.labels),
        _intern(spec.type or "ClusterIP"),
        spec.cluster_ip or "",
        _ports(spec.ports),
        shared_map(spec.selector),
        (),
        lb,
    )


_PORTS: dict[tuple[ServicePortWire, ...], tuple[ServicePort, ...]] = {}
_PORTS_LIMIT = 20_000


def _ports(ports: tuple[ServicePortWire, ...] | None) -> tuple[ServicePort, ...]:
    """:func:`tui.kube.parse.ports_of` keyed by the structs themselves (no key to build)."""
    if not ports:
        return ()
    cached = _PORTS.get(ports)
    if cached is None:
        cached = ports_of(tuple((p.port, p.target_port, p.name, p.protocol, p.node_port) for p in ports))
        if len(_PORTS) >= _PORTS_LIMIT:
            _PORTS.clear()
        _PORTS[ports] = cached
    return cached


# -- endpoint slices ----------------------------------------------------------------------------------


class Conditions(Wire):
    ready: bool | None = None
    serving: bool | None = None
    terminating: bool | None = None


class TargetRef(Wire):
    kind: str | None = None
    name: str | None = None


class Endpoint(Wire):
    addresses: list[str] | None = None
    conditions: Conditions | None = None
    node_name: str | None = None
    target_ref: TargetRef | None = None


class SlicePort(Wire):
    port: int | None = None


class EndpointSliceWire(Wire):
    metadata: LabelledMeta | None = None
    address_type: str | None = None
    endpoints: list[Endpoint] | None = None
    ports: list[SlicePort] | None = None


_NO_CONDITIONS = Conditions()
_NO_TARGET = TargetRef()


def endpoint_slice(obj: EndpointSliceWire, cluster: str) -> SliceBackends:
    """:func:`tui.kube.parse.endpoint_slice` of the struct."""
    m = obj.metadata or NO_META
    labels = m.labels or {}
    namespace = _intern(m.namespace or "")
    if labels.get(MANAGED_BY_LABEL) == MESH_CONTROLLER:
        return SliceBackends(namespace, "", ())
    ports = [p.port or 0 for p in obj.ports or ()] or [0]
    backends = []
    if obj.address_type != "FQDN":
        for ep in obj.endpoints or ():
            cond = ep.conditions or _NO_CONDITIONS
            ready = cond.ready
            ready = True if ready is None else ready
            serving = cond.serving
            serving = ready if serving is None else serving
            terminating = cond.terminating or False
            ref = ep.target_ref or _NO_TARGET
            pod = text(ref.name or "") if ref.kind in (None, "Pod") else ""
            node = _intern(ep.node_name or "")
            for address in ep.addresses or ():
                address = _intern(address)
                for port in ports:
                    key = (cluster, address, port, pod, node, ready, serving, terminating)
                    backends.append(backend_of(key))
    return SliceBackends(namespace, _intern(labels.get(SERVICE_NAME_LABEL) or ""), tuple(backends))


# -- workloads ----------------------------------------------------------------------------------------


class ContainerWire(Wire):
    name: str | None = None
    image: str | None = None


class PodSpec(Wire):
    node_name: str | None = None
    containers: list[ContainerWire] | None = None


class Condition(Wire):
    type: str | None = None
    status: str | None = None


class PodStatus(Wire):
    pod_ip: str | None = msgspec.field(default=None, name="podIP")
    phase: str | None = None
    conditions: list[Condition] | None = None
    start_time: str | None = None


class PodWire(Wire):
    metadata: PodMeta | None = None
    spec: PodSpec | None = None
    status: PodStatus | None = None


_NO_POD_SPEC = PodSpec()
_NO_POD_STATUS = PodStatus()


def _containers(spec: PodSpec | None) -> tuple[Container, ...]:
    if spec is None or not spec.containers:
        return ()
    return tuple(Container(name=_intern(c.name or ""), image=text(c.image or "")) for c in spec.containers)


def _ready(conditions: list[Condition] | None) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in conditions or ())


def _owner(m: PodMeta) -> str:
    """:func:`tui.kube.parse._owner` of the struct."""
    for ref in m.owner_references or ():
        name = ref.name or ""
        if ref.kind == "ReplicaSet":
            template_hash = (m.labels or {}).get("pod-template-hash")
            if template_hash and name.endswith("-" + template_hash):
                return name[: -len(template_hash) - 1]
        return name
    return ""


def pod(obj: PodWire) -> Pod:
    """:func:`tui.kube.parse.pod` of the struct."""
    m = obj.metadata or NO_META
    spec = obj.spec or _NO_POD_SPEC
    status = obj.status or _NO_POD_STATUS
    return Pod(
        namespace=_intern(m.namespace or ""),
        name=m.name or "",
        labels=shared_map(m.labels),
        node=_intern(spec.node_name or ""),
        ip=status.pod_ip or "",
        phase=_intern(status.phase or "Pending"),
        ready=_ready(status.conditions),
        deleting=bool(m.deletion_timestamp),
        containers=_containers(spec),
        owner=_intern(_owner(m)),
        started_at=parse_time(status.start_time),
    )


def agent_pod(obj: PodWire) -> AgentPod:
    """:func:`tui.kube.parse.agent_pod` of the struct."""
    parsed = pod(obj)
    image = ""
    for container in parsed.containers:
        if container.name == CILIUM_AGENT_CONTAINER:
            image = container.image
            break
    else:
        if parsed.containers:
            image = parsed.containers[0].image
    return AgentPod(parsed, image)


class Selector(Wire):
    match_labels: dict[str, str] | None = None


class PodTemplate(Wire):
    spec: PodSpec | None = None


class DeploymentSpec(Wire):
    replicas: int | None = None
    selector: Selector | None = None
    template: PodTemplate | None = None


class DeploymentStatus(Wire):
    ready_replicas: int | None = None
    available_replicas: int | None = None
    updated_replicas: int | None = None
    observed_generation: int | None = None


class DeploymentWire(Wire):
    metadata: DeploymentMeta | None = None
    spec: DeploymentSpec | None = None
    status: DeploymentStatus | None = None


_NO_DEPLOYMENT_META = DeploymentMeta()
_NO_DEPLOYMENT_SPEC = DeploymentSpec()
_NO_DEPLOYMENT_STATUS = DeploymentStatus()


def deployment(obj: DeploymentWire) -> Deployment:
    """:func:`tui.kube.parse.deployment` of the struct."""
    m = obj.metadata or _NO_DEPLOYMENT_META
    spec = obj.spec or _NO_DEPLOYMENT_SPEC
    status = obj.status or _NO_DEPLOYMENT_STATUS
    return Deployment(
        namespace=_intern(m.namespace or ""),
        name=m.name or "",
        replicas=1 if spec.replicas is None else spec.replicas,
        ready_replicas=status.ready_replicas or 0,
        available_replicas=status.available_replicas or 0,
        updated_replicas=status.updated_replicas or 0,
        generation=m.generation or 0,
        observed_generation=status.observed_generation or 0,
        selector=shared_map(spec.selector.match_labels if spec.selector else None),
        labels=shared_map(m.labels),
        annotations=shared_map(m.annotations),
        containers=_containers(spec.template.spec if spec.template else None),
    )


# -- nodes --------------------------------------------------------------------------------------------


class NodeSpec(Wire):
    pod_cidr: str | None = msgspec.field(default=None, name="podCIDR")
    pod_cidrs: list[str] | None = msgspec.field(default=None, name="podCIDRs")


class NodeAddress(Wire):
    type: str | None = None
    address: str | None = None


class NodeStatus(Wire):
    addresses: list[NodeAddress] | None = None
    conditions: list[Condition] | None = None


class NodeWire(Wire):
    metadata: Meta | None = None
    spec: NodeSpec | None = None
    status: NodeStatus | None = None


_NO_NODE_SPEC = NodeSpec()
_NO_NODE_STATUS = NodeStatus()


def node(obj: NodeWire) -> Node:
    """:func:`tui.kube.parse.node` of the struct."""
    m = obj.metadata or NO_META
    spec = obj.spec or _NO_NODE_SPEC
    status = obj.status or _NO_NODE_STATUS
    internal = external = ""
    for address in status.addresses or ():
        if address.type == "InternalIP" and not internal:
            internal = address.address or ""
        elif address.type == "ExternalIP" and not external:
            external = address.address or ""
    cidrs = spec.pod_cidrs or ([spec.pod_cidr] if spec.pod_cidr else [])
    return Node(
        name=_intern(m.name or ""),
        internal_ip=internal,
        external_ip=external,
        pod_cidrs=tuple(cidrs),
        ready=_ready(status.conditions),
    )


# -- decoding -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Codec:
    """How a resource's objects are read off the wire: their struct and its ``read``."""

    struct: type[Any]
    read: Callable[[Any], Any]

    @property
    def list_decoder(self) -> msgspec.json.Decoder[Any]:
        return decoders(self.struct)[0]

    @property
    def object_decoder(self) -> msgspec.json.Decoder[Any]:
        return decoders(self.struct)[1]


@functools.cache
def decoders(struct: type[Any]) -> tuple[msgspec.json.Decoder[Any], msgspec.json.Decoder[Any]]:
    """(a page of ``struct``, one ``struct``): built once per process (building one walks the types).

    The page type is made here rather than as a generic struct: msgspec 0.18 and older cannot make
    a generic struct that the collector does not track.
    """
    page = msgspec.defstruct(
        f"{struct.__name__}List", [("items", list[struct] | None, None)], bases=(WireList,)
    )
    return msgspec.json.Decoder(page), msgspec.json.Decoder(struct)


EVENT_DECODER = msgspec.json.Decoder(WatchEvent)
STATUS_DECODER = msgspec.json.Decoder(Status)

SERVICES = Codec(ServiceWire, service)
DEPLOYMENTS = Codec(DeploymentWire, deployment)
NODES = Codec(NodeWire, node)
PODS = Codec(PodWire, pod)
AGENTS = Codec(PodWire, agent_pod)


def endpoint_slices(cluster_name: Callable[[], str]) -> Codec:
    """Slices of one cluster: each backend carries the cluster's name as known when read."""
    return Codec(EndpointSliceWire, lambda obj: endpoint_slice(obj, cluster_name()))


def meta_of(obj: Any) -> Meta:
    """An object's metadata (an empty one when absent)."""
    return obj.metadata or NO_META


def list_meta(page: WireList[Any]) -> ListMeta:
    return page.metadata or _NO_LIST_META
