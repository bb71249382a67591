"""Which clusters' backends a client cluster merges into a global service (cilium-semantics.md §3).

Cilium merges services by exact namespace + name. Seen from a client cluster A, a remote
cluster B contributes its backends only if A's service exists and is global, B's service exists,
is global and is shared, and B has ready endpoints. ``shared=false`` only controls export: A
always uses its own local backends when it has the service, whatever its own flags say.

Each left-out cluster gets one reason in an operator's words (the first that applies, in the
order: client has no such service → client's own service not global → no service → not global
→ shared=false → not connected → 0 ready endpoints), plus any further reasons in
:attr:`Exclusion.also` so a "why" column can show everything that would still be in the way.

Clusters missing from the ``services`` mapping are unknown (not synced, unreachable): they are
neither included nor excluded. :func:`global_service_index` builds the mapping that way.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from tui.mesh.annotations import flags_of
from tui.mesh.model import ClusterState, Service, ServiceKey

ExclusionCode = Literal[
    "client-no-service",
    "client-not-global",
    "no-service",
    "not-global",
    "not-shared",
    "not-connected",
    "no-ready-endpoints",
]


def key_text(key: ServiceKey) -> str:
    """``song/userlist-svc``."""
    return f"{key[0]}/{key[1]}"


@dataclass(frozen=True, slots=True)
class Exclusion:
    """A cluster whose backends the client cluster does not use, and why."""

    cluster: str
    reason: str
    code: ExclusionCode = "no-service"
    also: tuple[str, ...] = ()
    """Further reasons that would still exclude the cluster once ``reason`` is fixed."""

    @property
    def text(self) -> str:
        """``cluster2: shared=false``."""
        return f"{self.cluster}: {self.reason}"


@dataclass(frozen=True, slots=True)
class MergeResult:
    """The merge of one global service as seen from one client cluster."""

    key: ServiceKey
    client_cluster: str
    client_has_service: bool
    included: tuple[str, ...]
    """Clusters whose backends the client may use: the client itself first (when it has the
    service), then the remote clusters that pass every rule, in mapping order."""
    excluded: tuple[Exclusion, ...]
    client_global: bool = False

    @property
    def remotes(self) -> tuple[str, ...]:
        """Included clusters other than the client."""
        return tuple(c for c in self.included if c != self.client_cluster)

    def exclusion(self, cluster: str) -> Exclusion | None:
        for item in self.excluded:
            if item.cluster == cluster:
                return item
        return None

    @property
    def why(self) -> tuple[str, ...]:
        """Every exclusion as text (``cluster2: shared=false``), for a WHY column."""
        return tuple(item.text for item in self.excluded)


def _remote_reasons(
    key: ServiceKey, cluster: str, service: Service | None, connected: Collection[str] | None
) -> list[tuple[ExclusionCode, str]]:
    """All reasons a remote cluster's backends are not merged, most fundamental first."""
    if service is None:
        return [("no-service", f"no service {key_text(key)}")]
    reasons: list[tuple[ExclusionCode, str]] = []
    flags = flags_of(service)
    if not flags.is_global:
        reasons.append(("not-global", "not global"))
    elif not flags.shared:
        reasons.append(("not-shared", "shared=false"))
    if connected is not None and cluster not in connected:
        reasons.append(("not-connected", "not connected"))
    if service.ready_endpoints == 0:
        reasons.append(("no-ready-endpoints", "0 ready endpoints"))
    return reasons


def merge_global_service(
    key: ServiceKey,
    client_cluster: str,
    services: Mapping[str, Service | None],
    connected: Collection[str] | None = None,
) -> MergeResult:
    """Which clusters' backends ``client_cluster`` can use for service ``key``.

    ``services`` maps every known cluster name to its Service with that key (``None`` when the
    cluster has no such service). ``connected``, when given, is the set of remote clusters the
    client's agents are connected to; others are excluded as "not connected".
    """
    client = services.get(client_cluster)
    excluded: list[Exclusion] = []
    if client is None:
        for cluster in services:
            if cluster != client_cluster:
                excluded.append(Exclusion(cluster, "client cluster has no such service", "client-no-service"))
        return MergeResult(key, client_cluster, False, (), tuple(excluded), False)

    client_global = flags_of(client).is_global
    included = [client_cluster]
    for cluster, service in services.items():
        if cluster == client_cluster:
            continue
        reasons = _remote_reasons(key, cluster, service, connected)
        if not client_global:
            own = f"{client_cluster}'s own service {key_text(key)} is not global"
            rest = tuple(text for _, text in reasons)
            excluded.append(Exclusion(cluster, own, "client-not-global", rest))
        elif reasons:
            (code, text), rest = reasons[0], tuple(t for _, t in reasons[1:])
            excluded.append(Exclusion(cluster, text, code, rest))
        else:
            included.append(cluster)
    return MergeResult(key, client_cluster, True, tuple(included), tuple(excluded), client_global)


def global_service_index(
    clusters: Iterable[ClusterState], *, include_unknown_phases: bool = False
) -> dict[ServiceKey, dict[str, Service | None]]:
    """``{key: {cluster: Service | None}}`` for every key that is global in at least one cluster.

    Only clusters whose data can be trusted (phase ``ok`` or ``stale``) take part, so a cluster
    still syncing never shows up as "no service"; pass ``include_unknown_phases=True`` to use
    whatever each cluster holds. Linear in the number of services.
    """
    usable = [state for state in clusters if include_unknown_phases or state.phase in ("ok", "stale")]
    keys: set[ServiceKey] = set()
    for state in usable:
        for key, service in state.services.items():
            if flags_of(service).is_global:
                keys.add(key)
    index: dict[ServiceKey, dict[str, Service | None]] = {}
    for key in sorted(keys):
        index[key] = {state.cluster: state.services.get(key) for state in usable}
    return index
