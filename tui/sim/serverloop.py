"""The simulator's event loop: asyncio's own, with a small TLS receive buffer per connection.

asyncio's ``SSLProtocol`` allocates and zero-fills a 256 KiB receive buffer for every TLS
connection the moment it is accepted, handshake pending or idle watch alike. A client of a
255-cluster mesh opens thousands of connections at once (lists, watches, execs), so the
simulator's RSS grew by ~1.5 GB while one app synced, and glibc kept most of it after the
peak. The API servers receive small requests (patches, manifests, exec stdin), so a 4 KiB
buffer only means a few more reads for a large body; measured with 1,000 idle connections, a
connection then costs the server ~29 KB instead of ~275 KB.

Only the simulator's loops use this (``meshtui sim`` and :class:`~tui.sim.mesh.SimThread`): the
app's own connections, on the app's loop, are left as asyncio makes them.
"""

from __future__ import annotations

import asyncio
from typing import Any

TLS_READ_BUFFER = 4 * 1024
"""Bytes read from a TLS socket at once by the simulator's API servers."""


class SimEventLoop(asyncio.SelectorEventLoop):
    """A selector loop whose TLS transports read into :data:`TLS_READ_BUFFER` bytes."""

    def _make_ssl_transport(self, *args: Any, **kwargs: Any) -> Any:  # asyncio's private hook
        transport = super()._make_ssl_transport(*args, **kwargs)  # type: ignore[misc]
        shrink_read_buffer(getattr(transport, "_ssl_protocol", None), TLS_READ_BUFFER)
        return transport


def shrink_read_buffer(protocol: Any, size: int = TLS_READ_BUFFER) -> bool:
    """Give one ``SSLProtocol`` a ``size``-byte receive buffer (its 256 KiB one is freed at
    once, so it never adds up). False, changing nothing, where asyncio's internals differ."""
    if protocol is None or not all(
        hasattr(protocol, a) for a in ("max_size", "_ssl_buffer", "_ssl_buffer_view")
    ):
        return False
    if len(protocol._ssl_buffer) <= size:
        return True
    protocol.max_size = size  # get_buffer() and the copied-read path cap their reads at this
    protocol._ssl_buffer = bytearray(size)
    protocol._ssl_buffer_view = memoryview(protocol._ssl_buffer)
    return True


def new_loop() -> asyncio.AbstractEventLoop:
    """A new simulator loop (what ``asyncio.Runner(loop_factory=...)`` takes)."""
    return SimEventLoop()
