"""API JSON → ``tui.mesh.model`` values, without the kubernetes client's model classes.

Why not the generated models: building them for thousands of objects dominates a big list
(style-anchors.md, "Performance facts"), and they reject objects the real API does serve. These
functions read only the fields the panes need from the parsed JSON dicts and drop the rest, so a
cluster's memory is its services and backends, not its raw JSON.

Strings that repeat across thousands of objects (namespaces, node names, label keys, ports'
protocols) are interned, and label/annotation maps with equal contents are shared, which keeps
64 clusters × 2,000 services within the layer's memory budget.
"""

from __future__ import annotations

import base64
import dataclasses
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any, NamedTuple

from tui.mesh.model import (
    Backend,
    Container,
    Deployment,
    Node,
    Pod,
    Service,
    ServicePort,
    frozen_map,
)
from tui.mesh.version import parse_version
from tui.mesh.x509 import ca_subject_key_id

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
MESH_CONTROLLER = "endpointslice-mesh-controller.cilium.io"
"""Cilium's mirrors of remote endpoints (EndpointSlice sync): agents never read them as a
service's backends (cilium/cilium ``pkg/k8s/utils/utils.go``
``GetEndpointSliceListOptionsModifier``: ``managed-by!=endpointslice-mesh-controller.cilium.io``)."""
CILIUM_AGENT_CONTAINER = "cilium-agent"
_intern = sys.intern
_EMPTY_MAP: Mapping[str, Any] = frozen_map()
_MAP_CACHE: dict[tuple[tuple[str, Any], ...], Mapping[str, str]] = {}
_MAP_CACHE_LIMIT = 50_000
_PORTS_CACHE: dict[tuple[Any, ...], tuple[ServicePort, ...]] = {}
_PORTS_CACHE_LIMIT = 20_000
_BACKEND_CACHE: dict[tuple[Any, ...], Backend] = {}
_BACKEND_CACHE_LIMIT = 50_000


def meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def object_key(obj: Mapping[str, Any]) -> tuple[str, str]:
    m = meta(obj)
    return (_intern(m.get("namespace") or ""), m.get("name") or "")


_KEYS: dict[tuple[str, str], tuple[str, str]] = {}
_KEYS_LIMIT = 1 << 18


def service_key(namespace: str, name: str) -> tuple[str, str]:
    """``(namespace, name)`` of a service as one shared tuple of interned strings.

    A global service has the same name in every cluster (that is how ClusterMesh matches it),
    so 64 clusters' stores, the slices' owners and the views hold one key and one name per
    service instead of 64 of each (~25 MB of keys and names at 64 × 2,000). The table is
    emptied past ~260k keys (stores keep the keys they have; only sharing is lost).
    """
    key = (namespace, name)
    shared = _KEYS.get(key)
    if shared is None:
        if len(_KEYS) >= _KEYS_LIMIT:
            _KEYS.clear()
        shared = _KEYS[key] = (_intern(namespace), _intern(name))
    return shared


def resource_version(obj: Mapping[str, Any]) -> str:
    return str(meta(obj).get("resourceVersion") or "")


def shared_map(data: Mapping[str, Any] | None) -> Mapping[str, str]:
    """A read-only map of strings; equal small maps are one shared object.

    Labels and annotations repeat (every pod of a ReplicaSet, every service of a generated
    scenario), so sharing them saves most of their memory and lets consumers compare by identity.
    The cache key is the items in the server's order (one server writes equal maps alike), so a
    hit costs one tuple and one lookup.
    """
    if not data:
        return _EMPTY_MAP
    try:
        items = tuple(data.items())
        cached = _MAP_CACHE.get(items)
    except TypeError:  # a non-string (unhashable) value: keep it as text
        items = tuple((str(k), text(v)) for k, v in data.items())
        cached = _MAP_CACHE.get(items)
    if cached is not None:
        return cached
    value = MappingProxyType({_intern(str(k)): text(v) for k, v in items})
    if len(items) <= 16 and sum(len(str(v)) for _, v in items) <= 512:
        if len(_MAP_CACHE) >= _MAP_CACHE_LIMIT:
            _MAP_CACHE.clear()
        _MAP_CACHE[items] = value
    return value


def text(value: Any) -> str:
    """A value as text; short ones (names, label values) interned: they repeat across objects."""
    value = value if isinstance(value, str) else str(value)
    return _intern(value) if len(value) <= 64 else value


def parse_time(text: str | None) -> float | None:
    """RFC 3339 (``2024-01-01T00:00:00Z``) → epoch seconds."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _port(value: Any) -> int | str | None:
    if value is None or isinstance(value, int):
        return value
    text = str(value)
    return int(text) if text.isdigit() else _intern(text)


# -- services and their backends -------------------------------------------------------------


def _ports(raw: Any) -> tuple[ServicePort, ...]:
    """A service's ports; equal port lists are one shared tuple (most services look alike)."""
    if not raw:
        return ()
    return ports_of(
        tuple(
            (p.get("port"), p.get("targetPort"), p.get("name"), p.get("protocol"), p.get("nodePort"))
            for p in raw
        )
    )


def ports_of(key: tuple[tuple[Any, Any, Any, Any, Any], ...]) -> tuple[ServicePort, ...]:
    """The shared ports tuple of ``(port, targetPort, name, protocol, nodePort)`` as sent."""
    cached = _PORTS_CACHE.get(key)
    if cached is None:
        cached = tuple(
            ServicePort(
                port=_int(port),
                target_port=_port(target),
                name=_intern(name or ""),
                protocol=_intern(protocol or "TCP"),
                node_port=node_port,
            )
            for port, target, name, protocol, node_port in key
        )
        if len(_PORTS_CACHE) >= _PORTS_CACHE_LIMIT:
            _PORTS_CACHE.clear()
        _PORTS_CACHE[key] = cached
    return cached


def service(obj: Mapping[str, Any]) -> Service:
    """A Service without backends (they come from EndpointSlices, joined by the cluster)."""
    m = obj.get("metadata") or _EMPTY_MAP
    spec = obj.get("spec") or _EMPTY_MAP
    lb: tuple[str, ...] = ()
    status = obj.get("status")
    if status:
        ingress = (status.get("loadBalancer") or _EMPTY_MAP).get("ingress")
        if ingress:
            lb = tuple(a for a in (i.get("ip") or i.get("hostname") for i in ingress) if a)
    name = m.get("name") or ""
    return new_service(
        _intern(m.get("namespace") or ""),
        _intern(name) if type(name) is str else name,  # the same in every cluster: one string
        shared_map(m.get("annotations")),
        shared_map(m.get("labels")),
        _intern(spec.get("type") or "ClusterIP"),
        spec.get("clusterIP") or "",
        _ports(spec.get("ports")),
        shared_map(spec.get("selector")),
        (),
        lb,
    )


(
    _set_namespace,
    _set_name,
    _set_annotations,
    _set_labels,
    _set_type,
    _set_cluster_ip,
    _set_ports,
    _set_selector,
    _set_backends,
    _set_load_balancer_ips,
) = (Service.__dict__[f.name].__set__ for f in dataclasses.fields(Service))  # fails if a field is added
_new = object.__new__


def new_service(
    namespace: str,
    name: str,
    annotations: Mapping[str, str],
    labels: Mapping[str, str],
    type: str,
    cluster_ip: str,
    ports: tuple[ServicePort, ...],
    selector: Mapping[str, str],
    backends: tuple[Backend, ...],
    load_balancer_ips: tuple[str, ...],
) -> Service:
    """``Service(...)`` at half the cost (hot path: 2,000 × 64, twice: parsed, then joined).

    Sets the slots directly instead of through a frozen dataclass's ``__init__`` (one
    ``object.__setattr__`` call per field); valid because ``Service`` is a slots dataclass
    without ``__post_init__``. Every field must be given (tests compare with ``Service``).
    """
    new = _new(Service)
    _set_namespace(new, namespace)
    _set_name(new, name)
    _set_annotations(new, annotations)
    _set_labels(new, labels)
    _set_type(new, type)
    _set_cluster_ip(new, cluster_ip)
    _set_ports(new, ports)
    _set_selector(new, selector)
    _set_backends(new, backends)
    _set_load_balancer_ips(new, load_balancer_ips)
    return new


def with_backends(base: Service, backends: tuple[Backend, ...]) -> Service:
    """``dataclasses.replace(base, backends=...)`` at a third of the cost (hot path: 2,000 × 64)."""
    return new_service(
        base.namespace,
        base.name,
        base.annotations,
        base.labels,
        base.type,
        base.cluster_ip,
        base.ports,
        base.selector,
        backends,
        base.load_balancer_ips,
    )


class SliceBackends(NamedTuple):
    """What one EndpointSlice contributes to its service: its backends, already built.

    A plain tuple (no per-address intermediate objects): 64 clusters × 2,000 slices are held.
    The backends carry the cluster name known when the slice was read; :func:`renamed`
    rebuilds them when ``cilium-config`` names the cluster later.
    """

    namespace: str
    service: str
    backends: tuple[Backend, ...]

    @property
    def service_key(self) -> tuple[str, str]:
        return (self.namespace, self.service)


def renamed(slice_backends: SliceBackends, cluster: str) -> SliceBackends:
    return slice_backends._replace(
        backends=tuple(dataclasses.replace(b, cluster=cluster) for b in slice_backends.backends)
    )


def endpoint_slice(obj: Mapping[str, Any], cluster: str) -> SliceBackends:
    """Addresses × ports of one slice (one backend per address and port, as Cilium counts them).

    Conditions follow the API's rules: ``ready``/``serving`` absent mean true, ``terminating``
    absent means false; FQDN slices carry no IPs and contribute nothing. Addresses, pod and
    node names are interned: the same pods back many services, so equal backends are one
    shared object too (a lookup costs a tenth of building one, and each is held once).
    """
    m = obj.get("metadata") or _EMPTY_MAP
    labels = m.get("labels") or _EMPTY_MAP
    if labels.get(MANAGED_BY_LABEL) == MESH_CONTROLLER:
        # a mirror of another cluster's endpoints: never this cluster's own backends
        return SliceBackends(_intern(m.get("namespace") or ""), "", ())
    ports = [_int(p.get("port")) for p in obj.get("ports") or ()] or [0]
    backends: list[Backend] = []
    if obj.get("addressType", "IPv4") != "FQDN":
        for ep in obj.get("endpoints") or ():
            cond = ep.get("conditions") or _EMPTY_MAP
            ready = cond.get("ready")
            ready = True if ready is None else bool(ready)
            serving = cond.get("serving")
            serving = ready if serving is None else bool(serving)
            terminating = bool(cond.get("terminating") or False)
            ref = ep.get("targetRef") or _EMPTY_MAP
            # null means absent, as in the API's Go types: a reference without a kind is a pod's
            pod = text(ref.get("name") or "") if ref.get("kind") in (None, "Pod") else ""
            node = _intern(ep.get("nodeName") or "")
            for address in ep.get("addresses") or ():
                address = _intern(address)
                for port in ports:
                    key = (cluster, address, port, pod, node, ready, serving, terminating)
                    backend = _BACKEND_CACHE.get(key)
                    if backend is None:
                        backend = _shared_backend(key)
                    backends.append(backend)
    return SliceBackends(
        _intern(m.get("namespace") or ""),
        _name(labels.get(SERVICE_NAME_LABEL) or ""),
        tuple(backends),
    )


def _name(value: Any) -> Any:
    """A name interned when it is text (the stdlib path keeps a wrong type as it came)."""
    return _intern(value) if type(value) is str else value


def backend_of(key: tuple[Any, ...]) -> Backend:
    """The shared :class:`Backend` of ``(cluster, ip, port, pod, node, ready, serving, terminating)``."""
    backend = _BACKEND_CACHE.get(key)
    return backend if backend is not None else _shared_backend(key)


def _shared_backend(key: tuple[Any, ...]) -> Backend:
    cluster, address, port, pod, node, ready, serving, terminating = key
    backend = Backend(cluster, address, port, pod, node, ready, serving, terminating)
    if len(_BACKEND_CACHE) >= _BACKEND_CACHE_LIMIT:
        _BACKEND_CACHE.clear()
    _BACKEND_CACHE[key] = backend
    return backend


# -- workloads --------------------------------------------------------------------------------


def _containers(pod_spec: Mapping[str, Any] | None) -> tuple[Container, ...]:
    return tuple(
        Container(name=_intern(c.get("name") or ""), image=text(c.get("image") or ""))
        for c in (pod_spec or {}).get("containers") or ()
    )


def deployment(obj: Mapping[str, Any]) -> Deployment:
    m = meta(obj)
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    replicas = spec.get("replicas")
    return Deployment(
        namespace=_intern(m.get("namespace") or ""),
        name=m.get("name") or "",
        replicas=1 if replicas is None else _int(replicas),
        ready_replicas=_int(status.get("readyReplicas")),
        available_replicas=_int(status.get("availableReplicas")),
        updated_replicas=_int(status.get("updatedReplicas")),
        generation=_int(m.get("generation")),
        observed_generation=_int(status.get("observedGeneration")),
        selector=shared_map((spec.get("selector") or {}).get("matchLabels")),
        labels=shared_map(m.get("labels")),
        annotations=shared_map(m.get("annotations")),
        containers=_containers((spec.get("template") or {}).get("spec")),
    )


def _owner(m: Mapping[str, Any]) -> str:
    """The owning Deployment's name when the owner is a ReplicaSet named ``<deploy>-<hash>``."""
    for ref in m.get("ownerReferences") or ():
        name = ref.get("name") or ""
        if ref.get("kind") == "ReplicaSet":
            template_hash = (m.get("labels") or {}).get("pod-template-hash")
            if template_hash and name.endswith("-" + template_hash):
                return name[: -len(template_hash) - 1]
        return name
    return ""


def pod(obj: Mapping[str, Any]) -> Pod:
    m = meta(obj)
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or ()
    )
    return Pod(
        namespace=_intern(m.get("namespace") or ""),
        name=m.get("name") or "",
        labels=shared_map(m.get("labels")),
        node=_intern(spec.get("nodeName") or ""),
        ip=status.get("podIP") or "",
        phase=_intern(status.get("phase") or "Pending"),
        ready=ready,
        deleting=bool(m.get("deletionTimestamp")),
        containers=_containers(spec),
        owner=_intern(_owner(m)),
        started_at=parse_time(status.get("startTime")),
    )


def node(obj: Mapping[str, Any]) -> Node:
    m = meta(obj)
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    internal = external = ""
    for address in status.get("addresses") or ():
        if address.get("type") == "InternalIP" and not internal:
            internal = address.get("address") or ""
        elif address.get("type") == "ExternalIP" and not external:
            external = address.get("address") or ""
    cidrs = spec.get("podCIDRs") or ([spec["podCIDR"]] if spec.get("podCIDR") else [])
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or ()
    )
    return Node(
        name=_intern(m.get("name") or ""),
        internal_ip=internal,
        external_ip=external,
        pod_cidrs=tuple(cidrs),
        ready=ready,
    )


# -- kube-system's Cilium objects -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CiliumConfig:
    """The keys of ``cilium-config`` the checks need."""

    cluster_name: str | None
    cluster_id: int | None
    cluster_id_raw: str | None
    max_connected_clusters: int | None
    identity_allocation_mode: str | None
    ipam_mode: str | None = None
    pool_cidrs: tuple[str, ...] = ()


def cilium_config(obj: Mapping[str, Any]) -> CiliumConfig:
    """``cluster-name`` "" means ``default``, ``cluster-id`` "" means 0 (Cilium's defaults);
    ``ipam`` absent means ``cluster-pool``, whose ranges are ``cluster-pool-ipv4-cidr`` and
    ``cluster-pool-ipv6-cidr`` (the Helm chart joins a list with spaces)."""
    data = obj.get("data") or {}
    name = data.get("cluster-name")
    raw_id = data.get("cluster-id")
    cluster_id: int | None
    if raw_id is None or str(raw_id).strip() == "":
        cluster_id = 0
    else:
        try:
            cluster_id = int(str(raw_id).strip())
        except ValueError:
            cluster_id = None
    max_raw = data.get("max-connected-clusters")
    try:
        max_clusters = int(max_raw) if max_raw not in (None, "") else 255
    except (TypeError, ValueError):
        max_clusters = None
    pools: list[str] = []
    for key in ("cluster-pool-ipv4-cidr", "cluster-pool-ipv6-cidr"):
        pools += str(data.get(key) or "").replace(",", " ").split()
    return CiliumConfig(
        cluster_name=(name or "default") if name is not None else "default",
        cluster_id=cluster_id,
        cluster_id_raw=None if raw_id is None else str(raw_id),
        max_connected_clusters=max_clusters,
        identity_allocation_mode=data.get("identity-allocation-mode") or "crd",
        ipam_mode=str(data.get("ipam") or "cluster-pool"),
        pool_cidrs=tuple(pools[:64]),
    )


def secret_value(obj: Mapping[str, Any], key: str) -> bytes | None:
    """One decoded value of a Secret (``data`` is base64, ``stringData`` plain)."""
    data = obj.get("data") or {}
    if key in data:
        try:
            return base64.b64decode(data[key] or "")
        except ValueError:
            return None
    string_data = obj.get("stringData") or {}
    if key in string_data:
        return str(string_data[key]).encode()
    return None


def ca_ski(obj: Mapping[str, Any]) -> str | None:
    """Hex SubjectKeyId of a CA secret's ``ca.crt`` — or ``tls.crt`` when there is no ``ca.crt``,
    as cert-manager stores it (cilium-cli ``getCACert``); the certificate bytes are dropped at
    once and ``ca.key``/``tls.key`` are never decoded."""
    pem = secret_value(obj, "ca.crt") or secret_value(obj, "tls.crt")
    if not pem:
        return None
    return subject_key_id(pem)


def subject_key_id(pem: bytes) -> str | None:
    """SubjectKeyId of a PEM certificate, as the rules compare them."""
    return ca_subject_key_id(pem)


def clustermesh_remotes(obj: Mapping[str, Any]) -> tuple[tuple[str, bool], ...]:
    """(key, value contains ``endpoints:``) per key of ``cilium-clustermesh``; values dropped."""
    out: list[tuple[str, bool]] = []
    for key in sorted((obj.get("data") or {}).keys() | (obj.get("stringData") or {}).keys()):
        value = secret_value(obj, key) or b""
        out.append((key, b"endpoints:" in value))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class AgentPod:
    """A Cilium agent pod and its agent container's image (for the version)."""

    pod: Pod
    image: str

    @property
    def version(self) -> str | None:
        parsed = parse_version(self.image)
        return str(parsed) if parsed else None


def agent_pod(obj: Mapping[str, Any]) -> AgentPod:
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
