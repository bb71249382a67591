"""ClusterMesh links: which remote clusters each cluster's agents are connected to, and why not.

A link is one direction, from the agents of cluster C to a remote named by a key of C's
``cilium-clustermesh`` Secret (so ``cilium clustermesh connect`` — or the simulator's
``connect`` verb, or a hand-edited Secret — is what configures it). Each link's health is
derived from what the clusters hold and from the faults in force, in the order Cilium meets
the problems:

1. the endpoint in the Secret matches no cluster's clustermesh-apiserver → timeout;
2. a ``link-down`` fault between the two clusters → timeout (``context deadline exceeded``);
3. the remote clustermesh-apiserver is down (fault, or its Deployment has no ready pod) →
   ``connection refused``;
4. the two ``cilium-ca`` certificates differ → TLS verification error;
5. the remote's cluster ID is the local one, or another remote already uses it → Cilium's
   ``clusterID N is assigned to the local cluster`` / ``clusterID N is already used``;
6. the remote's ``cluster-name`` is not the key's name → connected, but "remote cluster
   configuration required but not found" (cilium/cilium#29161's symptom).

Health flips are time-stamped when they happen (on the store events and fault changes that can
cause them); everything time-dependent — the "Waiting for initial connection" phase, failure
counts growing every ``retry_interval``, the agent dropping a cut-off remote's services after
``sync_delay`` — is computed from those stamps when read, so no timers run.

What the agents keep when a link breaks: everything they had. Cilium never revokes a lost
remote's nodes, identities and services (``clustermesh-cache-ttl`` 0, cilium/cilium#20729;
``pkg/clustermesh/remote_cluster.go`` drains its caches only in ``Remove``, when the remote
leaves the configuration), so a link that was up keeps its remote *usable* (``carry``) whatever
breaks it — the data path decides whether connections then work (``link-down``: they time out;
a clustermesh-apiserver that is down: they still work to backends that still exist). A remote
taken out of ``cilium-clustermesh`` is dropped ``sync_delay`` later.

KVStoreMesh (a ``kvstoremesh`` container in the clustermesh-apiserver, Helm's default since
1.16): the agents' ``cilium-clustermesh`` entries all point at their own cluster's
clustermesh-apiserver (:data:`~tui.sim.cilium.LOCAL_ENDPOINT`) and KVStoreMesh holds the real
remote links (``cilium-kvstoremesh``), in :attr:`Links.kvm`. An agent link then breaks only
when the local clustermesh-apiserver is down; a KVStoreMesh link that breaks leaves the agents
connected to a frozen copy.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tui.sim.cilium import (
    APISERVER,
    CA_SECRET,
    CLUSTERMESH_SECRET,
    CONFIG_MAP,
    KVSTOREMESH_SECRET,
    LOCAL_ENDPOINT,
    NAMESPACE,
    access_addresses,
    decode_secret_value,
    endpoint_of,
)

WAITING = "Waiting for initial connection to be established"
TLS_ERROR = "tls: failed to verify certificate: x509: certificate signed by unknown authority"


@dataclass
class Facts:
    """What one cluster's kube-system says, as far as links are concerned."""

    cluster: str
    name: str
    cluster_id: int
    ca: bytes | None
    apiserver_ready: bool
    addresses: tuple[str, ...]
    remotes: dict[str, str]
    """Secret key → the endpoint (``host:port``) of each configured remote."""
    kvstoremesh: bool = False
    """The clustermesh-apiserver runs a ``kvstoremesh`` container."""
    kvm_remotes: dict[str, str] = field(default_factory=dict)
    """``cilium-kvstoremesh``: secret key → endpoint of each remote KVStoreMesh connects to."""


def read_facts(cluster: Any) -> Facts:
    """Facts of a :class:`~tui.sim.cluster.SimCluster` from its store."""
    store = cluster.store
    config = store.get("configmaps", NAMESPACE, CONFIG_MAP)
    data = (config.obj.get("data") or {}) if config else {}
    name = data.get("cluster-name") or ("default" if config else cluster.name)
    try:
        cluster_id = int(data.get("cluster-id") or 0)
    except ValueError:
        cluster_id = 0
    ca_entry = store.get("secrets", NAMESPACE, CA_SECRET)
    ca = None
    if ca_entry is not None:
        ca_text = (ca_entry.obj.get("data") or {}).get("ca.crt")
        ca = ca_text.encode() if ca_text else None
    deploy = store.get("deployments.apps", NAMESPACE, APISERVER)
    ready = bool(deploy and int((deploy.obj.get("status") or {}).get("readyReplicas") or 0) > 0)
    template = ((deploy.obj.get("spec") or {}).get("template") or {}).get("spec") or {} if deploy else {}
    kvstoremesh = any(c.get("name") == "kvstoremesh" for c in template.get("containers") or [])
    service = store.get("services", NAMESPACE, APISERVER)
    nodes = [e.obj for e in store.items("nodes")]
    addresses = tuple(access_addresses(service.obj if service else None, nodes))
    remotes = _secret_remotes(store, CLUSTERMESH_SECRET, name)
    kvm = _secret_remotes(store, KVSTOREMESH_SECRET, name) if kvstoremesh else {}
    return Facts(cluster.name, name, cluster_id, ca, ready, addresses, remotes, kvstoremesh, kvm)


def _secret_remotes(store: Any, secret_name: str, local: str) -> dict[str, str]:
    """Key → endpoint of each remote a clustermesh configuration Secret names (cilium-cli's and
    Cilium's rule: a key other than the local name whose value has ``endpoints:``)."""
    remotes: dict[str, str] = {}
    secret = store.get("secrets", NAMESPACE, secret_name)
    if secret is not None:
        values = dict(secret.obj.get("data") or {})
        texts = {k: decode_secret_value(v) for k, v in values.items()}
        texts.update({k: str(v) for k, v in (secret.obj.get("stringData") or {}).items()})
        for key, text in texts.items():
            if key == local or "endpoints:" not in text:
                continue
            endpoint = endpoint_of(text)
            if endpoint:
                remotes[key] = endpoint
    return remotes


@dataclass
class Health:
    healthy: bool
    kind: str = ""
    """``""`` (healthy), ``timeout``, ``partition``, ``apiserver``, ``tls``, ``cluster-id``."""
    text: str = ""
    target: str | None = None
    config_found: bool = True


@dataclass
class Link:
    """One agent-side link (C → remote key) and the stamps its time-dependent state needs."""

    local: str
    remote: str
    endpoint: str
    health: Health
    since: float
    failures_before: int = 0
    established: bool = False
    """Was connected at the last flip (so reconnecting is not "initial")."""
    carry: bool = False
    """The agents held the remote's services at the last flip (kept while it heals)."""
    removed_at: float | None = None
    usable_when_removed: bool = False

    def connected(self, now: float, connect_delay: float) -> bool:
        return self.health.healthy and (self.established or now - self.since >= connect_delay)

    def failures(self, now: float, retry: float) -> int:
        if self.health.healthy:
            return self.failures_before
        return self.failures_before + 1 + int(max(0.0, now - self.since) / retry)

    def last_failure(self, now: float, retry: float) -> float | None:
        if self.health.healthy:
            return None
        return self.since + int(max(0.0, now - self.since) / retry) * retry


@dataclass
class Links:
    """Every link of the mesh, keyed by (local cluster, secret key)."""

    clusters: Mapping[str, Any]
    """Cilium-enabled SimClusters by name."""
    sync_delay: Callable[[], float]
    connect_delay: Callable[[], float]
    retry_interval: Callable[[], float]
    clock: Callable[[], float] = time.time
    links: dict[tuple[str, str], Link] = field(default_factory=dict)
    facts: dict[str, Facts] = field(default_factory=dict)
    partitions: set[frozenset[str]] = field(default_factory=set)
    """Pairs of clusters cut off from each other (``link-down`` faults)."""
    apiservers_down: set[str] = field(default_factory=set)
    listeners: list[Callable[[], None]] = field(default_factory=list)
    kvm: dict[tuple[str, str], Link] = field(default_factory=dict)
    """KVStoreMesh's links (local cluster, ``cilium-kvstoremesh`` key)."""
    _by_local: dict[str, list[Link]] = field(default_factory=dict)
    _kvm_by_local: dict[str, list[Link]] = field(default_factory=dict)

    def load(self, established: bool = True) -> None:
        """Read every cluster's facts; links that are healthy now count as long established."""
        for name, cluster in self.clusters.items():
            self.facts[name] = read_facts(cluster)
        self.refresh(initial=established)

    def update_facts(self, name: str) -> None:
        self.facts[name] = read_facts(self.clusters[name])
        self.refresh()

    def owner_of(self, endpoint: str) -> str | None:
        """The cluster whose clustermesh-apiserver answers at ``endpoint``."""
        return self._owners().get(endpoint)

    def _owners(self) -> dict[str, str]:
        owners: dict[str, str] = {}
        for name, facts in self.facts.items():
            for address in facts.addresses:
                owners.setdefault(address, name)
        return owners

    def _first_by_id(
        self, local: str, owners: Mapping[str, str], remotes: Mapping[str, str]
    ) -> dict[int, str]:
        """Per cluster ID, the first remote (in key order) of ``local`` that has it."""
        first: dict[int, str] = {}
        for _key, endpoint in sorted(remotes.items()):
            owner = owners.get(endpoint)
            if owner is not None:
                first.setdefault(self.facts[owner].cluster_id, owner)
        return first

    def _health(
        self, local: str, key: str, endpoint: str, owners: Mapping[str, str], first_by_id: Mapping[int, str]
    ) -> Health:
        facts = self.facts[local]
        target = owners.get(endpoint)
        etcd = f"etcd: 0/1 connected, leases=0, lock leases=0, has-quorum=false: https://{endpoint} - "
        if target is None:
            return Health(False, "timeout", etcd + "context deadline exceeded")
        if frozenset((local, target)) in self.partitions and target != local:
            return Health(False, "partition", etcd + "context deadline exceeded", target)
        remote = self.facts[target]
        if target in self.apiservers_down or not remote.apiserver_ready:
            return Health(
                False, "apiserver", etcd + f"dial tcp {endpoint}: connect: connection refused", target
            )
        if facts.ca != remote.ca:
            return Health(False, "tls", etcd + TLS_ERROR, target)
        if remote.cluster_id == facts.cluster_id:
            return Health(
                False, "cluster-id", f"clusterID {remote.cluster_id} is assigned to the local cluster", target
            )
        if first_by_id.get(remote.cluster_id, target) != target:
            return Health(False, "cluster-id", f"clusterID {remote.cluster_id} is already used", target)
        return Health(True, "", "", target, config_found=remote.name == key)

    def _agent_via_kvm(self, local: str, key: str) -> Health:
        """An agent link to the local clustermesh-apiserver (KVStoreMesh on): broken only when
        that apiserver is; what it serves of ``key`` is whatever KVStoreMesh synced."""
        facts = self.facts[local]
        kvm = self.kvm.get((local, key))
        target = kvm.health.target if kvm is not None else None
        if local in self.apiservers_down or not facts.apiserver_ready:
            text = (
                f"etcd: 0/1 connected, leases=0, lock leases=0, has-quorum=false: https://{LOCAL_ENDPOINT} - "
                f"dial tcp {LOCAL_ENDPOINT}: connect: connection refused"
            )
            return Health(False, "apiserver", text, target)
        synced = kvm is not None and (kvm.health.healthy or kvm.carry) and kvm.health.config_found
        return Health(True, "", "", target, config_found=synced)

    def _update(
        self,
        table: dict[tuple[str, str], Link],
        local: str,
        key: str,
        endpoint: str,
        health: Health,
        now: float,
        initial: bool,
    ) -> None:
        link = table.get((local, key))
        if link is None or link.removed_at is not None:
            since = now - self.connect_delay() - 1 if initial and health.healthy else now
            ok = initial and health.healthy
            table[(local, key)] = Link(local, key, endpoint, health, since, established=ok, carry=ok)
            return
        link.endpoint = endpoint
        if link.health.healthy != health.healthy or link.health.kind != health.kind:
            link.carry = self._usable(link, now)
            link.failures_before = link.failures(now, self.retry_interval())
            link.established = link.connected(now, self.connect_delay())
            link.since = now
        link.health = health

    def _forget(self, table: dict[tuple[str, str], Link], seen: set[tuple[str, str]], now: float) -> None:
        for key, link in list(table.items()):
            if key in seen:
                continue
            if link.removed_at is None:
                link.usable_when_removed = self._usable(link, now)
                link.removed_at = now
            elif now - link.removed_at > max(self.sync_delay(), 0.0) + 60:
                del table[key]

    def refresh(self, initial: bool = False) -> None:
        """Re-evaluate every link; stamp the ones whose health flipped."""
        now = self.clock()
        owners = self._owners()
        kvm_seen: set[tuple[str, str]] = set()
        for local, facts in self.facts.items():
            if not facts.kvstoremesh:
                continue
            first_by_id = self._first_by_id(local, owners, facts.kvm_remotes)
            for key, endpoint in facts.kvm_remotes.items():
                kvm_seen.add((local, key))
                health = self._health(local, key, endpoint, owners, first_by_id)
                self._update(self.kvm, local, key, endpoint, health, now, initial)
        self._forget(self.kvm, kvm_seen, now)
        seen: set[tuple[str, str]] = set()
        for local, facts in self.facts.items():
            first_by_id = self._first_by_id(local, owners, facts.remotes)
            for key, endpoint in facts.remotes.items():
                seen.add((local, key))
                if facts.kvstoremesh and endpoint == LOCAL_ENDPOINT:
                    health = self._agent_via_kvm(local, key)
                else:
                    health = self._health(local, key, endpoint, owners, first_by_id)
                self._update(self.links, local, key, endpoint, health, now, initial)
        self._forget(self.links, seen, now)
        by_local: dict[str, list[Link]] = {}
        for (owner, _key), link in sorted(self.links.items()):
            by_local.setdefault(owner, []).append(link)
        self._by_local = by_local
        kvm_by_local: dict[str, list[Link]] = {}
        for (owner, _key), link in sorted(self.kvm.items()):
            kvm_by_local.setdefault(owner, []).append(link)
        self._kvm_by_local = kvm_by_local
        for callback in list(self.listeners):
            callback()

    # -- what the agents of one cluster have ----------------------------------------------------

    def _usable(self, link: Link, now: float) -> bool:
        if link.removed_at is not None:
            return link.usable_when_removed and now - link.removed_at < self.sync_delay()
        health = link.health
        if health.healthy:
            return health.config_found and (link.carry or link.connected(now, self.connect_delay()))
        return link.carry  # never revoked: clustermesh-cache-ttl 0 (cilium/cilium#20729)

    def holds(self, link: Link, now: float | None = None) -> bool:
        """The data behind ``link`` is held (live or cached), so its caches are not empty."""
        return self._usable(link, self.clock() if now is None else now)

    def _live(self, link: Link, now: float) -> bool:
        """Connected and synced now (not a cached copy)."""
        return link.removed_at is None and link.health.healthy and link.connected(now, self.connect_delay())

    def usable(self, local: str, now: float | None = None) -> set[str]:
        """Remote clusters whose services the agents of ``local`` hold right now."""
        now = self.clock() if now is None else now
        out: set[str] = set()
        for link in self._by_local.get(local, ()):
            if not link.health.target or not self._usable(link, now):
                continue
            if self._via_kvm(local, link) and not self._kvm_usable(local, link.remote, now):
                continue
            out.add(link.health.target)
        return out

    def _via_kvm(self, local: str, link: Link) -> bool:
        facts = self.facts.get(local)
        return facts is not None and facts.kvstoremesh and link.endpoint == LOCAL_ENDPOINT

    def _kvm_usable(self, local: str, key: str, now: float) -> bool:
        kvm = self.kvm.get((local, key))
        return kvm is not None and self._usable(kvm, now)

    def stale(self, local: str, now: float | None = None) -> set[str]:
        """Remotes the agents of ``local`` use from a copy that no longer updates: their own
        link is down but was up, or (KVStoreMesh) KVStoreMesh's link is."""
        now = self.clock() if now is None else now
        out: set[str] = set()
        usable = self.usable(local, now)
        for link in self._by_local.get(local, ()):
            target = link.health.target
            if not target or target not in usable:
                continue
            kvm = self.kvm.get((local, link.remote))
            if not self._live(link, now) or (kvm is not None and not self._live(kvm, now)):
                out.add(target)
        return out

    def kvstoremesh_links(self, local: str) -> list[Link]:
        """KVStoreMesh's configured links of ``local`` (sorted)."""
        return [link for link in self._kvm_by_local.get(local, ()) if link.removed_at is None]

    def partitioned(self, a: str, b: str) -> bool:
        return a != b and frozenset((a, b)) in self.partitions

    def configured(self, local: str) -> list[Link]:
        """The links the ``cilium-clustermesh`` Secret of ``local`` configures (sorted)."""
        return [link for link in self._by_local.get(local, ()) if link.removed_at is None]
