"""Backend selection under service affinity, both rule families (cilium-semantics.md §3, §4).

Given the merge (:mod:`tui.mesh.merge`), this decides which backends the agents of the client
cluster use for *new* connections, exactly as written in cilium-semantics.md:

* **1.14–1.17** ("preferred or all"): with affinity ``local`` the local backends are
  *preferred*, with ``remote`` the remote ones. Only the active preferred backends are used;
  when none is active, all active backends are used. ``none``: all active backends.
* **1.18+** (``SelectBackends`` of ``pkg/clustermesh``): ``local``: local backends always,
  remote ones only when there is no active local backend. ``remote``: remote backends always,
  local ones only when there is no remote backend. ``none``: all.

Choices made where the document is silent (listed in the docstrings below too):

* A backend is *active* when ready and not terminating (``Backend.active``). Terminating and
  not-ready backends are never selected for new connections, in either family.
* 1.18+ counts a *terminating* (still serving) local backend as "a local backend" for the
  ``remote`` rule, as Cilium does (it counts active + terminating backends there); remote
  clusters only contribute when they have ready endpoints (the merge excludes the others), so
  on the remote side active and present coincide.
* The share of requests is uniform per connection over the selected backends
  (random per connection in Cilium): a cluster gets ``selected in cluster / all selected``.
* The client cluster's Cilium version picks the family. Unknown or unparsable versions use
  1.14–1.17 and set :attr:`Selection.version_assumed`; versions older than 1.14 also use the
  1.14–1.17 rules (the oldest the field guide covers).
* The per-backend ``preferred`` flag is the one a 1.14–1.17 agent prints in
  ``cilium service list --clustermesh-affinity`` (local backends with affinity local, remote
  ones with affinity remote), whatever the family. A 1.18+ agent marks every listed backend
  preferred, which says nothing (issue #43681).

:func:`expected_share` returns only the split (no per-backend choices) for columns over many
services.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Literal

from tui.mesh.annotations import flags_of
from tui.mesh.merge import MergeResult, key_text, merge_global_service
from tui.mesh.model import Affinity, Backend, Service, ServiceKey
from tui.mesh.version import parse_version

RuleFamily = Literal["1.14-1.17", "1.18+"]

FAMILY_LABELS: Mapping[str, str] = {"1.14-1.17": "rules 1.14–1.17", "1.18+": "rules 1.18+"}


def rule_family(version: str | None) -> RuleFamily:
    """The selection rules of a Cilium version; unknown versions get the 1.14–1.17 rules."""
    parsed = parse_version(version)
    if parsed is not None and (parsed.major, parsed.minor) >= (1, 18):
        return "1.18+"
    return "1.14-1.17"


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
    """The client's Cilium version was unknown: the 1.14–1.17 rules were assumed."""
    reason: str = ""
    """Why nothing is selected (connections would fail), or ``""``."""
    fallback: bool = False
    """Affinity could not be honoured: the non-preferred side is used because the preferred
    side has no (active) backend."""

    @property
    def selected(self) -> tuple[Backend, ...]:
        return tuple(choice.backend for choice in self.choices if choice.selected)

    @property
    def family_label(self) -> str:
        """``rules 1.14–1.17`` / ``rules 1.18+`` (with ``, assumed`` when the version is unknown)."""
        label = FAMILY_LABELS[self.family]
        return f"{label}, assumed" if self.version_assumed else label

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


def select_backends(
    key: ServiceKey,
    client_cluster: str,
    services: Mapping[str, Service | None],
    cilium_version: str | None,
    connected: Collection[str] | None = None,
) -> Selection:
    """The backends ``client_cluster``'s agents use for service ``key`` and the expected split.

    ``services`` is as for :func:`~tui.mesh.merge.merge_global_service` (cluster name →
    that cluster's Service with this key, or ``None``); ``cilium_version`` is the client
    cluster's Cilium version (any form :func:`~tui.mesh.version.parse_version` accepts).
    """
    family = rule_family(cilium_version)
    assumed = parse_version(cilium_version) is None
    merge, affinity, local, remote = _gather(key, client_cluster, services, connected)
    included = set(merge.included)
    local_active = [b for b in local if b.active]
    remote_active = [b for b in remote if b.active]
    use_local, use_remote, local_why, remote_why, fallback = _decide(
        family, affinity, local, remote, local_active, remote_active
    )
    exclusions = {item.cluster: item for item in merge.excluded}
    client_service = services.get(client_cluster)

    choices: list[BackendChoice] = []

    def add(backend: Backend, cluster: str, merged: bool, use: bool, why_used: str) -> None:
        is_local = cluster == client_cluster
        preferred = (affinity == "local" and is_local) or (affinity == "remote" and not is_local)
        if not merged:
            exclusion = exclusions.get(cluster)
            why = exclusion.text if exclusion is not None else f"{cluster}: not merged"
            choices.append(BackendChoice(backend, False, why, is_local, preferred, False))
        elif not backend.active:
            choices.append(BackendChoice(backend, False, _inactive_why(backend), is_local, preferred, True))
        else:
            choices.append(BackendChoice(backend, use, why_used, is_local, preferred, True))

    for backend in local:
        add(backend, client_cluster, True, use_local, local_why)
    for cluster, service in services.items():
        if cluster == client_cluster or service is None:
            continue
        merged = cluster in included
        for backend in service.backends:
            add(backend, cluster, merged, use_remote, remote_why)

    selected = [c for c in choices if c.selected]
    shares: dict[str, float] = {}
    if selected:
        counts: dict[str, int] = {}
        for choice in selected:
            counts[choice.cluster] = counts.get(choice.cluster, 0) + 1
        total = len(selected)
        shares = {cluster: count / total for cluster, count in counts.items()}

    reason = ""
    if client_service is None:
        reason = (
            f"{client_cluster} has no service {key_text(key)}: no frontend there, nothing is load-balanced"
        )
    elif not selected:
        reason = (
            f"no active backend for {key_text(key)} in any cluster {client_cluster} can use: "
            "connections would fail"
        )
    return Selection(
        key=key,
        client_cluster=client_cluster,
        affinity=affinity,
        family=family,
        merge=merge,
        choices=tuple(choices),
        expected_share=shares,
        version_assumed=assumed,
        reason=reason,
        fallback=fallback and bool(selected),
    )


def _gather(
    key: ServiceKey,
    client_cluster: str,
    services: Mapping[str, Service | None],
    connected: Collection[str] | None,
) -> tuple[MergeResult, Affinity, list[Backend], list[Backend]]:
    """The merge, the client's affinity, its local backends and the merged remote backends."""
    merge = merge_global_service(key, client_cluster, services, connected)
    client_service = services.get(client_cluster)
    affinity: Affinity = flags_of(client_service).affinity if client_service is not None else "none"
    local = list(client_service.backends) if client_service is not None else []
    remote: list[Backend] = []
    for cluster in merge.remotes:
        service = services.get(cluster)
        if service is not None:
            remote.extend(service.backends)
    return merge, affinity, local, remote


def expected_share(
    key: ServiceKey,
    client_cluster: str,
    services: Mapping[str, Service | None],
    cilium_version: str | None,
    connected: Collection[str] | None = None,
) -> dict[str, float]:
    """Just :attr:`Selection.expected_share`, without building a choice per backend.

    Same rules as :func:`select_backends` (and tested against it); meant for a column over
    every service, where building thousands of :class:`BackendChoice` objects is wasted work.
    """
    family = rule_family(cilium_version)
    _merge, affinity, local, remote = _gather(key, client_cluster, services, connected)
    local_active = [b for b in local if b.active]
    remote_active = [b for b in remote if b.active]
    use_local, use_remote, *_ = _decide(family, affinity, local, remote, local_active, remote_active)
    counts: dict[str, int] = {}
    for backend in (local_active if use_local else []) + (remote_active if use_remote else []):
        counts[backend.cluster] = counts.get(backend.cluster, 0) + 1
    total = sum(counts.values())
    return {cluster: count / total for cluster, count in counts.items()} if total else {}


def _decide(
    family: RuleFamily,
    affinity: Affinity,
    local: list[Backend],
    remote: list[Backend],
    local_active: list[Backend],
    remote_active: list[Backend],
) -> tuple[bool, bool, str, str, bool]:
    """(use local, use remote, why for an active local, why for an active remote, fallback)."""
    if affinity == "none":
        return True, True, "local (affinity none)", "remote (affinity none)", False

    if family == "1.14-1.17":
        if affinity == "local":
            if local_active:
                return (
                    True,
                    False,
                    "local, preferred (affinity local)",
                    ("remote, not preferred: local backends active"),
                    False,
                )
            return False, True, "local", "remote, fallback: no active local backend", True
        if remote_active:
            return (
                False,
                True,
                "local, not preferred: remote backends active",
                ("remote, preferred (affinity remote)"),
                False,
            )
        return True, False, "local, fallback: no active remote backend", "remote", True

    # 1.18+: Cilium's ClusterMeshSelectBackends.
    if affinity == "local":
        use_remote = not local_active and any(_present(b) for b in remote)
        if use_remote:
            return True, True, "local", "remote, fallback: no active local backend", True
        return (
            True,
            False,
            "local, always used (affinity local)",
            ("remote, not used: local backends active (affinity local)"),
            False,
        )
    remote_present = any(_present(b) for b in remote)
    local_present = any(_present(b) for b in local)
    use_local = not remote_present and local_present
    if use_local:
        return True, True, "local, fallback: no remote backend", "remote", True
    return (
        False,
        True,
        "local, not used: remote backends exist (affinity remote)",
        ("remote, always used (affinity remote)"),
        False,
    )
