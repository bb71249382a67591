"""The Global services pane's model and ``meshtui services``: :class:`ServicesView`.

One row per service global in any cluster (or every service), one cell per cluster, and why
some cluster gets no (or fewer) remote backends. Cost: the view must stay cheap at 64 clusters
× 2,000 services. Rows are computed once per service per *change*: :class:`ServicesViewBuilder`
keeps each row with the Service objects it came from and reuses it while every cluster still
holds the very same objects (snapshots reuse unchanged objects), so a snapshot that changed one
service recomputes one row.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import compress
from operator import is_not
from typing import Any

from tui.mesh.annotations import ANNOTATION_GLOBAL, LEGACY_GLOBAL, flags_of
from tui.mesh.merge import merge_global_service
from tui.mesh.model import ClusterState, MeshSnapshot, Service, ServiceKey
from tui.mesh.rules import CiliumRule, affinity_mode, cilium_rule
from tui.mesh.selection import StaleRemote, is_headless
from tui.views.labels import stale_text
from tui.views.meshcache import MeshStatusCache

UNSET = "(unset)"
"""The affinity of a global service without the annotation (Cilium's default, ``none``)."""


@dataclass(frozen=True, slots=True)
class ServiceCell:
    """One service in one cluster as the services table shows it."""

    present: bool
    is_global: bool = False
    shared: bool = False
    affinity: str = "none"
    ready_endpoints: int = 0
    known: bool = True
    """``False`` while the cluster is syncing or unreachable: the values mean nothing yet."""
    state: str = ""
    """The cluster's phase when not known (``syncing``, ``unreachable``...)."""
    affinity_unknown: bool = False
    affinity_set: bool = False
    """The affinity annotation is present (an explicit ``none`` is a different fact from no
    annotation: Cilium 1.18.x reads the word ``none`` as local-only, cilium/cilium#46623)."""

    @property
    def affinity_word(self) -> str:
        """``local`` / ``remote`` / ``none`` as annotated, ``(unset)`` without the annotation."""
        return self.affinity if self.affinity_set else UNSET

    def to_json(self) -> dict[str, Any]:
        if not self.known:
            return {
                "present": None,
                "global": None,
                "shared": None,
                "affinity": None,
                "ready_endpoints": None,
                "state": self.state,
            }
        return {
            "present": self.present,
            "global": self.is_global,
            "shared": self.shared,
            # null: no affinity annotation (README); "none" only when the word is written.
            "affinity": self.affinity if self.present and self.affinity_set else None,
            "ready_endpoints": self.ready_endpoints if self.present else None,
        }

    def text(self) -> str:
        """``global shared none  1 rdy`` / ``global shared (unset)  1 rdy`` / ``not global  1 rdy``
        / ``—`` / ``syncing…``."""
        if not self.known:
            return "syncing…" if self.state == "syncing" else self.state
        if not self.present:
            return "—"
        if not self.is_global:
            return f"not global  {self.ready_endpoints} rdy"
        shared = "shared" if self.shared else "unshared"
        return f"global {shared} {self.affinity_word}  {self.ready_endpoints} rdy"

    def glyph(self) -> str:
        """One character for the compact (many clusters) layout; see :data:`GLYPH_LEGEND`."""
        if not self.known:
            return "?"
        if not self.present:
            return "·"
        if not self.is_global:
            return "n"
        if self.ready_endpoints == 0:
            return "0"
        if not self.shared:
            return "u"
        return {"local": "L", "remote": "R"}.get(self.affinity, "●")


GLYPH_LEGEND = (
    "● global+shared  L/R affinity local/remote  u unshared  0 no ready endpoint  "
    "n not global  · absent  ? unknown"
)


@dataclass(frozen=True, slots=True)
class ServiceRow:
    """One service across every cluster."""

    namespace: str
    name: str
    cells: tuple[ServiceCell, ...]
    """Aligned with :attr:`ServicesView.clusters`."""
    warnings: tuple[str, ...] = ()
    """Why some cluster gets no remote backends (``cluster2: shared=false``...)."""
    is_global: bool = False
    """Global in at least one cluster."""

    @property
    def key(self) -> ServiceKey:
        return (self.namespace, self.name)

    @property
    def key_text(self) -> str:
        return f"{self.namespace}/{self.name}"

    def summary(self) -> str:
        """``2/2 global 2 shared 2 rdy`` for the compact layout."""
        known = [c for c in self.cells if c.known]
        present = sum(1 for c in known if c.present)
        glob = sum(1 for c in known if c.is_global)
        shared = sum(1 for c in known if c.is_global and c.shared)
        ready = sum(c.ready_endpoints for c in known if c.present)
        return f"{glob}/{present} global {shared} shared {ready} rdy"

    def to_json(self, clusters: Sequence[str]) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "name": self.name,
            "clusters": {c: cell.to_json() for c, cell in zip(clusters, self.cells, strict=True)},
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True, slots=True)
class ServicesView:
    """The global services table: one row per service global in any cluster (or all of them)."""

    clusters: tuple[str, ...]
    contexts: tuple[str, ...]
    rows: tuple[ServiceRow, ...]
    pending: tuple[str, ...] = ()
    """Clusters not synced yet (their cells say so)."""
    show_all: bool = False
    stale: tuple[str, ...] = ()
    """``cluster2 (bastion03) stale since 12:00:01: connection refused``: cells of those
    clusters show the last known state."""

    @property
    def synced(self) -> bool:
        """At least one cluster answered: an empty table now means "no services"."""
        return len(self.pending) < len(self.clusters)

    def to_json(self) -> dict[str, Any]:
        return {"services": [row.to_json(self.clusters) for row in self.rows]}

    def row(self, key: ServiceKey) -> ServiceRow | None:
        for row in self.rows:
            if row.key == key:
                return row
        return None


def filter_rows(rows: Iterable[ServiceRow], text: str) -> list[ServiceRow]:
    """Rows whose ``ns/name`` (or a warning) contains every word of ``text``, case-insensitive."""
    words = text.lower().split()
    if not words:
        return list(rows)
    out = []
    for row in rows:
        hay = f"{row.key_text} {' '.join(row.warnings)}".lower()
        if all(w in hay for w in words):
            out.append(row)
    return out


_PLAIN_CELLS: dict[int, ServiceCell] = {}
"""Non-global cells differ only in their ready count: one shared object per count."""
_GLOBAL_CELLS: dict[tuple[bool, bool, str, int, bool, bool], ServiceCell] = {}
"""Global cells by their values: few distinct ones exist, and building a frozen dataclass per
service was a fifth of a 64-cluster table (128,000 cells). Emptied past :data:`_CELLS_LIMIT`."""
_CELLS_LIMIT = 4096


def _cell(service: Service | None) -> ServiceCell:
    if service is None:
        return ServiceCell(present=False)
    if not _maybe_global(service):
        ready = service.ready_endpoints
        cell = _PLAIN_CELLS.get(ready)
        if cell is None:
            cell = _PLAIN_CELLS[ready] = ServiceCell(present=True, ready_endpoints=ready)
        return cell
    flags = flags_of(service)
    key = (
        flags.is_global,
        flags.shared,
        flags.affinity,
        service.ready_endpoints,
        flags.affinity_unknown,
        flags.affinity_raw is not None,
    )
    cell = _GLOBAL_CELLS.get(key)
    if cell is None:
        if len(_GLOBAL_CELLS) >= _CELLS_LIMIT:
            _GLOBAL_CELLS.clear()
        cell = _GLOBAL_CELLS[key] = ServiceCell(
            present=True,
            is_global=key[0],
            shared=key[1],
            affinity=key[2],
            ready_endpoints=key[3],
            affinity_unknown=key[4],
            affinity_set=key[5],
        )
    return cell


def _maybe_global(service: Service) -> bool:
    """Global in this cluster; services without any global annotation skip the flag parser."""
    annotations = service.annotations
    if not annotations or (ANNOTATION_GLOBAL not in annotations and LEGACY_GLOBAL not in annotations):
        return False
    return flags_of(service).is_global


def _exports(cell: ServiceCell) -> bool:
    """The cluster's backends reach the other clusters (global, shared, ready endpoints)."""
    return cell.present and cell.is_global and cell.shared and cell.ready_endpoints > 0


def _warnings(
    key: ServiceKey,
    services: Mapping[str, Service | None],
    cells: Mapping[str, ServiceCell],
    missing: Mapping[str, frozenset[str]],
    unknown: Sequence[tuple[str, str]],
    lost: Mapping[str, Mapping[str, StaleRemote]] | None = None,
    buggy: Mapping[str, CiliumRule] | None = None,
) -> tuple[str, ...]:
    """Why some cluster gets no (or fewer) remote backends, one short text per cause.

    Also what the version matrix says about the row: a cluster on a Cilium release with
    cilium/cilium#46623 (``buggy``) whose affinity word keeps only local backends, a remote
    that is gone but whose cached backends are still used (``lost``), a headless service.

    Remote-side reasons (no service, not global, shared=false, 0 ready) are the same for every
    client, so the merge seen from one global cluster names every other cluster's problem and
    a second merge (only when needed) names the first one's. When every cluster exports, no
    merge is needed at all: that keeps 64-cluster rows cheap. Connectivity is client-specific
    and only checked where a link is down (``missing`` maps a client cluster to the usable
    clusters its agents are not connected to).
    """
    global_clusters = [c for c, cell in cells.items() if cell.is_global]
    lead: list[str] = []  # the version matrix's warnings come first: they explain a dead service
    for cluster, rule in (buggy or {}).items():
        service = services.get(cluster)
        if service is None or cells.get(cluster) is None or not cells[cluster].is_global:
            continue
        flags = flags_of(service)
        if affinity_mode(rule, flags.affinity, flags.affinity_raw, True) != "local-only":
            continue
        word = repr(flags.affinity_raw)
        if service.ready_endpoints == 0:
            lead.append(
                f"{cluster}: affinity {word} on {rule.version_text}: connections from {cluster} fail "
                "(cilium/cilium#46623)"
            )
        else:
            lead.append(
                f"{cluster}: affinity {word} on {rule.version_text} uses local backends only "
                "(cilium/cilium#46623)"
            )
    out: list[str] = lead
    seen: set[str] = set()
    problems = [c for c, cell in cells.items() if not _exports(cell)]
    if global_clusters and len(services) > 1 and problems:
        first = global_clusters[0]
        clients = [first]
        if first in problems:
            clients.append(next(c for c in services if c != first))
        for client in clients:
            merge = merge_global_service(key, client, services)
            for item in merge.excluded:
                if item.cluster in seen or item.code.startswith("client-"):
                    continue
                seen.add(item.cluster)
                out.append(item.text)
    for client in global_clusters:
        for remote in sorted(missing.get(client, ())):
            cell = cells.get(remote)
            if remote not in seen and cell is not None and _exports(cell):
                cached = (lost or {}).get(client, {}).get(remote)
                if cached is not None:
                    gone = f"{remote} {cached.cause}{cached.since_text()}"
                    out.append(f"{client}: {gone}, its cached backends are still used")
                else:
                    out.append(f"{client}: not connected to {remote}")
        for remote, cached in sorted((lost or {}).get(client, {}).items()):
            cell = cells.get(remote)
            if remote in missing.get(client, ()) or remote in seen or cell is None or not _exports(cell):
                continue
            gone = f"{remote} {cached.cause}{cached.since_text()}"
            out.append(f"{client}: {gone}, its cached backends are still used")
    if any(is_headless(svc) for svc in services.values()):
        out.append("headless (clusterIP: None): no load-balancing, affinity and shares do not apply")
    for cluster, state in unknown:
        out.append(f"{cluster}: {state}")
    if len(global_clusters) == 1 and len(services) == 1 and not unknown:
        out.append(f"only in {global_clusters[0]}: no other cluster to merge with")
    return tuple(out)


ServiceMap = Mapping[ServiceKey, Service]


def _changed_keys(before: ServiceMap, now: ServiceMap) -> list[ServiceKey]:
    """Keys whose Service object differs between two mappings of one cluster (by identity).

    The common case — same keys in the same order, a few values replaced — runs at C speed
    (list compare, ``map(is_not)``): 2,000 services per changed cluster, 25 changed clusters
    per repaint at 100 events/s, must not cost a Python loop each.
    """
    keys = list(now)
    if len(keys) == len(before) and keys == list(before):
        return list(compress(keys, map(is_not, before.values(), now.values())))
    return [k for k in before.keys() | now.keys() if before.get(k) is not now.get(k)]


class ServicesViewBuilder:
    """Builds :class:`ServicesView`s, recomputing only the rows whose services changed.

    Snapshots reuse unchanged objects, so change detection is by identity: a cluster whose
    ``services`` mapping is the same object changed nothing; for one that did change, the keys
    whose Service object differs are the only rows recomputed. A change of the clusters, their
    phases or the mesh links (which every row's "why" depends on) recomputes everything.

    Thread-safe (the app computes views in a worker thread). One builder per consumer.
    """

    def __init__(self, cache: MeshStatusCache | None = None) -> None:
        self.cache = cache if cache is not None else MeshStatusCache()
        """ClusterMesh statuses (connected and lost remotes), shared with the status builder."""
        self._lock = threading.Lock()
        self._context_sig: tuple[Any, ...] | None = None
        self._rows: dict[ServiceKey, ServiceRow] = {}
        self._maps: dict[str, ServiceMap] = {}
        self._cells: dict[int, tuple[Service, ServiceCell]] = {}
        self._keysets: dict[str, tuple[ServiceMap, frozenset[ServiceKey], frozenset[ServiceKey] | None]] = {}
        """cluster → (its services mapping, its global keys, all its keys once asked for)."""
        self._sorted: tuple[tuple[Any, ...], list[ServiceKey]] | None = None
        """The sorted row keys and the key sets they were made from (by identity)."""
        self._last: tuple[bool, tuple[ServiceRow, ...]] | None = None
        self._view: ServicesView | None = None
        self._lost: Mapping[str, Mapping[str, StaleRemote]] = {}
        self._buggy: Mapping[str, CiliumRule] = {}
        self.recomputed = 0
        """Rows computed (not reused) by the last :meth:`build`; for tests and measurements."""

    def build(self, snapshot: MeshSnapshot, *, show_all: bool = False) -> ServicesView:
        with self._lock:
            return self._build(snapshot, show_all)

    def _build(self, snapshot: MeshSnapshot, show_all: bool) -> ServicesView:
        states = snapshot.clusters
        usable = [s for s in states if s.usable]
        clusters = tuple(s.cluster for s in states)
        connected = {s.cluster: self.cache.connected_remotes(s) for s in usable}
        names = frozenset(s.cluster for s in usable)
        missing = {}
        for cluster, links in connected.items():
            if links is not None and (gone := names - links - {cluster}):
                missing[cluster] = gone
        unknown = tuple((s.cluster, s.phase) for s in states if not s.usable)
        lost = {
            s.cluster: found for s in usable if (found := {r.cluster: r for r in self.cache.stale_remotes(s)})
        }
        rules = {s.cluster: cilium_rule(s.cilium.version) for s in usable}
        buggy = {c: r for c, r in rules.items() if r.affinity_word_local_only}
        signature = (
            clusters,
            tuple(s.phase for s in states),
            tuple(sorted(missing.items(), key=str)),
            tuple(sorted((c, tuple(sorted(v.values(), key=str))) for c, v in lost.items())),
            tuple(sorted((c, r.version) for c, r in buggy.items())),
        )
        self._lost, self._buggy = lost, buggy
        if signature != self._context_sig:
            self._rows.clear()
            self._maps.clear()
            self._last = None
            self._context_sig = signature

        changed: set[ServiceKey] = set()
        any_change = False
        for state in usable:
            before = self._maps.get(state.cluster)
            now = state.services
            if before is now:
                continue
            any_change = True
            if before is None:
                continue  # first sight of this cluster: every row is new (the signature changed)
            diff = _changed_keys(before, now)
            changed.update(diff)
            self._forget_cells(before, diff)
            self._update_keyset(state.cluster, before, now, diff)
            self._maps[state.cluster] = now
        for state in usable:
            self._maps.setdefault(state.cluster, state.services)

        if self._last is not None and self._last[0] == show_all and not any_change:
            rows = self._last[1]  # only pods, agents or nodes changed: same rows
            self.recomputed = 0
        else:
            rows = self._rows_for(states, usable, show_all, changed, missing, unknown)
            self._last = (show_all, rows)
        view = ServicesView(
            clusters=clusters,
            contexts=tuple(s.context for s in states),
            rows=rows,
            pending=tuple(s.cluster for s in states if s.phase == "syncing"),
            show_all=show_all,
            stale=tuple(f"{s.cluster} ({s.context}) {stale_text(s)}" for s in states if s.phase == "stale"),
        )
        before = self._view
        if before is not None and before.rows is rows and before == view:
            return before  # same object: consumers can skip redrawing by identity
        self._view = view
        return view

    def _keys_of(self, cluster: str, services: ServiceMap, show_all: bool) -> frozenset[ServiceKey]:
        """The global keys of one cluster, or all its keys with ``show_all``; cached while its
        services mapping is the same. All keys are made only when asked for (``A``): a set of
        2,000 keys per cluster is 8 MB at 64 clusters, for a table most never switch to."""
        entry = self._keysets.get(cluster)
        if entry is not None and entry[0] is services:
            global_keys, all_keys = entry[1], entry[2]
        else:
            global_keys = frozenset(k for k, svc in services.items() if _maybe_global(svc))
            all_keys = None
        if show_all and all_keys is None:
            all_keys = frozenset(services)
        self._keysets[cluster] = (services, global_keys, all_keys)
        return all_keys if show_all and all_keys is not None else global_keys

    def _forget_cells(self, before: ServiceMap, diff: Sequence[ServiceKey]) -> None:
        """Drop the cells of replaced Service objects: the cache would otherwise keep every
        old version alive (100 events/s) until its size cap, for the collector to walk."""
        cells = self._cells
        for key in diff:
            old = before.get(key)
            entry = cells.get(id(old)) if old is not None else None
            if entry is not None and entry[0] is old:
                del cells[id(old)]

    def _update_keyset(
        self, cluster: str, before: ServiceMap, now: ServiceMap, diff: Sequence[ServiceKey]
    ) -> None:
        """Carry a cluster's key sets over to its new services mapping from the changed keys
        only (a watch event changes one service of 2,000); the sets stay the same objects
        while no key came, went or turned global, so the sorted row keys are reused too."""
        entry = self._keysets.get(cluster)
        if entry is None or entry[0] is not before or len(diff) > 64:
            return  # _keys_of recomputes it from the whole mapping
        global_keys, all_keys = entry[1], entry[2]
        if all_keys is not None:
            add = [k for k in diff if k in now and k not in all_keys]
            gone = [k for k in diff if k not in now]
            if add or gone:
                all_keys = (all_keys | frozenset(add)) - frozenset(gone)
        flips = [k for k in diff if (k in now and _maybe_global(now[k])) != (k in global_keys)]
        if flips:
            global_keys = global_keys ^ frozenset(flips)
        self._keysets[cluster] = (now, global_keys, all_keys)

    def _rows_for(
        self,
        states: Sequence[ClusterState],
        usable: Sequence[ClusterState],
        show_all: bool,
        changed: set[ServiceKey],
        missing: Mapping[str, frozenset[str]],
        unknown: Sequence[tuple[str, str]],
    ) -> tuple[ServiceRow, ...]:
        sets = [self._keys_of(state.cluster, state.services, show_all) for state in usable]
        for gone in self._keysets.keys() - {s.cluster for s in usable}:
            del self._keysets[gone]
        signature = (show_all, *(id(k) for k in sets))
        if self._sorted is not None and self._sorted[0] == signature:
            ordered = self._sorted[1]
        else:
            keys: set[ServiceKey] = set().union(*sets)
            ordered = sorted(keys)
            self._sorted = (signature, ordered)
        keys = set(ordered)
        cache = self._rows
        previous = {key: row for key in changed if (row := cache.pop(key, None)) is not None}
        rows: list[ServiceRow] = []
        recomputed = 0
        same = True  # every recomputed row equals the one before (a change no cell shows)
        for key in ordered:
            row = cache.get(key)
            if row is None:
                inputs = tuple(s.services.get(key) for s in usable)
                row = self._row(key, states, usable, inputs, missing, unknown)
                old = previous.get(key)
                if old is not None and old == row:
                    row = old  # keep the object: consumers skip unchanged rows by identity
                else:
                    same = False
                cache[key] = row
                recomputed += 1
            rows.append(row)
        if len(cache) > 2 * len(keys) + 1024:  # services deleted long ago
            for key in [k for k in cache if k not in keys]:
                del cache[key]
        self.recomputed = recomputed
        if len(self._cells) > 4 * sum(len(st.services) for st in usable) + 1024:
            self._cells.clear()
        last = self._last
        if (
            same
            and last is not None
            and last[0] == show_all
            and len(last[1]) == len(rows)
            and all(a is b for a, b in zip(last[1], rows, strict=True))
        ):
            # A label or an unrelated field changed: the same rows, the same view object,
            # so the panes skip redrawing (and the app counts no visible change).
            return last[1]
        return tuple(rows)

    def _cell(self, service: Service | None) -> ServiceCell:
        """:func:`_cell` once per Service object (a cluster's unchanged services keep theirs)."""
        if service is None:
            return _ABSENT
        entry = self._cells.get(id(service))
        if entry is not None and entry[0] is service:
            return entry[1]
        cell = _cell(service)
        self._cells[id(service)] = (service, cell)
        return cell

    def _row(
        self,
        key: ServiceKey,
        states: Sequence[ClusterState],
        usable: Sequence[ClusterState],
        inputs: tuple[Service | None, ...],
        missing: Mapping[str, frozenset[str]],
        unknown: Sequence[tuple[str, str]],
    ) -> ServiceRow:
        by_cluster = {s.cluster: svc for s, svc in zip(usable, inputs, strict=True)}
        known = {s.cluster: self._cell(svc) for s, svc in zip(usable, inputs, strict=True)}
        cells = tuple(known[s.cluster] if s.usable else _unknown_cell(s.phase) for s in states)
        is_global = any(c.is_global for c in cells)
        warnings = (
            _warnings(key, by_cluster, known, missing, unknown, self._lost, self._buggy) if is_global else ()
        )
        return ServiceRow(key[0], key[1], cells, warnings, is_global)


_ABSENT = ServiceCell(present=False)
_UNKNOWN_CELLS: dict[str, ServiceCell] = {}


def _unknown_cell(phase: str) -> ServiceCell:
    cell = _UNKNOWN_CELLS.get(phase)
    if cell is None:
        cell = _UNKNOWN_CELLS[phase] = ServiceCell(present=False, known=False, state=phase)
    return cell


def services_view(snapshot: MeshSnapshot, *, show_all: bool = False) -> ServicesView:
    """One-shot :class:`ServicesView` (headless use; the app keeps a builder)."""
    return ServicesViewBuilder().build(snapshot, show_all=show_all)
