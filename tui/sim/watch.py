"""Watches: chunked JSON events (or one-row Tables for ``kubectl get -w``), one per line.

Resume from a resourceVersion (410 Expired when it was compacted), initial ADDED events when no
version is given, BOOKMARKs when asked (every :data:`BOOKMARK_INTERVAL` and at the end),
``timeoutSeconds``, label/field selectors (an object leaving the selection is DELETED for the
watcher), and an in-stream ERROR 410 when the store expires its watches.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tui.sim.errors import FieldError, gone, invalid
from tui.sim.httpkit import flag, object_filter, wants_table
from tui.sim.kubectl import table
from tui.sim.resources import ResourceType
from tui.sim.store import DELETED, EXPIRED, MODIFIED, Entry, Event, dumps

if TYPE_CHECKING:
    from tui.sim.cluster import SimCluster

BOOKMARK_INTERVAL = 5.0
"""Seconds between BOOKMARK events on a watch that asked for them."""


async def watch(
    request: web.Request,
    cluster: SimCluster,
    rtype: ResourceType,
    namespace: str | None,
    name: str | None = None,
) -> web.StreamResponse:
    store = cluster.store
    rv_param = request.query.get("resourceVersion", "")
    since: int | None = None
    if rv_param not in ("", "0"):
        try:
            since = int(rv_param)
        except ValueError as exc:
            raise invalid(
                rtype, "", [FieldError("resourceVersion", "FieldValueInvalid", "", rv_param)]
            ) from exc
    send_initial = since is None or flag(request, "sendInitialEvents")
    bookmarks = flag(request, "allowWatchBookmarks")
    as_table = wants_table(request)
    include = request.query.get("includeObject", "Metadata")
    timeout = request.query.get("timeoutSeconds")
    deadline = (
        time.monotonic() + float(timeout) if timeout and timeout.replace(".", "", 1).isdigit() else None
    )
    matches = object_filter(request, namespace if rtype.namespaced else None, name)
    queue, backlog = store.watch(rtype.key, since)  # 410 raises here, before the stream starts
    try:
        response = web.StreamResponse(
            status=200, headers={"Content-Type": "application/json", "Cache-Control": "no-cache, private"}
        )
        response.enable_chunked_encoding()
        await response.prepare(request)
        first_table = [True]

        def encode(kind: str, entry: Entry) -> bytes:
            if as_table:
                obj = table(rtype.key, [entry], include_object=include, with_columns=first_table[0])
                first_table[0] = False
                return b'{"type":"' + kind.encode() + b'","object":' + dumps(obj) + b"}\n"
            return b'{"type":"' + kind.encode() + b'","object":' + entry.raw + b"}\n"

        chunks: list[bytes] = []
        if send_initial:
            for entry in store.items(rtype.key, namespace if rtype.namespaced else None):
                if matches(entry):
                    chunks.append(encode("ADDED", entry))
            if bookmarks and flag(request, "sendInitialEvents"):
                chunks.append(_bookmark(rtype, store.rv, initial_end=True))
        for event in backlog:
            line = _event_line(event, matches, encode)
            if line:
                chunks.append(line)
        if chunks:
            await response.write(b"".join(chunks))
        next_bookmark = time.monotonic() + BOOKMARK_INTERVAL
        while True:
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                break
            waits = [next_bookmark - now if bookmarks else 30.0]
            if deadline is not None:
                waits.append(deadline - now)
            try:
                event = await asyncio.wait_for(queue.get(), timeout=max(0.0, min(waits)))
            except TimeoutError:
                if request.transport is None or request.transport.is_closing():
                    break
                if bookmarks and time.monotonic() >= next_bookmark - 0.01:
                    await response.write(_bookmark(rtype, store.rv))
                    next_bookmark = time.monotonic() + BOOKMARK_INTERVAL
                continue
            events = [event]
            while not queue.empty():
                events.append(queue.get_nowait())
            expired = EXPIRED in events
            data = b"".join(_event_line(e, matches, encode) for e in events if e is not EXPIRED)
            if expired:
                status = gone(store.oldest_resumable - 1, store.oldest_resumable).status()
                data += b'{"type":"ERROR","object":' + dumps(status) + b"}\n"
            if data:
                await response.write(data)
            if expired:
                await response.write_eof()
                return response
        if bookmarks:
            await response.write(_bookmark(rtype, store.rv))
        await response.write_eof()
        return response
    finally:
        store.unwatch(rtype.key, queue)


def _bookmark(rtype: ResourceType, rv: int, initial_end: bool = False) -> bytes:
    meta: dict[str, Any] = {"resourceVersion": str(rv)}
    if initial_end:
        meta["annotations"] = {"k8s.io/initial-events-end": "true"}
    obj = {"kind": rtype.kind, "apiVersion": rtype.api_version, "metadata": meta}
    return b'{"type":"BOOKMARK","object":' + dumps(obj) + b"}\n"


def _event_line(event: Event, matches: Any, encode: Any) -> bytes:
    now_match = matches(event.entry)
    if event.type == MODIFIED:
        before = event.prev is not None and matches(event.prev)
        if now_match and before:
            return encode("MODIFIED", event.entry)
        if now_match:
            return encode("ADDED", event.entry)
        if before:
            return encode("DELETED", event.entry)
        return b""
    if event.type == DELETED:
        return encode("DELETED", event.entry) if (event.prev is None or matches(event.prev)) else b""
    return encode(event.type, event.entry) if now_match else b""
