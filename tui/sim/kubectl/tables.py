"""Server-side printing: ``meta.k8s.io/v1`` Tables with the columns ``kubectl get`` shows.

One :class:`Printer` per resource key (columns + a row function); unknown kinds get NAME/AGE.
Part 2 registers printers for its kinds with :func:`register_printer`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from tui.sim.selectors import selector_string
from tui.sim.store import Entry, parse_rfc3339

Row = list[Any]


def human_duration(seconds: float) -> str:
    """kubectl's ``duration.HumanDuration`` (``5m``, ``3h12m``, ``12d``)."""
    if seconds < -1:
        return "<invalid>"
    s = int(max(0, seconds))
    if s < 120:
        return f"{s}s"
    m = s // 60
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if m < 180:
        return f"{m}m"
    h = s // 3600
    if h < 8:
        return f"{h}h{m % 60}m" if m % 60 else f"{h}h"
    if h < 48:
        return f"{h}h"
    d = h // 24
    if d < 8:
        return f"{d}d{h % 24}h" if h % 24 else f"{d}d"
    if d < 365 * 2:
        return f"{d}d"
    y = d // 365
    if y < 8:
        return f"{y}y{d % 365}d"
    return f"{y}y"


def age(obj: dict[str, Any], now: float) -> str:
    created = parse_rfc3339(obj.get("metadata", {}).get("creationTimestamp"))
    return "<unknown>" if created is None else human_duration(now - created)


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "string"
    priority: int = 0
    format: str = ""
    description: str = ""

    def definition(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": self.description or self.name,
            "priority": self.priority,
        }


@dataclass(frozen=True)
class Printer:
    columns: tuple[Column, ...]
    row: Callable[[dict[str, Any], float], Row]


NAME = Column("Name", format="name", description="Name must be unique within a namespace.")
AGE = Column(
    "Age",
    description="CreationTimestamp is a timestamp representing the server time when this object was created.",
)


def _containers(template_spec: dict[str, Any]) -> tuple[str, str]:
    containers = template_spec.get("containers") or []
    return (
        ",".join(str(c.get("name", "")) for c in containers),
        ",".join(str(c.get("image", "")) for c in containers),
    )


def _pod_row(obj: dict[str, Any], now: float) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    containers = spec.get("containers") or []
    statuses = status.get("containerStatuses") or []
    ready = sum(1 for c in statuses if c.get("ready"))
    restarts = sum(int(c.get("restartCount", 0)) for c in statuses)
    phase = status.get("phase", "Pending")
    reason = status.get("reason") or phase
    for cs in statuses:
        waiting = (cs.get("state") or {}).get("waiting")
        if waiting and waiting.get("reason"):
            reason = waiting["reason"]
    if obj.get("metadata", {}).get("deletionTimestamp"):
        reason = "Terminating"
    return [
        obj["metadata"]["name"],
        f"{ready}/{len(containers)}",
        reason,
        str(restarts),
        age(obj, now),
        status.get("podIP") or "<none>",
        spec.get("nodeName") or "<none>",
        "<none>",
        "<none>",
    ]


def _svc_ports(spec: dict[str, Any]) -> str:
    parts = []
    for port in spec.get("ports") or []:
        text = str(port.get("port"))
        if port.get("nodePort"):
            text += f":{port['nodePort']}"
        parts.append(f"{text}/{port.get('protocol', 'TCP')}")
    return ",".join(parts) or "<none>"


def _svc_row(obj: dict[str, Any], now: float) -> Row:
    spec = obj.get("spec") or {}
    svc_type = spec.get("type", "ClusterIP")
    external = "<none>"
    if svc_type == "LoadBalancer":
        ingress = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        ips = [i.get("ip") or i.get("hostname") for i in ingress]
        external = ",".join(x for x in ips if x) or "<pending>"
    elif svc_type == "ExternalName":
        external = spec.get("externalName", "<none>")
    selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items())) or "<none>"
    return [
        obj["metadata"]["name"],
        svc_type,
        spec.get("clusterIP") or "<none>",
        external,
        _svc_ports(spec),
        age(obj, now),
        selector,
    ]


def _deploy_row(obj: dict[str, Any], now: float) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers((spec.get("template") or {}).get("spec") or {})
    return [
        obj["metadata"]["name"],
        f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 0)}",
        status.get("updatedReplicas", 0),
        status.get("availableReplicas", 0),
        age(obj, now),
        names,
        images,
        selector_string(spec.get("selector")),
    ]


def _rs_row(obj: dict[str, Any], now: float) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers((spec.get("template") or {}).get("spec") or {})
    return [
        obj["metadata"]["name"],
        spec.get("replicas", 0),
        status.get("replicas", 0),
        status.get("readyReplicas", 0),
        age(obj, now),
        names,
        images,
        selector_string(spec.get("selector")),
    ]


def _ds_row(obj: dict[str, Any], now: float) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    template_spec = (spec.get("template") or {}).get("spec") or {}
    names, images = _containers(template_spec)
    node_selector = ",".join(f"{k}={v}" for k, v in sorted((template_spec.get("nodeSelector") or {}).items()))
    return [
        obj["metadata"]["name"],
        status.get("desiredNumberScheduled", 0),
        status.get("currentNumberScheduled", 0),
        status.get("numberReady", 0),
        status.get("updatedNumberScheduled", 0),
        status.get("numberAvailable", 0),
        node_selector or "<none>",
        age(obj, now),
        names,
        images,
        selector_string(spec.get("selector")),
    ]


def _node_row(obj: dict[str, Any], now: float) -> Row:
    status = obj.get("status") or {}
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []
    )
    labels = obj.get("metadata", {}).get("labels") or {}
    roles = sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/"))
    addresses = {a.get("type"): a.get("address") for a in status.get("addresses") or []}
    info = status.get("nodeInfo") or {}
    return [
        obj["metadata"]["name"],
        "Ready" if ready else "NotReady",
        ",".join(roles) or "<none>",
        age(obj, now),
        info.get("kubeletVersion", ""),
        addresses.get("InternalIP", "<none>"),
        addresses.get("ExternalIP", "<none>"),
        info.get("osImage", ""),
        info.get("kernelVersion", ""),
        info.get("containerRuntimeVersion", ""),
    ]


def _slice_row(obj: dict[str, Any], now: float) -> Row:
    ports = ",".join(str(p.get("port")) for p in obj.get("ports") or []) or "<unset>"
    addresses = [a for e in obj.get("endpoints") or [] for a in e.get("addresses") or []]
    shown = ",".join(addresses[:3]) + (f" + {len(addresses) - 3} more..." if len(addresses) > 3 else "")
    return [obj["metadata"]["name"], obj.get("addressType", ""), ports, shown or "<unset>", age(obj, now)]


def _endpoints_row(obj: dict[str, Any], now: float) -> Row:
    """``kubectl get endpoints``: ``10.1.0.12:8181`` pairs of ready addresses and ports."""
    pairs = [
        f"{address.get('ip')}:{port.get('port')}"
        for subset in obj.get("subsets") or []
        for address in subset.get("addresses") or []
        for port in subset.get("ports") or [{}]
    ]
    shown = ",".join(pairs[:3]) + (f" + {len(pairs) - 3} more..." if len(pairs) > 3 else "")
    return [obj["metadata"]["name"], shown or "<none>", age(obj, now)]


def _event_row(obj: dict[str, Any], now: float) -> Row:
    involved = obj.get("involvedObject") or {}
    last = parse_rfc3339(
        obj.get("lastTimestamp") or obj.get("eventTime") or obj["metadata"].get("creationTimestamp")
    )
    return [
        "<unknown>" if last is None else human_duration(now - last),
        obj.get("type", ""),
        obj.get("reason", ""),
        f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}",
        obj.get("message", ""),
    ]


_SEL = Column("Selector", priority=1)
_CONTAINERS = (Column("Containers", priority=1), Column("Images", priority=1), _SEL)

PRINTERS: dict[str, Printer] = {
    "pods": Printer(
        (
            NAME,
            Column("Ready"),
            Column("Status"),
            Column("Restarts"),
            AGE,
            Column("IP", priority=1),
            Column("Node", priority=1),
            Column("Nominated Node", priority=1),
            Column("Readiness Gates", priority=1),
        ),
        _pod_row,
    ),
    "services": Printer(
        (NAME, Column("Type"), Column("Cluster-IP"), Column("External-IP"), Column("Port(s)"), AGE, _SEL),
        _svc_row,
    ),
    "deployments.apps": Printer(
        (
            NAME,
            Column("Ready"),
            Column("Up-to-date", "integer"),
            Column("Available", "integer"),
            AGE,
            *_CONTAINERS,
        ),
        _deploy_row,
    ),
    "replicasets.apps": Printer(
        (
            NAME,
            Column("Desired", "integer"),
            Column("Current", "integer"),
            Column("Ready", "integer"),
            AGE,
            *_CONTAINERS,
        ),
        _rs_row,
    ),
    "daemonsets.apps": Printer(
        (
            NAME,
            Column("Desired", "integer"),
            Column("Current", "integer"),
            Column("Ready", "integer"),
            Column("Up-to-date", "integer"),
            Column("Available", "integer"),
            Column("Node Selector"),
            AGE,
            *_CONTAINERS,
        ),
        _ds_row,
    ),
    "namespaces": Printer(
        (NAME, Column("Status"), AGE),
        lambda o, now: [o["metadata"]["name"], (o.get("status") or {}).get("phase", "Active"), age(o, now)],
    ),
    "nodes": Printer(
        (
            NAME,
            Column("Status"),
            Column("Roles"),
            AGE,
            Column("Version"),
            Column("Internal-IP", priority=1),
            Column("External-IP", priority=1),
            Column("OS-Image", priority=1),
            Column("Kernel-Version", priority=1),
            Column("Container-Runtime", priority=1),
        ),
        _node_row,
    ),
    "configmaps": Printer(
        (NAME, Column("Data", "integer"), AGE),
        lambda o, now: [
            o["metadata"]["name"],
            len(o.get("data") or {}) + len(o.get("binaryData") or {}),
            age(o, now),
        ],
    ),
    "secrets": Printer(
        (NAME, Column("Type"), Column("Data", "integer"), AGE),
        lambda o, now: [
            o["metadata"]["name"],
            o.get("type", "Opaque"),
            len(o.get("data") or {}),
            age(o, now),
        ],
    ),
    "events": Printer(
        (Column("Last Seen"), Column("Type"), Column("Reason"), Column("Object"), Column("Message")),
        _event_row,
    ),
    "endpoints": Printer((NAME, Column("Endpoints"), AGE), _endpoints_row),
    "endpointslices.discovery.k8s.io": Printer(
        (NAME, Column("AddressType"), Column("Ports"), Column("Endpoints"), AGE), _slice_row
    ),
}
DEFAULT_PRINTER = Printer((NAME, AGE), lambda o, now: [o["metadata"]["name"], age(o, now)])


def register_printer(key: str, printer: Printer) -> None:
    PRINTERS[key] = printer


def table(
    key: str,
    entries: Iterable[Entry],
    *,
    include_object: str = "Metadata",
    resource_version: str = "",
    continue_token: str = "",
    now: float | None = None,
    with_columns: bool = True,
) -> dict[str, Any]:
    """A Table of ``entries`` (one row each); ``include_object``: None | Metadata | Object."""
    printer = PRINTERS.get(key, DEFAULT_PRINTER)
    now = time.time() if now is None else now
    rows = []
    for entry in entries:
        obj = entry.obj
        row: dict[str, Any] = {"cells": printer.row(obj, now)}
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj.get("metadata", {}),
            }
        rows.append(row)
    metadata: dict[str, Any] = {}
    if resource_version:
        metadata["resourceVersion"] = resource_version
    if continue_token:
        metadata["continue"] = continue_token
    result: dict[str, Any] = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata}
    result["columnDefinitions"] = [c.definition() for c in printer.columns] if with_columns else None
    result["rows"] = rows
    return result
