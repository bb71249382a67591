"""Reading the Cilium agent's output the way a person (or cilium-cli) does: a test oracle.

The product reads only ``cilium service list -o json`` (:mod:`tui.mesh.agentlist`). The tests
also check the simulator's *text* output (``--clustermesh-affinity``, what the field guide's
step 7 shows) and real agents' text shapes, and compare an agent's listing with the expected
selection independently of the views (:func:`compare_with_selection`):

* the text of ``--clustermesh-affinity``: ``ID  Frontend  Service Type  Backend`` with backend
  lines ``N => 10.0.0.239:8181 (active) (preferred)`` (a ``/TCP`` suffix, as newer agents print
  it, is accepted). The text carries no service name: frontends are matched by address
  (:func:`frontends_of`).
* A 1.14–1.17 agent lists every backend and marks the affinity side ``(preferred)``; a 1.18+
  agent lists only the backends it selected and marks them all preferred, so there the
  comparison is "is it listed" rather than "is it preferred" (cilium/cilium#43681).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tui.mesh.agentlist import AgentBackend, AgentFrontend
from tui.mesh.model import Service
from tui.mesh.selection import Selection

_ADDRESS = r"(\[[0-9a-fA-F:.]+\]|[0-9.]+|[0-9a-fA-F:]+):(\d+)(?:/[A-Za-z]+)?"
_FRONTEND_LINE = re.compile(rf"^\s*(\d+)\s+{_ADDRESS}\s+(.*?)\s*$")
_BACKEND = re.compile(rf"(\d+)\s+=>\s+{_ADDRESS}\s+\(([a-z-]+)\)(\s+\(preferred\))?")


def parse_service_list_text(text: str) -> tuple[AgentFrontend, ...]:
    """Frontends of ``cilium service list --clustermesh-affinity`` (text form)."""
    frontends: list[AgentFrontend] = []
    current: dict[str, Any] | None = None

    def flush() -> None:
        if current is not None:
            frontends.append(AgentFrontend(**current))

    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("ID "):
            continue
        match = _FRONTEND_LINE.match(line)
        rest = line
        if match is not None and "=>" not in line.split()[1]:
            flush()
            service_type = _BACKEND.split(match.group(4), maxsplit=1)[0].strip()
            current = {
                "id": int(match.group(1)),
                "ip": match.group(2).strip("[]"),
                "port": int(match.group(3)),
                "type": service_type,
                "backends": (),
            }
            rest = match.group(4)
        found = _BACKEND.search(rest)
        if found is not None and current is not None:
            backend = AgentBackend(
                ip=found.group(2).strip("[]"),
                port=int(found.group(3)),
                state=found.group(4),
                preferred=bool(found.group(5)),
            )
            current["backends"] = (*current["backends"], backend)
    flush()
    return tuple(frontends)


def frontends_of(frontends: Iterable[AgentFrontend], service: Service) -> tuple[AgentFrontend, ...]:
    """The frontends that belong to ``service``: by name when the agent gave it, else by
    ClusterIP and port."""
    ports = {p.port for p in service.ports}
    out = []
    for frontend in frontends:
        if frontend.name:
            if (frontend.namespace, frontend.name) == service.key and (not ports or frontend.port in ports):
                out.append(frontend)
        elif service.cluster_ip and frontend.ip == service.cluster_ip and frontend.port in ports:
            out.append(frontend)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class AgentRow:
    """One backend as the agent lists it next to what meshtui expects."""

    ip: str
    port: int
    cluster: str | None
    """Cluster owning the IP (``None``: not a backend meshtui knows)."""
    agent_state: str | None
    """The agent's state, ``None`` when the agent does not list it."""
    agent_preferred: bool
    expected_selected: bool | None
    """meshtui's expectation (``None`` for an unknown IP)."""
    expected_preferred: bool | None
    agrees: bool
    note: str = ""


def compare_with_selection(
    selection: Selection,
    backends: Sequence[AgentBackend],
    ip_clusters: Mapping[str, str] | None = None,
) -> tuple[AgentRow, ...]:
    """Put the agent's backends of one frontend next to the expected selection.

    For the 1.14–1.17 family the agent's ``(preferred)`` mark is compared with the expected
    mark and its listing with the merge; for 1.18+ only whether it lists exactly the backends
    of the side(s) ``SelectBackends`` chose (:attr:`BackendChoice.listed`; its marks say
    nothing, cilium/cilium#43681).
    """
    choices = {choice.backend.ip: choice for choice in selection.choices}
    owners = dict(ip_clusters or {})
    rows: list[AgentRow] = []
    seen: set[str] = set()
    modern = selection.family == "1.18+"
    for item in backends:
        seen.add(item.ip)
        choice = choices.get(item.ip)
        cluster = choice.cluster if choice is not None else owners.get(item.ip)
        if choice is None:
            rows.append(
                AgentRow(
                    item.ip,
                    item.port,
                    cluster,
                    item.state,
                    item.preferred,
                    None,
                    None,
                    False,
                    "not a backend meshtui knows for this service",
                )
            )
            continue
        if modern:
            agrees = choice.listed
            note = "" if agrees else "agent lists it, meshtui expects its side not chosen: " + choice.why
        else:
            agrees = choice.merged and item.preferred == choice.preferred
            note = ""
            if not choice.merged:
                note = "agent lists it, meshtui expects it excluded: " + choice.why
            elif item.preferred != choice.preferred:
                note = "preferred mark differs from the affinity"
        rows.append(
            AgentRow(
                item.ip,
                item.port,
                cluster,
                item.state,
                item.preferred,
                choice.selected,
                choice.preferred,
                agrees,
                note,
            )
        )
    for choice in selection.choices:
        if choice.backend.ip in seen:
            continue
        expected_listed = choice.listed
        rows.append(
            AgentRow(
                choice.backend.ip,
                choice.backend.port,
                choice.cluster,
                None,
                False,
                choice.selected,
                choice.preferred,
                not expected_listed,
                "meshtui expects the agent to list it" if expected_listed else "",
            )
        )
    return tuple(rows)
