"""``json.dumps(obj, indent=2)``'s exact text, with repeated parts indented once.

Python's encoder falls back to its pure-Python code whenever ``indent`` is set (~7 ms for one
``cilium status -o json`` of a 255-cluster mesh, 213 KB, where building the document takes
~2 ms). The agents print their documents indented (Go's ``MarshalIndent``), and the app reads
every agent every few seconds, so at 255 clusters that was a steady share of a core.

The big parts of those documents repeat: the entry of remote ``cluster7`` is the same in the
status of 253 other agents, and so is every node of the health list. So the top levels are laid
out here, and each part below ``depth`` is indented by the stdlib once per distinct content
(keyed by its compact encoding, which the C encoder makes quickly), then shifted to its depth.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii
from typing import Any

CACHE_CHARS = 4_000_000
"""Characters the cache may hold (keys and texts) before it starts again: a big
``cilium service list`` must not turn it into a copy of itself."""
_cache: dict[tuple[str, int, int], str] = {}
_cached_chars = 0
_compact = json.JSONEncoder(separators=(",", ":")).encode
"""One encoder for every call (``json.dumps`` with arguments builds a new one each time)."""


def dumps_indented(obj: Any, indent: int = 2, level: int = 0, depth: int = 3) -> str:
    """Exactly ``json.dumps(obj, indent=indent)``, every line indented ``level`` more steps
    (what ``textwrap.indent(..., " " * indent * level)`` would make of it). Containers nearer
    the top than ``depth`` are laid out here; those below are cached by content."""
    return " " * (indent * level) + _encode(obj, indent, level, level + depth)


def _encode(obj: Any, indent: int, level: int, leaf_level: int) -> str:
    if level < leaf_level and obj and isinstance(obj, dict) and all(type(k) is str for k in obj):
        inner = "\n" + " " * (indent * (level + 1))
        items = [
            inner + encode_basestring_ascii(key) + ": " + _encode(value, indent, level + 1, leaf_level)
            for key, value in obj.items()
        ]
        return "{" + ",".join(items) + "\n" + " " * (indent * level) + "}"
    if level < leaf_level and obj and isinstance(obj, list | tuple):
        inner = "\n" + " " * (indent * (level + 1))
        items = [inner + _encode(value, indent, level + 1, leaf_level) for value in obj]
        return "[" + ",".join(items) + "\n" + " " * (indent * level) + "]"
    if not isinstance(obj, dict | list | tuple) or not obj:
        return json.dumps(obj)
    key = (_compact(obj), indent, level)
    text = _cache.get(key)
    if text is None:
        text = json.dumps(obj, indent=indent)
        if level:
            text = text.replace("\n", "\n" + " " * (indent * level))
        _remember(key, text)
    return text


def _remember(key: tuple[str, int, int], text: str) -> None:
    global _cached_chars
    size = len(key[0]) + len(text)
    if size > CACHE_CHARS // 16:
        return  # a one-off giant: not worth a sixteenth of the cache
    if _cached_chars + size > CACHE_CHARS:
        _cache.clear()
        _cached_chars = 0
    _cache[key] = text
    _cached_chars += size
