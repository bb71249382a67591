"""Scenarios: which clusters a simulated mesh has and what objects they start with.

A scenario is a YAML file (or a built-in name: ``seed``) or the generator form
(:func:`generated`: N clusters x M services, for benchmarks). Keys this part does not know
(e.g. part 2's ``cilium:`` settings) are kept in ``extra`` on the scenario and on each cluster,
so new fields need no change to the loader.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

DEFAULT_K8S_VERSION = "v1.32.2"


class ScenarioError(ValueError):
    """The scenario file or name is unusable; the message says why."""


@dataclass
class NodeSpec:
    name: str
    internal_ip: str
    external_ip: str = ""
    pod_cidr: str = ""
    """Where the node's pods get their IPs (Cilium's CiliumNode ``spec.ipam.podCIDRs``); filled
    from the cluster's pod CIDR (one /24 per node) when not given."""
    k8s_pod_cidr: str = ""
    """The Node's own ``spec.podCIDR`` (kube-controller-manager's ``--cluster-cidr`` slice).
    Under Cilium's cluster-pool IPAM it is unrelated to the pods' IPs; ``""``: same as
    :attr:`pod_cidr`."""
    labels: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ClusterSpec:
    context: str
    name: str
    """Cilium cluster name (``cluster1``)."""
    id: int
    kubernetes_version: str = DEFAULT_K8S_VERSION
    pod_cidr: str = "10.1.0.0/16"
    service_cidr: str = "10.96.0.0/16"
    load_balancer_cidr: str = ""
    """Where LoadBalancer services get their ingress IP (default ``198.18.<n>.0/24``)."""
    kubernetes_pod_cidr: str = ""
    """kube-controller-manager's ``--cluster-cidr`` (kubeadm's ``10.244.0.0/16``): the Nodes'
    ``spec.podCIDR`` come from it (``""``: the Nodes carry their Cilium pod CIDR)."""
    nodes: list[NodeSpec] = field(default_factory=list)
    objects: list[dict[str, Any]] = field(default_factory=list)
    """Initial objects (manifests), created in order after the scenario-wide ones."""
    bulk_services: int = 0
    """Generator: this many extra global services (with slices) in namespace ``bench``."""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Scenario:
    name: str
    clusters: list[ClusterSpec]
    ready_delay: float = 0.3
    """Seconds from a pod's creation to Running/Ready."""
    termination_grace: float = 1.0
    """Seconds a deleted pod stays Terminating."""
    objects: list[dict[str, Any]] = field(default_factory=list)
    """Objects created in every cluster (before each cluster's own)."""
    seed: int = 0
    """Seed of the per-cluster random generators (pod names, IPs, uids)."""
    extra: dict[str, Any] = field(default_factory=dict)

    def cluster(self, name_or_context: str) -> ClusterSpec:
        for spec in self.clusters:
            if name_or_context in (spec.name, spec.context):
                return spec
        raise KeyError(name_or_context)


def _fill_nodes(spec: ClusterSpec) -> None:
    network = ipaddress.ip_network(spec.pod_cidr, strict=False)
    subnets = network.subnets(new_prefix=24) if network.prefixlen <= 24 else iter([network])
    k8s = ipaddress.ip_network(spec.kubernetes_pod_cidr, strict=False) if spec.kubernetes_pod_cidr else None
    k8s_subnets = (k8s.subnets(new_prefix=24) if k8s.prefixlen <= 24 else iter([k8s])) if k8s else None
    for node in spec.nodes:
        subnet = next(subnets, network)
        if not node.pod_cidr:
            node.pod_cidr = str(subnet)
        if not node.k8s_pod_cidr and k8s_subnets is not None:
            node.k8s_pod_cidr = str(next(k8s_subnets, k8s))


_NODE_KEYS = {"name", "internalIP", "externalIP", "podCIDR", "labels"}
_CLUSTER_KEYS = {
    "context",
    "name",
    "id",
    "kubernetesVersion",
    "podCIDR",
    "serviceCIDR",
    "nodes",
    "objects",
    "bulkServices",
    "loadBalancerCIDR",
    "kubernetesPodCIDR",
}
_SCENARIO_KEYS = {"name", "clusters", "readyDelay", "terminationGrace", "objects", "seed"}


def from_dict(data: dict[str, Any], default_name: str = "scenario") -> Scenario:
    """Build a scenario from its YAML shape (camelCase keys)."""
    if not isinstance(data, dict) or not isinstance(data.get("clusters"), list) or not data["clusters"]:
        raise ScenarioError("a scenario needs a non-empty 'clusters' list")
    clusters: list[ClusterSpec] = []
    for n, raw in enumerate(data["clusters"], start=1):
        if not isinstance(raw, dict):
            raise ScenarioError(f"clusters[{n - 1}] must be a mapping")
        name = str(raw.get("name") or f"cluster{n}")
        nodes_raw = raw.get("nodes") or [{"name": f"{name}-node1", "internalIP": f"172.30.{n}.10"}]
        nodes = [
            NodeSpec(
                name=str(node.get("name") or f"{name}-node{i}"),
                internal_ip=str(node.get("internalIP") or f"172.30.{n}.{10 + i}"),
                external_ip=str(node.get("externalIP") or ""),
                pod_cidr=str(node.get("podCIDR") or ""),
                labels=dict(node.get("labels") or {}),
                extra={k: v for k, v in node.items() if k not in _NODE_KEYS},
            )
            for i, node in enumerate(nodes_raw, start=1)
        ]
        spec = ClusterSpec(
            context=str(raw.get("context") or name),
            name=name,
            id=_cluster_id(raw.get("id", n), name),
            kubernetes_version=str(raw.get("kubernetesVersion") or DEFAULT_K8S_VERSION),
            pod_cidr=str(raw.get("podCIDR") or f"10.{n}.0.0/16"),
            service_cidr=str(raw.get("serviceCIDR") or f"10.{95 + n}.0.0/16"),
            load_balancer_cidr=str(raw.get("loadBalancerCIDR") or f"198.18.{n % 256}.0/24"),
            kubernetes_pod_cidr=str(raw.get("kubernetesPodCIDR") or ""),
            nodes=nodes,
            objects=list(raw.get("objects") or []),
            bulk_services=int(raw.get("bulkServices") or 0),
            extra={k: v for k, v in raw.items() if k not in _CLUSTER_KEYS},
        )
        _fill_nodes(spec)
        clusters.append(spec)
    contexts = [c.context for c in clusters]
    if len(set(contexts)) != len(contexts):
        raise ScenarioError("two clusters have the same context name")
    return Scenario(
        name=str(data.get("name") or default_name),
        clusters=clusters,
        ready_delay=float(data.get("readyDelay", 0.3)),
        termination_grace=float(data.get("terminationGrace", 1.0)),
        objects=list(data.get("objects") or []),
        seed=int(data.get("seed", 0)),
        extra={k: v for k, v in data.items() if k not in _SCENARIO_KEYS},
    )


MAX_CLUSTER_ID = 511
"""The largest ClusterMesh cluster ID any Cilium accepts (``max-connected-clusters: 511``;
1..255 with the default 255, 0 = not meshed). A scenario may hold an ID above its clusters'
``maxConnectedClusters`` — meshtui's checks must see it — but none beyond this."""


def _cluster_id(raw: Any, name: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise ScenarioError(f"cluster {name}: id must be a whole number 0..{MAX_CLUSTER_ID}, not {raw!r}")
    try:
        value = int(raw)
    except ValueError:
        raise ScenarioError(
            f"cluster {name}: id must be a whole number 0..{MAX_CLUSTER_ID}, not {raw!r}"
        ) from None
    if not 0 <= value <= MAX_CLUSTER_ID:
        raise ScenarioError(f"cluster {name}: id {value} is outside 0..{MAX_CLUSTER_ID}")
    return value


def builtin_descriptions() -> dict[str, str]:
    """Built-in scenario name → its first comment line (for ``--help``), read without yaml."""
    folder = resources.files("tui.sim") / "scenarios"
    out: dict[str, str] = {}
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        if not path.name.endswith(".yaml"):
            continue
        first = path.read_text().splitlines()[:1]
        text = first[0].lstrip("# ").strip() if first and first[0].startswith("#") else ""
        out[path.name[:-5]] = text
    return out


def builtin_names() -> list[str]:
    folder = resources.files("tui.sim") / "scenarios"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load(name_or_path: str) -> Scenario:
    """A built-in scenario by name, or a YAML file by path."""
    path = Path(name_or_path)
    if name_or_path in builtin_names():
        text = (resources.files("tui.sim") / "scenarios" / f"{name_or_path}.yaml").read_text()
        default_name = name_or_path
    elif path.is_file():
        text = path.read_text()
        default_name = path.stem
    else:
        raise ScenarioError(
            f"no scenario {name_or_path!r}: not a file; built-in ones: {', '.join(builtin_names())}"
        )
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"scenario {name_or_path!r} is not valid YAML: {exc}") from exc
    return from_dict(_extended(data, name_or_path), default_name)


def _merge(base: Any, override: Any) -> Any:
    """Mappings merge key by key (recursively); anything else is replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _merge(base.get(key), value)
        return merged
    return override


def _extended(data: Any, name: str, depth: int = 0) -> Any:
    """``extends: seed`` takes a built-in scenario as the base: the file's top-level keys
    replace the base's, and ``clusterOverrides: {cluster2: {...}}`` is merged into the base's
    cluster of that name (mappings key by key), so a variant states only what differs."""
    if not isinstance(data, dict) or "extends" not in data:
        return data
    if depth > 4:
        raise ScenarioError(f"scenario {name!r}: 'extends' nests too deeply")
    base_name = str(data["extends"])
    if base_name not in builtin_names():
        raise ScenarioError(f"scenario {name!r} extends {base_name!r}, which is not a built-in scenario")
    text = (resources.files("tui.sim") / "scenarios" / f"{base_name}.yaml").read_text()
    base = _extended(yaml.safe_load(text), base_name, depth + 1)
    result = {k: v for k, v in base.items() if k != "name"}
    overrides = data.get("clusterOverrides") or {}
    result.update({k: v for k, v in data.items() if k not in ("extends", "clusterOverrides")})
    if overrides:
        if not isinstance(overrides, dict):
            raise ScenarioError(f"scenario {name!r}: 'clusterOverrides' must map cluster names to settings")
        clusters = []
        for cluster in result.get("clusters") or []:
            key = cluster.get("name") if isinstance(cluster, dict) else None
            clusters.append(_merge(cluster, overrides[key]) if key in overrides else cluster)
        unknown = set(overrides) - {c.get("name") for c in clusters if isinstance(c, dict)}
        if unknown:
            raise ScenarioError(
                f"scenario {name!r}: clusterOverrides names unknown clusters {sorted(unknown)}"
            )
        result["clusters"] = clusters
    return result


MAX_GENERATED = 511
"""``--clusters`` at most: Cilium's limit with ``max-connected-clusters: 511`` (255 without)."""
DEFAULT_MAX_CONNECTED = 255
SERVICE_IPS_KEPT = 16
"""Service IPs of a generated cluster left for the base scenario's services and Cilium's."""


def generated(clusters: int, services: int, *, nodes: int = 1, base: str = "seed") -> Scenario:
    """``--clusters N --services M``: the ``base`` scenario's objects in N clusters, plus M global
    services per cluster in namespace ``bench`` (their backends: see :mod:`tui.sim.bulk`).

    Cluster ``i`` (1..N) is ``cluster<i>`` (a valid Cilium name) with ID ``i``, context
    ``mesh<i>``; its address ranges never overlap another's, nor each other:

    * pods ``10.<i>.0.0/16`` (``10.<i/2>.0.0/17`` halves above 255 clusters), one /24 per node;
    * services ``/20``s of ``172.16.0.0/12`` (``/21``s above 255 clusters);
    * nodes ``100.64.<i>.<10+j>`` (CGNAT space: ``100.65.x`` above 255), load balancers
      ``198.18.<i>.0/24`` (``198.19.x`` above 255).

    Above 255 clusters the scenario sets ``cilium.maxConnectedClusters: 511``, as Cilium
    requires for IDs beyond 255.
    """
    if not 1 <= clusters <= MAX_GENERATED:
        raise ScenarioError(
            f"--clusters must be between 1 and {MAX_GENERATED} "
            f"(Cilium's limit; above {DEFAULT_MAX_CONNECTED} with max-connected-clusters 511)"
        )
    extended = clusters > DEFAULT_MAX_CONNECTED
    service_prefix = 21 if extended else 20
    most = 2 ** (32 - service_prefix) - 2 - SERVICE_IPS_KEPT
    if not 0 <= services <= most:
        raise ScenarioError(
            f"--services must be between 0 and {most}: each generated cluster has a /{service_prefix} "
            f"of service IPs{' (above 255 clusters)' if extended else ''}"
        )
    if not 1 <= nodes <= 128:
        raise ScenarioError("nodes must be between 1 and 128 (one /24 of pod IPs each)")
    template = load(base)
    services_net = ipaddress.ip_network("172.16.0.0/12")
    block = 2 ** (32 - service_prefix)
    specs: list[ClusterSpec] = []
    for i in range(1, clusters + 1):
        pod_cidr = f"10.{i >> 1}.{(i & 1) * 128}.0/17" if extended else f"10.{i}.0.0/16"
        service_base = ipaddress.ip_address(int(services_net.network_address) + (i - 1) * block)
        spec = ClusterSpec(
            context=f"mesh{i:02d}",
            name=f"cluster{i}",
            id=i,
            pod_cidr=pod_cidr,
            service_cidr=f"{service_base}/{service_prefix}",
            load_balancer_cidr=f"198.{18 + (i >> 8)}.{i & 255}.0/24",
            nodes=[
                NodeSpec(name=f"cluster{i}-node{j}", internal_ip=f"100.{64 + (i >> 8)}.{i & 255}.{10 + j}")
                for j in range(1, nodes + 1)
            ],
            bulk_services=services,
        )
        _fill_nodes(spec)
        specs.append(spec)
    extra = {"cilium": {"maxConnectedClusters": 511}} if extended else {}
    return Scenario(
        name=f"generated-{clusters}x{services}",
        clusters=specs,
        ready_delay=template.ready_delay,
        termination_grace=template.termination_grace,
        objects=template.objects,
        extra=extra,
    )
