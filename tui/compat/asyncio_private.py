"""asyncio's private part used by meshtui: the TLS read buffer size of ``SSLProtocol``.

Why: CPython gives every TLS connection a 256 KiB read buffer (``asyncio.sslproto.SSLProtocol
.max_size``, a class attribute read when a connection is made). A hub holds about nine
long-lived connections per cluster (watches, mostly idle), so at 64 clusters the default
buffers alone take ~150 MiB, and 255 clusters hold 2,300 connections. Idle watches need one
TLS record (16 KiB) at most; a list answer of megabytes is read faster with a big buffer (fewer
trips through the loop per byte: 16 KiB reads cost 0.4 s more CPU than 64 KiB ones for the
lists of 64 × 2,000 services). So connections start small (the class value) and a list's
connection is widened for its answer only (:func:`set_read_buffer`). There is no public
setting.
"""

from __future__ import annotations

from asyncio import sslproto
from typing import Any


def tls_read_buffer_size() -> int | None:
    """The read buffer of new TLS connections, in bytes (``None``: this Python has none to set)."""
    size = getattr(sslproto.SSLProtocol, "max_size", None)
    return size if isinstance(size, int) else None


def lower_tls_read_buffer(size: int) -> bool:
    """Lower the TLS read buffer of connections made from now on (process-wide); ``True`` if done.

    Never raises it, and never below one TLS record (16 KiB). On a Python without the attribute
    it does nothing: connections keep the default, which costs memory, not correctness
    (``tests/test_compat.py`` fails loudly there instead).
    """
    current = tls_read_buffer_size()
    if current is None or size < 16 * 1024 or size >= current:
        return False
    sslproto.SSLProtocol.max_size = size  # type: ignore[attr-defined]
    return True


def set_read_buffer(transport: Any, size: int) -> bool:
    """Give one open TLS connection a ``size``-byte read buffer; ``True`` if done.

    Wider: the buffer grows on the next read (``get_buffer`` allocates up to ``max_size``);
    narrower: a smaller buffer replaces it at once, so the wide one is freed. Nothing changes
    (``False``) for a plain-TCP transport or where asyncio's internals differ: then the
    connection keeps the class's size, which costs speed or memory, not correctness.
    """
    protocol = getattr(transport, "_ssl_protocol", None)
    if protocol is None or not all(
        hasattr(protocol, a) for a in ("max_size", "_ssl_buffer", "_ssl_buffer_view")
    ):
        return False
    if protocol.max_size == size:
        return True
    protocol.max_size = size
    if len(protocol._ssl_buffer) > size:
        protocol._ssl_buffer = bytearray(size)
        protocol._ssl_buffer_view = memoryview(protocol._ssl_buffer)
    return True
