"""One simulated cluster: store, controllers, tokens, TLS and its API server on 127.0.0.1.

The write operations here (:meth:`SimCluster.create`, :meth:`update`, :meth:`patch`,
:meth:`delete`) are the apiserver's admission path: defaults, validation (422), allocation of
ClusterIPs and NodePorts, conflicts (409). The HTTP layer (:mod:`tui.sim.api`) calls them after
authorization; scenarios load through them too, so initial objects get exactly what an applied
manifest would get.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from random import Random
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tui.sim import auth
from tui.sim.controllers import NAMESPACES, PODS, SERVICES, Controllers, deleting
from tui.sim.errors import ApiError, FieldError, bad_request, invalid, not_found
from tui.sim.kubectl import json_patch, strategic_merge, strict_message, unknown_fields
from tui.sim.mergepatch import merge_patch
from tui.sim.names import IPPool, random_suffix
from tui.sim.resources import Registry, ResourceType, default_registry
from tui.sim.scenario import ClusterSpec, Scenario
from tui.sim.store import Entry, Store
from tui.sim.tls import ServerTLS, make_server_tls
from tui.sim.validation import apply_defaults, immutable_errors, metadata_errors, spec_errors

if TYPE_CHECKING:
    from tui.sim.mesh import SimMesh

RequestHook = Callable[[web.Request], Awaitable[web.StreamResponse | None]]
"""Consulted before every API request; a response short-circuits it (part 2: API faults)."""

STATUS_SUBRESOURCE_KEYS = {
    "pods",
    "services",
    "deployments.apps",
    "replicasets.apps",
    "daemonsets.apps",
    "namespaces",
    "nodes",
}
MAX_EVENTS = 500


class SimCluster:
    """A Kubernetes-compatible API server and the cluster behind it."""

    def __init__(
        self,
        spec: ClusterSpec,
        scenario: Scenario,
        *,
        mesh: SimMesh | None = None,
        plain_http: bool = False,
        watch_history: int = 5000,
    ) -> None:
        self.spec = spec
        self.scenario = scenario
        self.mesh = mesh
        self.name = spec.name
        self.context = spec.context
        self.plain_http = plain_http
        self.rng = Random(f"{scenario.seed}:{spec.name}")
        self.registry: Registry = default_registry()
        self.store = Store(history=watch_history, rng=self.rng)
        self.auth = auth.Authenticator()
        self.admin_token = self.auth.add(auth.admin())
        self.readonly_token = self.auth.add(auth.read_only())
        self.ready_delay = scenario.ready_delay
        self.termination_grace = scenario.termination_grace
        self.service_ips = IPPool(spec.service_cidr, self.rng, skip_first=1)
        self.load_balancer_ips = IPPool(spec.load_balancer_cidr or "198.18.0.0/24", self.rng, skip_first=1)
        self.node_ports: set[int] = set()
        self.controllers = Controllers(self)
        self.request_hooks: list[RequestHook] = []
        self.tls: ServerTLS | None = None
        self.port = 0
        self.started_at = time.time()
        self._runner: web.AppRunner | None = None
        self._event_names: list[tuple[str, str]] = []

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        scheme = "http" if self.plain_http else "https"
        return f"{scheme}://127.0.0.1:{self.port}"

    async def start(self, port: int = 0) -> None:
        """Load the scenario's objects, then listen on 127.0.0.1 (ephemeral port by default)."""
        self.load()
        if not self.plain_http:
            self.tls = make_server_tls(self.name)
        await self.listen(port)

    @property
    def listening(self) -> bool:
        return self._runner is not None

    async def listen(self, port: int | None = None) -> None:
        """Serve the API (again): on ``port``, or the port it had, or an ephemeral one.

        With :meth:`stop_listening` this is "API server down/up" for fault scenarios: the
        objects, tokens and certificate stay, connections are refused meanwhile.
        """
        from tui.sim.api import make_app

        if self._runner is not None:
            return
        runner = web.AppRunner(
            make_app(self), handler_cancellation=True, access_log=None, shutdown_timeout=0.5
        )
        await runner.setup()
        ssl_context = self.tls.ssl_context() if self.tls else None
        bind = self.port if port is None else port
        site = web.TCPSite(
            runner, "127.0.0.1", bind, ssl_context=ssl_context, backlog=256, reuse_address=True
        )
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self.port = runner.addresses[0][1]  # the bound port (``bind`` may be 0)
        self._runner = runner

    async def stop_listening(self) -> None:
        """Close the listener and every open connection (watches and execs end)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(runner.cleanup(), 5)

    async def stop(self) -> None:
        self.controllers.close()
        await self.stop_listening()

    def load(self) -> None:
        """Create the base objects and the scenario's, with pods Ready at once."""
        self.controllers.instant = True
        try:
            for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
                self.create_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
            for node in self.spec.nodes:
                self.create_object(self._node_object(node))
            self._kubernetes_service()
            for obj in [*self.scenario.objects, *self.spec.objects]:
                self.create_object(json.loads(json.dumps(obj)))
            if self.spec.bulk_services:
                from tui.sim.bulk import load_bulk_services

                load_bulk_services(self, self.spec.bulk_services)
            self.controllers.flush()
        finally:
            self.controllers.instant = False
        self.store.mark_loaded()

    def _node_object(self, node: Any) -> dict[str, Any]:
        version = self.spec.kubernetes_version
        addresses = [
            {"type": "InternalIP", "address": node.internal_ip},
            {"type": "Hostname", "address": node.name},
        ]
        if node.external_ip:
            addresses.insert(1, {"type": "ExternalIP", "address": node.external_ip})
        labels = {
            "kubernetes.io/hostname": node.name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "node-role.kubernetes.io/control-plane": "",
            **node.labels,
        }
        now = self.store.now()
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": node.name, "labels": labels},
            "spec": {
                "podCIDR": node.k8s_pod_cidr or node.pod_cidr,
                "podCIDRs": [node.k8s_pod_cidr or node.pod_cidr],
            },
            "status": {
                "addresses": addresses,
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True",
                        "reason": "KubeletReady",
                        "message": "kubelet is posting ready status",
                        "lastHeartbeatTime": now,
                        "lastTransitionTime": now,
                    },
                ],
                "nodeInfo": {
                    "kubeletVersion": version,
                    "kubeProxyVersion": version,
                    "osImage": "Debian GNU/Linux 12 (bookworm)",
                    "kernelVersion": "6.1.0-meshtui",
                    "containerRuntimeVersion": "containerd://1.7.24",
                    "operatingSystem": "linux",
                    "architecture": "amd64",
                    "machineID": "",
                    "systemUUID": "",
                    "bootID": "",
                },
                "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"},
                "allocatable": {"cpu": "4", "memory": "16Gi", "pods": "110"},
            },
        }

    def _kubernetes_service(self) -> None:
        svc = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": "kubernetes",
                "namespace": "default",
                "labels": {"component": "apiserver", "provider": "kubernetes"},
            },
            "spec": {"ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]},
        }
        self.create_object(svc)
        ip = self.spec.nodes[0].internal_ip if self.spec.nodes else "127.0.0.1"
        self.store.create(
            self.registry.by_key("endpointslices.discovery.k8s.io"),
            {
                "metadata": {
                    "name": "kubernetes",
                    "namespace": "default",
                    "labels": {
                        "kubernetes.io/service-name": "kubernetes",
                        "endpointslice.kubernetes.io/managed-by": "endpointslicemirroring-controller.k8s.io",
                    },
                },
                "addressType": "IPv4",
                "endpoints": [{"addresses": [ip], "conditions": {"ready": True}}],
                "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}],
            },
        )

    # -- tokens --------------------------------------------------------------------------------

    def add_user(self, user: auth.User) -> str:
        """A new token for ``user`` (tests make users that may not read secrets, etc.)."""
        return self.auth.add(user)

    # -- admission and writes ------------------------------------------------------------------

    def rtype_of(self, obj: dict[str, Any]) -> ResourceType:
        rtype = self.registry.by_kind(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
        if rtype is None:
            raise bad_request(f'no matches for kind "{obj.get("kind")}" in version "{obj.get("apiVersion")}"')
        return rtype

    def create_object(self, obj: dict[str, Any]) -> Entry:
        """Create from a manifest (kind decides the resource)."""
        rtype = self.rtype_of(obj)
        return self.create(
            rtype, obj, (obj.get("metadata") or {}).get("namespace", "default") if rtype.namespaced else ""
        )

    def create(
        self,
        rtype: ResourceType,
        obj: dict[str, Any],
        namespace: str,
        *,
        dry_run: bool = False,
        field_validation: str = "Ignore",
        warnings: list[str] | None = None,
    ) -> Entry:
        if not isinstance(obj, dict):
            raise bad_request(f"the object provided is unrecognized (must be of type {rtype.kind})")
        self._check_type(rtype, obj)
        self._check_fields(rtype, obj, field_validation, warnings)
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise bad_request("metadata must be an object")
        if rtype.namespaced:
            if meta.get("namespace") and meta["namespace"] != namespace:
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = namespace
            if self.store.get(NAMESPACES, "", namespace) is None:
                raise not_found(self.registry.by_key(NAMESPACES), namespace)
            if deleting(self.store.get(NAMESPACES, "", namespace).obj):
                raise ApiError(
                    403,
                    f'{rtype.plural} "{meta.get("name", "")}" is forbidden: unable to create new content in '
                    f"namespace {namespace} because it is being terminated",
                    "Forbidden",
                )
        else:
            meta.pop("namespace", None)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = f"{meta['generateName']}{random_suffix(self.rng)}"
        for server_field in (
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "deletionTimestamp",
            "generation",
            "managedFields",
            "selfLink",
        ):
            meta.pop(server_field, None)
        if rtype.key in STATUS_SUBRESOURCE_KEYS and rtype.key not in ("nodes", "namespaces"):
            obj.pop("status", None)
        apply_defaults(rtype.key, obj)
        errors = metadata_errors(rtype.key, obj) + spec_errors(rtype.key, obj)
        if errors:
            raise invalid(rtype, str(meta.get("name") or ""), errors)
        if self.store.get(rtype.key, meta.get("namespace", "") if rtype.namespaced else "", meta["name"]):
            from tui.sim.errors import already_exists

            raise already_exists(rtype, meta["name"])
        if rtype.key == SERVICES:
            self._allocate_service(rtype, obj, None)
        if dry_run:
            return Entry(meta.get("namespace", ""), meta["name"], self.store.rv, obj, None)
        return self.store.create(rtype, obj)

    def _check_fields(
        self, rtype: ResourceType, obj: dict[str, Any], mode: str, warnings: list[str] | None
    ) -> None:
        """``fieldValidation``: unknown fields fail (Strict), become warnings (Warn) or pass (Ignore)."""
        if mode == "Ignore":
            return
        unknown = unknown_fields(rtype.api_version, rtype.kind, obj)
        if not unknown:
            return
        if mode == "Strict":
            raise bad_request(strict_message(rtype.kind, rtype.api_version, unknown))
        if warnings is not None:
            warnings.extend(f'unknown field "{path}"' for path in unknown)

    def _check_type(self, rtype: ResourceType, obj: dict[str, Any]) -> None:
        kind, api_version = obj.get("kind"), obj.get("apiVersion")
        if (kind and kind != rtype.kind) or (api_version and api_version != rtype.api_version):
            raise bad_request(
                f"the API version in the data ({api_version}) does not match the expected API version "
                f"({rtype.api_version})"
                if api_version != rtype.api_version
                else f"the kind in the data ({kind}) does not match the expected kind ({rtype.kind})"
            )

    def _allocate_service(self, rtype: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        spec = obj["spec"]
        old_spec = (old or {}).get("spec") or {}
        if spec.get("type") == "ExternalName":
            return
        requested = spec.get("clusterIP")
        if old_spec.get("clusterIP") and not requested:
            spec["clusterIP"] = old_spec["clusterIP"]
        elif requested and requested != "None" and not old:
            try:
                if requested in self._used_service_ips():
                    raise invalid(
                        rtype,
                        obj["metadata"]["name"],
                        [
                            FieldError(
                                "spec.clusterIPs",
                                "FieldValueInvalid",
                                f"failed to allocate IP {requested}: provided IP is already allocated",
                                [requested],
                            )
                        ],
                    )
                self.service_ips.take(requested)
            except ValueError as exc:
                raise invalid(
                    rtype,
                    obj["metadata"]["name"],
                    [
                        FieldError(
                            "spec.clusterIP", "FieldValueInvalid", "must be a valid IP address", requested
                        )
                    ],
                ) from exc
        elif not requested:
            spec["clusterIP"] = self.service_ips.next_sequential()
        spec["clusterIPs"] = [spec["clusterIP"]]
        if spec.get("type") in ("NodePort", "LoadBalancer"):
            old_ports = {p.get("port"): p.get("nodePort") for p in old_spec.get("ports") or []}
            for port in spec.get("ports") or []:
                if not port.get("nodePort"):
                    port["nodePort"] = old_ports.get(port.get("port")) or self._next_node_port()
                self.node_ports.add(port["nodePort"])
        else:
            for port in spec.get("ports") or []:
                port.pop("nodePort", None)

    def _used_service_ips(self) -> set[str]:
        return {str((e.obj.get("spec") or {}).get("clusterIP")) for e in self.store.iter(SERVICES)}

    def _next_node_port(self) -> int:
        for _ in range(100):
            candidate = self.rng.randrange(30000, 32768)
            if candidate not in self.node_ports:
                return candidate
        return next(p for p in range(30000, 32768) if p not in self.node_ports)

    def update(
        self,
        rtype: ResourceType,
        obj: dict[str, Any],
        namespace: str,
        name: str,
        *,
        subresource: str = "",
        dry_run: bool = False,
        require_rv: bool = False,
        field_validation: str = "Ignore",
        warnings: list[str] | None = None,
    ) -> Entry:
        """PUT (and the end of every patch): the whole object replaced, or just its status."""
        if not isinstance(obj, dict):
            raise bad_request(f"the object provided is unrecognized (must be of type {rtype.kind})")
        self._check_type(rtype, obj)
        self._check_fields(rtype, obj, field_validation, warnings)
        meta = obj.setdefault("metadata", {})
        if meta.get("name") and meta["name"] != name:
            raise bad_request(
                f"the name of the object ({meta['name']}) does not match the name on the URL ({name})"
            )
        meta["name"] = name
        if rtype.namespaced:
            if meta.get("namespace") and meta["namespace"] != namespace:
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = namespace
        current = self.store.get(rtype.key, namespace if rtype.namespaced else "", name)
        if current is None:
            raise not_found(rtype, name)
        expect_rv = meta.get("resourceVersion") or None
        if require_rv and not expect_rv:
            raise invalid(
                rtype,
                name,
                [
                    FieldError(
                        "metadata.resourceVersion", "FieldValueInvalid", "must be specified for an update", 0
                    )
                ],
            )
        old = current.obj
        if subresource == "status":
            new = json.loads(current.raw)
            new["status"] = obj.get("status")
            new["metadata"]["resourceVersion"] = expect_rv or str(current.rv)
            obj = new
        elif rtype.key in STATUS_SUBRESOURCE_KEYS and "status" in old:
            obj["status"] = json.loads(json.dumps(old["status"]))
        for keep in ("uid", "creationTimestamp", "generation", "ownerReferences") if subresource else ():
            if keep in old.get("metadata", {}):
                obj["metadata"][keep] = old["metadata"][keep]
        apply_defaults(rtype.key, obj)
        errors = (
            metadata_errors(rtype.key, obj)
            + spec_errors(rtype.key, obj)
            + immutable_errors(rtype.key, obj, old)
        )
        if errors:
            raise invalid(rtype, name, errors)
        if rtype.key == SERVICES:
            self._allocate_service(rtype, obj, old)
        if dry_run:
            return Entry(current.namespace, name, current.rv, obj, None)
        return self.store.update(rtype, obj, expect_rv=expect_rv)

    def patch(
        self,
        rtype: ResourceType,
        namespace: str,
        name: str,
        patch_type: str,
        body: bytes,
        *,
        subresource: str = "",
        dry_run: bool = False,
        field_validation: str = "Ignore",
        warnings: list[str] | None = None,
    ) -> Entry:
        """merge / strategic-merge / json patch (and server-side apply, which creates if absent)."""
        checks: dict[str, Any] = {"field_validation": field_validation, "warnings": warnings}
        ns = namespace if rtype.namespaced else ""
        try:
            document = json.loads(body or b"null")
        except ValueError as exc:
            if patch_type == "apply":
                import yaml

                try:
                    document = yaml.safe_load(body)
                except yaml.YAMLError:
                    raise bad_request(f"error decoding YAML: {exc}") from exc
            else:
                raise bad_request(_json_error(exc)) from exc
        current = self.store.get(rtype.key, ns, name)
        if current is None:
            if patch_type == "apply" and not subresource:
                if not isinstance(document, dict):
                    raise bad_request("apply patch must be an object")
                document.setdefault("metadata", {})["name"] = name
                return self.create(rtype, document, namespace, dry_run=dry_run, **checks)
            raise not_found(rtype, name)
        base = json.loads(current.raw)
        if patch_type == "json":
            result = json_patch(base, document)
        elif patch_type == "merge":
            if not isinstance(document, dict):
                raise bad_request("json: cannot unmarshal into Go value of type map[string]interface {}")
            result = merge_patch(base, document)
        elif patch_type in ("strategic", "apply"):
            if not isinstance(document, dict):
                raise bad_request("json: cannot unmarshal into Go value of type map[string]interface {}")
            result = strategic_merge(base, document)
        else:
            raise ApiError(
                415,
                "the body of the request was in an unknown format - accepted media types include: "
                "application/json-patch+json, application/merge-patch+json, "
                "application/apply-patch+yaml",
                "UnsupportedMediaType",
            )
        if not isinstance(result, dict):
            raise bad_request("the patch produced something that is not an object")
        meta = result.setdefault("metadata", {})
        if meta.get("resourceVersion") in (None, ""):
            meta["resourceVersion"] = str(current.rv)
        if patch_type == "apply":
            meta["resourceVersion"] = str(current.rv)
        return self.update(rtype, result, namespace, name, subresource=subresource, dry_run=dry_run, **checks)

    def delete(
        self,
        rtype: ResourceType,
        namespace: str,
        name: str,
        *,
        grace: int | None = None,
        dry_run: bool = False,
        precondition_rv: str | None = None,
    ) -> Entry:
        ns = namespace if rtype.namespaced else ""
        current = self.store.get(rtype.key, ns, name)
        if current is None:
            raise not_found(rtype, name)
        if precondition_rv and precondition_rv != str(current.rv):
            from tui.sim.errors import conflict

            raise conflict(rtype, name)
        if dry_run:
            return current
        if rtype.key == PODS:
            if grace == 0:  # --grace-period=0 --force: gone now, its IP back in the pool
                self.controllers.remove_pod(ns, name, current.obj["metadata"]["uid"])
                return current
            self.controllers.delete_pod(ns, name)
            return self.store.get(rtype.key, ns, name) or current
        if rtype.key == NAMESPACES:
            if name in ("default", "kube-system", "kube-public"):
                raise ApiError(
                    403, f'namespaces "{name}" is forbidden: this namespace may not be deleted', "Forbidden"
                )
            if deleting(current.obj):
                return current
            new = current.copy()
            new["status"] = {"phase": "Terminating"}
            self.store.update(rtype, new)
            return self.store.mark_deleting(rtype, "", name, 0)  # the controller empties it, then removes it
        if rtype.key == SERVICES:
            self.service_ips.release((current.obj.get("spec") or {}).get("clusterIP"))
            for ingress in ((current.obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
                self.load_balancer_ips.release(ingress.get("ip"))
            for port in (current.obj.get("spec") or {}).get("ports") or []:
                self.node_ports.discard(port.get("nodePort"))
        entry = self.store.delete(rtype, ns, name)
        self.controllers.on_deleted(rtype.key, current.obj)
        return entry

    # -- events --------------------------------------------------------------------------------

    def record_event(self, obj: dict[str, Any], type_: str, reason: str, message: str) -> None:
        """An Event about ``obj`` (what ``kubectl describe`` lists); the oldest go beyond 500."""
        if self.controllers.instant and self.spec.bulk_services:
            return
        meta = obj.get("metadata", {})
        ns = meta.get("namespace") or "default"
        now = self.store.now()
        name = f"{meta.get('name', '')}.{self.rng.getrandbits(64):016x}"
        event = {
            "metadata": {"name": name, "namespace": ns},
            "involvedObject": {
                "apiVersion": obj.get("apiVersion"),
                "kind": obj.get("kind"),
                "name": meta.get("name"),
                "namespace": ns,
                "uid": meta.get("uid"),
                "resourceVersion": meta.get("resourceVersion"),
            },
            "reason": reason,
            "message": message,
            "type": type_,
            "count": 1,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "eventTime": None,
            "source": {
                "component": "deployment-controller" if obj.get("kind") == "Deployment" else "kubelet"
            },
            "reportingComponent": "",
            "reportingInstance": "",
        }
        rtype = self.registry.by_key("events")
        self.store.create(rtype, event)
        self._event_names.append((ns, name))
        while len(self._event_names) > MAX_EVENTS:
            old_ns, old_name = self._event_names.pop(0)
            if self.store.get("events", old_ns, old_name):
                self.store.delete(rtype, old_ns, old_name)


def _json_error(exc: ValueError) -> str:
    return f"json: {exc}"
