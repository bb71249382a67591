"""asyncio's private part used by meshtui: the TLS read buffer size of ``SSLProtocol``.

Why: CPython gives every TLS connection a 256 KiB read buffer (``asyncio.sslproto.SSLProtocol
.max_size``, a class attribute read when a connection is made). A hub holds about eight
long-lived connections per cluster, so at 64 clusters the default buffers alone take ~130 MiB;
TLS records are at most 16 KiB, so 64 KiB reads lose nothing. There is no public setting.
"""

from __future__ import annotations

from asyncio import sslproto


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
