"""The generator's bulk objects: M global services per cluster, cheap to make and to keep.

Choice (for ``--clusters 64 --services 2000`` within 15 s and 1 GB): each cluster gets
namespace ``bench`` with ``BACKENDS`` small Deployments (``backend-0`` ... , 1 replica each, real
pods through the controllers) and M Services ``svc-0000`` ... annotated global and shared, each
selecting one backend (round robin), with its EndpointSlice. Services and slices are stored as
JSON bytes rendered from a template (parsed only when something reads them), and their selectors
are registered with the controllers, so scaling a backend updates the slices as usual.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from tui.sim.controllers import MANAGED_BY, PODS, SERVICE_NAME_LABEL, SLICE_CONTROLLER, pod_ready
from tui.sim.names import random_suffix

if TYPE_CHECKING:
    from tui.sim.cluster import SimCluster

NAMESPACE = "bench"
BACKENDS = 8
PORT = 8181


def _template(obj: dict[str, Any], fields: list[str]) -> bytes:
    """``obj`` as JSON with each ``@@field@@`` string turned into a ``%s`` slot (in ``fields`` order)."""
    text = json.dumps(obj, separators=(",", ":")).replace("%", "%%")
    for name in fields:
        text = text.replace(f'"@@{name}@@"', "%s")
    return text.encode()


def load_bulk_services(cluster: SimCluster, count: int) -> None:
    store = cluster.store
    cluster.create_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    backends = max(1, min(count, BACKENDS))
    for k in range(backends):
        cluster.create_object(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {
                    "name": f"backend-{k}",
                    "namespace": NAMESPACE,
                    "labels": {"app": f"backend-{k}"},
                },
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": {"app": f"backend-{k}"}},
                    "template": {
                        "metadata": {"labels": {"app": f"backend-{k}"}},
                        "spec": {
                            "containers": [
                                {
                                    "name": "app",
                                    "image": "ssongman/userlist:v1",
                                    "ports": [{"containerPort": PORT}],
                                }
                            ]
                        },
                    },
                },
            }
        )
    cluster.controllers.flush()
    endpoints: dict[str, bytes] = {}
    for pod in store.iter(PODS, NAMESPACE):
        obj = pod.obj
        app = pod.labels.get("app", "")
        ready = pod_ready(obj)
        endpoint = {
            "addresses": [obj["status"]["podIP"]],
            "conditions": {"ready": ready, "serving": ready, "terminating": False},
            "nodeName": obj["spec"].get("nodeName", ""),
            "targetRef": {
                "kind": "Pod",
                "namespace": NAMESPACE,
                "name": pod.name,
                "uid": obj["metadata"]["uid"],
            },
        }
        endpoints[app] = json.dumps([endpoint], separators=(",", ":")).encode()
    svc_type = cluster.registry.by_key("services")
    slice_type = cluster.registry.by_key("endpointslices.discovery.k8s.io")
    now = store.now()
    svc_template = _template(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": "@@name@@",
                "namespace": NAMESPACE,
                "uid": "@@uid@@",
                "resourceVersion": "@@rv@@",
                "creationTimestamp": now,
                "annotations": {"service.cilium.io/global": "true", "service.cilium.io/shared": "true"},
            },
            "spec": {
                "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": PORT}],
                "selector": {"app": "@@app@@"},
                "clusterIP": "@@ip@@",
                "clusterIPs": ["@@ip@@"],
                "type": "ClusterIP",
                "sessionAffinity": "None",
                "ipFamilies": ["IPv4"],
                "ipFamilyPolicy": "SingleStack",
                "internalTrafficPolicy": "Cluster",
            },
            "status": {"loadBalancer": {}},
        },
        ["name", "uid", "rv", "app", "ip"],
    )
    slice_template = _template(
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": "@@slice@@",
                "generateName": "@@gen@@",
                "namespace": NAMESPACE,
                "uid": "@@uid@@",
                "resourceVersion": "@@rv@@",
                "creationTimestamp": now,
                "labels": {SERVICE_NAME_LABEL: "@@name@@", MANAGED_BY: SLICE_CONTROLLER},
                "ownerReferences": [
                    {
                        "apiVersion": "v1",
                        "kind": "Service",
                        "name": "@@name@@",
                        "uid": "@@svcuid@@",
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            },
            "addressType": "IPv4",
            "endpoints": "@@endpoints@@",
            "ports": [{"name": "http", "port": PORT, "protocol": "TCP"}],
        },
        ["slice", "gen", "uid", "rv", "name", "svcuid", "endpoints"],
    )
    rng = cluster.rng
    register = cluster.controllers.register_service_selector
    for i in range(count):
        name = f"svc-{i:04d}"
        app = f"backend-{i % backends}"
        qname, qapp = b'"' + name.encode() + b'"', b'"' + app.encode() + b'"'
        ip = b'"' + cluster.service_ips.next_sequential().encode() + b'"'
        store.rv += 1
        svc_uid = b'"' + store.new_uid().encode() + b'"'
        raw = svc_template % (qname, svc_uid, b'"%d"' % store.rv, qapp, ip, ip)
        store.load_raw(svc_type, NAMESPACE, name, raw, store.rv)
        register(NAMESPACE, name, {"app": app})
        store.rv += 1
        slice_name = f"{name}-{random_suffix(rng)}"
        raw = slice_template % (
            b'"' + slice_name.encode() + b'"',
            b'"' + name.encode() + b'-"',
            b'"' + store.new_uid().encode() + b'"',
            b'"%d"' % store.rv,
            qname,
            qname,
            svc_uid,
            endpoints.get(app, b"[]"),
        )
        store.load_raw(slice_type, NAMESPACE, slice_name, raw, store.rv)
