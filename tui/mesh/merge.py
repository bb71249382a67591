"""Which clusters' backends a client cluster merges into a global service (ARCHITECTURE.md Cilium §3).

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

Speed: what a cluster's Service means for every client (flags, ready count, the exclusion) is
computed once per Service object and cached by identity, so keep unchanged Service objects
between snapshots. :func:`export_matrix` gives the client-independent services × clusters
view in O(clusters) per service; call :func:`merge_global_service` for the client looked at.
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


@dataclass(frozen=True, slots=True)
class ExportCell:
    """One cluster's side of a global service, independent of the client: for a
    services × clusters table ("song/userlist-svc: cluster2 global not-shared 1 rdy")."""

    cluster: str
    service: Service | None
    exported: bool
    """Other (global, connected) clusters merge this cluster's backends."""
    exclusion: Exclusion | None
    """Why not exported (``None`` when exported)."""
    ready: int = 0


@dataclass(slots=True)
class _Cell:
    """What one cluster's Service means for every client, computed once per Service object."""

    service: Service
    cluster: str
    is_global: bool
    exportable: bool
    """Global, shared and with ready endpoints: merged by every global client it is
    connected to."""
    exclusion: Exclusion | None
    """The exclusion when ``connected`` is not given (``None`` when exportable)."""
    ready: int = 0
    disconnected: Exclusion | None = None
    """The exclusion when the client is not connected to this cluster (built lazily)."""
    export: ExportCell | None = None
    """This cell as :func:`export_matrix` returns it (built lazily)."""


_CACHE_LIMIT = 1 << 18
_cells: dict[tuple[int, str], _Cell] = {}
_no_service: dict[tuple[str, ServiceKey], Exclusion] = {}
_client_missing: dict[str, Exclusion] = {}


def _static_reasons(service: Service) -> tuple[list[tuple[ExclusionCode, str]], int]:
    """(reasons that do not depend on the client, number of ready endpoints)."""
    flags = flags_of(service)
    reasons: list[tuple[ExclusionCode, str]] = []
    if not flags.is_global:
        reasons.append(("not-global", "not global"))
    elif not flags.shared:
        reasons.append(("not-shared", "shared=false"))
    return reasons, service.ready_endpoints


def _exclusion(cluster: str, reasons: list[tuple[ExclusionCode, str]]) -> Exclusion:
    (code, text), rest = reasons[0], tuple(t for _, t in reasons[1:])
    return Exclusion(cluster, text, code, rest)


def _cell(cluster: str, service: Service) -> _Cell:
    key = (id(service), cluster)
    cell = _cells.get(key)
    if cell is not None and cell.service is service:
        return cell
    reasons, ready = _static_reasons(service)
    if not ready:
        reasons.append(("no-ready-endpoints", "0 ready endpoints"))
    cell = _Cell(
        service=service,
        cluster=cluster,
        is_global=flags_of(service).is_global,
        exportable=not reasons,
        exclusion=_exclusion(cluster, reasons) if reasons else None,
        ready=ready,
    )
    if len(_cells) >= _CACHE_LIMIT:
        _cells.clear()
    _cells[key] = cell
    return cell


def _disconnected(cell: _Cell) -> Exclusion:
    """The exclusion of a cluster the client is not connected to (config reasons first)."""
    if cell.disconnected is None:
        reasons, ready = _static_reasons(cell.service)
        reasons.append(("not-connected", "not connected"))
        if not ready:
            reasons.append(("no-ready-endpoints", "0 ready endpoints"))
        cell.disconnected = _exclusion(cell.cluster, reasons)
    return cell.disconnected


def _missing(cluster: str, key: ServiceKey) -> Exclusion:
    exclusion = _no_service.get((cluster, key))
    if exclusion is None:
        if len(_no_service) >= _CACHE_LIMIT:
            _no_service.clear()
        exclusion = _no_service[(cluster, key)] = Exclusion(
            cluster, f"no service {key_text(key)}", "no-service"
        )
    return exclusion


def _client_has_none(cluster: str) -> Exclusion:
    exclusion = _client_missing.get(cluster)
    if exclusion is None:
        if len(_client_missing) >= _CACHE_LIMIT:
            _client_missing.clear()
        exclusion = _client_missing[cluster] = Exclusion(
            cluster, "client cluster has no such service", "client-no-service"
        )
    return exclusion


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

    What each cluster's Service means is computed once per Service object and shared by every
    client, so calling this for each of 64 clients stays linear per call.
    """
    client = services.get(client_cluster)
    if client is None:
        excluded = tuple(_client_has_none(cluster) for cluster in services if cluster != client_cluster)
        return MergeResult(key, client_cluster, False, (), excluded, False)

    if not flags_of(client).is_global:
        own = f"{client_cluster}'s own service {key_text(key)} is not global"
        excluded_list: list[Exclusion] = []
        for cluster, service in services.items():
            if cluster == client_cluster:
                continue
            if service is None:
                rest: tuple[str, ...] = (_missing(cluster, key).reason,)
            else:
                cell = _cell(cluster, service)
                if connected is not None and cluster not in connected:
                    found: Exclusion | None = _disconnected(cell)
                else:
                    found = cell.exclusion
                rest = () if found is None else (found.reason, *found.also)
            excluded_list.append(Exclusion(cluster, own, "client-not-global", rest))
        return MergeResult(key, client_cluster, True, (client_cluster,), tuple(excluded_list), False)

    included = [client_cluster]
    excluded_list = []
    for cluster, service in services.items():
        if cluster == client_cluster:
            continue
        if service is None:
            excluded_list.append(_missing(cluster, key))
            continue
        cell = _cell(cluster, service)
        if connected is not None and cluster not in connected:
            excluded_list.append(_disconnected(cell))
        elif cell.exclusion is not None:
            excluded_list.append(cell.exclusion)
        else:
            included.append(cluster)
    return MergeResult(key, client_cluster, True, tuple(included), tuple(excluded_list), True)


def export_matrix(key: ServiceKey, services: Mapping[str, Service | None]) -> tuple[ExportCell, ...]:
    """Per cluster, whether its backends of ``key`` are offered to the other clusters.

    Linear in the number of clusters; use it for tables over every service and call
    :func:`merge_global_service` only for the client cluster being looked at.
    """
    cells: list[ExportCell] = []
    for cluster, service in services.items():
        if service is None:
            cells.append(ExportCell(cluster, None, False, _missing(cluster, key)))
            continue
        cell = _cell(cluster, service)
        if cell.export is None:
            cell.export = ExportCell(cluster, service, cell.exportable, cell.exclusion, cell.ready)
        cells.append(cell.export)
    return tuple(cells)


def global_service_index(
    clusters: Iterable[ClusterState], *, include_unknown_phases: bool = False
) -> dict[ServiceKey, dict[str, Service | None]]:
    """``{key: {cluster: Service | None}}`` for every key that is global in at least one cluster.

    Only clusters whose data can be trusted (phase ``ok`` or ``stale``) take part, so a cluster
    still syncing never shows up as "no service"; pass ``include_unknown_phases=True`` to use
    whatever each cluster holds. Linear in the number of services.
    """
    usable = [state for state in clusters if include_unknown_phases or state.usable]
    keys: set[ServiceKey] = set()
    for state in usable:
        for key, service in state.services.items():
            if flags_of(service).is_global:
                keys.add(key)
    index: dict[ServiceKey, dict[str, Service | None]] = {}
    for key in sorted(keys):
        index[key] = {state.cluster: state.services.get(key) for state in usable}
    return index
