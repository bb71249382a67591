"""JSON merge patch (RFC 7386): what meshtui's own writes send (annotate, scale).

The other patch formats (strategic merge, JSON patch) exist for kubectl and live with it in
:mod:`tui.sim.kubectl`. Returns a new value and never changes its inputs.
"""

from __future__ import annotations

import copy
from typing import Any


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result
