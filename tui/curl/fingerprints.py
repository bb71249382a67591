"""Who answered: each backend's answer learned by curling its pod IP directly.

Through the service, Cilium hides the backend (with socket load-balancing ``%{remote_ip}`` is
the ClusterIP). So, like an operator would, we ask every backend pod once by its own
IP:targetPort from a client pod and remember what it said:

* apps whose answer differs per pod (userlist makes up its users at start) identify the pod,
  hence its cluster;
* apps whose answer names the cluster (Cilium's rebel-base: ``"Cluster": "Cluster-2"``) say the
  same for every pod of a cluster: the answer identifies the cluster (pod unknown), and the
  ``Cluster`` field alone is mapped too, so a body that varies elsewhere still matches;
* an answer given by pods of several clusters identifies nothing (``ambiguous``).

Answers no probe gave are "unknown" and keep their body. The map is relearned when the
service's backends change (:func:`backend_signature`) and, at most every so often, when unknown
answers arrive. A relearned map keeps what it knew of backends that left the endpoints until
they are gone from the answers (:data:`RETAIN` seconds after their last answer): a pod
terminating during a scale-down leaves the endpoints at once but still answers for a while
(connections draining, a dataplane that lags), and those answers are its, not unknown.

Probes run as one exec per client pod (:func:`probe_backends`), each backend preferably from a
client in its own cluster, where its pod IP is always reachable.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from tui.curl.frames import FrameParser, RawAnswer
from tui.curl.script import new_nonce, probe_script
from tui.curl.target import CurlTarget
from tui.mesh.model import Backend, MeshSnapshot
from tui.source import PodExec

LABEL_WIDTH = 40
MAX_PROBES = 256
"""Backends probed per learning run (a service with more is identified for these only)."""
_LABEL_KEYS = ("name", "Cluster", "cluster", "hostname", "pod", "podName", "message")
_MISS_CACHE = 512
RETAIN = 30.0
"""Seconds a backend that left the map is still recognised after its last answer."""
MAX_KEPT = 4 * MAX_PROBES
T = TypeVar("T")


def short_label(body: str, width: int = LABEL_WIDTH) -> str:
    """What the log shows of a body: a JSON user's name, rebel-base's cluster, else its start."""
    text = body.strip()
    if not text:
        return ""
    if text[0] == "{" and len(text) <= 4096:
        try:
            doc = json.loads(text)
        except ValueError:
            doc = None
        if isinstance(doc, dict):
            for key in _LABEL_KEYS:
                value = doc.get(key)
                if isinstance(value, str) and value:
                    return _cut(value, width)
    first = " ".join(text.split())
    return _cut(first, width)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def cluster_field(body: str) -> str | None:
    """The value of a top-level ``Cluster``/``cluster`` string field of a JSON body."""
    text = body.strip()
    if not text.startswith("{") or ("Cluster" not in text and "cluster" not in text) or len(text) > 4096:
        return None
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    value = doc.get("Cluster", doc.get("cluster"))
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True, slots=True)
class Identity:
    """Who gave an answer: a cluster (``None`` = unknown) and, when the answer says, the pod."""

    cluster: str | None
    pod: str = ""
    label: str = ""


@dataclass(frozen=True, slots=True)
class FingerprintRow:
    """One backend probed: what it answered and what that answer identifies."""

    cluster: str
    pod: str
    address: str
    label: str
    identifies: str = "pod"
    """``pod``, ``cluster`` (shared by pods of one cluster), ``ambiguous`` or ``error``."""
    error: str = ""
    via: str = ""
    """The client pod (context/pod) that probed it."""

    def to_json(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "pod": self.pod,
            "address": self.address,
            "answer": self.label,
            "identifies": self.identifies,
            "error": self.error or None,
            "via": self.via,
        }


class Fingerprints:
    """The learned map: answer → pod → cluster (mutated only on the session's loop)."""

    def __init__(self, *, retain: float = RETAIN, clock: Callable[[], float] = time.time) -> None:
        self.retain = retain
        self.clock = clock
        """Wall-clock seconds (a test hands a fake): when a kept backend last answered."""
        self.rows: tuple[FingerprintRow, ...] = ()
        self.learned_at: float | None = None
        self.generation = 0
        self.signature: frozenset[tuple[str, str, str, int]] | None = None
        self._by_body: dict[str, Identity] = {}
        self._by_field: dict[str, str] = {}
        self._misses: dict[str, str] = {}
        self._kept: dict[str, tuple[Identity, float]] = {}
        """Body → (who gave it, last seen) of backends no longer in the map (see the module)."""
        self._kept_fields: dict[str, tuple[str, float]] = {}

    def __len__(self) -> int:
        return len(self.rows)

    def learn(
        self,
        probed: Sequence[tuple[Backend, RawAnswer | None, str]],
        *,
        signature: frozenset[tuple[str, str, str, int]] | None = None,
        now: float | None = None,
    ) -> None:
        """Replace the map with what the backends answered: ``(backend, answer or None, via)``."""
        owners: dict[str, set[tuple[str, str]]] = {}
        field_owners: dict[str, set[str]] = {}
        good: list[tuple[Backend, str, str]] = []
        rows: list[FingerprintRow] = []
        for backend, raw, via in probed:
            # No HTTP answer, or a server error page (often the same for every pod): not learned.
            if raw is None or raw.code == 0 or raw.code >= 500:
                error = "no answer" if raw is None else (raw.error_kind or "no answer")
                if raw is not None and raw.message:
                    error = f"{error}: {raw.message}"
                rows.append(
                    FingerprintRow(backend.cluster, backend.pod, backend.address, "", "error", error, via)
                )
                continue
            key = raw.body.strip()
            owners.setdefault(key, set()).add((backend.cluster, backend.pod))
            value = cluster_field(raw.body)
            if value is not None:
                field_owners.setdefault(value, set()).add(backend.cluster)
            good.append((backend, key, via))
        by_body: dict[str, Identity] = {}
        for key, who in owners.items():
            clusters = {c for c, _ in who}
            if len(clusters) != 1:
                continue
            cluster = next(iter(clusters))
            pod = next(iter(who))[1] if len(who) == 1 else ""
            by_body[key] = Identity(cluster, pod, short_label(key))
        for backend, key, via in good:
            hit = by_body.get(key)
            identifies = "ambiguous" if hit is None else ("pod" if hit.pod else "cluster")
            rows.append(
                FingerprintRow(
                    backend.cluster, backend.pod, backend.address, short_label(key), identifies, "", via
                )
            )
        by_field = {v: next(iter(c)) for v, c in field_owners.items() if len(c) == 1}
        self._keep(owners, field_owners, self.clock() if now is None else now)
        self._by_body = by_body
        self._by_field = by_field
        self._misses = {}
        self.rows = tuple(sorted(rows, key=lambda r: (r.cluster, r.pod, r.address)))
        self.learned_at = time.time() if now is None else now
        self.signature = signature
        self.generation += 1

    def _keep(
        self, owners: dict[str, set[tuple[str, str]]], field_owners: dict[str, set[str]], now: float
    ) -> None:
        """Carry over what the old map knew of backends the new probes did not hear: from now on
        each is kept until it has been silent for :attr:`retain` seconds. A body (or Cluster
        field) some new probe gave belongs to the new map, whatever was kept for it."""
        self._kept = _carried(self._kept, self._by_body, owners, now, self.retain)
        self._kept_fields = _carried(self._kept_fields, self._by_field, field_owners, now, self.retain)

    def _kept_identity(self, key: str) -> Identity | None:
        """A kept backend's identity while it still answers (each answer renews it)."""
        if not self._kept and not self._kept_fields:
            return None
        now = self.clock()
        entry = self._kept.get(key)
        if entry is not None:
            who, seen = entry
            if now - seen < self.retain:
                self._kept[key] = (who, now)
                return who
            del self._kept[key]
        if self._kept_fields:
            value = cluster_field(key)
            field = self._kept_fields.get(value) if value is not None else None
            if field is not None and value is not None:
                cluster, seen = field
                if now - seen < self.retain:
                    self._kept_fields[value] = (cluster, now)
                    return Identity(cluster, "", short_label(key))
                del self._kept_fields[value]
        return None

    def identify(self, body: str) -> Identity:
        """Who gave ``body`` (cluster ``None`` when no probe answered like this)."""
        key = body.strip()
        hit = self._by_body.get(key)
        if hit is not None:
            return hit
        label = self._misses.get(key)  # never a kept body: those are found, not missed
        if label is not None:
            return Identity(None, "", label)
        if self._by_field:
            value = cluster_field(key)
            cluster = self._by_field.get(value) if value is not None else None
            if cluster is not None:
                found = Identity(cluster, "", short_label(key))
                if len(self._by_body) < 4 * MAX_PROBES:
                    self._by_body[key] = found
                return found
        kept = self._kept_identity(key)
        if kept is not None:
            return kept
        label = short_label(key)
        if len(self._misses) >= _MISS_CACHE:
            self._misses.clear()
        self._misses[key] = label
        return Identity(None, "", label)

    @property
    def kept(self) -> list[tuple[Identity, float]]:
        """Backends that left the map but answered within :attr:`retain` s: (who, last seen)."""
        now = self.clock()
        return [(who, seen) for who, seen in self._kept.values() if now - seen < self.retain]

    def to_json(self) -> dict[str, Any]:
        return {
            "learned_at": self.learned_at,
            "backends": [row.to_json() for row in self.rows],
            "cluster_field": dict(self._by_field),
            "kept": [
                {
                    "cluster": who.cluster,
                    "pod": who.pod or None,
                    "answer": who.label,
                    "last_seen": round(seen, 3),
                }
                for who, seen in self.kept
            ],
        }


def _carried(
    kept: dict[str, tuple[T, float]],
    old: dict[str, T],
    heard: Container[str],
    now: float,
    retain: float,
) -> dict[str, tuple[T, float]]:
    """What stays kept after a learning: the kept entries still fresh and the old map's entries,
    less any key a new probe ``heard`` (the newest :data:`MAX_KEPT`)."""
    out = {
        key: (value, seen) for key, (value, seen) in kept.items() if key not in heard and now - seen < retain
    }
    for key, value in old.items():
        if key not in heard:
            out[key] = (value, now)
    return dict(list(out.items())[-MAX_KEPT:])


def target_backends(snapshot: MeshSnapshot, target: CurlTarget) -> list[Backend]:
    """Active backends of the target's service on its port, in every cluster with usable data."""
    out: list[Backend] = []
    seen: set[tuple[str, str]] = set()
    for state in snapshot.clusters:
        if not state.usable:
            continue
        service = state.services.get(target.key)
        if service is None:
            continue
        wanted: int | None = None
        for port in service.ports:
            if port.port == target.port:
                wanted = port.target_port if isinstance(port.target_port, int) else None
                if port.target_port is None:
                    wanted = port.port
                break
        chosen = [b for b in service.backends if b.active and (wanted is None or b.port == wanted)]
        if not chosen and wanted is not None:
            chosen = [b for b in service.backends if b.active]
        for backend in chosen:
            if (backend.cluster, backend.ip) in seen:
                continue
            seen.add((backend.cluster, backend.ip))
            out.append(backend)
    return out[:MAX_PROBES]


def backend_signature(backends: Iterable[Backend]) -> frozenset[tuple[str, str, str, int]]:
    """What, when it changes, means the map must be learned again."""
    return frozenset((b.cluster, b.pod, b.ip, b.port) for b in backends)


@dataclass(frozen=True, slots=True)
class ProbeClient:
    """A client pod that probes: where it runs and what it can reach."""

    context: str
    cluster: str
    namespace: str
    pod: str
    container: str | None = None


def plan_probes(
    backends: Sequence[Backend], clients: Sequence[ProbeClient]
) -> list[tuple[ProbeClient, list[Backend]]]:
    """Each backend from a client of its own cluster when there is one, else from the first client."""
    if not clients:
        return []
    by_cluster = {c.cluster: c for c in clients}
    plan: dict[ProbeClient, list[Backend]] = {}
    for backend in backends:
        client = by_cluster.get(backend.cluster, clients[0])
        plan.setdefault(client, []).append(backend)
    return list(plan.items())


async def probe_backends(
    source: PodExec,
    plan: Sequence[tuple[ProbeClient, Sequence[Backend]]],
    path: str,
    *,
    timeout: float = 2.0,
) -> list[tuple[Backend, RawAnswer | None, str]]:
    """Run each client's probes in one exec; ``(backend, answer or None, via)`` per backend."""
    import asyncio

    async def one(
        client: ProbeClient, backends: Sequence[Backend]
    ) -> list[tuple[Backend, RawAnswer | None, str]]:
        nonce = new_nonce()
        script = probe_script([(b.ip, b.port) for b in backends], path, nonce, timeout=timeout)
        via = f"{client.context}/{client.pod}"
        answers: dict[int, RawAnswer] = {}
        try:
            result = await source.exec(
                client.context,
                client.namespace,
                client.pod,
                ["sh", "-c", script],
                container=client.container,
                timeout=len(backends) * (timeout + 0.5) + 5.0,
            )
            parser = FrameParser(nonce)
            now = time.time()
            text = result.stdout.decode("utf-8", "replace") if isinstance(result.stdout, bytes) else ""
            for line in text.split("\n"):
                raw = parser.feed(line.rstrip("\r"), now)
                if raw is not None:
                    answers[raw.seq] = raw
            last = parser.finish(now)
            if last is not None:
                answers[last.seq] = last
        except Exception:  # a failed probe leaves its backends unlearned, never breaks the loops
            answers = {}
        return [(b, answers.get(i), via) for i, b in enumerate(backends, start=1)]

    results = await asyncio.gather(*(one(client, list(backends)) for client, backends in plan if backends))
    return [item for group in results for item in group]
