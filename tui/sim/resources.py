"""The resource types a simulated cluster serves, and the discovery documents built from them.

One :class:`ResourceType` per REST resource. Discovery (aggregated and legacy), OpenAPI, RBAC
messages and URL routing are all derived from this registry, so adding a kind (part 2 adds
Cilium's CRDs) is one :meth:`Registry.add` call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class ResourceType:
    """One REST resource (``services``, ``deployments.apps``...)."""

    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool = True
    verbs: tuple[str, ...] = ALL_VERBS
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    """``status``, ``scale``, ``exec``..."""

    @property
    def key(self) -> str:
        """``services`` or ``deployments.apps``: the group-qualified resource (as in messages)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def group_version_path(self) -> str:
        """``/api/v1`` or ``/apis/apps/v1``."""
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        """The URL path of a collection or one object (what ``selfLink`` used to be)."""
        parts = [self.group_version_path]
        if self.namespaced and namespace:
            parts += ["namespaces", namespace]
        parts.append(self.plural)
        if name:
            parts.append(name)
        return "/".join(parts)


_SUBRESOURCE_KINDS: dict[str, tuple[str, str, str]] = {
    # subresource -> (group, version, kind) of what it answers with; "" kind = the parent's kind
    "status": ("", "", ""),
    "scale": ("autoscaling", "v1", "Scale"),
    "exec": ("", "v1", "PodExecOptions"),
    "log": ("", "v1", "Pod"),
}
_SUBRESOURCE_VERBS: dict[str, tuple[str, ...]] = {
    "status": ("get", "patch", "update"),
    "scale": ("get", "patch", "update"),
    "exec": ("create", "get"),
    "log": ("get",),
}


@dataclass
class Registry:
    """Every resource type of one cluster, indexed for routing."""

    types: list[ResourceType] = field(default_factory=list)

    def add(self, rtype: ResourceType) -> ResourceType:
        self.types = [t for t in self.types if t.key != rtype.key]
        self.types.append(rtype)
        return rtype

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        for rtype in self.types:
            if rtype.plural == plural and rtype.group == group and rtype.version == version:
                return rtype
        return None

    def by_key(self, key: str) -> ResourceType:
        for rtype in self.types:
            if rtype.key == key:
                return rtype
        raise KeyError(key)

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        for rtype in self.types:
            if rtype.kind == kind and rtype.api_version == api_version:
                return rtype
        return None

    def group_versions(self) -> list[tuple[str, str]]:
        """(group, version) pairs in registration order, core first."""
        seen: list[tuple[str, str]] = []
        for rtype in self.types:
            pair = (rtype.group, rtype.version)
            if pair not in seen:
                seen.append(pair)
        return sorted(seen, key=lambda gv: (gv[0] != "", 0))

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [t for t in self.types if t.group == group and t.version == version]

    # -- discovery documents ------------------------------------------------------------------

    def api_resource_list(self, group: str, version: str) -> dict[str, Any]:
        """Legacy discovery: ``/api/v1`` or ``/apis/G/V``."""
        resources: list[dict[str, Any]] = []
        for rtype in self.in_group_version(group, version):
            entry: dict[str, Any] = {
                "name": rtype.plural,
                "singularName": rtype.singular,
                "namespaced": rtype.namespaced,
                "kind": rtype.kind,
                "verbs": list(rtype.verbs),
            }
            if rtype.short_names:
                entry["shortNames"] = list(rtype.short_names)
            if rtype.categories:
                entry["categories"] = list(rtype.categories)
            resources.append(entry)
            for sub in rtype.subresources:
                sgroup, sversion, skind = _SUBRESOURCE_KINDS.get(sub, ("", "", ""))
                sub_entry: dict[str, Any] = {
                    "name": f"{rtype.plural}/{sub}",
                    "singularName": "",
                    "namespaced": rtype.namespaced,
                    "kind": skind or rtype.kind,
                    "verbs": list(_SUBRESOURCE_VERBS.get(sub, ("get",))),
                }
                if sgroup:
                    sub_entry["group"], sub_entry["version"] = sgroup, sversion
                resources.append(sub_entry)
        gv = f"{group}/{version}" if group else version
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}

    def api_group_list(self) -> dict[str, Any]:
        """Legacy ``/apis``: every named group with its (single) version."""
        groups: list[dict[str, Any]] = []
        for group, version in self.group_versions():
            if not group:
                continue
            gv = {"groupVersion": f"{group}/{version}", "version": version}
            groups.append({"name": group, "versions": [gv], "preferredVersion": gv})
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}

    def aggregated(self, core: bool) -> dict[str, Any]:
        """Aggregated discovery (``apidiscovery.k8s.io/v2``) for ``/api`` (core) or ``/apis``."""
        items: list[dict[str, Any]] = []
        for group, version in self.group_versions():
            if core != (group == ""):
                continue
            resources: list[dict[str, Any]] = []
            for rtype in self.in_group_version(group, version):
                entry: dict[str, Any] = {
                    "resource": rtype.plural,
                    "responseKind": {"group": group, "version": version, "kind": rtype.kind},
                    "scope": "Namespaced" if rtype.namespaced else "Cluster",
                    "singularResource": rtype.singular,
                    "verbs": list(rtype.verbs),
                }
                if rtype.short_names:
                    entry["shortNames"] = list(rtype.short_names)
                if rtype.categories:
                    entry["categories"] = list(rtype.categories)
                subs = []
                for sub in rtype.subresources:
                    sgroup, sversion, skind = _SUBRESOURCE_KINDS.get(sub, ("", "", ""))
                    subs.append(
                        {
                            "subresource": sub,
                            "responseKind": {
                                "group": sgroup if skind else group,
                                "version": sversion if skind else version,
                                "kind": skind or rtype.kind,
                            },
                            "verbs": list(_SUBRESOURCE_VERBS.get(sub, ("get",))),
                        }
                    )
                if subs:
                    entry["subresources"] = subs
                resources.append(entry)
            items.append(
                {
                    "metadata": {"name": group, "creationTimestamp": None},
                    "versions": [{"version": version, "resources": resources, "freshness": "Current"}],
                }
            )
        return {
            "kind": "APIGroupDiscoveryList",
            "apiVersion": "apidiscovery.k8s.io/v2",
            "metadata": {},
            "items": items,
        }


def default_registry() -> Registry:
    """The kinds part 1 serves: core, apps, discovery.k8s.io and access reviews."""
    reg = Registry()
    add = reg.add
    add(
        ResourceType(
            "",
            "v1",
            "namespaces",
            "namespace",
            "Namespace",
            False,
            ("create", "delete", "get", "list", "patch", "update", "watch"),
            ("ns",),
            subresources=("status",),
        )
    )
    add(ResourceType("", "v1", "nodes", "node", "Node", False, short_names=("no",), subresources=("status",)))
    add(
        ResourceType(
            "",
            "v1",
            "pods",
            "pod",
            "Pod",
            short_names=("po",),
            categories=("all",),
            subresources=("status", "exec", "log"),
        )
    )
    add(
        ResourceType(
            "",
            "v1",
            "services",
            "service",
            "Service",
            short_names=("svc",),
            categories=("all",),
            subresources=("status",),
        )
    )
    add(ResourceType("", "v1", "configmaps", "configmap", "ConfigMap", short_names=("cm",)))
    add(ResourceType("", "v1", "secrets", "secret", "Secret"))
    add(ResourceType("", "v1", "events", "event", "Event", short_names=("ev",)))
    add(
        ResourceType(
            "apps",
            "v1",
            "deployments",
            "deployment",
            "Deployment",
            short_names=("deploy",),
            categories=("all",),
            subresources=("scale", "status"),
        )
    )
    add(
        ResourceType(
            "apps",
            "v1",
            "replicasets",
            "replicaset",
            "ReplicaSet",
            short_names=("rs",),
            categories=("all",),
            subresources=("scale", "status"),
        )
    )
    add(
        ResourceType(
            "apps",
            "v1",
            "daemonsets",
            "daemonset",
            "DaemonSet",
            short_names=("ds",),
            categories=("all",),
            subresources=("status",),
        )
    )
    add(ResourceType("discovery.k8s.io", "v1", "endpointslices", "endpointslice", "EndpointSlice"))
    add(ResourceType("", "v1", "endpoints", "endpoints", "Endpoints", short_names=("ep",)))
    add(
        ResourceType(
            "authorization.k8s.io",
            "v1",
            "selfsubjectaccessreviews",
            "selfsubjectaccessreview",
            "SelfSubjectAccessReview",
            False,
            ("create",),
        )
    )
    add(
        ResourceType(
            "authorization.k8s.io",
            "v1",
            "selfsubjectrulesreviews",
            "selfsubjectrulesreview",
            "SelfSubjectRulesReview",
            False,
            ("create",),
        )
    )
    for extra in EXTRA_TYPES:
        add(extra)
    return reg


EXTRA_TYPES: list[ResourceType] = []
"""Types every new cluster serves besides the built-in ones (part 2: Cilium's CRDs)."""


def register_type(rtype: ResourceType) -> ResourceType:
    """Serve ``rtype`` in every cluster created from now on (discovery, OpenAPI, RBAC, CRUD, watch)."""
    global EXTRA_TYPES
    EXTRA_TYPES = [t for t in EXTRA_TYPES if t.key != rtype.key]
    EXTRA_TYPES.append(rtype)
    return rtype
