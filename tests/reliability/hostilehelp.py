"""Hostile payloads and what the screen must (not) show: shared by the hostile-input tests.

:data:`PAYLOAD` carries Textual/Rich markup that crashes a markup parser (``[/]``) or restyles
text (``[bold red]``), a clear-screen CSI, OSC 0 (window title), OSC 52 (clipboard), an OSC 8
hyperlink, BEL, CR, an 8-bit CSI (``0x9b``) and a right-to-left override. A cluster puts it in
every field meshtui draws; the tests then look for the literal, sanitized text on screen and
for any raw control character in what would reach the terminal.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from kubehelp import sim_patch
from meshmodels import SEED_TIME, agent_document, remote_status, seed_snapshot
from simapp import sim_objects

from tui.mesh.model import AgentStatus, ClusterState, MeshSnapshot, frozen_map
from tui.safetext import safe_line
from tui.sim.apps import ANNOTATION_RESPONSE
from tui.sim.mesh import SimThread

PAYLOAD = (
    "x[/][bold red]R"
    "\x1b[2J"  # clear the screen
    "\x1b]0;pwned\x07"  # window title
    "\x1b]52;c;cHduZWQ=\x07"  # clipboard
    "\x1b]8;;http://evil.example\x07L\x1b]8;;\x07"  # hyperlink
    "\x07\r\x9b2J\u202eZ"  # BEL, CR, C1 CSI, right-to-left override
)
SHOWN = safe_line(PAYLOAD)
"""How the payload reads on one line once sanitized (``x[/][bold red]R␛[2J␛]0;pwned␇…``)."""
MARKUP = "x[/][bold red]R"
"""The payload's first characters: literal markup, which must be on screen as typed."""
MARKUP_WORD = "x[/][bold"
"""The part of :data:`MARKUP` a wrapped line never splits (it has no space)."""
CLEAR = "␛[2J"
"""The clear-screen sequence, shown as a placeholder."""

RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
"""Any control character but the newline (and the bidi overrides): nothing of this may be
in text on its way to the terminal."""


def evil(prefix: str) -> str:
    return f"{prefix}{PAYLOAD}"


def hostile_snapshot() -> MeshSnapshot:
    """The seed mesh with the payload in every field the panes draw.

    cluster2's Cilium ``cluster-name``, its Cilium version, its userlist pod's name and its
    ``affinity`` annotation value; cluster1's agents naming that remote with an error text; a
    third context unreachable with the payload as reason; a kubeconfig error.
    """
    base = seed_snapshot()
    c1, c2 = base.clusters
    name2 = evil("cluster2")
    # cluster2 under its hostile name, with a hostile pod and annotation value
    services = {}
    for key, service in c2.services.items():
        backends = tuple(
            dataclasses.replace(
                b, cluster=name2, pod=evil("userlist-") if b.pod.startswith("userlist") else b.pod
            )
            for b in service.backends
        )
        annotations = dict(service.annotations)
        if key == ("song", "userlist-svc"):
            annotations["service.cilium.io/affinity"] = PAYLOAD
        services[key] = dataclasses.replace(service, backends=backends, annotations=frozen_map(annotations))
    c2 = dataclasses.replace(
        c2,
        cilium=dataclasses.replace(c2.cilium, cluster_name=name2, version=evil("1.14.1")),
        services=frozen_map(services),
    )
    # cluster1's agent: the remote under its hostile name, not connected, with an error text
    lost = remote_status(name2, 2, connected=False)
    lost["status"] = evil("etcd: 0/1 connected: ")
    agent = c1.cilium.agents[0]
    agents = (
        dataclasses.replace(agent, status=agent_document([lost])),
        AgentStatus(pod=evil("cilium-"), node="bastion02", pod_ready=True, error=evil("exec failed: ")),
    )
    c1 = dataclasses.replace(
        c1,
        cilium=dataclasses.replace(c1.cilium, agents=agents, clustermesh_secret_remotes=(name2,)),
    )
    c3 = ClusterState(context="bastion04", phase="unreachable", since=SEED_TIME - 5, reason=evil("reason: "))
    return MeshSnapshot(
        clusters=(c1, c2, c3),
        generation=base.generation + 1,
        taken_at=SEED_TIME,
        config_errors=(evil("kubeconfig: "),),
    )


def raw_controls(text: str) -> list[str]:
    """The raw control characters in ``text`` (``repr``'d, for a readable failure)."""
    return sorted({repr(m.group(0)) for m in RAW_CONTROL.finditer(text)})


def strip_sgr(text: str) -> str:
    """``text`` without the SGR colour sequences a terminal console adds (``ESC[1;31m``)."""
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def rendered(*values: Any) -> str:
    return "\n".join(str(v) for v in values)


def hostile_cluster(sim: SimThread) -> None:
    """bastion03 says its Cilium cluster is called PAYLOAD, annotates with it, answers with it."""
    sim_patch(
        sim, "bastion03", "configmaps", "kube-system", "cilium-config", {"data": {"cluster-name": PAYLOAD}}
    )
    sim_patch(
        sim,
        "bastion03",
        "services",
        "song",
        "userlist-svc",
        {"metadata": {"annotations": {"note.example/evil": PAYLOAD, "service.cilium.io/affinity": PAYLOAD}}},
    )
    for pod in sim_objects(sim, "bastion03", "pods", "song"):
        if pod["metadata"].get("labels", {}).get("app") == "userlist":
            body = {"metadata": {"annotations": {ANNOTATION_RESPONSE: f"{PAYLOAD}\n"}}}
            sim_patch(sim, "bastion03", "pods", "song", pod["metadata"]["name"], body)
