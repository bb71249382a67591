"""The agent's own backend list, ``cilium service list -o json`` (ARCHITECTURE.md Cilium §4).

The one parser of it: the Backends pane and ``meshtui backends`` put its backends beside the
computed selection (:mod:`tui.views.backends`). A list of ``{"spec": S, "status": {"realized":
S}}`` where S has ``id``, ``frontend-address`` {ip, port, protocol, scope}, ``backend-addresses``
[{ip, port, nodeName, state, preferred, weight}] and ``flags`` {type, name, namespace, cluster,
...}. The realized part is what the datapath has; the spec is used when it is missing. Fields
are omitempty: an absent ``preferred`` is false, an absent ``state`` is ``active``. Anything
else (not a list, an entry that is not a mapping, a backend without an IP) is skipped.

The agent gives no cluster per backend: the views map backend IPs to clusters through the
selection's own backends (each cluster's EndpointSlices). A 1.14–1.17 agent lists every backend
and marks the affinity side ``preferred``; a 1.18+ agent lists only the backends it selected and
marks them all preferred (cilium/cilium#43681).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tui.mesh.model import ServiceKey


@dataclass(frozen=True, slots=True)
class AgentBackend:
    ip: str
    port: int
    state: str = "active"
    """active | terminating | quarantined | maintenance."""
    preferred: bool = False
    weight: int | None = None
    node: str = ""


@dataclass(frozen=True, slots=True)
class AgentFrontend:
    """One frontend of ``cilium service list`` with its backends."""

    id: int | None
    ip: str
    port: int
    type: str = ""
    protocol: str = ""
    namespace: str = ""
    name: str = ""
    cluster: str = ""
    backends: tuple[AgentBackend, ...] = ()


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _parse_spec(spec: Mapping[str, Any]) -> AgentFrontend:
    frontend = spec.get("frontend-address")
    if not isinstance(frontend, Mapping):
        frontend = {}  # its backends still count for the service its flags name
    flags = spec.get("flags") if isinstance(spec.get("flags"), Mapping) else {}
    backends = []
    for item in spec.get("backend-addresses") or ():
        if not isinstance(item, Mapping) or not item.get("ip"):
            continue
        backends.append(
            AgentBackend(
                ip=str(item["ip"]),
                port=_int(item.get("port")) or 0,
                state=str(item.get("state") or "active"),
                preferred=bool(item.get("preferred")),
                weight=_int(item.get("weight")),
                node=str(item.get("nodeName") or ""),
            )
        )
    return AgentFrontend(
        id=_int(spec.get("id")),
        ip=str(frontend.get("ip") or ""),
        port=_int(frontend.get("port")) or 0,
        type=str(flags.get("type") or ""),
        protocol=str(frontend.get("protocol") or ""),
        namespace=str(flags.get("namespace") or ""),
        name=str(flags.get("name") or ""),
        cluster=str(flags.get("cluster") or ""),
        backends=tuple(backends),
    )


def parse_service_list_json(document: Any) -> tuple[AgentFrontend, ...]:
    """Frontends of ``cilium service list -o json`` (unreadable entries are skipped)."""
    out: list[AgentFrontend] = []
    for entry in document if isinstance(document, list) else ():
        if not isinstance(entry, Mapping):
            continue
        status = entry.get("status")
        realized = status.get("realized") if isinstance(status, Mapping) else None
        spec = realized if isinstance(realized, Mapping) else entry.get("spec")
        if isinstance(spec, Mapping):
            out.append(_parse_spec(spec))
    return tuple(out)


def backends_of(document: object, key: ServiceKey) -> list[AgentBackend] | None:
    """The backends the agent lists for service ``key`` (by the name its frontends carry), over
    every frontend of it (one per port, ClusterIP and others), de-duplicated by ``ip:port``;
    ``None`` when there is no document."""
    if document is None:
        return None
    seen: dict[tuple[str, int], AgentBackend] = {}
    for frontend in parse_service_list_json(document):
        if (frontend.namespace, frontend.name) != key:
            continue
        for backend in frontend.backends:
            seen.setdefault((backend.ip, backend.port), backend)
    return list(seen.values())
