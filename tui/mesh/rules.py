"""Which Cilium behaviour applies to an agent of a given version: the version matrix.

Every prediction meshtui makes (which backends a cluster uses, what its ``cilium service
list`` should show, what its status document holds) depends on the agent's exact version.
:func:`cilium_rule` turns a version string into a :class:`CiliumRule` that names the rule
family, the Cilium source it follows and the known Cilium bugs that apply, so the Backends
pane footer and ``meshtui backends -o json`` can say which rule and which bug they used.

Sources read (cilium/cilium unless said otherwise):

* 1.14–1.17: ``pkg/service/service.go`` ``segregateBackends`` (preferred active backends,
  else all active ones, else — with terminating-endpoint support — the terminating ones);
  ``pkg/k8s/service_cache.go`` marks local (affinity ``local``) or remote (``remote``)
  backends preferred, any other value leaves them all unmarked (cilium/cilium#46623,
  maintainer's reading of 1.17 and before).
* 1.18+: ``pkg/clustermesh/selectbackends.go`` ``SelectBackends`` and
  ``pkg/loadbalancer/reconciler/bpf_reconciler.go`` (``if activeCount == 0 { activeCount =
  terminatingCount }``).
* the affinity value: ``pkg/annotation/clustermesh.go`` ``GetAnnotationServiceAffinity``.
  Up to 1.19 it returns ``strings.ToLower(value)``, and ``SelectBackends`` treats only ``""``
  as "none": ``none`` or any other word falls through to "local backends only"
  (cilium/cilium#46623). cilium/cilium#46635 (in cilium v1.20.0-pre.3, vendored by cilium-cli
  v0.19.5) maps ``none``/``""`` to none and any unknown word to none with a warning. It is
  marked for a 1.19 backport, not for 1.18; the 1.19 patch release carrying it was not known
  when this was written (:data:`AFFINITY_FIX_1_19`).
* ``cilium service list``: 1.18+ lists only the selected backends and marks each preferred
  (``pkg/loadbalancer/frontend.go`` ``Preferred: true``; cilium/cilium#43681).

Versions outside 1.14–1.20 use the nearest known rule and :attr:`CiliumRule.assumed` says so;
an unknown version (no tag, digest-only image, agent not read) uses the newest known rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from tui.mesh.version import CiliumVersion, parse_version

RuleFamily = Literal["1.14-1.17", "1.18+"]

OLDEST_KNOWN = (1, 14)
NEWEST_KNOWN = (1, 20)
AFFINITY_FIX_1_19: int | None = None
"""First 1.19 patch release with cilium/cilium#46635 backported; ``None`` while unknown (every
1.19.x is then treated as affected, and the text says "until the backport")."""

FAMILY_LABELS: dict[str, str] = {"1.14-1.17": "rules 1.14–1.17", "1.18+": "rules 1.18+"}
FAMILY_SOURCES: dict[str, str] = {
    "1.14-1.17": "pkg/service/service.go segregateBackends (preferred active, else all active)",
    "1.18+": "pkg/clustermesh/selectbackends.go SelectBackends + bpf_reconciler terminating fallback",
}


@dataclass(frozen=True, slots=True)
class KnownBug:
    """A Cilium bug that changes what meshtui predicts or how it reads the agent."""

    id: str
    """``cilium/cilium#46623``."""
    title: str
    affected: str
    """Releases affected, in words (``1.18.x, 1.19.x before the #46635 backport``)."""
    fixed: str
    """Where it is fixed (``1.20.0 (cilium/cilium#46635)``) or ``open``."""

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "title": self.title, "affected": self.affected, "fixed": self.fixed}


AFFINITY_NONE_BUG = KnownBug(
    id="cilium/cilium#46623",
    title=(
        "affinity 'none' (or any unknown word) keeps only local backends: "
        "with no local backend the service is a blackhole"
    ),
    affected="1.18.x; 1.19.x until the backport of cilium/cilium#46635",
    fixed="1.20.0 (cilium/cilium#46635)",
)
PREFERRED_MARK_BUG = KnownBug(
    id="cilium/cilium#43681",
    title="cilium service list lists only the selected backends and marks every one (preferred)",
    affected="1.18.0 and later",
    fixed="open",
)
KNOWN_BUGS = (AFFINITY_NONE_BUG, PREFERRED_MARK_BUG)


@dataclass(frozen=True, slots=True)
class CiliumRule:
    """The behaviour of one Cilium agent version, as meshtui models it."""

    version: CiliumVersion | None
    """The agent's version (``None``: unknown)."""
    family: RuleFamily
    rule_version: tuple[int, int]
    """The known release whose rules are used (``(1, 18)``)."""
    assumed: str = ""
    """Why the rules are assumed rather than known (unknown, older or newer version); ``""``."""
    affinity_word_local_only: bool = False
    """``none``/unknown affinity words keep only local backends (cilium/cilium#46623)."""
    lists_only_selected: bool = False
    """``cilium service list`` shows only selected backends, all marked preferred (#43681)."""
    bugs: tuple[KnownBug, ...] = ()
    """Known bugs of this version that meshtui models."""

    @property
    def family_label(self) -> str:
        """``rules 1.18+`` (``, assumed`` when the version is not known)."""
        label = FAMILY_LABELS[self.family]
        return f"{label}, assumed" if self.assumed else label

    @property
    def version_text(self) -> str:
        """``Cilium 1.18.3`` / ``Cilium ?``."""
        return f"Cilium {self.version}" if self.version is not None else "Cilium ?"

    @property
    def source(self) -> str:
        return FAMILY_SOURCES[self.family]

    @property
    def footer(self) -> str:
        """``Cilium 1.18.3 · rules 1.18+ · bug #46623`` for the Backends pane."""
        parts = [self.version_text, self.family_label]
        parts += [f"bug #{bug.id.rsplit('#', 1)[-1]}" for bug in self.bugs if bug is AFFINITY_NONE_BUG]
        return " · ".join(parts)

    def to_json(self) -> dict[str, object]:
        return {
            "cilium_version": str(self.version) if self.version is not None else None,
            "family": self.family,
            "rules_of": f"{self.rule_version[0]}.{self.rule_version[1]}",
            "source": self.source,
            "assumed": self.assumed or None,
            "known_bugs": [bug.to_json() for bug in self.bugs],
        }


def _affinity_bug(version: tuple[int, int], patch: int) -> bool:
    if version == (1, 18):
        return True
    if version == (1, 19):
        return AFFINITY_FIX_1_19 is None or patch < AFFINITY_FIX_1_19
    return False


@lru_cache(maxsize=256)
def cilium_rule(version: str | None) -> CiliumRule:
    """The rule for an agent version string (any form :func:`parse_version` accepts)."""
    parsed = parse_version(version)
    newest = f"{NEWEST_KNOWN[0]}.{NEWEST_KNOWN[1]}"
    if parsed is None:
        minor, patch = NEWEST_KNOWN, 0
        assumed = f"Cilium version unknown: the newest known rules ({newest}) are used"
    else:
        minor, patch = (parsed.major, parsed.minor), parsed.patch
        assumed = ""
        if minor < OLDEST_KNOWN:
            assumed = f"Cilium {parsed} is older than 1.14: the 1.14 rules are used"
            minor, patch = OLDEST_KNOWN, 0
        elif minor > NEWEST_KNOWN:
            assumed = f"Cilium {parsed} is newer than the newest known ({newest}): its rules are used"
            minor, patch = NEWEST_KNOWN, 0
    family: RuleFamily = "1.18+" if minor >= (1, 18) else "1.14-1.17"
    bug = _affinity_bug(minor, patch)
    modern = family == "1.18+"
    bugs = tuple(b for b, on in ((AFFINITY_NONE_BUG, bug), (PREFERRED_MARK_BUG, modern)) if on)
    return CiliumRule(
        version=parsed,
        family=family,
        rule_version=minor,
        assumed=assumed,
        affinity_word_local_only=bug,
        lists_only_selected=modern,
        bugs=bugs,
    )


def rule_family(version: str | None) -> RuleFamily:
    """The selection rules of a Cilium version (unknown: the newest known)."""
    return cilium_rule(version).family


AffinityMode = Literal["none", "local", "remote", "local-only"]
"""What the agent does: ``local-only`` is cilium/cilium#46623 (no fallback to remote)."""


def affinity_mode(rule: CiliumRule, affinity: str, raw: str | None, is_global: bool) -> AffinityMode:
    """The agent's behaviour for a service with ``affinity`` (meshtui's reading) and ``raw``
    (the annotation as written, ``None`` when absent) under ``rule``."""
    if affinity in ("local", "remote"):
        return affinity  # type: ignore[return-value]
    if is_global and rule.affinity_word_local_only and raw is not None and raw.lower() != "":
        # strings.ToLower(value), not trimmed, is compared with "", "local" and "remote" only
        return "local-only"
    return "none"
