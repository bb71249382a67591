"""The controllers of a simulated cluster: what kube-controller-manager, the scheduler and kubelets do.

* Deployments -> ReplicaSets (``<deploy>-<pod-template-hash>``) -> Pods (``<rs>-<5 chars>``).
* DaemonSets -> one Pod per node.
* Pods: bound to a node with an IP from the node's pod CIDR, Running and Ready after
  ``ready_delay``; a deleted pod stays Terminating for ``termination_grace`` seconds.
* EndpointSlices follow each selector Service and the readiness of its pods.
* Owner deletion cascades (background garbage collection); a namespace takes its objects with it.

Controllers react to store events (in-process subscription) by marking keys dirty and reconcile
them in one batch on the next loop iteration, so a burst of changes costs one pass.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tui.sim.names import IPPool, pod_template_hash, random_suffix
from tui.sim.selectors import map_matcher, selector_matcher
from tui.sim.store import ADDED, DELETED, SERVICE_NAME_LABEL, SLICES, Entry, Event

ENDPOINTS = "endpoints"

if TYPE_CHECKING:
    from tui.sim.cluster import SimCluster
    from tui.sim.resources import ResourceType

PODS, SERVICES = "pods", "services"
DEPLOYS, REPLICASETS, DAEMONSETS = "deployments.apps", "replicasets.apps", "daemonsets.apps"
NAMESPACES, NODES = "namespaces", "nodes"
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
SLICE_CONTROLLER = "endpointslice-controller.k8s.io"
LB_ANNOTATION = "meshtui.sim/load-balancer"


def owner_ref(obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def controller_of(obj: dict[str, Any]) -> dict[str, Any] | None:
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def pod_ready(obj: dict[str, Any]) -> bool:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return condition.get("status") == "True"
    return False


def deleting(obj: dict[str, Any]) -> bool:
    return bool(obj.get("metadata", {}).get("deletionTimestamp"))


class Controllers:
    """All controllers of one cluster, driven by its store's events."""

    def __init__(self, cluster: SimCluster) -> None:
        self.cluster = cluster
        self.store = cluster.store
        self.rng = cluster.rng
        self.instant = False
        """During start-up: pods are Ready at once (the cluster has been running for a while)."""
        self._dirty: dict[str, set[tuple[str, str]]] = {}
        self._scheduled = False
        self._timers: set[asyncio.TimerHandle] = set()
        self._node_pools: dict[str, IPPool] = {}
        self._service_selectors: dict[str, dict[str, Callable[[dict[str, str]], bool]]] = {}
        """namespace -> service name -> matcher (built from events; bulk loads register directly)."""
        self._unsubscribe = self.store.subscribe(self._on_event)
        self.extra: list[Callable[[Event], None]] = []
        """More reactions to store events (part 2's controllers may add theirs here)."""
        self._pending_removals: set[tuple[str, str, str, str]] = set()

    # -- plumbing ------------------------------------------------------------------------------

    def close(self) -> None:
        self._unsubscribe()
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    def rtype(self, key: str) -> ResourceType:
        return self.cluster.registry.by_key(key)

    def node_pool(self, node: str) -> IPPool:
        pool = self._node_pools.get(node)
        if pool is None:
            spec = next((n for n in self.cluster.spec.nodes if n.name == node), None)
            cidr = spec.pod_cidr if spec else self.cluster.spec.pod_cidr
            pool = self._node_pools[node] = IPPool(cidr, self.rng, skip_first=1)
        return pool

    def mark(self, kind: str, namespace: str, name: str) -> None:
        self._dirty.setdefault(kind, set()).add((namespace, name))
        if not self._scheduled and not self.instant:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)

    def later(self, delay: float, callback: Callable[[], None]) -> None:
        loop = asyncio.get_running_loop()
        handle: asyncio.TimerHandle

        def fire() -> None:
            self._timers.discard(handle)
            callback()

        handle = loop.call_later(delay, fire)
        self._timers.add(handle)

    def register_service_selector(self, namespace: str, name: str, selector: dict[str, str] | None) -> None:
        matcher = map_matcher(selector)
        by_name = self._service_selectors.setdefault(namespace, {})
        if matcher is None:
            by_name.pop(name, None)
        else:
            by_name[name] = matcher

    def _on_event(self, event: Event) -> None:
        key, entry = event.key, event.entry
        ns, name = entry.namespace, entry.name
        obj = entry.obj
        if key == DEPLOYS:
            self.mark(DEPLOYS, ns, name)
        elif key == REPLICASETS:
            self.mark(REPLICASETS, ns, name)
            ref = controller_of(obj)
            if ref and ref.get("kind") == "Deployment":
                self.mark(DEPLOYS, ns, ref["name"])
        elif key == DAEMONSETS:
            self.mark(DAEMONSETS, ns, name)
        elif key == PODS:
            self.mark(PODS, ns, name)
            ref = controller_of(obj)
            if ref and ref.get("kind") == "ReplicaSet":
                self.mark(REPLICASETS, ns, ref["name"])
            elif ref and ref.get("kind") == "DaemonSet":
                self.mark(DAEMONSETS, ns, ref["name"])
            labels = entry.labels
            old_labels = event.prev.labels if event.prev is not None else {}
            for svc, matcher in self._service_selectors.get(ns, {}).items():
                if matcher(labels) or (old_labels and matcher(old_labels)):
                    self.mark(SERVICES, ns, svc)
        elif key == SERVICES:
            spec = obj.get("spec") or {}
            if event.type == DELETED:
                self.register_service_selector(ns, name, None)
            else:
                self.register_service_selector(ns, name, spec.get("selector"))
            self.mark(SERVICES, ns, name)
        elif key == NAMESPACES and deleting(obj):
            self.mark(NAMESPACES, "", name)
        elif key == NODES and event.type == ADDED:
            for ds in self.store.iter(DAEMONSETS):
                self.mark(DAEMONSETS, ds.namespace, ds.name)
        for callback in self.extra:
            callback(event)

    def flush(self) -> None:
        """Reconcile everything dirty (bounded: a controller loop cannot spin forever)."""
        self._scheduled = False
        for _ in range(50):
            if not any(self._dirty.values()):
                return
            dirty, self._dirty = self._dirty, {}
            for kind in (NAMESPACES, DEPLOYS, DAEMONSETS, REPLICASETS, PODS, SERVICES):
                for ns, name in sorted(dirty.get(kind, ())):
                    getattr(self, f"_sync_{kind.split('.')[0]}")(ns, name)
        if any(self._dirty.values()) and not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)

    # -- deployments ---------------------------------------------------------------------------

    def _owned(self, key: str, namespace: str, owner_uid: str) -> list[Entry]:
        return [
            e for e in self.store.iter(key, namespace) if (controller_of(e.obj) or {}).get("uid") == owner_uid
        ]

    def _sync_deployments(self, ns: str, name: str) -> None:
        entry = self.store.get(DEPLOYS, ns, name)
        if entry is None or deleting(entry.obj):
            return
        deploy = entry.obj
        spec = deploy.get("spec") or {}
        template = spec.get("template") or {}
        template_hash = pod_template_hash(template)
        rs_name = f"{name}-{template_hash}"
        owned = self._owned(REPLICASETS, ns, deploy["metadata"]["uid"])
        replicas = int(spec.get("replicas", 1))
        current = next((e for e in owned if e.name == rs_name), None)
        if current is None:
            rs_template = _with_label(template, "pod-template-hash", template_hash)
            selector = dict(spec.get("selector") or {})
            selector["matchLabels"] = {
                **(selector.get("matchLabels") or {}),
                "pod-template-hash": template_hash,
            }
            rs = {
                "metadata": {
                    "name": rs_name,
                    "namespace": ns,
                    "labels": {
                        **((template.get("metadata") or {}).get("labels") or {}),
                        "pod-template-hash": template_hash,
                    },
                    "annotations": {
                        "deployment.kubernetes.io/desired-replicas": str(replicas),
                        "deployment.kubernetes.io/max-replicas": str(replicas + 1),
                        "deployment.kubernetes.io/revision": str(len(owned) + 1),
                    },
                    "ownerReferences": [owner_ref(deploy)],
                },
                "spec": {"replicas": replicas, "selector": selector, "template": rs_template},
                "status": {"replicas": 0},
            }
            self.store.create(self.rtype(REPLICASETS), rs)
            self.cluster.record_event(
                deploy, "Normal", "ScalingReplicaSet", f"Scaled up replica set {rs_name} from 0 to {replicas}"
            )
        else:
            rs_spec = current.obj.get("spec") or {}
            if rs_spec.get("replicas") != replicas:
                old = rs_spec.get("replicas", 0)
                rs = current.copy()
                rs["spec"]["replicas"] = replicas
                rs["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/desired-replicas"] = (
                    str(replicas)
                )
                self.store.update(self.rtype(REPLICASETS), rs)
                verb = "up" if replicas > old else "down"
                self.cluster.record_event(
                    deploy,
                    "Normal",
                    "ScalingReplicaSet",
                    f"Scaled {verb} replica set {rs_name} from {old} to {replicas}",
                )
        for other in owned:  # a new template: old replica sets go to zero at once
            if other.name != rs_name and (other.obj.get("spec") or {}).get("replicas", 0) != 0:
                rs = other.copy()
                rs["spec"]["replicas"] = 0
                self.store.update(self.rtype(REPLICASETS), rs)
        self._deployment_status(entry, rs_name)

    def _deployment_status(self, entry: Entry, rs_name: str) -> None:
        deploy = entry.obj
        ns = entry.namespace
        spec = deploy.get("spec") or {}
        replicas = int(spec.get("replicas", 1))
        total = ready = updated = 0
        for rs in self._owned(REPLICASETS, ns, deploy["metadata"]["uid"]):
            for pod in self._owned(PODS, ns, rs.obj["metadata"]["uid"]):
                if deleting(pod.obj):
                    continue
                total += 1
                if rs.name == rs_name:
                    updated += 1
                if pod_ready(pod.obj):
                    ready += 1
        max_unavailable = _percent_or_int(
            ((spec.get("strategy") or {}).get("rollingUpdate") or {}).get("maxUnavailable", "25%"), replicas
        )
        available_ok = ready >= replicas - max_unavailable
        now = self.store.now()
        old_status = deploy.get("status") or {}
        old_conditions = {c.get("type"): c for c in old_status.get("conditions") or []}

        def condition(kind: str, status: str, reason: str, message: str) -> dict[str, Any]:
            old = old_conditions.get(kind)
            transition = old["lastTransitionTime"] if old and old.get("status") == status else now
            update = old["lastUpdateTime"] if old and old.get("reason") == reason else now
            return {
                "type": kind,
                "status": status,
                "lastUpdateTime": update,
                "lastTransitionTime": transition,
                "reason": reason,
                "message": message,
            }

        status: dict[str, Any] = {"observedGeneration": deploy["metadata"].get("generation", 1)}
        if total:
            status["replicas"] = total
        if updated:
            status["updatedReplicas"] = updated
        if ready:
            status["readyReplicas"] = ready
            status["availableReplicas"] = ready
        if total - ready > 0:
            status["unavailableReplicas"] = total - ready
        status["conditions"] = [
            condition(
                "Available",
                "True" if available_ok else "False",
                "MinimumReplicasAvailable" if available_ok else "MinimumReplicasUnavailable",
                "Deployment has minimum availability."
                if available_ok
                else "Deployment does not have minimum availability.",
            ),
            condition(
                "Progressing",
                "True",
                "NewReplicaSetAvailable" if updated == replicas == ready else "ReplicaSetUpdated",
                f'ReplicaSet "{rs_name}" has successfully progressed.'
                if updated == replicas == ready
                else f'ReplicaSet "{rs_name}" is progressing.',
            ),
        ]
        if status != old_status:
            new = entry.copy()
            new["status"] = status
            self.store.update(self.rtype(DEPLOYS), new)

    # -- replica sets and daemon sets ----------------------------------------------------------

    def _sync_replicasets(self, ns: str, name: str) -> None:
        entry = self.store.get(REPLICASETS, ns, name)
        if entry is None or deleting(entry.obj):
            return
        rs = entry.obj
        want = int((rs.get("spec") or {}).get("replicas", 1))
        pods = self._owned(PODS, ns, rs["metadata"]["uid"])
        live = [p for p in pods if not deleting(p.obj)]
        for _ in range(want - len(live)):
            self._create_pod(rs, f"{name}-", None)
        if len(live) > want:
            # Like the ReplicaSet controller: not-ready first, then the newest.
            ranked = sorted(
                live,
                key=lambda p: (pod_ready(p.obj), p.obj["metadata"].get("creationTimestamp", "")),
                reverse=False,
            )
            victims = sorted(ranked[: len(live) - want], key=lambda p: p.name)
            for pod in victims:
                self.delete_pod(ns, pod.name)
        live = [p for p in self._owned(PODS, ns, rs["metadata"]["uid"]) if not deleting(p.obj)]
        ready = sum(1 for p in live if pod_ready(p.obj))
        status: dict[str, Any] = {
            "replicas": len(live),
            "observedGeneration": rs["metadata"].get("generation", 1),
        }
        if live:
            status["fullyLabeledReplicas"] = len(live)
        if ready:
            status["readyReplicas"] = ready
            status["availableReplicas"] = ready
        if status != rs.get("status"):
            new = entry.copy()
            new["status"] = status
            self.store.update(self.rtype(REPLICASETS), new)

    def _sync_daemonsets(self, ns: str, name: str) -> None:
        entry = self.store.get(DAEMONSETS, ns, name)
        if entry is None or deleting(entry.obj):
            return
        ds = entry.obj
        pods = [p for p in self._owned(PODS, ns, ds["metadata"]["uid"]) if not deleting(p.obj)]
        on_node = {(p.obj.get("spec") or {}).get("nodeName"): p for p in pods}
        nodes = [n.name for n in self.store.iter(NODES)]
        for node in nodes:
            if node not in on_node:
                self._create_pod(ds, f"{name}-", node)
        for node, pod in on_node.items():
            if node not in nodes:
                self.delete_pod(ns, pod.name)
        live = [p for p in self._owned(PODS, ns, ds["metadata"]["uid"]) if not deleting(p.obj)]
        ready = sum(1 for p in live if pod_ready(p.obj))
        status: dict[str, Any] = {
            "currentNumberScheduled": len(live),
            "desiredNumberScheduled": len(nodes),
            "numberMisscheduled": 0,
            "numberReady": ready,
            "observedGeneration": ds["metadata"].get("generation", 1),
            "updatedNumberScheduled": len(live),
        }
        if ready:
            status["numberAvailable"] = ready
        if len(nodes) - ready > 0:
            status["numberUnavailable"] = len(nodes) - ready
        if status != ds.get("status"):
            new = entry.copy()
            new["status"] = status
            self.store.update(self.rtype(DAEMONSETS), new)

    # -- pods ----------------------------------------------------------------------------------

    def _pick_node(self) -> str:
        counts = {n.name: 0 for n in self.store.iter(NODES)}
        if not counts:
            return ""
        for pod in self.store.iter(PODS):
            node = (pod.obj.get("spec") or {}).get("nodeName")
            if node in counts:
                counts[node] += 1
        return min(sorted(counts), key=lambda n: counts[n])

    def _create_pod(self, owner: dict[str, Any], prefix: str, node: str | None) -> None:
        template = (owner.get("spec") or {}).get("template") or {}
        tmeta = template.get("metadata") or {}
        ns = owner["metadata"]["namespace"]
        for _ in range(20):
            name = prefix + random_suffix(self.rng)
            if self.store.get(PODS, ns, name) is None:
                break
        labels = dict(tmeta.get("labels") or {})
        if owner["kind"] == "DaemonSet":
            labels["controller-revision-hash"] = pod_template_hash(template)[:10]
            labels["pod-template-generation"] = str(owner["metadata"].get("generation", 1))
        pod: dict[str, Any] = {
            "metadata": {
                "name": name,
                "generateName": prefix,
                "namespace": ns,
                "labels": labels,
                "ownerReferences": [owner_ref(owner)],
            },
            "spec": _json_copy(template.get("spec") or {}),
            "status": {"phase": "Pending", "qosClass": "BestEffort"},
        }
        if tmeta.get("annotations"):
            pod["metadata"]["annotations"] = dict(tmeta["annotations"])
        if node:
            pod["spec"]["nodeName"] = node
        self.store.create(self.rtype(PODS), pod)
        # The pod's own reconcile binds it to a node and starts it.
        self.mark(PODS, ns, name)
        if self.instant:
            self._sync_pods(ns, name)

    def _sync_pods(self, ns: str, name: str) -> None:
        entry = self.store.get(PODS, ns, name)
        if entry is None:
            return
        pod = entry.obj
        spec, status = pod.get("spec") or {}, pod.get("status") or {}
        if deleting(pod):
            self._schedule_removal(entry)
            return
        if status.get("phase") not in (None, "Pending") or (status.get("podIP") and pod_ready(pod)):
            return
        new = entry.copy()
        changed = False
        node = spec.get("nodeName") or self._pick_node()
        if node and not spec.get("nodeName"):
            new["spec"]["nodeName"] = node
            changed = True
        if node and not status.get("podIP"):
            node_ip = self._node_ip(node)
            ip = node_ip if spec.get("hostNetwork") else self.node_pool(node).take()
            new_status = new.setdefault("status", {})
            new_status.update(
                {
                    "hostIP": node_ip,
                    "hostIPs": [{"ip": node_ip}],
                    "podIP": ip,
                    "podIPs": [{"ip": ip}],
                    "startTime": self.store.now(),
                }
            )
            new_status["conditions"] = [
                _cond("PodScheduled", "True", self.store.now()),
                _cond("Initialized", "True", self.store.now()),
                _cond("Ready", "False", self.store.now(), "ContainersNotReady"),
                _cond("ContainersReady", "False", self.store.now(), "ContainersNotReady"),
            ]
            new_status["containerStatuses"] = [
                {
                    "name": c.get("name", ""),
                    "image": c.get("image", ""),
                    "imageID": "",
                    "ready": False,
                    "restartCount": 0,
                    "started": False,
                    "state": {"waiting": {"reason": "ContainerCreating"}},
                }
                for c in spec.get("containers") or []
            ]
            changed = True
        if changed:
            self.store.update(self.rtype(PODS), new)
            uid = pod["metadata"]["uid"]
            if self.instant or self.cluster.ready_delay <= 0:
                self._start_pod(ns, name, uid)
            else:
                self.later(self.cluster.ready_delay, lambda: self._start_pod(ns, name, uid))

    def _node_ip(self, node: str) -> str:
        entry = self.store.get(NODES, "", node)
        for address in ((entry.obj.get("status") or {}).get("addresses") or []) if entry else []:
            if address.get("type") == "InternalIP":
                return str(address.get("address"))
        return ""

    def _start_pod(self, ns: str, name: str, uid: str) -> None:
        """The kubelet: containers started, the pod Running and Ready."""
        entry = self.store.get(PODS, ns, name)
        if entry is None or entry.obj["metadata"].get("uid") != uid or deleting(entry.obj):
            return
        new = entry.copy()
        now = self.store.now()
        status = new.setdefault("status", {})
        status["phase"] = "Running"
        status["conditions"] = [
            _cond("PodReadyToStartContainers", "True", now),
            _cond("Initialized", "True", now),
            _cond("Ready", "True", now),
            _cond("ContainersReady", "True", now),
            _cond("PodScheduled", "True", now),
        ]
        status["containerStatuses"] = [
            {
                "name": c.get("name", ""),
                "image": c.get("image", ""),
                "imageID": f"docker.io/{c.get('image', '')}",
                "containerID": f"containerd://{random_suffix(self.rng, 16)}",
                "ready": True,
                "restartCount": 0,
                "started": True,
                "state": {"running": {"startedAt": now}},
            }
            for c in (new.get("spec") or {}).get("containers") or []
        ]
        self.store.update(self.rtype(PODS), new)
        self.cluster.record_event(
            new,
            "Normal",
            "Started",
            "Started container "
            + ",".join(c.get("name", "") for c in (new.get("spec") or {}).get("containers") or []),
        )

    def delete_pod(self, ns: str, name: str) -> None:
        """Graceful deletion: Terminating now, gone after the scenario's grace period."""
        entry = self.store.get(PODS, ns, name)
        if entry is None or deleting(entry.obj):
            return
        grace = int((entry.obj.get("spec") or {}).get("terminationGracePeriodSeconds", 30))
        if not (entry.obj.get("status") or {}).get("podIP") or self.cluster.termination_grace <= 0:
            self.remove_pod(ns, name, entry.obj["metadata"]["uid"])
            return
        self.store.mark_deleting(self.rtype(PODS), ns, name, grace)

    def _schedule_removal(self, entry: Entry) -> None:
        uid = entry.obj["metadata"]["uid"]
        if (entry.obj.get("metadata") or {}).get("deletionGracePeriodSeconds") == 0 or self.instant:
            self.remove_pod(entry.namespace, entry.name, uid)
            return
        key = ("removal", entry.namespace, entry.name, uid)
        if key in self._pending_removals:
            return
        self._pending_removals.add(key)

        def remove() -> None:
            self._pending_removals.discard(key)
            self.remove_pod(entry.namespace, entry.name, uid)

        self.later(max(0.0, self.cluster.termination_grace), remove)

    def remove_pod(self, ns: str, name: str, uid: str) -> None:
        """The pod is gone (grace over, or forced): its IP goes back to the node's pool."""
        entry = self.store.get(PODS, ns, name)
        if entry is None or entry.obj["metadata"].get("uid") != uid:
            return
        spec, status = entry.obj.get("spec") or {}, entry.obj.get("status") or {}
        if not spec.get("hostNetwork") and spec.get("nodeName"):
            self.node_pool(spec["nodeName"]).release(status.get("podIP"))
        self.store.delete(self.rtype(PODS), ns, name)

    # -- services and endpoint slices ----------------------------------------------------------

    def _sync_services(self, ns: str, name: str) -> None:
        entry = self.store.get(SERVICES, ns, name)
        if entry is not None:
            entry = self._sync_load_balancer(entry)
        # by the store's label index: decoding every slice of the namespace on each patch of a
        # service held that cluster's watch events back by ~90 ms at 2,000 services
        slices = [
            s
            for s in (self.store.get(SLICES, ns, n) for n in sorted(self.store.slices_of(ns, name)))
            if s is not None and s.labels.get(MANAGED_BY) == SLICE_CONTROLLER
        ]
        selector = ((entry.obj.get("spec") or {}).get("selector") if entry else None) or None
        if entry is None or not selector:
            for s in slices:
                self.store.delete(self.rtype(SLICES), ns, s.name)
            if self.store.get(ENDPOINTS, ns, name) is not None:
                self.store.delete(self.rtype(ENDPOINTS), ns, name)
            return
        body = self.slice_body(entry.obj)
        self._sync_endpoints(entry.obj, body)
        if not slices:
            slice_obj = {
                "metadata": {
                    "name": f"{name}-{random_suffix(self.rng)}",
                    "generateName": f"{name}-",
                    "namespace": ns,
                    "labels": {SERVICE_NAME_LABEL: name, MANAGED_BY: SLICE_CONTROLLER},
                    "ownerReferences": [owner_ref(entry.obj)],
                },
                **body,
            }
            self.store.create(self.rtype(SLICES), slice_obj)
            return
        first, *rest = slices
        for extra in rest:
            self.store.delete(self.rtype(SLICES), ns, extra.name)
        if any(first.obj.get(k) != v for k, v in body.items()):
            new = first.copy()
            new.update(_json_copy(body))
            self.store.update(self.rtype(SLICES), new)

    def _sync_endpoints(self, service: dict[str, Any], body: dict[str, Any]) -> None:
        """The legacy Endpoints of a service (the endpoints controller's rules: ready addresses,
        not-ready ones apart, terminating ones left out), from the same pods as its slice."""
        meta = service["metadata"]
        ready, not_ready = [], []
        for endpoint in body.get("endpoints") or []:
            conditions = endpoint.get("conditions") or {}
            if conditions.get("terminating"):
                continue
            for ip in endpoint.get("addresses") or []:
                address: dict[str, Any] = {"ip": ip}
                if endpoint.get("nodeName"):
                    address["nodeName"] = endpoint["nodeName"]
                if endpoint.get("targetRef"):
                    address["targetRef"] = endpoint["targetRef"]
                (ready if conditions.get("ready") else not_ready).append(address)
        subset: dict[str, Any] = {}
        if ready:
            subset["addresses"] = ready
        if not_ready:
            subset["notReadyAddresses"] = not_ready
        if subset:
            subset["ports"] = [
                {k: v for k, v in port.items() if k in ("name", "port", "protocol", "appProtocol")}
                for port in body.get("ports") or []
            ]
        subsets = [subset] if subset else []
        current = self.store.get(ENDPOINTS, meta["namespace"], meta["name"])
        if current is None:
            obj = {
                "apiVersion": "v1",
                "kind": "Endpoints",
                "metadata": {
                    "name": meta["name"],
                    "namespace": meta["namespace"],
                    "labels": dict(meta.get("labels") or {}),
                },
                "subsets": subsets,
            }
            self.store.create(self.rtype(ENDPOINTS), obj)
        elif (current.obj.get("subsets") or []) != subsets:
            new = current.copy()
            new["subsets"] = subsets
            self.store.update(self.rtype(ENDPOINTS), new)

    def _sync_load_balancer(self, entry: Entry) -> Entry:
        """The cloud's load-balancer controller: an ingress IP for each LoadBalancer service.

        A service annotated ``meshtui.sim/load-balancer: pending`` keeps waiting (``<pending>``).
        """
        obj = entry.obj
        spec = obj.get("spec") or {}
        ingress = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        pending = (obj["metadata"].get("annotations") or {}).get(LB_ANNOTATION) == "pending"
        wants = spec.get("type") == "LoadBalancer" and not pending
        if wants == bool(ingress):
            return entry
        new = entry.copy()
        if wants:
            ip = spec.get("loadBalancerIP") or self.cluster.load_balancer_ips.take()
            new["status"] = {"loadBalancer": {"ingress": [{"ip": ip, "ipMode": "VIP"}]}}
        else:
            for item in ingress:
                self.cluster.load_balancer_ips.release(item.get("ip"))
            new["status"] = {"loadBalancer": {}}
        return self.store.update(self.rtype(SERVICES), new)

    def slice_body(self, service: dict[str, Any]) -> dict[str, Any]:
        """``addressType``/``endpoints``/``ports`` of a service's EndpointSlice, from its pods."""
        ns = service["metadata"]["namespace"]
        spec = service.get("spec") or {}
        matcher = map_matcher(spec.get("selector"))
        endpoints: list[dict[str, Any]] = []
        pods: list[dict[str, Any]] = []
        for pod in sorted(self.store.iter(PODS, ns), key=lambda e: e.name):
            obj = pod.obj
            if matcher is None or not matcher(pod.labels) or not (obj.get("status") or {}).get("podIP"):
                continue
            if (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue
            pods.append(obj)
            terminating = deleting(obj)
            ready = pod_ready(obj)
            endpoint: dict[str, Any] = {
                "addresses": [obj["status"]["podIP"]],
                "conditions": {
                    "ready": ready and not terminating,
                    "serving": ready,
                    "terminating": terminating,
                },
                "targetRef": {
                    "kind": "Pod",
                    "namespace": ns,
                    "name": obj["metadata"]["name"],
                    "uid": obj["metadata"]["uid"],
                },
            }
            if (obj.get("spec") or {}).get("nodeName"):
                endpoint["nodeName"] = obj["spec"]["nodeName"]
            endpoints.append(endpoint)
        ports = []
        for port in spec.get("ports") or []:
            target = port.get("targetPort", port.get("port"))
            if isinstance(target, str):
                target = _named_port(pods, target)
                if target is None:
                    continue
            ports.append(
                {"name": port.get("name", ""), "port": int(target), "protocol": port.get("protocol", "TCP")}
            )
        return {"addressType": "IPv4", "endpoints": endpoints, "ports": ports}

    # -- garbage collection --------------------------------------------------------------------

    def on_deleted(self, key: str, obj: dict[str, Any]) -> None:
        """Background cascade: dependents of a deleted owner go too (called after a delete)."""
        uid = obj["metadata"].get("uid")
        ns = obj["metadata"].get("namespace", "")
        for dep_key in (REPLICASETS, PODS, SLICES):
            for dep in list(self.store.iter(dep_key, ns)):
                ref = controller_of(dep.obj)
                if ref is None or ref.get("uid") != uid:
                    continue
                if dep_key == PODS:
                    self.delete_pod(ns, dep.name)
                else:
                    self.store.delete(self.rtype(dep_key), ns, dep.name)
                    self.on_deleted(dep_key, dep.obj)

    def _sync_namespaces(self, _ns: str, name: str) -> None:
        entry = self.store.get(NAMESPACES, "", name)
        if entry is None or not deleting(entry.obj):
            return
        remaining = 0
        for rtype in self.cluster.registry.types:
            if not rtype.namespaced or "delete" not in rtype.verbs:
                continue
            for obj in list(self.store.iter(rtype.key, name)):
                if rtype.key == PODS:
                    self.delete_pod(name, obj.name)
                    remaining += 1 if self.store.get(PODS, name, obj.name) else 0
                elif self.store.get(rtype.key, name, obj.name) is not None:  # a cascade may have taken it
                    self.cluster.delete(rtype, name, obj.name)  # releases ClusterIPs, cascades
        if remaining:
            self.later(max(0.05, self.cluster.termination_grace), lambda: self.mark(NAMESPACES, "", name))
            return
        self.store.delete(self.rtype(NAMESPACES), "", name)


def _cond(kind: str, status: str, now: str, reason: str = "") -> dict[str, Any]:
    condition: dict[str, Any] = {
        "type": kind,
        "status": status,
        "lastProbeTime": None,
        "lastTransitionTime": now,
    }
    if reason:
        condition["reason"] = reason
    return condition


def _named_port(pods: list[dict[str, Any]], name: str) -> int | None:
    for pod in pods:
        for container in (pod.get("spec") or {}).get("containers") or []:
            for port in container.get("ports") or []:
                if port.get("name") == name:
                    return int(port["containerPort"])
    return None


def _with_label(template: dict[str, Any], key: str, value: str) -> dict[str, Any]:
    result = _json_copy(template)
    result.setdefault("metadata", {}).setdefault("labels", {})[key] = value
    return result


def _json_copy(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value))


def _percent_or_int(value: Any, total: int) -> int:
    if isinstance(value, str) and value.endswith("%"):
        return int(total * int(value[:-1]) // 100)
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def selector_of(obj: dict[str, Any]) -> Callable[[dict[str, str]], bool] | None:
    return selector_matcher((obj.get("spec") or {}).get("selector"))
