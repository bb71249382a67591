"""Cilium in a simulated cluster: its settings from the scenario and its kube-system objects.

Every cluster of a scenario runs Cilium unless the scenario says ``cilium: {enabled: false}``.
The objects are shaped as cilium-cli and meshtui's cluster access read them
(cilium-semantics.md §1–2): ConfigMap ``cilium-config``, DaemonSet ``cilium`` (one agent pod per
node, label ``k8s-app=cilium``, container ``cilium-agent``, image tag = Cilium version),
Deployment ``cilium-operator``, Deployment and Service ``clustermesh-apiserver`` (NodePort 32379,
LoadBalancer or ClusterIP), Secret ``cilium-ca`` (a real CA made per CA group) and Secret
``cilium-clustermesh`` (one key per connected remote whose value names its ``endpoints:``).

Scenario keys (``cilium:`` at the top of a scenario; the per-cluster ``cilium:`` overrides the
cluster-level ones)::

    cilium:
      version: 1.14.1              # picks the rule family (1.14-1.17 / 1.18+)
      clustermeshService: NodePort # NodePort | LoadBalancer | ClusterIP
      nodePort: 32379
      connect: all                 # all | none | [[cluster1, cluster2], ...]
      ca: shared                   # CA group: clusters in the same group share one CA
      syncDelay: 0.5               # seconds until the agents realize an API change
      connectDelay: 1.0            # seconds from "connect" to a connected remote
      linkLatency: 0.01            # seconds per remote request (local ones take ~1 ms)
      links:                       # per-pair latency
        - {between: [cluster1, cluster2], latency: 0.03}
      retryInterval: 5.0           # seconds between an agent's reconnection attempts
      synTimeout: 127              # the kernel's connect timeout on a black-holed path
      agentNotReady: false
      kvstoremesh: false           # default: on from 1.16 (Helm's default), off before
      maxConnectedClusters: 255
      ipam: cluster-pool           # cluster-pool (pods from cilium-config's pool) | kubernetes
      ciliumLink: true             # false: the agent image has cilium-dbg only (no cilium link)
      imageDigestOnly: false       # true: agent image by digest, no version tag

Nothing here prints or logs key material: the CA key only lives in the ``cilium-ca`` Secret.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tui.mesh.version import parse_version
from tui.sim.resources import ResourceType, register_type
from tui.sim.scenario import ClusterSpec, Scenario, ScenarioError

CILIUM_NODE = register_type(
    ResourceType(
        "cilium.io", "v2", "ciliumnodes", "ciliumnode", "CiliumNode", False, short_names=("cn", "ciliumn")
    )
)
"""Cilium's CRD of a node's IPAM state, served by every simulated cluster."""

NAMESPACE = "kube-system"
DEFAULT_VERSION = "1.14.1"
DEFAULT_NODE_PORT = 32379
APISERVER_PORT = 2379
ETCD_VERSION = "3.5.4"
AGENT_CONTAINER = "cilium-agent"
CLUSTERMESH_SECRET = "cilium-clustermesh"
KVSTOREMESH_SECRET = "cilium-kvstoremesh"
LOCAL_ENDPOINT = f"clustermesh-apiserver.{NAMESPACE}.svc:2379"
"""What the Helm chart writes into ``cilium-clustermesh`` for every remote when KVStoreMesh is on:
the agents read all remotes from their own cluster's clustermesh-apiserver
(``install/kubernetes/cilium/templates/clustermesh-config/clustermesh-secret.yaml``)."""
CA_SECRET = "cilium-ca"
CONFIG_MAP = "cilium-config"
APISERVER = "clustermesh-apiserver"
SERVICE_TYPES = ("NodePort", "LoadBalancer", "ClusterIP")

# Git commits the agents print next to their version (``cilium version``), by minor version.
_COMMITS = {
    "1.14": "c191ef6f",
    "1.15": "8a0ff2c1",
    "1.16": "ad688277",
    "1.17": "41d3c64e",
    "1.18": "afda2aa9",
}


@dataclass(frozen=True)
class ClusterCilium:
    """Cilium as installed in one cluster."""

    enabled: bool = True
    version: str = DEFAULT_VERSION
    service_type: str = "NodePort"
    node_port: int = DEFAULT_NODE_PORT
    ca_group: str = "shared"
    agent_not_ready: bool = False
    kvstoremesh: bool = False
    max_connected_clusters: int = 255
    ipam: str = "cluster-pool"
    cilium_link: bool = True
    """The image has ``cilium`` beside ``cilium-dbg`` (a symlink since 1.15; 1.14 has only
    ``cilium``)."""
    digest_only: bool = False

    @property
    def image_tag(self) -> str:
        return f"v{self.version}"

    def image(self, repository: str) -> str:
        """``quay.io/cilium/cilium:v1.14.1`` (or ``…@sha256:…`` when only a digest is given)."""
        if self.digest_only:
            digest = hashlib.sha256(f"{repository}:{self.version}".encode()).hexdigest()
            return f"{repository}@sha256:{digest}"
        return f"{repository}:{self.image_tag}"

    @property
    def binaries(self) -> frozenset[str]:
        """The agent CLI names in the image: ``cilium`` (1.14), ``cilium-dbg`` (1.15+, with a
        ``cilium`` link unless the scenario removes it)."""
        parsed = parse_version(self.version)
        if parsed is not None and (parsed.major, parsed.minor) < (1, 15):
            return frozenset({"cilium"})
        return frozenset({"cilium-dbg", "cilium"} if self.cilium_link else {"cilium-dbg"})

    @property
    def commit(self) -> str:
        parsed = parse_version(self.version)
        key = f"{parsed.major}.{parsed.minor}" if parsed else ""
        return _COMMITS.get(key, "0f1e2d3c")


@dataclass(frozen=True)
class LinkSpec:
    between: frozenset[str]
    latency: float


@dataclass
class CiliumSettings:
    """Mesh-wide Cilium settings of a scenario (times in seconds)."""

    clusters: dict[str, ClusterCilium] = field(default_factory=dict)
    connect: list[tuple[str, str]] = field(default_factory=list)
    """Pairs connected at start (both directions)."""
    sync_delay: float = 0.5
    connect_delay: float = 1.0
    link_latency: float = 0.01
    local_latency: float = 0.001
    links: list[LinkSpec] = field(default_factory=list)
    retry_interval: float = 5.0
    syn_timeout: float = 127.0

    def cluster(self, name: str) -> ClusterCilium:
        return self.clusters.get(name) or ClusterCilium(enabled=False)

    @property
    def enabled(self) -> bool:
        return any(c.enabled for c in self.clusters.values())

    def latency(self, a: str, b: str) -> float:
        """One request's network time between two clusters (``local_latency`` inside one)."""
        if a == b:
            return self.local_latency
        pair = frozenset((a, b))
        for link in self.links:
            if link.between == pair:
                return link.latency
        return self.link_latency


def _float(raw: Mapping[str, Any], key: str, default: float) -> float:
    value = raw.get(key, default)
    try:
        result = float(value)
    except (TypeError, ValueError) as exc:
        raise ScenarioError(f"cilium.{key} must be a number of seconds, not {value!r}") from exc
    if result < 0:
        raise ScenarioError(f"cilium.{key} must not be negative")
    return result


def _cluster_settings(base: Mapping[str, Any], own: Mapping[str, Any], name: str) -> ClusterCilium:
    merged = {**base, **own}
    version = str(merged.get("version") or DEFAULT_VERSION).lstrip("v")
    parsed = parse_version(version)
    if parsed is None:
        raise ScenarioError(f"cluster {name}: cilium.version {version!r} is not a Cilium version")
    ipam = str(merged.get("ipam") or "cluster-pool")
    if ipam not in ("cluster-pool", "kubernetes"):
        raise ScenarioError(f"cluster {name}: cilium.ipam must be cluster-pool or kubernetes")
    kvstoremesh = merged.get("kvstoremesh")
    if kvstoremesh is None:  # Helm's default since 1.16
        kvstoremesh = (parsed.major, parsed.minor) >= (1, 16)
    service_type = str(merged.get("clustermeshService") or "NodePort")
    if service_type not in SERVICE_TYPES:
        raise ScenarioError(
            f"cluster {name}: cilium.clustermeshService must be one of {', '.join(SERVICE_TYPES)}"
        )
    return ClusterCilium(
        enabled=bool(merged.get("enabled", True)),
        version=version,
        service_type=service_type,
        node_port=int(merged.get("nodePort") or DEFAULT_NODE_PORT),
        ca_group=str(merged.get("ca") or "shared"),
        agent_not_ready=bool(merged.get("agentNotReady", False)),
        kvstoremesh=bool(kvstoremesh),
        max_connected_clusters=int(merged.get("maxConnectedClusters") or 255),
        ipam=ipam,
        cilium_link=bool(merged.get("ciliumLink", True)),
        digest_only=bool(merged.get("imageDigestOnly", False)),
    )


def settings_of(scenario: Scenario) -> CiliumSettings:
    """Read the ``cilium:`` keys of a scenario (see the module docstring)."""
    raw = scenario.extra.get("cilium") or {}
    if not isinstance(raw, Mapping):
        raise ScenarioError("'cilium' must be a mapping")
    names = [spec.name for spec in scenario.clusters]
    clusters = {}
    for spec in scenario.clusters:
        own = spec.extra.get("cilium") or {}
        if not isinstance(own, Mapping):
            raise ScenarioError(f"cluster {spec.name}: 'cilium' must be a mapping")
        clusters[spec.name] = _cluster_settings(raw, own, spec.name)
    connect_raw = raw.get("connect", "all")
    pairs: list[tuple[str, str]] = []
    meshed = [n for n in names if clusters[n].enabled]
    if connect_raw in ("all", True, None):
        pairs = [(a, b) for i, a in enumerate(meshed) for b in meshed[i + 1 :]]
    elif connect_raw in ("none", False):
        pairs = []
    elif isinstance(connect_raw, list):
        for item in connect_raw:
            if not isinstance(item, list | tuple) or len(item) != 2 or not all(x in names for x in item):
                raise ScenarioError(f"cilium.connect: {item!r} is not a pair of cluster names")
            pairs.append((str(item[0]), str(item[1])))
    else:
        raise ScenarioError("cilium.connect must be 'all', 'none' or a list of cluster pairs")
    links = []
    for item in raw.get("links") or []:
        between = item.get("between") if isinstance(item, Mapping) else None
        if not isinstance(between, list) or len(between) != 2:
            raise ScenarioError("cilium.links entries need 'between: [a, b]'")
        links.append(LinkSpec(frozenset(map(str, between)), _float(item, "latency", 0.01)))
    return CiliumSettings(
        clusters=clusters,
        connect=pairs,
        sync_delay=_float(raw, "syncDelay", 0.5),
        connect_delay=_float(raw, "connectDelay", 1.0),
        link_latency=_float(raw, "linkLatency", 0.01),
        local_latency=_float(raw, "localLatency", 0.001),
        links=links,
        retry_interval=max(0.05, _float(raw, "retryInterval", 5.0)),
        syn_timeout=_float(raw, "synTimeout", 127.0),
    )


# -- the CA ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CiliumCA:
    """A CA as ``cilium install`` makes it (kept only in the ``cilium-ca`` Secret)."""

    cert_pem: bytes
    key_pem: bytes


def make_ca(group: str) -> CiliumCA:
    """A fresh self-signed CA named ``Cilium CA`` (EC P-256, with a SubjectKeyIdentifier)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Cilium"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Cilium CA"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3 * 365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return CiliumCA(
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )


def _b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


# -- kube-system objects -------------------------------------------------------------------------


def _labels(app: str) -> dict[str, str]:
    return {"app.kubernetes.io/part-of": "cilium", "app.kubernetes.io/name": app}


def cilium_objects(spec: ClusterSpec, cilium: ClusterCilium, ca: CiliumCA) -> list[dict[str, Any]]:
    """The kube-system objects of Cilium with ClusterMesh enabled in one cluster."""
    tag = cilium.image_tag
    pod_cidr = spec.pod_cidr
    pool = (
        {"cluster-pool-ipv4-cidr": pod_cidr, "cluster-pool-ipv4-mask-size": "24"}
        if cilium.ipam == "cluster-pool"
        else {}
    )
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": CONFIG_MAP, "namespace": NAMESPACE},
        "data": {
            "cluster-name": spec.name,
            "cluster-id": str(spec.id),
            "max-connected-clusters": str(cilium.max_connected_clusters),
            "identity-allocation-mode": "crd",
            **pool,
            "ipam": cilium.ipam,
            "kube-proxy-replacement": "true",
            "enable-ipv4": "true",
            "enable-ipv6": "false",
            "routing-mode": "tunnel",
            "tunnel-protocol": "vxlan",
            "enable-health-checking": "true",
            "enable-hubble": "true",
            "clustermesh-config": "/var/lib/cilium/clustermesh/",
        },
    }
    agent = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {
            "name": "cilium",
            "namespace": NAMESPACE,
            "labels": {"k8s-app": "cilium", **_labels("cilium-agent")},
        },
        "spec": {
            "selector": {"matchLabels": {"k8s-app": "cilium"}},
            "template": {
                "metadata": {"labels": {"k8s-app": "cilium", **_labels("cilium-agent")}},
                "spec": {
                    "hostNetwork": True,
                    "serviceAccountName": "cilium",
                    "priorityClassName": "system-node-critical",
                    "containers": [
                        {
                            "name": AGENT_CONTAINER,
                            "image": cilium.image("quay.io/cilium/cilium"),
                            "command": ["cilium-agent"],
                            "args": ["--config-dir=/tmp/cilium/config-map"],
                        }
                    ],
                },
            },
        },
    }
    operator = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "cilium-operator",
            "namespace": NAMESPACE,
            "labels": {"io.cilium/app": "operator", "name": "cilium-operator", **_labels("cilium-operator")},
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"io.cilium/app": "operator", "name": "cilium-operator"}},
            "template": {
                "metadata": {
                    "labels": {
                        "io.cilium/app": "operator",
                        "name": "cilium-operator",
                        **_labels("cilium-operator"),
                    }
                },
                "spec": {
                    "hostNetwork": True,
                    "containers": [
                        {
                            "name": "cilium-operator",
                            "image": f"quay.io/cilium/operator-generic:{tag}",
                            "command": ["cilium-operator-generic"],
                        }
                    ],
                },
            },
        },
    }
    containers = [
        {
            "name": "etcd",
            "image": f"quay.io/cilium/cilium-etcd:v{ETCD_VERSION}",
            "ports": [{"containerPort": 2379, "name": "etcd"}],
        },
        {"name": "apiserver", "image": f"quay.io/cilium/clustermesh-apiserver:{tag}"},
    ]
    if cilium.kvstoremesh:
        containers.append({"name": "kvstoremesh", "image": f"quay.io/cilium/clustermesh-apiserver:{tag}"})
    apiserver_labels = {"k8s-app": APISERVER, **_labels(APISERVER)}
    apiserver = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": APISERVER, "namespace": NAMESPACE, "labels": apiserver_labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"k8s-app": APISERVER}},
            "template": {"metadata": {"labels": apiserver_labels}, "spec": {"containers": containers}},
        },
    }
    port: dict[str, Any] = {"name": "apiserv", "port": APISERVER_PORT, "targetPort": 2379, "protocol": "TCP"}
    if cilium.service_type == "NodePort":
        port["nodePort"] = cilium.node_port
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": APISERVER, "namespace": NAMESPACE, "labels": apiserver_labels},
        "spec": {"type": cilium.service_type, "selector": {"k8s-app": APISERVER}, "ports": [port]},
    }
    ca_secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": CA_SECRET, "namespace": NAMESPACE},
        "type": "Opaque",
        "data": {"ca.crt": _b64(ca.cert_pem), "ca.key": _b64(ca.key_pem)},
    }
    mesh_secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": CLUSTERMESH_SECRET, "namespace": NAMESPACE},
        "type": "Opaque",
        "data": {},
    }
    objects = [config, ca_secret, mesh_secret, service, apiserver, operator, agent]
    if cilium.kvstoremesh:
        objects.insert(3, {**mesh_secret, "metadata": {"name": KVSTOREMESH_SECRET, "namespace": NAMESPACE}})
    objects += [cilium_node(spec, node) for node in spec.nodes]
    return objects


def cilium_node(spec: ClusterSpec, node: Any) -> dict[str, Any]:
    """The CiliumNode of one node: the pod range Cilium's IPAM handed it (``spec.ipam.podCIDRs``)
    — under cluster-pool a slice of ``cluster-pool-ipv4-cidr``, not the Node's ``podCIDR``."""
    return {
        "apiVersion": "cilium.io/v2",
        "kind": "CiliumNode",
        "metadata": {
            "name": node.name,
            "labels": {"kubernetes.io/hostname": node.name, "kubernetes.io/os": "linux"},
        },
        "spec": {
            "addresses": [{"type": "InternalIP", "ip": node.internal_ip}],
            "ipam": {"podCIDRs": [node.pod_cidr]},
        },
        "status": {"ipam": {"operator-status": {}}},
    }


def remote_config(remote: str, address: str) -> str:
    """The etcd configuration of one remote, as ``cilium clustermesh connect`` writes it."""
    return (
        f"endpoints:\n- https://{address}\n"
        f"trusted-ca-file: /var/lib/cilium/clustermesh/{remote}.etcd-client-ca.crt\n"
        f"key-file: /var/lib/cilium/clustermesh/{remote}.etcd-client.key\n"
        f"cert-file: /var/lib/cilium/clustermesh/{remote}.etcd-client.crt\n"
    )


def endpoint_of(config: str) -> str | None:
    """``host:port`` of the first ``endpoints:`` entry of a remote's configuration."""
    lines = config.splitlines()
    for index, line in enumerate(lines):
        if line.strip().startswith("endpoints:"):
            rest = line.split(":", 1)[1].strip()
            candidates = [rest.strip("[] ")] if rest else []
            candidates += [
                item.strip().lstrip("-").strip()
                for item in lines[index + 1 :]
                if item.strip().startswith("-")
            ]
            for candidate in candidates:
                candidate = candidate.strip("'\"")
                if candidate:
                    return candidate.split("://", 1)[-1].rstrip("/")
    return None


def access_addresses(service: Mapping[str, Any] | None, nodes: Iterable[Mapping[str, Any]]) -> list[str]:
    """Where other clusters reach this clustermesh-apiserver (cilium-cli's rules, §2)."""
    if not service:
        return []
    spec = service.get("spec") or {}
    ports = spec.get("ports") or []
    if not ports:
        return []
    first = ports[0]
    kind = spec.get("type") or "ClusterIP"
    if kind == "ClusterIP":
        ip = spec.get("clusterIP")
        return [f"{ip}:{first.get('port')}"] if ip and ip != "None" else []
    if kind == "NodePort":
        for node in nodes:
            addresses = (node.get("status") or {}).get("addresses") or []
            external = [
                a.get("address") for a in addresses if a.get("type") == "ExternalIP" and a.get("address")
            ]
            internal = [
                a.get("address") for a in addresses if a.get("type") == "InternalIP" and a.get("address")
            ]
            if external or internal:
                return [f"{(external or internal)[0]}:{first.get('nodePort')}"]
        return []
    if kind == "LoadBalancer":
        ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        return [f"{item['ip']}:{first.get('port')}" for item in ingress if item.get("ip")]
    return []


def encode_secret_value(text: str) -> str:
    return _b64(text)


def decode_secret_value(value: str) -> str:
    try:
        return base64.b64decode(value or "").decode("utf-8", "replace")
    except ValueError:
        return ""
