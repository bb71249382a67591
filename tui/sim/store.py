"""One cluster's object store: JSON-shaped dicts, a resourceVersion counter and a change history.

Stored objects are never mutated in place: a write builds a new dict (copy-on-write), so readers
(list bodies, watch events, controllers) can hold references without copying, and an entry can
cache its serialized JSON. Bulk-generated objects may be stored as JSON bytes only and parsed on
first use, which keeps a 64 x 2,000-service mesh small.

Every change gets the next resourceVersion, lands in a bounded history (for watch resume: older
versions answer 410 Gone) and is pushed to watch queues and to in-process subscribers
(controllers; part 2 adds its own with :meth:`Store.subscribe`).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from random import Random
from typing import Any

from tui.sim.errors import already_exists, conflict, gone, not_found
from tui.sim.resources import ResourceType

ADDED, MODIFIED, DELETED = "ADDED", "MODIFIED", "DELETED"
SLICES = "endpointslices.discovery.k8s.io"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
_SERVICE_NAME = re.compile(rb'"kubernetes\.io/service-name":"([^"\\]*)"')
GENERATION_KEYS = {"deployments.apps", "replicasets.apps", "daemonsets.apps"}
"""Resources whose ``metadata.generation`` counts spec changes (status observes it)."""


def dumps(obj: Any) -> bytes:
    """Compact JSON as the apiserver sends it."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


class Entry:
    """A stored object: the dict, its JSON bytes, or both (each made from the other on demand)."""

    __slots__ = ("_obj", "_raw", "name", "namespace", "rv")

    def __init__(self, namespace: str, name: str, rv: int, obj: dict[str, Any] | None, raw: bytes | None):
        self.namespace, self.name, self.rv = namespace, name, rv
        self._obj, self._raw = obj, raw

    @property
    def obj(self) -> dict[str, Any]:
        """The object; treat as read-only (use :meth:`copy` to change it)."""
        if self._obj is None:
            self._obj = json.loads(self._raw or b"{}")
        return self._obj

    @property
    def raw(self) -> bytes:
        if self._raw is None:
            self._raw = dumps(self._obj)
        return self._raw

    def encoded(self) -> bytes:
        """The JSON bytes, kept only if the entry already had them: a list answer must not leave
        every listed object stored twice (at 255 clusters the dict-backed objects' bytes, kept
        after the app's first lists, came to ~35 MB)."""
        return self._raw if self._raw is not None else dumps(self._obj)

    def copy(self) -> dict[str, Any]:
        """A private deep copy to modify and write back."""
        return json.loads(self.raw)  # faster than deepcopy, and caches the serialized form

    @property
    def labels(self) -> dict[str, str]:
        return self.obj.get("metadata", {}).get("labels") or {}


def peek(entry: Entry) -> dict[str, Any]:
    """The entry's object, parsed from its bytes (the store keeps no parsed copy of it)."""
    return json.loads(entry.raw)


def slice_service(entry: Entry) -> str | None:
    """The ``kubernetes.io/service-name`` label of an EndpointSlice entry (read from its bytes)."""
    raw = entry.raw
    found = _SERVICE_NAME.findall(raw)
    if len(found) == 1:
        return found[0].decode()
    if not found and b"kubernetes.io/service-name" not in raw:
        return None
    return ((peek(entry).get("metadata") or {}).get("labels") or {}).get(SERVICE_NAME_LABEL)


class Event:
    """One change, as watchers and subscribers receive it."""

    __slots__ = ("entry", "key", "prev", "rv", "type")

    def __init__(self, type_: str, key: str, entry: Entry, prev: Entry | None) -> None:
        self.type, self.key, self.entry, self.prev, self.rv = type_, key, entry, prev, entry.rv


EXPIRED = Event(DELETED, "", Entry("", "", 0, {}, b"{}"), None)
"""Put on a watch queue: the watch ends with an ERROR 410 event."""


class Store:
    """Objects of one cluster by resource key, namespace and name."""

    def __init__(
        self, *, history: int = 5000, rng: Random | None = None, clock: Callable[[], float] = time.time
    ):
        self.rv = 0
        self.clock = clock
        self.rng = rng or Random()
        self._data: dict[str, dict[str, dict[str, Entry]]] = {}
        self._history: deque[Event] = deque(maxlen=max(1, history))
        self._oldest = 0
        """Smallest resourceVersion a watch may resume from."""
        self._watchers: dict[str, set[asyncio.Queue[Event]]] = {}
        self._subscribers: list[Callable[[Event], None]] = []
        self._slices: dict[str, dict[str, set[str]]] = {}
        """namespace → service name → names of its EndpointSlices (the label index an
        informer keeps): finding a service's slices must not read every slice of a namespace."""

    # -- reads ---------------------------------------------------------------------------------

    def get(self, key: str, namespace: str, name: str) -> Entry | None:
        return self._data.get(key, {}).get(namespace, {}).get(name)

    def items(self, key: str, namespace: str | None = None) -> list[Entry]:
        """Entries sorted by namespace then name (etcd's key order), one namespace or all."""
        by_ns = self._data.get(key, {})
        if namespace is not None:
            names = by_ns.get(namespace, {})
            return [names[n] for n in sorted(names)]
        return [by_ns[ns][n] for ns in sorted(by_ns) for n in sorted(by_ns[ns])]

    def iter(self, key: str, namespace: str | None = None) -> Iterable[Entry]:
        """Unsorted and cheap: for controllers."""
        by_ns = self._data.get(key, {})
        if namespace is not None:
            yield from by_ns.get(namespace, {}).values()
            return
        for names in by_ns.values():
            yield from names.values()

    def slices_of(self, namespace: str, service: str) -> frozenset[str]:
        """Names of the EndpointSlices labelled for ``service`` (by ``kubernetes.io/service-name``)."""
        return frozenset(self._slices.get(namespace, {}).get(service, ()))

    def _index(self, key: str, old: Entry | None, new: Entry | None) -> None:
        """Keep the slice index right; runs before subscribers hear of the change."""
        if key != SLICES:
            return
        for entry, add in ((old, False), (new, True)):
            if entry is None:
                continue
            service = slice_service(entry)
            if service is None:
                continue
            names = self._slices.setdefault(entry.namespace, {}).setdefault(service, set())
            if add:
                names.add(entry.name)
            else:
                names.discard(entry.name)

    def count(self, key: str) -> int:
        return sum(len(names) for names in self._data.get(key, {}).values())

    def namespaces_with(self, key: str) -> list[str]:
        return [ns for ns, names in self._data.get(key, {}).items() if names]

    # -- writes --------------------------------------------------------------------------------

    def new_uid(self) -> str:
        """A version-4 UUID from the store's (seeded) generator."""
        value = (self.rng.getrandbits(128) & ~(0xF000 << 64) | (0x4000 << 64)) & ~(0xC000 << 48) | (
            0x8000 << 48
        )
        text = f"{value:032x}"
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"

    def now(self) -> str:
        return rfc3339(self.clock())

    def create(self, rtype: ResourceType, obj: dict[str, Any]) -> Entry:
        """Store a new object (``obj`` becomes the store's: do not change it afterwards)."""
        meta = obj.setdefault("metadata", {})
        namespace = meta.get("namespace", "") if rtype.namespaced else ""
        name = meta["name"]
        if self.get(rtype.key, namespace, name) is not None:
            raise already_exists(rtype, name)
        self.rv += 1
        obj["apiVersion"], obj["kind"] = rtype.api_version, rtype.kind
        meta["uid"] = meta.get("uid") or self.new_uid()
        meta["resourceVersion"] = str(self.rv)
        meta.setdefault("creationTimestamp", self.now())
        if rtype.key in GENERATION_KEYS:
            meta["generation"] = 1
        entry = Entry(namespace, name, self.rv, obj, None)
        self._data.setdefault(rtype.key, {}).setdefault(namespace, {})[name] = entry
        self._index(rtype.key, None, entry)
        self._emit(Event(ADDED, rtype.key, entry, None))
        return entry

    def update(self, rtype: ResourceType, obj: dict[str, Any], *, expect_rv: str | None = None) -> Entry:
        """Replace an existing object; ``expect_rv`` (when given) must be the current version (409)."""
        meta = obj.setdefault("metadata", {})
        namespace = meta.get("namespace", "") if rtype.namespaced else ""
        name = meta["name"]
        old = self.get(rtype.key, namespace, name)
        if old is None:
            raise not_found(rtype, name)
        if expect_rv and expect_rv != str(old.rv):
            raise conflict(rtype, name)
        old_meta = old.obj.get("metadata", {})
        for immutable in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"):
            if immutable in old_meta:
                meta[immutable] = old_meta[immutable]
            else:
                meta.pop(immutable, None)
        if "generation" in old_meta:
            generation = old_meta["generation"]
            if obj.get("spec") != old.obj.get("spec"):
                generation += 1
            meta["generation"] = generation
        obj["apiVersion"], obj["kind"] = rtype.api_version, rtype.kind
        if obj == old.obj:
            return old  # a no-op write does not bump resourceVersion (as the apiserver)
        self.rv += 1
        meta["resourceVersion"] = str(self.rv)
        entry = Entry(namespace, name, self.rv, obj, None)
        self._data[rtype.key][namespace][name] = entry
        self._index(rtype.key, old, entry)
        self._emit(Event(MODIFIED, rtype.key, entry, old))
        return entry

    def mark_deleting(self, rtype: ResourceType, namespace: str, name: str, grace: int) -> Entry:
        """Set ``deletionTimestamp`` (graceful deletion starts); the object stays until removed."""
        old = self.get(rtype.key, namespace, name)
        if old is None:
            raise not_found(rtype, name)
        if old.obj.get("metadata", {}).get("deletionTimestamp"):
            return old
        obj = old.copy()
        obj["metadata"]["deletionTimestamp"] = rfc3339(self.clock() + grace)
        obj["metadata"]["deletionGracePeriodSeconds"] = grace
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        entry = Entry(namespace, name, self.rv, obj, None)
        self._data[rtype.key][namespace][name] = entry
        self._emit(Event(MODIFIED, rtype.key, entry, old))
        return entry

    def delete(self, rtype: ResourceType, namespace: str, name: str) -> Entry:
        """Remove an object now; the DELETED event carries it with a new resourceVersion."""
        old = self.get(rtype.key, namespace, name)
        if old is None:
            raise not_found(rtype, name)
        del self._data[rtype.key][namespace][name]
        self._index(rtype.key, old, None)
        self.rv += 1
        obj = old.copy()
        obj["metadata"]["resourceVersion"] = str(self.rv)
        entry = Entry(namespace, name, self.rv, obj, None)
        self._emit(Event(DELETED, rtype.key, entry, old))
        return entry

    def load_raw(self, rtype: ResourceType, namespace: str, name: str, raw: bytes, rv: int) -> None:
        """Bulk load at start-up: no events, the caller made ``raw`` complete (rv, uid...)."""
        entry = Entry(namespace, name, rv, None, raw)
        self._data.setdefault(rtype.key, {}).setdefault(namespace, {})[name] = entry
        self._index(rtype.key, None, entry)

    def mark_loaded(self) -> None:
        """End of start-up: watches may resume from here on, not from before."""
        self._oldest = self.rv
        self._history.clear()

    def compact(self) -> None:
        """Forget the change history: resuming a watch from any earlier version answers 410."""
        self.mark_loaded()

    def expire_watches(self) -> int:
        """End every open watch with an in-stream ``ERROR`` 410 Expired (as after etcd compaction).

        Returns how many watches were told. Combined with :meth:`compact`, clients must relist.
        """
        told = 0
        for queues in self._watchers.values():
            for queue in queues:
                queue.put_nowait(EXPIRED)
                told += 1
        return told

    # -- change delivery -----------------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        if len(self._history) == self._history.maxlen:
            self._oldest = self._history[0].rv
        self._history.append(event)
        for queue in self._watchers.get(event.key, ()):
            queue.put_nowait(event)
        for callback in list(self._subscribers):
            callback(event)

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        """Call ``callback(event)`` synchronously after every change; returns an unsubscribe."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    def watch(self, key: str, since: int | None) -> tuple[asyncio.Queue[Event], list[Event]]:
        """Register a watch queue for ``key``; with ``since``, also the missed events (or 410)."""
        backlog: list[Event] = []
        if since is not None:
            if since < self._oldest:
                raise gone(since, self._oldest + 1)
            backlog = [e for e in self._history if e.rv > since and e.key == key]
        queue: asyncio.Queue[Event] = asyncio.Queue()
        self._watchers.setdefault(key, set()).add(queue)
        return queue, backlog

    def unwatch(self, key: str, queue: asyncio.Queue[Event]) -> None:
        self._watchers.get(key, set()).discard(queue)

    @property
    def oldest_resumable(self) -> int:
        return self._oldest

    def watcher_count(self) -> int:
        return sum(len(q) for q in self._watchers.values())
