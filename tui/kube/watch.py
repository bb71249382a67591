"""List + watch of one resource (a reflector): the live copy of one kind in one cluster.

client-go's reflector rules, on raw JSON:
* list (paged with ``limit``/``continue``), then watch from the list's ``resourceVersion`` with
  ``allowWatchBookmarks`` and a server-side ``timeoutSeconds`` (jittered) plus a client-side
  bound, resuming from the last seen version whenever a stream ends;
* HTTP 410 or an in-stream ``ERROR`` with code 410: relist;
* failures back off 0.8 s → 30 s with jitter, forgotten after a healthy period;
* objects whose ``resourceVersion`` did not change are not parsed again, so a relist of 2,000
  unchanged services costs JSON decoding only and hands the same objects on (identity kept);
* a resource with a :class:`tui.kube.wire.Codec` (services, slices, pods, deployments, nodes)
  has its pages and events decoded by msgspec straight into structs of the fields it reads; the
  others (single ``kube-system`` objects) and a write's answer take ``json`` and ``parse``.

The reflector never raises: its state (``synced``, ``error``, ``failing_since``) is read by the
cluster, which turns it into a phase.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import random
import sys
import time
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import msgspec

from tui.kube import wire
from tui.kube.backoff import Backoff, BackoffPolicy
from tui.kube.client import Action, KubeClient
from tui.kube.errors import KubeError, from_exception, not_json, size_text
from tui.kube.parse import object_key, resource_version, service_key
from tui.kube.redact import log
from tui.kube.tasks import cancel_and_wait

_NO_METADATA: Mapping[str, Any] = {}

MAX_LINE = 64 * 2**20
"""A watch event larger than this is treated as a broken stream (bounded memory); the client's
``max_body`` when it is smaller."""


Key = Hashable
Parser = Callable[[Mapping[str, Any]], Any]


@dataclass(frozen=True, slots=True)
class ResourceSpec:
    """What to list and watch, and how to turn one object into a stored value."""

    name: str
    """Identifier inside the cluster (``services``, ``pods/song``...)."""
    api: str
    """``/api/v1`` or ``/apis/apps/v1``."""
    plural: str
    parse: Parser
    namespace: str = ""
    """``""``: all namespaces."""
    label_selector: str = ""
    field_selector: str = ""
    key: Callable[[Mapping[str, Any]], Key] = object_key
    cluster_scoped: bool = False
    poll: float | None = None
    """List every this many seconds instead of watching: for single small objects that rarely
    change (``cilium-config``, the CA secret), a watch would hold a socket (and ~200 KiB of TLS
    buffers) per object per cluster; a poll reuses the cluster's kept-alive connection."""
    shared_keys: bool = False
    """Keys are :func:`tui.kube.parse.service_key`'s shared tuples: for services, whose
    (namespace, name) repeat across clusters (not slices or pods: their names are unique)."""
    codec: wire.Codec | None = None
    """Decode lists and watch events into this struct and ``codec.read`` it (``parse`` then only
    reads a write's answer, :meth:`Reflector.apply`); ``None``: ``json`` and ``parse``. Its keys
    are ``spec.key``'s: (namespace, name), or the name when ``cluster_scoped``."""

    @property
    def path(self) -> str:
        if self.namespace:
            return f"{self.api}/namespaces/{self.namespace}/{self.plural}"
        return f"{self.api}/{self.plural}"

    def action(self, verb: str = "list") -> Action:
        return Action(verb, self.plural, None if self.cluster_scoped else self.namespace)

    def selectors(self) -> list[tuple[str, str]]:
        query = []
        if self.label_selector:
            query.append(("labelSelector", self.label_selector))
        if self.field_selector:
            query.append(("fieldSelector", self.field_selector))
        return query


class _GcPause:
    """Reference-counted pause of CPython's cyclic collector, shared by every hub.

    Why: the collector runs every ~700 allocations and each pass walks the young objects, so
    parsing tens of thousands of acyclic objects (JSON dicts, model values) with it on costs
    about twice the parsing itself. The layer's objects never form cycles, so pausing loses
    nothing; reference counting still frees them. Pauses nest and may span ``await``s (a hub's
    start-up holds one until its first complete snapshot).
    """

    def __init__(self) -> None:
        self._holders = 0
        self._reenable = False

    def acquire(self) -> None:
        if self._holders == 0:
            self._reenable = gc.isenabled()
            gc.disable()
        self._holders += 1

    def release(self) -> None:
        self._holders -= 1
        if self._holders == 0 and self._reenable:
            gc.enable()


GC_PAUSE = _GcPause()


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic GC inside (only wrap code without ``await``, or hold :data:`GC_PAUSE` yourself)."""
    GC_PAUSE.acquire()
    try:
        yield
    finally:
        GC_PAUSE.release()


class Gone(Exception):
    """The resourceVersion is too old (410): relist."""


@dataclass(frozen=True, slots=True)
class WatchSettings:
    timeout: float = 300.0
    """Server-side ``timeoutSeconds`` base; each watch asks for 1–1.5× this."""
    page_size: int = 500
    max_pages: int = 200
    """A list that has not ended after this many pages fails ("did not end after 200 pages"):
    twice what ``max_items`` takes in full pages, room for the short pages selectors give."""
    max_items: int = 50_000
    """A list of more objects than this fails. Kubernetes' own scalability limit is 10,000
    services per cluster, and pods are listed per namespace that holds a global service."""
    max_list_bytes: int = 256 * 2**20
    """A list whose pages add up to more than this fails: with ``max_items`` and the client's
    ``max_body`` per page, what one list may hold in memory is bounded whatever a server sends."""
    misbehaving_pause: float = 0.2
    """Seconds between pages when a server sends a ``continue`` token with a short page (it
    ignores ``limit``, or pages one object at a time): such a list is slowed down, never spun."""
    min_stream: float = 1.0
    """A stream that breaks sooner than this counts as a failure (no hot reconnect loop)."""
    decoder: Literal["msgspec", "json"] = "msgspec"
    """``json``: every resource takes the stdlib path (``json`` + ``parse``), its codec unused:
    for comparing the two (``benchmarks/kube_bench.py --decoder json``)."""
    follow: bool = True
    """Watch (or poll) after the first complete list. ``False``: list once and stop, for a
    command that answers once and exits (``meshtui status``): its hundreds of watch connections
    at 64 clusters would be opened, each with a TLS handshake, only to be closed unread. Its
    clusters then neither probe ``/version`` nor ask for access reviews either."""


ChangeCallback = Callable[["Reflector", set[Key]], None]


class Reflector:
    """One resource's list + watch loop and its store ``items``: key → (resourceVersion, value)."""

    def __init__(
        self,
        client: KubeClient,
        spec: ResourceSpec,
        *,
        on_change: ChangeCallback,
        on_state: Callable[[Reflector], None],
        settings: WatchSettings | None = None,
        backoff: BackoffPolicy | None = None,
        list_gate: asyncio.Semaphore | None = None,
        watch_gate: asyncio.Event | None = None,
    ) -> None:
        self.client = client
        self._list_gate = list_gate or asyncio.Semaphore(1)
        self._watch_gate = watch_gate
        self.spec = spec
        self.settings = settings or WatchSettings()
        self.backoff = Backoff(backoff)
        self._on_change = on_change
        self._on_state = on_state
        self.codec = spec.codec if self.settings.decoder == "msgspec" else None
        """How lists and events are decoded (``None``: ``json`` and ``spec.parse``)."""
        self.items: dict[Key, Any] = {}
        """key → parsed value (what the cluster reads)."""
        self.versions: dict[Key, int | str] = {}
        """key → the object's resourceVersion (an int when numeric: smaller), kept apart so the
        values need no wrapper tuple: at 64 × 4,000 objects every byte per object counts."""
        self.resource_version = ""
        self.synced = False
        self.error: KubeError | None = None
        self.failing_since: float | None = None
        self.last_ok: float | None = None
        self.lists = 0
        self.watches = 0
        self._wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    # -- public ---------------------------------------------------------------------------------

    def start(self) -> None:
        self.task = asyncio.create_task(self.run(), name=f"reflector {self.client.context} {self.spec.name}")

    async def stop(self) -> None:
        if self.task is not None:
            await cancel_and_wait([self.task])
            self.task = None

    def wake(self) -> None:
        """Skip the current wait (backoff, or the pause between polls): act now."""
        self.backoff.reset()
        self._wake.set()

    @property
    def forbidden(self) -> bool:
        return self.error is not None and self.error.kind == "forbidden"

    def values(self) -> list[Any]:
        return list(self.items.values())

    def apply(self, obj: Mapping[str, Any]) -> bool:
        """Store an object a write returned, before its watch event arrives (True if it changed)."""
        key = self.spec.key(obj)
        rv = _version(resource_version(obj))
        current = self.versions.get(key)
        if current is not None and not _newer(rv, current):
            return False
        self.items[key] = self.spec.parse(obj)
        self.versions[key] = rv
        self._on_change(self, {key})
        return True

    # -- the loop -------------------------------------------------------------------------------

    async def run(self) -> None:
        need_list = True
        gone_in_a_row = 0
        while True:
            try:
                if need_list:
                    await self._list()
                    if not self.settings.follow:
                        return  # one answer, no watch: the store stays as listed
                    need_list = self.spec.poll is not None
                if self.spec.poll is not None:
                    await self._sleep(self.spec.poll * random.uniform(0.9, 1.1))
                    continue
                if self._watch_gate is not None and not self._watch_gate.is_set():
                    await self._watch_gate.wait()
                await self._watch()
                gone_in_a_row = 0
            except Gone:
                need_list = True
                gone_in_a_row += 1
                if gone_in_a_row > 1:  # expired again right after a relist: do not spin
                    await self._sleep(self.backoff.next_delay())
            except KubeError as exc:
                if exc.kind == "gone":
                    need_list = True
                    continue
                self._failed(exc)
                await self._sleep(self.backoff.next_delay())
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug or a malformed answer: report it, keep going
                log.exception("%s %s: unexpected failure", self.client.context, self.spec.name)
                self._failed(from_exception(exc, connect_timeout=0, read_timeout=0))
                await self._sleep(self.backoff.next_delay())

    async def _sleep(self, delay: float) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), delay)

    def _healthy(self) -> None:
        self.last_ok = time.time()
        if self.error is not None or self.failing_since is not None:
            self.error = None
            self.failing_since = None
            self._on_state(self)

    def _failed(self, error: KubeError) -> None:
        # Kept until the next success: without its traceback, which holds the failed request's
        # frames and so what it had read (up to a whole answer).
        error = error.with_traceback(None)
        changed = self.error is None or str(self.error) != str(error)
        if self.failing_since is None:
            self.failing_since = time.time()
        self.error = error
        if changed:
            log.info("%s %s: %s", self.client.context, self.spec.name, error)
            self._on_state(self)

    async def _list(self) -> None:
        spec = self.spec
        items: dict[Key, Any] = {}
        versions: dict[Key, int | str] = {}
        query_base = spec.selectors()
        settings = self.settings
        cont = ""
        list_rv = ""
        tokens: set[int] = set()
        pages = 0
        received = 0
        while True:
            query = [*query_base, ("limit", str(settings.page_size))]
            if cont:
                query.append(("continue", cont))
            async with self._list_gate:
                data = await self.client.request("GET", spec.path, action=spec.action("list"), query=query)
            pages += 1
            received += len(data)
            before = len(items)
            with gc_paused():
                if self.codec is not None:
                    page = _decode_page(data, spec, self.codec)
                    del data
                    self._ingest_wire(page.items or (), self.codec, items, versions)
                    list_meta = wire.list_meta(page)
                    page_rv, page_continue = list_meta.resource_version, list_meta.continue_
                    del page  # free the decoded page before the collector may run again
                else:
                    doc = _loads(data, spec)
                    del data
                    self._ingest_page(doc, items, versions)
                    metadata = doc.get("metadata") or {}
                    del doc
                    if not isinstance(metadata, dict):
                        raise KubeError(f"unexpected answer listing {spec.plural}", kind="invalid")
                    page_rv, page_continue = metadata.get("resourceVersion"), metadata.get("continue")
            list_rv = str(page_rv or list_rv)
            cont = str(page_continue or "")
            if not cont:
                break
            # A server that never ends a list must not grow memory or spin a core without end.
            if hash(cont) in tokens:
                raise KubeError(
                    f"list of {spec.plural} did not end: the server repeated a continue token", kind="invalid"
                )
            tokens.add(hash(cont))
            if len(items) > settings.max_items:
                raise KubeError(
                    f"list of {spec.plural} has more than {settings.max_items:,} objects", kind="invalid"
                )
            if received > settings.max_list_bytes:
                raise KubeError(
                    f"list of {spec.plural} is larger than {size_text(settings.max_list_bytes)}",
                    kind="invalid",
                )
            if pages >= settings.max_pages:
                raise KubeError(f"list of {spec.plural} did not end after {pages} pages", kind="invalid")
            if len(items) - before < settings.page_size // 2:
                await asyncio.sleep(settings.misbehaving_pause)
        old = self.items
        changed = set(old.keys() - items.keys())
        for key, value in items.items():
            if old.get(key) is not value:
                changed.add(key)
        self.items = items
        self.versions = versions
        self.resource_version = list_rv
        self.lists += 1
        first = not self.synced
        self.synced = True
        self._healthy()
        if changed or first:
            self._on_change(self, changed)
        if first:
            self._on_state(self)

    def _ingest_page(
        self, doc: Mapping[str, Any], items: dict[Key, Any], versions: dict[Key, int | str]
    ) -> None:
        old_items = self.items
        old_versions = self.versions
        parse = self.spec.parse
        key_of = self.spec.key
        by_namespace = key_of is object_key  # inlined below: 250,000 objects at 64 clusters
        intern = sys.intern
        for obj in doc.get("items") or ():
            metadata = obj.get("metadata") or _NO_METADATA
            if by_namespace:
                key = (intern(metadata.get("namespace") or ""), metadata.get("name") or "")
            else:
                key = key_of(obj)
            rv = _version(metadata.get("resourceVersion"))
            if rv and old_versions and old_versions.get(key) == rv:
                items[key] = old_items[key]  # unchanged: not parsed again, same object
            else:
                items[key] = parse(obj)
            versions[key] = rv

    def _ingest_wire(
        self, objects: list[Any], codec: wire.Codec, items: dict[Key, Any], versions: dict[Key, int | str]
    ) -> None:
        """:meth:`_ingest_page` of a page of structs (the same keys, versions and reuse)."""
        old_items = self.items
        old_versions = self.versions
        read = codec.read
        by_name = self.spec.cluster_scoped
        shared = self.spec.shared_keys
        intern = sys.intern
        for obj in objects:
            metadata = obj.metadata or wire.NO_META
            name = metadata.name or ""
            if by_name:
                key = name
            elif shared:
                key = service_key(metadata.namespace or "", name)
            else:
                key = (intern(metadata.namespace or ""), name)
            rv = metadata.resource_version
            if rv is not None and len(rv) < 19 and rv.isdigit() and rv.isascii():
                rv = int(rv)  # inlined _version(): 250,000 objects at 64 clusters
            else:
                rv = _version(rv)
            if rv and old_versions and old_versions.get(key) == rv:
                items[key] = old_items[key]  # unchanged: not parsed again, same object
            else:
                items[key] = read(obj)
            versions[key] = rv

    async def _watch(self) -> None:
        spec = self.spec
        timeout_seconds = int(self.settings.timeout * (1 + random.random() * 0.5))
        query = [
            *spec.selectors(),
            ("watch", "true"),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", str(timeout_seconds)),
        ]
        if self.resource_version:
            query.append(("resourceVersion", self.resource_version))
        timeouts = self.client.timeouts
        started = time.monotonic()
        try:
            async with self.client.stream(
                spec.path,
                action=spec.action("watch"),
                query=query,
                read_timeout=timeout_seconds + timeouts.read,
                total=timeout_seconds + timeouts.read + timeouts.connect,
            ) as response:
                self.watches += 1
                self._healthy()
                await self._read_events(response.content)
        except (Gone, KubeError):
            raise
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # The stream broke after it was established: resume at once unless it keeps breaking.
            if time.monotonic() - started < self.settings.min_stream:
                raise from_exception(
                    exc, connect_timeout=timeouts.connect, read_timeout=timeouts.read
                ) from None

    async def _read_events(self, content: Any) -> None:
        limit = min(MAX_LINE, getattr(self.client.timeouts, "max_body", MAX_LINE))
        buffer = bytearray()
        async for chunk in content.iter_any():
            buffer += chunk
            if b"\n" not in chunk:
                if len(buffer) > limit:
                    raise KubeError(
                        f"watch event of {self.spec.name} larger than {size_text(limit)}", kind="invalid"
                    )
                continue
            lines = buffer.split(b"\n")
            buffer = lines.pop()
            changed: set[Key] = set()
            try:
                with gc_paused():
                    for line in lines:
                        if line.strip():
                            self._event(line, changed)
            finally:
                if changed:
                    self._on_change(self, changed)
        if buffer.strip():
            changed = set()
            self._event(buffer, changed)
            if changed:
                self._on_change(self, changed)

    def _event(self, line: bytes | bytearray, changed: set[Key]) -> None:
        codec = self.codec
        if codec is None:
            kind, key, rv, obj = self._json_event(line)
        else:
            kind, key, rv, obj = self._wire_event(line, codec)
        if kind == "BOOKMARK":
            if rv:
                self.resource_version = rv
            return
        if kind == "DELETED":
            self.versions.pop(key, None)
            if self.items.pop(key, None) is not None:
                changed.add(key)
        elif kind in ("ADDED", "MODIFIED"):
            version = _version(rv)
            if key not in self.items or self.versions.get(key) != version or not rv:
                self.items[key] = self.spec.parse(obj) if codec is None else codec.read(obj)
                self.versions[key] = version
                changed.add(key)
        if rv:
            self.resource_version = rv

    def _json_event(self, line: bytes | bytearray) -> tuple[str, Key, str, Any]:
        """(type, key, resourceVersion, object) of an event decoded by ``json``."""
        try:
            event = json.loads(line)
            kind = event["type"]
            obj = event["object"]
        except (ValueError, KeyError, TypeError, RecursionError):
            raise KubeError(f"malformed watch event for {self.spec.name}", kind="invalid") from None
        if kind == "ERROR":
            code = obj.get("code") if isinstance(obj, dict) else None
            message = obj.get("message", "") if isinstance(obj, dict) else ""
            raise _watch_error(code, message)
        if not isinstance(obj, dict):
            raise KubeError(f"malformed watch event for {self.spec.name}", kind="invalid")
        metadata = obj.get("metadata") or {}
        rv = str(metadata.get("resourceVersion") or "")
        return kind, (None if kind == "BOOKMARK" else self.spec.key(obj)), rv, obj

    def _wire_event(self, line: bytes | bytearray, codec: wire.Codec) -> tuple[str, Key, str, Any]:
        """(type, key, resourceVersion, struct) of an event decoded by msgspec."""
        try:
            event = wire.EVENT_DECODER.decode(line)
            kind, raw = event.type, event.object
            if kind is None or not raw:
                raise KubeError(f"malformed watch event for {self.spec.name}", kind="invalid")
            if kind == "ERROR":
                status = wire.STATUS_DECODER.decode(raw)
                raise _watch_error(status.code, status.message or "")
            obj = codec.object_decoder.decode(raw)
        except msgspec.ValidationError as exc:
            raise KubeError(f"malformed watch event for {self.spec.name}: {exc}", kind="invalid") from None
        except (msgspec.DecodeError, RecursionError):
            raise KubeError(f"malformed watch event for {self.spec.name}", kind="invalid") from None
        metadata = obj.metadata or wire.NO_META
        rv = metadata.resource_version or ""
        if self.spec.cluster_scoped:
            key: Key = metadata.name or ""
        elif self.spec.shared_keys:
            key = service_key(metadata.namespace or "", metadata.name or "")
        else:
            key = (sys.intern(metadata.namespace or ""), metadata.name or "")
        return kind, key, rv, obj


def _watch_error(code: Any, message: Any) -> Exception:
    """An ``ERROR`` event: :class:`Gone` for 410 (relist), else the server's status."""
    if code == 410:
        return Gone()
    status = code if isinstance(code, int) else None
    return KubeError(f"watch error {code}: {message}", kind="http", status=status)


def _decode_page(data: bytes, spec: ResourceSpec, codec: wire.Codec) -> wire.WireList[Any]:
    """One page of a list decoded into ``codec``'s structs; a bad answer is a clear error."""
    try:
        return codec.list_decoder.decode(data)
    except msgspec.ValidationError as exc:
        raise KubeError(f"unexpected answer listing {spec.plural}: {exc}", kind="invalid") from None
    except (msgspec.DecodeError, RecursionError):
        raise not_json(data, f"listing {spec.plural}") from None


def _loads(data: bytes, spec: ResourceSpec) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        raise not_json(data, f"listing {spec.plural}") from None
    if not isinstance(doc, dict):
        raise KubeError(f"unexpected answer listing {spec.plural}", kind="invalid")
    return doc


def _version(rv: Any) -> int | str:
    """A resourceVersion as stored: an int when it is one (28 bytes instead of ~50)."""
    if isinstance(rv, str) and len(rv) < 19 and rv.isdigit() and rv.isascii():  # not "²": no int
        return int(rv)
    return "" if rv is None else str(rv)


def _newer(candidate: int | str, current: int | str) -> bool:
    """Resource versions are opaque, but numeric in practice: compare them as numbers if they are."""
    if candidate == current:
        return False
    if isinstance(candidate, int) and isinstance(current, int):
        return candidate > current
    return True
