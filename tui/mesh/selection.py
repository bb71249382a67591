"""Backend selection under service affinity, per Cilium version (ARCHITECTURE.md Cilium §3, §4).

Given the merge (:mod:`tui.mesh.merge`), this decides which backends the agents of the client
cluster use for *new* connections, following the rule :func:`tui.mesh.rules.cilium_rule` picks
for the client's Cilium version (sources listed there):

* **1.14–1.17** (``segregateBackends``): with affinity ``local`` the local backends are
  *preferred*, with ``remote`` the remote ones. The active preferred backends are used; when
  none is active, all active backends; when no backend at all is active, the terminating
  (still serving) ones. Any other affinity value acts as none.
* **1.18+** (``SelectBackends``, then the BPF reconciler): ``local``: local backends always,
  remote ones only when no local backend is active; ``remote``: remote backends always, local
  ones only when there is no remote backend (active or terminating); none/absent: all. Among
  the chosen backends the active ones are used, or the terminating ones when none is active.
  **Bug** cilium/cilium#46623 (1.18.x, 1.19.x before the fix): the literal ``none`` or any
  unknown word keeps the local backends only — with none, connections fail.

Further rules:

* A backend Cilium holds at all is ready, or terminating but still serving (``_present``);
  others (not ready, not serving) are never used.
* A remote cluster whose link is down keeps its backends in the agents' tables (the
  clustermesh cache is never revoked by default: ``clustermesh-cache-ttl`` 0, cilium/cilium
  #20729). Such remotes are passed as ``stale``: their backends still count, marked stale, and
  :attr:`Selection.stale` says what that means.
* A headless service (``clusterIP: None``) has no load-balancing frontend: no share, no
  affinity; :attr:`Selection.reason` says why.
* The share of requests is uniform per connection over the used backends (random per
  connection in Cilium): a cluster gets ``used in cluster / all used``.
* The per-backend ``preferred`` flag is the one a 1.14–1.17 agent prints in
  ``cilium service list --clustermesh-affinity`` (local backends with affinity local, remote
  ones with affinity remote), whatever the family.

:func:`expected_share` returns only the split (no per-backend choices) for columns over many
services.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from tui.mesh.annotations import ServiceFlags, flags_of
from tui.mesh.merge import MergeResult, key_text, merge_global_service
from tui.mesh.model import Affinity, Backend, Service, ServiceKey
from tui.mesh.rules import (
    AFFINITY_NONE_BUG,
    FAMILY_LABELS,
    AffinityMode,
    CiliumRule,
    KnownBug,
    RuleFamily,
    affinity_mode,
    cilium_rule,
    rule_family,
)

__all__ = [
    "FAMILY_LABELS",
    "BackendChoice",
    "RuleFamily",
    "Selection",
    "StaleRemote",
    "expected_share",
    "is_headless",
    "rule_family",
    "select_backends",
]


@dataclass(frozen=True, slots=True)
class StaleRemote:
    """A remote cluster the client's agents lost, whose backends they still hold (cached)."""

    cluster: str
    since: float | None = None
    """When the link was first seen down (epoch seconds), ``None`` when unknown."""
    cause: str = "unreachable"
    """``unreachable`` (the agents' link) or ``KVStoreMesh not connected``."""

    def since_text(self) -> str:
        return "" if self.since is None else f" since {time.strftime('%H:%M', time.localtime(self.since))}"

    def text(self) -> str:
        """``cluster2 unreachable since 14:02: its backends are still used; connections to them
        may fail``."""
        return (
            f"{self.cluster} {self.cause}{self.since_text()}: its backends are still used (cached); "
            "connections to them may fail"
        )


@dataclass(frozen=True, slots=True)
class BackendChoice:
    """One backend of the service in some cluster, and what the client cluster makes of it."""

    backend: Backend
    selected: bool
    why: str
    local: bool = False
    """The backend is in the client cluster."""
    preferred: bool = False
    """What a 1.14–1.17 agent prints as ``(preferred)`` for this backend."""
    merged: bool = False
    """The backend's cluster is part of the merge (it reaches the client's agents)."""
    listed: bool = False
    """The agent holds it for this frontend: 1.14–1.17 every present merged backend, 1.18+ the
    present backends of the chosen side(s) (what ``cilium service list`` shows)."""
    stale: bool = False
    """The backend comes from a remote the agents lost (cached, may be gone)."""

    @property
    def cluster(self) -> str:
        return self.backend.cluster


@dataclass(frozen=True, slots=True)
class Selection:
    """The expected backend selection of a service, seen from one client cluster."""

    key: ServiceKey
    client_cluster: str
    affinity: Affinity
    family: RuleFamily
    merge: MergeResult
    choices: tuple[BackendChoice, ...]
    expected_share: Mapping[str, float] = field(default_factory=dict)
    """Fraction of new connections per cluster (sums to 1.0; empty when nothing is selected)."""
    version_assumed: bool = False
    """The client's Cilium version is unknown or outside the known ones (see ``rule.assumed``)."""
    reason: str = ""
    """Why nothing is selected (connections fail / headless / no frontend), or ``""``."""
    fallback: bool = False
    """Affinity could not be honoured: the non-preferred side is used because the preferred
    side has no (active) backend."""
    rule: CiliumRule = field(default_factory=lambda: cilium_rule(None))
    mode: AffinityMode = "none"
    """What the agent does with the affinity (``local-only``: cilium/cilium#46623)."""
    bug: KnownBug | None = None
    """The known Cilium bug that decided this selection, if any."""
    headless: bool = False
    terminating_fallback: bool = False
    """No active backend was left: the terminating (still serving) ones are used."""
    stale: tuple[StaleRemote, ...] = ()
    """Remotes whose cached backends take part although their link is down."""
    affinity_raw: str | None = None

    @property
    def selected(self) -> tuple[Backend, ...]:
        return tuple(choice.backend for choice in self.choices if choice.selected)

    @property
    def family_label(self) -> str:
        """``rules 1.14–1.17`` / ``rules 1.18+`` (with ``, assumed`` when the version is unknown)."""
        return self.rule.family_label

    def share_text(self) -> str:
        """``cluster1 50%, cluster2 50%`` (or the reason when nothing is selected)."""
        if not self.expected_share:
            return self.reason or "no backend selected"
        return ", ".join(f"{c} {round(s * 100)}%" for c, s in self.expected_share.items())


def _present(backend: Backend) -> bool:
    """Cilium holds the backend at all: active, or terminating but still serving.

    Cilium drops EndpointSlice endpoints that are neither ready nor (serving and terminating).
    """
    return backend.active or (backend.terminating and backend.serving)


def _inactive_why(backend: Backend) -> str:
    if backend.terminating:
        return "terminating" if backend.serving else "terminating, not serving"
    return "not ready"


def is_headless(service: Service | None) -> bool:
    """``clusterIP: None``: no load-balancing frontend (Cilium's ``GetClusterIPByFamily``)."""
    return service is not None and service.cluster_ip == "None"


def _shown(raw: str | None) -> str:
    text = "" if raw is None else raw
    return repr(text if len(text) <= 40 else text[:39] + "…")


@dataclass(slots=True)
class _Plan:
    """What the agent does for one service: which sides it holds, which backends it uses."""

    use_local: bool
    use_remote: bool
    local_why: str
    remote_why: str
    used: list[Backend]
    fallback: bool = False
    terminating: bool = False
    """``used`` are terminating backends (no active one was left)."""


def _terminating(backends: list[Backend]) -> list[Backend]:
    return [b for b in backends if not b.active and b.terminating and b.serving]


def _plan_114(mode: AffinityMode, local: list[Backend], remote: list[Backend]) -> _Plan:
    local_active = [b for b in local if b.active]
    remote_active = [b for b in remote if b.active]
    everything = local + remote
    if mode == "local" and local_active:
        return _Plan(
            True,
            False,
            "local, preferred (affinity local)",
            "remote, not preferred: local backends active",
            local_active,
        )
    if mode == "remote" and remote_active:
        return _Plan(
            False,
            True,
            "local, not preferred: remote backends active",
            "remote, preferred (affinity remote)",
            remote_active,
        )
    active = local_active + remote_active
    if mode == "local":
        plan = _Plan(False, True, "local", "remote, fallback: no active local backend", active, bool(active))
    elif mode == "remote":
        plan = _Plan(True, False, "local, fallback: no active remote backend", "remote", active, bool(active))
    else:
        plan = _Plan(True, True, "local (affinity none)", "remote (affinity none)", active)
    if not active:
        # segregateBackends: no active backend at all -> every terminating one, preference ignored
        plan.used, plan.terminating, plan.fallback = _terminating(everything), True, False
    return plan


def _plan_118(
    mode: AffinityMode, local: list[Backend], remote: list[Backend], rule: CiliumRule, raw: str | None
) -> _Plan:
    local_active = any(b.active for b in local)
    local_present = any(_present(b) for b in local)
    remote_present = any(_present(b) for b in remote)
    fallback = False
    if mode == "none":
        use_local, use_remote = True, True
        local_why, remote_why = "local (affinity none)", "remote (affinity none)"
    elif mode == "local":
        use_local, use_remote = True, not local_active and remote_present
        if use_remote:
            local_why, remote_why, fallback = "local", "remote, fallback: no active local backend", True
        else:
            local_why = "local, always used (affinity local)"
            remote_why = "remote, not used: local backends active (affinity local)"
    elif mode == "remote":
        use_local, use_remote = not remote_present and local_present, True
        if use_local:
            local_why, remote_why, fallback = "local, fallback: no remote backend", "remote", True
        else:
            local_why = "local, not used: remote backends exist (affinity remote)"
            remote_why = "remote, always used (affinity remote)"
    else:  # local-only: cilium/cilium#46623
        use_local, use_remote = True, False
        local_why = f"local only: affinity {_shown(raw)} on {rule.version_text} (cilium/cilium#46623)"
        remote_why = (
            f"remote, never used: {rule.version_text} reads affinity {_shown(raw)} as neither none nor "
            "local/remote (cilium/cilium#46623)"
        )
    chosen = [b for b in local if use_local and _present(b)] + [
        b for b in remote if use_remote and _present(b)
    ]
    used = [b for b in chosen if b.active]
    terminating = False
    if not used:
        used, terminating = _terminating(chosen), True
    return _Plan(use_local, use_remote, local_why, remote_why, used, fallback and bool(used), terminating)


def _plan(
    rule: CiliumRule, mode: AffinityMode, local: list[Backend], remote: list[Backend], raw: str | None
) -> _Plan:
    if rule.family == "1.14-1.17":
        return _plan_114(mode, local, remote)
    return _plan_118(mode, local, remote, rule, raw)


def select_backends(
    key: ServiceKey,
    client_cluster: str,
    services: Mapping[str, Service | None],
    cilium_version: str | None,
    connected: Collection[str] | None = None,
    stale: Collection[StaleRemote] = (),
) -> Selection:
    """The backends ``client_cluster``'s agents use for service ``key`` and the expected split.

    ``services`` is as for :func:`~tui.mesh.merge.merge_global_service` (cluster name →
    that cluster's Service with this key, or ``None``); ``cilium_version`` is the client
    cluster's Cilium version (any form :func:`~tui.mesh.version.parse_version` accepts);
    ``connected`` the remotes whose links are up (``None``: unknown, nobody excluded) and
    ``stale`` those whose links are down but whose backends the agents still hold.
    """
    rule = cilium_rule(cilium_version)
    stale_by = {s.cluster: s for s in stale}
    merge, flags, local, remote = _gather(key, client_cluster, services, connected, stale_by)
    client_service = services.get(client_cluster)
    exclusions = {item.cluster: item for item in merge.excluded}
    included = set(merge.included)
    common = {
        "key": key,
        "client_cluster": client_cluster,
        "affinity": flags.affinity,
        "family": rule.family,
        "merge": merge,
        "version_assumed": bool(rule.assumed),
        "rule": rule,
        "affinity_raw": flags.affinity_raw,
    }
    if is_headless(client_service):
        why = "headless (clusterIP: None): no load-balancing frontend"
        choices = tuple(
            BackendChoice(b, False, why, b.cluster == client_cluster, False, b.cluster in included)
            for cluster, service in services.items()
            if service is not None
            for b in service.backends
        )
        return Selection(
            **common,  # type: ignore[arg-type]
            choices=choices,
            reason=(
                f"{key_text(key)} is headless (clusterIP: None): Cilium installs no load-balancing "
                "frontend, DNS answers with pod IPs, so affinity and shares do not apply"
            ),
            headless=True,
        )

    mode = affinity_mode(rule, flags.affinity, flags.affinity_raw, flags.is_global)
    plan = _plan(rule, mode, local, remote, flags.affinity_raw)
    used = {id(b) for b in plan.used}
    modern = rule.family == "1.18+"
    choices: list[BackendChoice] = []

    def add(backend: Backend, cluster: str, merged: bool) -> None:
        is_local = cluster == client_cluster
        preferred = (flags.affinity == "local" and is_local) or (flags.affinity == "remote" and not is_local)
        cached = cluster in stale_by and merged
        if not merged:
            exclusion = exclusions.get(cluster)
            why = exclusion.text if exclusion is not None else f"{cluster}: not merged"
            choices.append(BackendChoice(backend, False, why, is_local, preferred, False))
            return
        present = _present(backend)
        side = plan.use_local if is_local else plan.use_remote
        listed = present and (side if modern else True)
        selected = id(backend) in used
        if selected:
            why = plan.local_why if is_local else plan.remote_why
            if plan.terminating:
                why = "terminating, used: no active backend is left"
        elif not backend.active:
            why = _inactive_why(backend)
        else:
            why = plan.local_why if is_local else plan.remote_why
        if cached:
            why += f"; cached: {stale_by[cluster].cause}{stale_by[cluster].since_text()}"
        choices.append(BackendChoice(backend, selected, why, is_local, preferred, True, listed, cached))

    for backend in local:
        add(backend, client_cluster, True)
    for cluster, service in services.items():
        if cluster == client_cluster or service is None:
            continue
        merged = cluster in included
        for backend in service.backends:
            add(backend, cluster, merged)

    selected = [c for c in choices if c.selected]
    shares: dict[str, float] = {}
    if selected:
        counts: dict[str, int] = {}
        for choice in selected:
            counts[choice.cluster] = counts.get(choice.cluster, 0) + 1
        total = len(selected)
        shares = {cluster: count / total for cluster, count in counts.items()}

    bug = AFFINITY_NONE_BUG if mode == "local-only" else None
    reason = ""
    if client_service is None:
        reason = (
            f"{client_cluster} has no service {key_text(key)}: no frontend there, nothing is load-balanced"
        )
    elif not selected and bug is not None:
        reason = (
            f"connections from {client_cluster} to {key_text(key)} fail: no local backend, and "
            f"affinity {_shown(flags.affinity_raw)} on {rule.version_text} never uses remote ones "
            "(cilium/cilium#46623); remove the annotation"
        )
    elif not selected:
        reason = (
            f"no active backend for {key_text(key)} in any cluster {client_cluster} can use: "
            "connections would fail"
        )
    return Selection(
        **common,  # type: ignore[arg-type]
        choices=tuple(choices),
        expected_share=shares,
        reason=reason,
        fallback=plan.fallback and bool(selected),
        mode=mode,
        bug=bug,
        terminating_fallback=plan.terminating and bool(selected),
        stale=tuple(stale_by[c] for c in merge.remotes if c in stale_by),
    )


def _gather(
    key: ServiceKey,
    client_cluster: str,
    services: Mapping[str, Service | None],
    connected: Collection[str] | None,
    stale: Mapping[str, StaleRemote],
) -> tuple[MergeResult, ServiceFlags, list[Backend], list[Backend]]:
    """The merge, the client's flags, its local backends and the merged remote backends."""
    usable = None if connected is None else {*connected, *stale}
    merge = merge_global_service(key, client_cluster, services, usable)
    client_service = services.get(client_cluster)
    flags = flags_of(client_service) if client_service is not None else ServiceFlags()
    local = list(client_service.backends) if client_service is not None else []
    remote: list[Backend] = []
    for cluster in merge.remotes:
        service = services.get(cluster)
        if service is not None:
            remote.extend(service.backends)
    return merge, flags, local, remote


def expected_share(
    key: ServiceKey,
    client_cluster: str,
    services: Mapping[str, Service | None],
    cilium_version: str | None,
    connected: Collection[str] | None = None,
    stale: Collection[StaleRemote] = (),
) -> dict[str, float]:
    """Just :attr:`Selection.expected_share`, without building a choice per backend.

    Same rules as :func:`select_backends` (and tested against it); meant for a column over
    every service, where building thousands of :class:`BackendChoice` objects is wasted work.
    """
    if is_headless(services.get(client_cluster)) or services.get(client_cluster) is None:
        return {}
    rule = cilium_rule(cilium_version)
    _merge, flags, local, remote = _gather(
        key, client_cluster, services, connected, {s.cluster: s for s in stale}
    )
    mode = affinity_mode(rule, flags.affinity, flags.affinity_raw, flags.is_global)
    plan = _plan(rule, mode, local, remote, flags.affinity_raw)
    counts: dict[str, int] = {}
    for backend in plan.used:
        counts[backend.cluster] = counts.get(backend.cluster, 0) + 1
    total = sum(counts.values())
    return {cluster: count / total for cluster, count in counts.items()} if total else {}
