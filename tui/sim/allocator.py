"""Give freed memory back to the system in the ``meshtui sim`` process (glibc only).

A client syncing a 255-cluster mesh makes the simulator answer thousands of lists, handshakes
and execs within a minute; once they are answered their memory is free, but glibc keeps most of
it: after the first large block is freed it raises its mmap threshold, so later response
bodies come from the heap, whose free pages it returns only from the top. Measured with one app
syncing 255 × 200: the simulator's RSS stayed ~100 MB higher than what it used.

So the simulator's own process fixes the threshold (blocks from 64 KiB are mapped, and unmapped
when freed) and trims the heap every few seconds. Only ``meshtui sim`` does this: an app that
runs the simulator in-process (``--demo``) keeps its allocator as it is. Elsewhere (musl, macOS)
nothing happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 64 * 1024
TRIM_THRESHOLD = 4 * 1024 * 1024
TRIM_INTERVAL = 5.0
"""Seconds between two ``malloc_trim`` calls (one takes a few ms on a 400 MB heap)."""


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def tune() -> bool:
    """Fix glibc's mmap and trim thresholds for this process; False where there is no glibc."""
    libc = _libc()
    if libc is None:
        return False
    ok = libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    return libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1 and ok


def trim() -> bool:
    """Return the heap's free pages to the system now; False where there is no glibc."""
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True


async def trim_forever(interval: float = TRIM_INTERVAL) -> None:
    """:func:`trim` every ``interval`` seconds until cancelled."""
    if _libc() is None:
        return
    while True:
        await asyncio.sleep(interval)
        with contextlib.suppress(OSError):
            trim()
