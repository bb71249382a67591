"""``cilium`` / ``cilium-dbg`` in a simulated agent pod (container ``cilium-agent``).

What an agent answers follows the mesh as the simulator runs it (:mod:`tui.sim.ciliummesh`):
which remotes its cluster's ``cilium-clustermesh`` Secret configures, whether each is connected
and why not, how many services they share, and which backends the agent realized and selected.

Commands:

* ``cilium status -o json`` — the ``StatusResponse`` document; its ``cluster-mesh`` part has
  exactly the field names and omitempty behaviour of cilium-semantics.md §2 (false and 0 are
  absent; ``num-global-services`` is absent from 1.19 on);
* ``cilium status`` (text, ``--verbose`` / ``--all-clusters`` expand every remote; not-ready
  remotes are always expanded), ``cilium status --brief``;
* ``cilium service list [-o json] [--clustermesh-affinity]`` — §4: a 1.14–1.17 agent lists
  every backend of the merged clusters and marks the affinity side ``(preferred)``; a 1.18+
  agent lists only the backends it selected, all marked preferred;
* ``cilium version``.

``sh``/``bash`` run the simulated shell with the agent's commands on its path; a binary the
image lacks (``cilium-dbg`` on 1.14, ``cilium`` when the scenario removes the link) fails the way
containerd fails it: an exec error with no exit code. ``kvstoremesh-dbg status`` answers in the
``kvstoremesh`` container of clustermesh-apiserver pods.
"""

from __future__ import annotations

import asyncio
import dataclasses
import posixpath
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from tui.mesh.selection import rule_family, select_backends
from tui.mesh.version import parse_version
from tui.sim.cilium import AGENT_CONTAINER, ETCD_VERSION, LOCAL_ENDPOINT
from tui.sim.jsonindent import dumps_indented
from tui.sim.links import TLS_ERROR as TLS_TEXT
from tui.sim.links import WAITING, Link
from tui.sim.programs import STDERR, STDOUT, ExecIO, ExecRequest, oci_not_found, register_program
from tui.sim.store import rfc3339

if TYPE_CHECKING:
    from tui.sim.agentview import ServiceRecord
    from tui.sim.ciliummesh import CiliumMesh

K8S_APIS = [
    "EndpointSliceOrEndpoint",
    "cilium/v2::CiliumClusterwideNetworkPolicy",
    "cilium/v2::CiliumEndpoint",
    "cilium/v2::CiliumNetworkPolicy",
    "cilium/v2::CiliumNode",
    "cilium/v2alpha1::CiliumCIDRGroup",
    "core/v1::Namespace",
    "core/v1::Pods",
    "core/v1::Service",
    "networking.k8s.io/v1::NetworkPolicy",
]
NOT_READY_MSG = "cilium-agent is not ready: failed to sync Kubernetes resources: context deadline exceeded"


def _at_least(version: str, major: int, minor: int) -> bool:
    parsed = parse_version(version)
    return parsed is not None and (parsed.major, parsed.minor) >= (major, minor)


class AgentState:
    """What one agent pod knows, built per command from the mesh (cheap, cached counts)."""

    def __init__(self, cm: CiliumMesh, cluster: str, pod: dict[str, Any]) -> None:
        self.cm = cm
        self.cluster = cluster
        self.pod = pod
        self.node = str((pod.get("spec") or {}).get("nodeName") or "")
        self.cilium = cm.settings.cluster(cluster)
        self.version = self.cilium.version
        self.now = time.time()

    # -- counts --------------------------------------------------------------------------------

    def remote_counts(self, target: str) -> tuple[int, int, int, int]:
        """(nodes, endpoints, identities, shared services) of a remote cluster."""
        return self.cm.remote_counts(target)

    def num_global_services(self, usable: set[str]) -> int:
        return self.cm.num_global_services(self.cluster, usable)

    # -- the status document -------------------------------------------------------------------

    def remote_entry(self, link: Link, *, kvstoremesh_side: bool = False) -> dict[str, Any]:
        """One ``RemoteCluster`` document (omitempty): an agent's link, or — ``kvstoremesh_side``
        — KVStoreMesh's own link (what ``kvstoremesh-dbg status`` lists).

        Counts (``num-nodes`` …) are the entries of the caches of that remote, which a lost link
        leaves in place (``pkg/clustermesh/remote_cluster.go`` ``Status``): a disconnected remote
        that was synced keeps its counts, one that never was shows none.
        """
        settings = self.cm.settings
        now = self.now
        health = link.health
        entry: dict[str, Any] = {"name": link.remote}
        target = health.target or ""
        via_kvm = not kvstoremesh_side and self.cilium.kvstoremesh and link.endpoint == LOCAL_ENDPOINT
        held = bool(target) and self.cm.links.holds(link, now)
        if link.connected(now, settings.connect_delay):
            entry["connected"] = True
            entry["status"] = (
                "etcd: 1/1 connected, leases=0, lock leases=0, has-quorum=true: "
                f"https://{link.endpoint} - {ETCD_VERSION} (Leader)"
            )
            if health.config_found:
                entry["ready"] = True
                self._counts(entry, target)
                config: dict[str, Any] = {"required": True, "retrieved": True}
                remote_id = self.cm.links.facts[target].cluster_id
                if remote_id:
                    config["cluster-id"] = remote_id
                if via_kvm:
                    config["kvstoremesh"] = True
                config["sync-canaries"] = True
                entry["config"] = config
                entry["synced"] = {"nodes": True, "endpoints": True, "identities": True, "services": True}
            else:
                entry["config"] = {"required": True}
        elif health.healthy:
            entry["status"] = WAITING
        else:
            entry["status"] = health.text
            if held:
                self._counts(entry, target)
        failures = link.failures(now, settings.retry_interval)
        if failures:
            entry["num-failures"] = failures
            last = link.last_failure(now, settings.retry_interval)
            entry["last-failure"] = rfc3339(last if last is not None else link.since)
        return entry

    def _counts(self, entry: dict[str, Any], target: str) -> None:
        nodes, endpoints, identities, shared = self.remote_counts(target)
        frozen = self.cm.frozen.get((self.cluster, target))
        if frozen is not None:
            shared = sum(1 for record in frozen.values() if record is not None)
        for field, value in (
            ("num-nodes", nodes),
            ("num-endpoints", endpoints),
            ("num-identities", identities),
            ("num-shared-services", shared),
        ):
            if value:
                entry[field] = value

    def kvstoremesh_status(self) -> list[dict[str, Any]]:
        """``kvstoremesh-dbg status -o json``: KVStoreMesh's links of this cluster."""
        return [
            self.remote_entry(link, kvstoremesh_side=True)
            for link in self.cm.links.kvstoremesh_links(self.cluster)
        ]

    def cluster_mesh(self) -> dict[str, Any]:
        links = self.cm.links.configured(self.cluster)
        document: dict[str, Any] = {}
        clusters = [self.remote_entry(link) for link in links]
        if clusters:
            document["clusters"] = clusters
        if not _at_least(self.version, 1, 19):
            count = self.num_global_services(self.cm.links.usable(self.cluster, self.now))
            if count:
                document["num-global-services"] = count
        return document

    def ready(self) -> bool:
        return self.cluster not in self.cm.agents_not_ready

    def document(self) -> dict[str, Any]:
        sim = self.cm.sim(self.cluster)
        k8s = sim.spec.kubernetes_version.lstrip("v")
        minor = ".".join(k8s.split(".")[:2])
        facts = self.cm.links.facts.get(self.cluster)
        cluster_id = facts.cluster_id if facts else sim.spec.id
        node_ip = self._node_ip()
        doc: dict[str, Any] = {}
        doc["cilium"] = {"state": "Ok"} if self.ready() else {"state": "Failure", "msg": NOT_READY_MSG}
        nodes = self._health_nodes()
        doc["cluster"] = {
            "ciliumHealth": {"state": "Ok"},
            "nodes": [
                {
                    "name": f"{cluster}/{name}",
                    "primary-address": {"ipv4": {"enabled": True, "ip": ip}},
                    **({"source": "local"} if cluster == self.cluster and name == self.node else {}),
                }
                for cluster, name, ip in nodes
            ],
            "self": f"{self.cluster}/{self.node}",
        }
        doc["cluster-mesh"] = self.cluster_mesh()
        doc["cni-chaining"] = {"mode": "none"}
        doc["container-runtime"] = {"state": "Ok"}
        doc["encryption"] = {"mode": "Disabled"}
        # 24-bit identities, the cluster ID in the top 8 bits (9 with max-connected-clusters
        # 511): pkg/identity/numericidentity.go GetMinimal/MaximumAllocationIdentity
        shift = 15 if self.cilium.max_connected_clusters == 511 else 16
        doc["identity-range"] = {
            "max-identity": ((cluster_id + 1) << shift) - 1,
            "min-identity": cluster_id << shift if cluster_id else 256,
        }
        doc["ipam"] = {"ipv4": self._node_pod_ips()}
        doc["kube-proxy-replacement"] = {
            "devices": [{"ip": [node_ip], "name": "eth0"}],
            "mode": "True",
        }
        doc["kubernetes"] = {
            "k8s-api-versions": K8S_APIS,
            "msg": f"{minor} (v{k8s}) [linux/amd64]",
            "state": "Ok" if self.ready() else "Warning",
        }
        doc["kvstore"] = (
            {"state": "Disabled"} if _at_least(self.version, 1, 16) else {"msg": "Disabled", "state": "Ok"}
        )
        doc["masquerading"] = {"enabled": True, "mode": "BPF"}
        return doc

    def _node_ip(self) -> str:
        for node in self.cm.sim(self.cluster).spec.nodes:
            if node.name == self.node:
                return node.internal_ip
        return ""

    def _node_pod_ips(self) -> list[str]:
        store = self.cm.sim(self.cluster).store
        ips = []
        for entry in store.iter("pods"):
            obj = entry.obj
            spec, status = obj.get("spec") or {}, obj.get("status") or {}
            if spec.get("nodeName") == self.node and not spec.get("hostNetwork") and status.get("podIP"):
                ips.append(status["podIP"])
        return sorted(ips)

    def _health_nodes(self) -> list[tuple[str, str, str]]:
        out = [(self.cluster, n.name, n.internal_ip) for n in self.cm.sim(self.cluster).spec.nodes]
        for remote in sorted(self.cm.links.usable(self.cluster, self.now)):
            out.extend((remote, n.name, n.internal_ip) for n in self.cm.sim(remote).spec.nodes)
        return out

    # -- text ----------------------------------------------------------------------------------

    def status_text(self, verbose: bool) -> str:
        doc = self.document()
        version = self.version
        rows: list[tuple[str, str]] = []
        kv = doc["kvstore"]
        rows.append(("KVStore", "Disabled" if kv.get("state") == "Disabled" else "Ok   Disabled"))
        k8s = doc["kubernetes"]
        rows.append(("Kubernetes", f"{k8s['state']}   {k8s['msg']}"))
        rows.append(("Kubernetes APIs", "[" + ", ".join(f'"{a}"' for a in K8S_APIS) + "]"))
        rows.append(("KubeProxyReplacement", f"True   [eth0   {self._node_ip()} (Direct Routing)]"))
        rows.append(("Host firewall", "Disabled"))
        rows.append(("CNI Chaining", "none"))
        cilium_state = "Ok" if self.ready() else "Failure"
        rows.append(("Cilium", f"{cilium_state}   {version} (v{version}-{self.cilium.commit})"))
        rows.append(("NodeMonitor", "Listening for events on 4 CPUs with 64x4096 of shared memory"))
        rows.append(("Cilium health daemon", "Ok"))
        ips = doc["ipam"]["ipv4"]
        cidr = next((n.pod_cidr for n in self.cm.sim(self.cluster).spec.nodes if n.name == self.node), "")
        rows.append(("IPAM", f"IPv4: {len(ips) + 2}/254 allocated from {cidr}, "))
        mesh_lines = self._mesh_lines(doc["cluster-mesh"], verbose)
        rows.append(("ClusterMesh", mesh_lines[0]))
        rows.append(("IPv4 BIG TCP", "Disabled"))
        rows.append(("IPv6 BIG TCP", "Disabled"))
        rows.append(("BandwidthManager", "Disabled"))
        rows.append(("Host Routing", "BPF"))
        rows.append(
            (
                "Masquerading",
                "BPF   [eth0]   "
                + self.cm.sim(self.cluster).spec.pod_cidr
                + "  [IPv4: Enabled, IPv6: Disabled]",
            )
        )
        rows.append(("Controller Status", "42/42 healthy"))
        rows.append(
            (
                "Proxy Status",
                "OK, ip "
                + (ips[0] if ips else "")
                + ", 0 redirects active on ports 10000-20000, Envoy: embedded",
            )
        )
        identity = doc["identity-range"]
        rows.append(
            ("Global Identity Range", f"min {identity['min-identity']}, max {identity['max-identity']}")
        )
        rows.append(
            ("Hubble", "Ok   Current/Max Flows: 4095/4095 (100.00%), Flows/s: 9.81   Metrics: Disabled")
        )
        rows.append(("Encryption", "Disabled"))
        nodes = doc["cluster"]["nodes"]
        reachable = sum(
            1 for item in nodes if not self.cm.links.partitioned(self.cluster, item["name"].split("/", 1)[0])
        )
        rows.append(("Cluster health", f"{reachable}/{len(nodes)} reachable   ({rfc3339(self.now)})"))
        width = max(len(label) for label, _ in rows) + 2
        out: list[str] = []
        for label, value in rows:
            out.append(f"{label + ':':<{width}}{value}".rstrip())
            if label == "ClusterMesh":
                out.extend(mesh_lines[1:])
        return "\n".join(out) + "\n"

    def _mesh_lines(self, mesh: dict[str, Any], verbose: bool) -> list[str]:
        clusters = mesh.get("clusters") or []
        ready = sum(1 for c in clusters if c.get("ready"))
        head = f"{ready}/{len(clusters)} remote clusters ready"
        if not _at_least(self.version, 1, 19):
            head += f", {mesh.get('num-global-services', 0)} global-services"
        lines = [head]
        for entry in clusters:
            if not verbose and entry.get("ready"):
                continue
            failures = entry.get("num-failures", 0)
            last = "never"
            if entry.get("last-failure"):
                from tui.sim.store import parse_rfc3339

                stamp = parse_rfc3339(entry["last-failure"])
                last = f"{max(0, int(self.now - stamp))}s ago" if stamp else entry["last-failure"]
            lines.append(
                f"   {entry['name']}: {'ready' if entry.get('ready') else 'not-ready'}, "
                f"{entry.get('num-nodes', 0)} nodes, {entry.get('num-endpoints', 0)} endpoints, "
                f"{entry.get('num-identities', 0)} identities, "
                f"{entry.get('num-shared-services', 0)} services, "
                f"{failures} reconnections (last: {last})"
            )
            lines.append(f"   └  {entry.get('status', '')}")
            config = entry.get("config")
            if config is None:
                lines.append("   └  remote configuration: expected=unknown, retrieved=unknown")
            else:
                lines.append(
                    "   └  remote configuration: "
                    f"expected={str(bool(config.get('required'))).lower()}, "
                    f"retrieved={str(bool(config.get('retrieved'))).lower()}"
                    + (
                        f", cluster-id={config.get('cluster-id', 0)}, "
                        f"kvstoremesh={str(bool(config.get('kvstoremesh'))).lower()}, "
                        f"sync-canaries={str(bool(config.get('sync-canaries'))).lower()}"
                        if config.get("retrieved")
                        else ""
                    )
                )
            synced = entry.get("synced") or {}
            lines.append(
                "   └  synchronization status: "
                + ", ".join(
                    f"{k}={str(bool(synced.get(k))).lower()}"
                    for k in ("nodes", "endpoints", "identities", "services")
                )
            )
        return lines

    def troubleshoot(self, names: list[str]) -> tuple[str, int]:
        """``cilium-dbg troubleshoot clustermesh [cluster...]``: each remote's connection, step
        by step (address, TCP, TLS, etcd, cluster configuration), as the agent sees it."""
        links = [link for link in self.cm.links.configured(self.cluster) if not names or link.remote in names]
        unknown = sorted(set(names) - {link.remote for link in links})
        if unknown:
            return f"❌ No configuration found for cluster(s) {', '.join(unknown)}\n", 1
        out = [f"Found {len(links)} cluster configurations", ""]
        failed = False
        for link in links:
            health = link.health
            out += [
                f'Cluster "{link.remote}":',
                f"📄 Configuration path: /var/lib/cilium/clustermesh/{link.remote}",
                "",
            ]
            out += ["🔌 Endpoints:", f"   - https://{link.endpoint}"]
            if health.kind in ("timeout", "partition"):
                out.append(f"     ❌ Cannot establish TCP connection to {link.endpoint}: i/o timeout")
            elif health.kind == "apiserver":
                out.append(
                    f"     ❌ Cannot establish TCP connection to {link.endpoint}: connect: connection refused"
                )
            else:
                out.append(f"     ✅ TCP connection successfully established to {link.endpoint}")
                if health.kind == "tls":
                    out.append(f"     ❌ Cannot establish TLS connection to {link.endpoint}: {TLS_TEXT}")
                else:
                    out.append(f"     ✅ TLS connection successfully established to {link.endpoint}")
                    out.append(f"     ℹ️  Etcd server version: {ETCD_VERSION}")
            out.append("")
            if health.healthy and health.config_found:
                out.append("⚙️ Etcd client:")
                out.append("   ✅ Etcd connection successfully established")
                remote_id = self.cm.links.facts[health.target or ""].cluster_id
                out.append(f"   ✅ Remote cluster configuration retrieved (cluster-id={remote_id})")
            elif health.healthy:
                failed = True
                out.append("⚙️ Etcd client:")
                out.append("   ✅ Etcd connection successfully established")
                out.append(
                    f"   ❌ Remote cluster configuration not found: is the remote named {link.remote}?"
                )
            else:
                failed = True
                out.append(f"❌ {health.text}")
            out.append("")
        return "\n".join(out) + "\n", 1 if failed else 0

    def brief(self) -> tuple[str, int]:
        """``cilium status --brief``: ``OK`` or the first problem (exit 1)."""
        if not self.ready():
            return NOT_READY_MSG, 1
        for entry in self.cluster_mesh().get("clusters") or []:
            if not entry.get("ready"):
                return (
                    f"clustermesh: remote cluster {entry['name']} is not ready: {entry.get('status', '')}",
                    1,
                )
        return "OK", 0

    # -- services ------------------------------------------------------------------------------

    def frontends(self) -> list[tuple[int, ServiceRecord, Any, str, int, str]]:
        """Every frontend the agent has: (id, service, port, ip, port number, type), by ID."""
        cm = self.cm
        view = cm.views[self.cluster]
        node_ips = [n.internal_ip for n in cm.sim(self.cluster).spec.nodes if n.name == self.node]
        out = []
        for record in view.records():
            if record.headless or record.type == "ExternalName":
                continue
            for port in record.ports:
                addresses = [(record.cluster_ip, port.port, "ClusterIP")]
                if record.type in ("NodePort", "LoadBalancer") and port.node_port:
                    addresses += [(ip, int(port.node_port), "NodePort") for ip in node_ips]
                    addresses.append(("0.0.0.0", int(port.node_port), "NodePort"))
                if record.type == "LoadBalancer":
                    addresses += [(ip, port.port, "LoadBalancer") for ip in record.lb_ips]
                for ip, number, kind in addresses:
                    ident = cm.frontend_id(self.cluster, ip, number, port.protocol)
                    out.append((ident, record, port, ip, number, kind))
        out.sort(key=lambda item: item[0])
        return out

    def iter_service_list(self) -> Iterator[dict[str, Any] | None]:
        """``cilium service list -o json`` entries, by ID; ``None`` now and then marks a good
        moment to let the event loop run (a big mesh has many backends to list)."""
        modern = rule_family(self.version) == "1.18+"
        cache: dict[tuple[int, str], list[dict[str, Any]]] = {}
        for count, (ident, record, port, ip, number, kind) in enumerate(self.frontends()):
            if count % 5 == 4:
                yield None
            key = (id(record), port.name)
            backends = cache.get(key)
            if backends is None:
                backends = cache[key] = self._backends(record, port.name, modern, port.protocol)
            spec = {
                "backend-addresses": backends,
                "flags": {
                    "extTrafficPolicy": "Cluster",
                    "intTrafficPolicy": "Cluster",
                    "name": record.name,
                    "namespace": record.namespace,
                    "trafficPolicy": "Cluster",
                    "type": kind,
                },
                "frontend-address": (
                    {"ip": ip, "port": number, "protocol": port.protocol, "scope": "external"}
                    if modern
                    else {"ip": ip, "port": number, "scope": "external"}
                ),
                "id": ident,
            }
            yield {"spec": spec, "status": {"realized": spec}}

    def service_list(self) -> list[dict[str, Any]]:
        """``cilium service list -o json``: one entry per frontend, sorted by ID."""
        return [entry for entry in self.iter_service_list() if entry is not None]

    def _backends(
        self, record: ServiceRecord, port_name: str, modern: bool, protocol: str
    ) -> list[dict[str, Any]]:
        """``backend-addresses``: the ``BackendAddress`` model as the version fills it — 1.14–1.17
        ``GetBackendModel`` (ip, nodeName, port, preferred, state, weight) over every merged
        backend; 1.18+ ``frontend.go`` (ip, protocol, port, nodeName, state, preferred: true,
        weight) over the backends ``SelectBackends`` kept. ``weight`` is always there (100)."""
        cm = self.cm
        services, usable = cm.dataplane.merged(self.cluster, record, port_name)
        selection = select_backends(record.key, self.cluster, services, self.version, connected=usable)
        out = []
        for choice in selection.choices:
            backend = choice.backend
            if not choice.listed:
                continue
            item: dict[str, Any] = {"ip": backend.ip}
            if modern:
                item["protocol"] = protocol
            if backend.node:
                item["nodeName"] = backend.node
            item["port"] = backend.port
            if modern or choice.preferred:
                item["preferred"] = True
            item["state"] = "active" if backend.active else "terminating"
            item["weight"] = 100
            out.append(item)
        return out

    def iter_service_text(self, affinity: bool) -> Iterator[str]:
        """The text of ``--clustermesh-affinity`` (empty chunks: moments to yield)."""
        suffix = _at_least(self.version, 1, 18)
        rows: list[list[str]] = [["ID", "Frontend", "Service Type", "Backend"]]
        for entry in self.iter_service_list():
            if entry is None:
                yield ""
                continue
            spec = entry["status"]["realized"]
            frontend = spec["frontend-address"]
            protocol = frontend.get("protocol", "") if suffix else ""
            address = _address(frontend["ip"], frontend["port"], protocol)
            backends = []
            for index, backend in enumerate(spec["backend-addresses"], start=1):
                text = f"{index} => {_address(backend['ip'], backend['port'], protocol)} ({backend['state']})"
                if affinity and backend.get("preferred"):
                    text += " (preferred)"
                backends.append(text)
            rows.append([str(spec["id"]), address, spec["flags"]["type"], backends[0] if backends else ""])
            rows.extend(["", "", "", text] for text in backends[1:])
        yield tabwriter(rows)

    def service_text(self, affinity: bool) -> str:
        return "".join(self.iter_service_text(affinity))


def _address(ip: str, port: int, protocol: str) -> str:
    host = f"[{ip}]" if ":" in ip else ip
    return f"{host}:{port}" + (f"/{protocol}" if protocol else "")


def tabwriter(rows: Sequence[Sequence[str]], minwidth: int = 5, padding: int = 3) -> str:
    """Go's ``tabwriter.NewWriter(w, 5, 0, 3, ' ', 0)`` over rows whose every cell ends in a tab."""
    columns = max(len(r) for r in rows)
    widths = [max([minwidth] + [len(r[i]) + padding for r in rows if i < len(r)]) for i in range(columns)]
    return "".join("".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) + "\n" for row in rows)


# -- the program ---------------------------------------------------------------------------------

USAGE = """CLI for interacting with the local Cilium Agent

Usage:
  cilium-dbg [command]

Available Commands:
  service     Manage services & loadbalancers
  status      Display status of daemon
  troubleshoot Troubleshooting utilities
  version     Print version information

Flags:
  -h, --help   help for cilium-dbg

Use "cilium-dbg [command] --help" for more information about a command.
"""


SERVICE_USAGE = """Manage services & loadbalancers

Usage:
  cilium-dbg service [command]

Available Commands:
  list        List services
"""


class _Exit(Exception):
    def __init__(self, code: int, stdout: str = "", stderr: str = "") -> None:
        super().__init__(code)
        self.code, self.stdout, self.stderr = code, stdout, stderr


def _output_format(args: list[str]) -> tuple[str | None, list[str]]:
    rest: list[str] = []
    fmt: str | None = None
    iterator = iter(args)
    for arg in iterator:
        if arg in ("-o", "--output"):
            fmt = next(iterator, "")
        elif arg.startswith(("-o=", "--output=")):
            fmt = arg.split("=", 1)[1]
        elif arg.startswith("-o") and len(arg) > 2:
            fmt = arg[2:]
        else:
            rest.append(arg)
    if fmt is not None and fmt not in ("json", "yaml"):
        raise _Exit(1, stderr=f"Error: Unable to print output: unsupported output format {fmt}\n")
    return fmt, rest


def _flags(args: list[str], allowed: set[str], command: str) -> set[str]:
    found = set()
    for arg in args:
        if arg in ("-h", "--help"):
            raise _Exit(0, stdout=f"Usage:\n  cilium-dbg {command} [flags]\n")
        if arg.startswith("-"):
            name = arg.split("=", 1)[0]
            if name not in allowed:
                raise _Exit(
                    1, stderr=f"Error: unknown flag: {name}\nRun 'cilium-dbg {command} --help' for usage.\n"
                )
            found.add(name)
        else:
            raise _Exit(1, stderr=f'Error: unknown command "{arg}" for "cilium-dbg {command}"\n')
    return found


def _dump_list(entries: Iterator[dict[str, Any] | None], fmt: str) -> Iterator[str]:
    """A JSON (or YAML) list written entry by entry, as Go's ``MarshalIndent`` lays it out."""
    if fmt == "yaml":
        items = [entry for entry in entries if entry is not None]
        yield _dump(items, fmt)
        return
    first = True
    for entry in entries:
        if entry is None:
            yield ""
            continue
        body = dumps_indented(entry, level=1)
        yield ("[\n" if first else ",\n") + body
        first = False
    yield "[]\n" if first else "\n]\n"


def _dump(document: Any, fmt: str) -> str:
    if fmt == "yaml":
        import yaml

        return yaml.safe_dump(document, sort_keys=False)
    return dumps_indented(document) + "\n"


def run_cli(state: AgentState, argv: list[str]) -> tuple[int, str, str]:
    """Run one ``cilium`` command: (exit code, stdout, stderr)."""
    try:
        out = _run(state, argv)
        return 0, out if isinstance(out, str) else "".join(out), ""
    except _Exit as done:
        return done.code, done.stdout, done.stderr


def _run(state: AgentState, argv: list[str]) -> str | Iterator[str]:
    """The command's whole output, or its chunks (``""`` chunks: let the loop run)."""
    args = argv[1:]
    if not args or args[0] in ("-h", "--help", "help"):
        return USAGE
    command, rest = args[0], args[1:]
    if command == "status":
        fmt, rest = _output_format(rest)
        flags = _flags(
            rest,
            {
                "--verbose",
                "--all-clusters",
                "--all-addresses",
                "--all-controllers",
                "--all-health",
                "--all-nodes",
                "--all-redirects",
                "--brief",
                "--timeout",
            },
            "status",
        )
        if fmt is not None:
            return _dump(state.document(), fmt)
        if "--brief" in flags:
            text, code = state.brief()
            if code:
                raise _Exit(code, stdout=text + "\n")
            return text + "\n"
        return state.status_text("--verbose" in flags or "--all-clusters" in flags)
    if command == "service":
        if not rest or rest[0] not in ("list", "ls"):
            sub = rest[0] if rest else ""
            if not sub:
                return SERVICE_USAGE
            raise _Exit(1, stderr=f'Error: unknown command "{sub}" for "cilium-dbg service"\n')
        fmt, rest = _output_format(rest[1:])
        flags = _flags(rest, {"--clustermesh-affinity"}, "service list")
        if fmt is not None:
            return _dump_list(state.iter_service_list(), fmt)
        return state.iter_service_text("--clustermesh-affinity" in flags)
    if command == "troubleshoot":
        if not rest or rest[0] != "clustermesh":
            raise _Exit(1, stderr='Error: unknown command for "cilium-dbg troubleshoot" (try: clustermesh)\n')
        text, code = state.troubleshoot(rest[1:])
        if code:
            raise _Exit(code, stdout=text)
        return text
    if command == "version":
        version, commit = state.version, state.cilium.commit
        return (
            f"Client: {version} {commit} 2023-08-10T11:22:33+00:00 go version go1.21.8 linux/amd64\n"
            f"Daemon: {version} {commit} 2023-08-10T11:22:33+00:00 go version go1.21.8 linux/amd64\n"
        )
    raise _Exit(
        1,
        stderr=f'Error: unknown command "{command}" for "cilium-dbg"\nRun \'cilium-dbg --help\' for usage.\n',
    )


async def _emit(io: ExecIO, output: str | Iterator[str]) -> None:
    """Write a command's output (chunks: let the loop run between them)."""
    if isinstance(output, str):
        await io.write(STDOUT, output.encode())
        return
    buffer: list[str] = []
    size = 0
    for chunk in output:
        if chunk:
            buffer.append(chunk)
            size += len(chunk)
        if size >= 64 * 1024 or not chunk:
            if buffer:
                await io.write(STDOUT, "".join(buffer).encode())
                buffer, size = [], 0
            await asyncio.sleep(0)  # a long listing must not stall the API servers
            if io.closed:
                return
    if buffer:
        await io.write(STDOUT, "".join(buffer).encode())


def _cilium_command(cm: CiliumMesh, cluster: str, pod: dict[str, Any]) -> Any:
    """``cilium`` / ``cilium-dbg`` as a command of the simulated shell in the agent container."""

    async def command(proc: Any, argv: list[str]) -> int:
        state = AgentState(cm, cluster, pod)
        try:
            output = _run(state, argv)
        except _Exit as done:
            if done.stdout:
                await proc.fds.stdout.write(done.stdout.encode())
            if done.stderr:
                await proc.fds.stderr.write(done.stderr.encode())
            return done.code
        text = output if isinstance(output, str) else "".join(output)
        await proc.fds.stdout.write(text.encode())
        return 0

    return command


async def cilium_agent_cli(request: ExecRequest, io: ExecIO) -> int:
    """The agent container's commands (named without "program": tests count shell programs).

    The image has ``cilium`` (1.14) or ``cilium-dbg`` with a ``cilium`` link (1.15+; a scenario
    may drop the link), and ``sh``/``bash``: the simulated shell, with those commands on its
    path. Anything else is what containerd answers for a missing binary — a failed exec with no
    exit code (:class:`~tui.sim.programs.ExecStartFailed`), not a 127.
    """
    mesh = request.extras.get("mesh")
    cm: CiliumMesh | None = getattr(mesh, "cilium", None)
    argv = list(request.command)
    name = posixpath.basename(argv[0]) if argv else ""
    if cm is None or request.cluster not in cm.views:
        raise oci_not_found(argv[0] if argv else "")
    binaries = cm.settings.cluster(request.cluster).binaries
    if name in ("sh", "bash"):
        from tui.sim.shell import default_commands, shell_program

        table = {k: v for k, v in default_commands().items() if k != "curl"}
        command = _cilium_command(cm, request.cluster, request.pod)
        table.update(dict.fromkeys(binaries, command))
        shell_request = dataclasses.replace(request, extras={**request.extras, "commands": table})
        return await shell_program(shell_request, io)
    if name not in binaries:
        raise oci_not_found(argv[0] if argv else "")
    state = AgentState(cm, request.cluster, request.pod)
    try:
        output = _run(state, argv)
    except _Exit as done:
        if done.stdout:
            await io.write(STDOUT, done.stdout.encode())
        if done.stderr:
            await io.write(STDERR, done.stderr.encode())
        return done.code
    await _emit(io, output)
    return 0


KVSTOREMESH_USAGE = """Run the ClusterMesh apiserver

Usage:
  clustermesh-apiserver [command]

Available Commands:
  clustermesh     Run ClusterMesh
  kvstoremesh     Run KVStoreMesh
  kvstoremesh-dbg CLI for interacting with KVStoreMesh
"""


async def kvstoremesh_cli(request: ExecRequest, io: ExecIO) -> int:
    """``/usr/bin/clustermesh-apiserver kvstoremesh-dbg status [-o json]`` in the ``kvstoremesh``
    container of a clustermesh-apiserver pod (what cilium-cli runs). Before 1.16 the image has
    no ``kvstoremesh-dbg status`` [assumed: cilium-cli expects "Usage:" / "unknown command"]."""
    mesh = request.extras.get("mesh")
    cm: CiliumMesh | None = getattr(mesh, "cilium", None)
    argv = list(request.command)
    if not argv or posixpath.basename(argv[0]) != "clustermesh-apiserver":
        raise oci_not_found(argv[0] if argv else "")
    if cm is None or request.cluster not in cm.views:
        raise oci_not_found(argv[0])
    cluster = cm.settings.cluster(request.cluster)
    args = argv[1:]
    if args[:2] != ["kvstoremesh-dbg", "status"] or not _at_least(cluster.version, 1, 16):
        await io.write(STDERR, f'Error: unknown command "{" ".join(args[:2])}"\n{KVSTOREMESH_USAGE}'.encode())
        return 1
    try:
        fmt, rest = _output_format(args[2:])
        _flags(rest, set(), "kvstoremesh-dbg status")
    except _Exit as done:
        await io.write(STDERR, done.stderr.encode())
        return done.code
    state = AgentState(cm, request.cluster, request.pod)
    entries = state.kvstoremesh_status()
    if fmt is not None:
        await io.write(STDOUT, _dump(entries, fmt).encode())
        return 0
    lines = [f"{len([e for e in entries if e.get('ready')])}/{len(entries)} remote clusters ready"]
    for entry in entries:
        lines.append(f"   {entry['name']}: {'ready' if entry.get('ready') else 'not-ready'}")
        lines.append(f"   └  {entry.get('status', '')}")
    await io.write(STDOUT, ("\n".join(lines) + "\n").encode())
    return 0


def _kvstoremesh_matcher(request: ExecRequest) -> Any:
    if request.container != "kvstoremesh":
        return None
    cm = getattr(request.extras.get("mesh"), "cilium", None)
    if cm is None or request.cluster not in cm.views:
        return None
    return kvstoremesh_cli


def _agent_matcher(request: ExecRequest) -> Any:
    image = request.image()
    if request.container != AGENT_CONTAINER and not image.startswith("quay.io/cilium/cilium:"):
        return None
    cm = getattr(request.extras.get("mesh"), "cilium", None)
    if cm is None or request.cluster not in cm.views:
        return None  # the simulator runs no Cilium there: let other programs answer
    return cilium_agent_cli


register_program("cilium-agent", _agent_matcher, first=True)
register_program("kvstoremesh", _kvstoremesh_matcher, first=True)
