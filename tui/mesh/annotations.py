"""Global / shared / affinity of a Service, read from its annotations (ARCHITECTURE.md Cilium §3).

Mirrors Cilium's ``pkg/annotation`` helpers (``GetAnnotationIncludeExternal``,
``GetAnnotationShared``, ``GetAnnotationServiceAffinity``):

* each flag has a new name and a legacy alias; when the new name is present it wins, even with
  an empty or invalid value (Cilium's ``annotation.Get`` returns the first key present);
* ``global`` is true only when the value, lower-cased, is ``true``;
* ``shared`` is ignored (false) when the service is not global, defaults to true when global,
  and otherwise is true only for ``true`` (any case): ``"no"`` or ``""`` mean false;
* ``affinity`` is ignored (none) when the service is not global; ``local`` / ``remote`` in any
  case; ``none``, empty or anything else means none (an unknown value is kept in
  :attr:`ServiceFlags.affinity_raw` and flagged so the UI can warn about a typo).

Only annotations are read, never labels. Flags are cached per annotations mapping (views
evaluate thousands of services on every snapshot), see :func:`flags_of`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from tui.mesh.model import Affinity, Service

ANNOTATION_GLOBAL = "service.cilium.io/global"
LEGACY_GLOBAL = "io.cilium/global-service"
ANNOTATION_SHARED = "service.cilium.io/shared"
LEGACY_SHARED = "io.cilium/shared-service"
ANNOTATION_AFFINITY = "service.cilium.io/affinity"
LEGACY_AFFINITY = "io.cilium/service-affinity"


@dataclass(frozen=True, slots=True)
class ServiceFlags:
    """What Cilium makes of one Service's annotations.

    ``*_key`` name the annotation that decided the value (``None`` when absent), so the UI can
    say "set by the legacy alias io.cilium/global-service" and edit the key that is in force.
    """

    is_global: bool = False
    shared: bool = False
    affinity: Affinity = "none"
    affinity_raw: str | None = None
    """The affinity annotation's value as written (``None`` when absent)."""
    affinity_unknown: bool = False
    """An affinity value was given but is not local/remote/none/empty (Cilium uses none)."""
    global_key: str | None = None
    shared_key: str | None = None
    affinity_key: str | None = None
    shared_explicit: bool = False
    """``shared`` came from an annotation rather than the default for global services."""

    def describe(self) -> str:
        """``global shared none`` / ``global not-shared local`` / ``not global``."""
        if not self.is_global:
            return "not global"
        return f"global {'shared' if self.shared else 'not-shared'} {self.affinity}"


def _get(annotations: Mapping[str, str], key: str, alias: str) -> tuple[str | None, str | None]:
    """(value, key used): the new name first, then the legacy alias, like ``annotation.Get``."""
    if key in annotations:
        return annotations[key], key
    if alias in annotations:
        return annotations[alias], alias
    return None, None


_PLAIN = ServiceFlags()
"""Flags of a Service with none of the six annotations (most Services in a cluster)."""
SERVICE_ANNOTATIONS = (
    ANNOTATION_GLOBAL,
    ANNOTATION_SHARED,
    ANNOTATION_AFFINITY,
    LEGACY_GLOBAL,
    LEGACY_SHARED,
    LEGACY_AFFINITY,
)
"""The six annotations Cilium's ClusterMesh merge reads on a Service (current, then legacy)."""


def service_flags(annotations: Mapping[str, str]) -> ServiceFlags:
    """Compute the global/shared/affinity flags from a Service's annotations."""
    if not annotations or not any(key in annotations for key in SERVICE_ANNOTATIONS):
        return _PLAIN
    return _flags(
        *_get(annotations, ANNOTATION_GLOBAL, LEGACY_GLOBAL),
        *_get(annotations, ANNOTATION_SHARED, LEGACY_SHARED),
        *_get(annotations, ANNOTATION_AFFINITY, LEGACY_AFFINITY),
    )


@lru_cache(maxsize=4096)
def _flags(
    global_value: str | None,
    global_key: str | None,
    shared_value: str | None,
    shared_key: str | None,
    affinity_value: str | None,
    affinity_key: str | None,
) -> ServiceFlags:
    """The flags for one combination of annotation values (few distinct ones exist)."""
    is_global = global_value is not None and global_value.lower() == "true"

    if not is_global:
        # Cilium ignores shared and affinity entirely on a non-global service.
        return ServiceFlags(
            is_global=False,
            shared=False,
            affinity="none",
            affinity_raw=affinity_value,
            affinity_unknown=False,
            global_key=global_key,
            shared_key=shared_key,
            affinity_key=affinity_key,
            shared_explicit=shared_value is not None,
        )

    shared = True if shared_value is None else shared_value.lower() == "true"
    affinity: Affinity = "none"
    unknown = False
    if affinity_value is not None:
        lowered = affinity_value.lower()
        if lowered == "local":
            affinity = "local"
        elif lowered == "remote":
            affinity = "remote"
        elif lowered not in ("", "none"):
            unknown = True
    return ServiceFlags(
        is_global=True,
        shared=shared,
        affinity=affinity,
        affinity_raw=affinity_value,
        affinity_unknown=unknown,
        global_key=global_key,
        shared_key=shared_key,
        affinity_key=affinity_key,
        shared_explicit=shared_value is not None,
    )


_CACHE_LIMIT = 1 << 16
_cache: dict[int, tuple[Mapping[str, str], ServiceFlags]] = {}


def flags_of(service: Service) -> ServiceFlags:
    """:func:`service_flags` of ``service.annotations``, computed once per annotations mapping.

    Keyed by the mapping's identity, not the Service's: the access layer hands equal
    annotation maps out as one shared object (``tui.kube.parse.shared_map``), so 128,000
    services of 64 clusters need a few dozen entries instead of one each (15.7 MB of entries
    at 64 × 2,000, and they kept every replaced Service alive until the cap). Mappings are
    read-only; the entry keeps a strong reference so an ``id`` is never reused while it
    lives; the cache is emptied when it grows past ~65k entries.
    """
    annotations = service.annotations
    if not annotations:
        return _PLAIN
    entry = _cache.get(id(annotations))
    if entry is not None and entry[0] is annotations:
        return entry[1]
    flags = service_flags(annotations)
    if len(_cache) >= _CACHE_LIMIT:
        _cache.clear()
    _cache[id(annotations)] = (annotations, flags)
    return flags
