"""Cilium version strings as operators and clusters spell them.

Backend selection changed in Cilium 1.18 (ARCHITECTURE.md Cilium §3) and the status document lost
``num-global-services`` in 1.19 (§2), so the rules must know the version of the cluster they
reason about. Versions reach us as ``1.14.1``, ``v1.18.0``, ``1.18.0-rc.1``, ``1.19.0-dev`` or a
whole agent image reference such as ``quay.io/cilium/cilium:v1.14.1@sha256:...``; anything else
is "unknown" and the callers decide what to assume (and say so).
"""

from __future__ import annotations

import re
from typing import NamedTuple

_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+]([0-9A-Za-z.+-]*))?$")


class CiliumVersion(NamedTuple):
    """A parsed version; compares as a tuple, so ``v >= (1, 18)`` reads naturally."""

    major: int
    minor: int
    patch: int = 0
    pre: str = ""
    """Pre-release / build suffix (``rc.1``, ``dev``); kept for display, ignored in comparisons
    made against ``(major, minor)`` tuples."""

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        return f"{text}-{self.pre}" if self.pre else text


def parse_version(text: str | None) -> CiliumVersion | None:
    """Parse a Cilium version or image reference; ``None`` when it is not recognisable.

    The image form is reduced to its tag: the digest (``@sha256:...``) and the registry path
    (which may itself contain a ``:port``) are dropped first.
    """
    if not text:
        return None
    value = text.strip()
    value = value.split("@", 1)[0]
    if "/" in value or ":" in value:
        last = value.rsplit("/", 1)[-1]
        if ":" not in last:
            return None
        value = last.rsplit(":", 1)[1]
    match = _VERSION.match(value)
    if match is None:
        return None
    major, minor, patch, pre = match.groups()
    return CiliumVersion(int(major), int(minor), int(patch or 0), pre or "")
