"""What the apiserver checks and fills in before storing an object (422 texts verbatim).

Only what clients of this simulator meet: names, labels, annotations, the Service, Deployment,
DaemonSet and Pod fields that matter, and the defaults the real API adds (so that strict clients,
like the Python client's models, get the fields they expect).
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from tui.sim.errors import FieldError

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

DNS1123_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
    "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
DNS1123_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
DNS1035_LABEL_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
    "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
QUALIFIED_NAME_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
    "an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
    "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)

NAME_RULES: dict[str, str] = {
    "services": "dns1035",
    "namespaces": "label",
}
"""Resource key -> name rule; everything else is a DNS-1123 subdomain."""


def name_errors(key: str, name: str, path: str = "metadata.name") -> list[FieldError]:
    rule = NAME_RULES.get(key, "subdomain")
    if rule == "dns1035":
        if len(name) > 63:
            return [FieldError(path, "FieldValueInvalid", "must be no more than 63 characters", name)]
        if not _DNS1035_LABEL.match(name):
            return [FieldError(path, "FieldValueInvalid", DNS1035_LABEL_MSG, name)]
    elif rule == "label":
        if len(name) > 63:
            return [FieldError(path, "FieldValueInvalid", "must be no more than 63 characters", name)]
        if not _DNS1123_LABEL.match(name):
            return [FieldError(path, "FieldValueInvalid", DNS1123_LABEL_MSG, name)]
    else:
        if len(name) > 253:
            return [FieldError(path, "FieldValueInvalid", "must be no more than 253 characters", name)]
        if not _DNS1123_SUBDOMAIN.match(name):
            return [FieldError(path, "FieldValueInvalid", DNS1123_SUBDOMAIN_MSG, name)]
    return []


def _qualified_key_errors(path: str, key: str) -> list[FieldError]:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _DNS1123_SUBDOMAIN.match(prefix)):
        return [FieldError(path, "FieldValueInvalid", "prefix part " + DNS1123_SUBDOMAIN_MSG, key)]
    if not name:
        return [FieldError(path, "FieldValueInvalid", "name part must be non-empty", key)]
    if len(name) > 63:
        return [FieldError(path, "FieldValueInvalid", "name part must be no more than 63 characters", key)]
    if not _QUALIFIED_NAME.match(name):
        return [FieldError(path, "FieldValueInvalid", QUALIFIED_NAME_MSG, key)]
    return []


def metadata_errors(key: str, obj: dict[str, Any], *, check_name: bool = True) -> list[FieldError]:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return [FieldError("metadata", "FieldValueRequired")]
    errors: list[FieldError] = []
    name = meta.get("name")
    if check_name:
        if not name:
            errors.append(
                FieldError("metadata.name", "FieldValueRequired", "name or generateName is required")
            )
        elif isinstance(name, str):
            errors += name_errors(key, name)
    labels = meta.get("labels") or {}
    if not isinstance(labels, dict):
        errors.append(FieldError("metadata.labels", "FieldValueInvalid", "must be a map", str(labels)))
        labels = {}
    for label_key, value in labels.items():
        errors += _qualified_key_errors("metadata.labels", str(label_key))
        if not isinstance(value, str):
            errors.append(FieldError("metadata.labels", "FieldValueInvalid", "must be a string", value))
        elif len(value) > 63:
            errors.append(
                FieldError(
                    "metadata.labels", "FieldValueInvalid", "must be no more than 63 characters", value
                )
            )
        elif not _LABEL_VALUE.match(value):
            errors.append(FieldError("metadata.labels", "FieldValueInvalid", LABEL_VALUE_MSG, value))
    annotations = meta.get("annotations") or {}
    if not isinstance(annotations, dict):
        errors.append(
            FieldError("metadata.annotations", "FieldValueInvalid", "must be a map", str(annotations))
        )
        annotations = {}
    for ann_key, value in annotations.items():
        errors += _qualified_key_errors("metadata.annotations", str(ann_key))
        if not isinstance(value, str):
            errors.append(FieldError("metadata.annotations", "FieldValueInvalid", "must be a string", value))
    if len(json.dumps(annotations)) > 256 * 1024:
        errors.append(FieldError("metadata.annotations", "TooLong", "may not be more than 262144 bytes"))
    return errors


def _port_errors(path: str, value: Any) -> list[FieldError]:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
        return [FieldError(path, "FieldValueInvalid", "must be between 1 and 65535, inclusive", value)]
    return []


def _pod_spec_errors(path: str, spec: Any) -> list[FieldError]:
    if not isinstance(spec, dict):
        return [FieldError(path, "FieldValueRequired")]
    containers = spec.get("containers")
    if not containers or not isinstance(containers, list):
        return [FieldError(f"{path}.containers", "FieldValueRequired")]
    errors: list[FieldError] = []
    seen: set[str] = set()
    for n, container in enumerate(containers):
        cpath = f"{path}.containers[{n}]"
        if not isinstance(container, dict):
            errors.append(FieldError(cpath, "FieldValueInvalid", "must be an object", container))
            continue
        name = container.get("name")
        if not name:
            errors.append(FieldError(f"{cpath}.name", "FieldValueRequired"))
        elif not _DNS1123_LABEL.match(str(name)):
            errors.append(FieldError(f"{cpath}.name", "FieldValueInvalid", DNS1123_LABEL_MSG, name))
        elif name in seen:
            errors.append(FieldError(f"{cpath}.name", "FieldValueDuplicate", f'Duplicate value: "{name}"'))
        seen.add(str(name))
        if not container.get("image"):
            errors.append(FieldError(f"{cpath}.image", "FieldValueRequired"))
        for p, port in enumerate(container.get("ports") or []):
            errors += _port_errors(f"{cpath}.ports[{p}].containerPort", (port or {}).get("containerPort"))
    return errors


def spec_errors(key: str, obj: dict[str, Any]) -> list[FieldError]:
    """Kind-specific checks of a complete (defaulted) object."""
    spec = obj.get("spec") or {}
    errors: list[FieldError] = []
    if key == "services":
        svc_type = spec.get("type", "ClusterIP")
        if svc_type not in ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"):
            errors.append(
                FieldError(
                    "spec.type",
                    "FieldValueNotSupported",
                    'supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
                    svc_type,
                )
            )
        ports = spec.get("ports") or []
        if not ports and svc_type != "ExternalName":
            errors.append(FieldError("spec.ports", "FieldValueRequired"))
        names: set[str] = set()
        for n, port in enumerate(ports):
            if not isinstance(port, dict):
                errors.append(FieldError(f"spec.ports[{n}]", "FieldValueInvalid", "must be an object", port))
                continue
            errors += _port_errors(f"spec.ports[{n}].port", port.get("port"))
            if len(ports) > 1 and not port.get("name"):
                errors.append(FieldError(f"spec.ports[{n}].name", "FieldValueRequired"))
            if port.get("name") in names:
                errors.append(
                    FieldError(
                        f"spec.ports[{n}].name", "FieldValueDuplicate", f'Duplicate value: "{port["name"]}"'
                    )
                )
            names.add(port.get("name", ""))
            if port.get("protocol", "TCP") not in ("TCP", "UDP", "SCTP"):
                errors.append(
                    FieldError(
                        f"spec.ports[{n}].protocol",
                        "FieldValueNotSupported",
                        'supported values: "SCTP", "TCP", "UDP"',
                        port.get("protocol"),
                    )
                )
    elif key in ("deployments.apps", "replicasets.apps", "daemonsets.apps"):
        replicas = spec.get("replicas", 1)
        if key != "daemonsets.apps" and (
            not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0
        ):
            errors.append(
                FieldError(
                    "spec.replicas", "FieldValueInvalid", "must be greater than or equal to 0", replicas
                )
            )
        selector = spec.get("selector")
        template = spec.get("template") or {}
        if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
            errors.append(FieldError("spec.selector", "FieldValueRequired"))
        else:
            from tui.sim.selectors import selector_matcher

            matcher = selector_matcher(selector)
            labels = (template.get("metadata") or {}).get("labels") or {}
            if matcher is not None and not matcher(labels):
                shown = (
                    "map[string]string{" + ", ".join(f'"{k}":"{v}"' for k, v in sorted(labels.items())) + "}"
                )
                errors.append(
                    FieldError(
                        "spec.template.metadata.labels",
                        "FieldValueInvalid",
                        "`selector` does not match template `labels`",
                        shown,
                    )
                )
        errors += _pod_spec_errors("spec.template.spec", template.get("spec"))
    elif key == "pods":
        errors += _pod_spec_errors("spec", spec)
    return errors


def immutable_errors(key: str, new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    """Fields an update may not change."""
    errors: list[FieldError] = []
    workload = key in ("deployments.apps", "replicasets.apps", "daemonsets.apps")
    if workload and (new.get("spec") or {}).get("selector") != (old.get("spec") or {}).get("selector"):
        errors.append(
            FieldError("spec.selector", "FieldValueInvalid", "field is immutable", _selector_repr(new))
        )
    if key == "nodes":
        # ValidateNodeUpdate: spec.podCIDR(s) may go from "" to a value once, never change after
        old_spec, new_spec = old.get("spec") or {}, new.get("spec") or {}
        old_cidrs = old_spec.get("podCIDRs") or ([old_spec["podCIDR"]] if old_spec.get("podCIDR") else [])
        new_cidrs = new_spec.get("podCIDRs") or ([new_spec["podCIDR"]] if new_spec.get("podCIDR") else [])
        if old_cidrs and new_cidrs != old_cidrs:
            detail = 'node updates may not change podCIDR except from "" to valid'
            errors.append(FieldError("spec.podCIDRs", "FieldValueForbidden", detail))
    if key == "services":
        old_ip = (old.get("spec") or {}).get("clusterIP")
        new_ip = (new.get("spec") or {}).get("clusterIP")
        if old_ip and new_ip and old_ip != new_ip:
            errors.append(
                FieldError("spec.clusterIPs[0]", "FieldValueInvalid", "may not change once set", new_ip)
            )
    return errors


def _selector_repr(obj: dict[str, Any]) -> str:
    return (
        "v1.LabelSelector{MatchLabels:"
        + json.dumps((obj.get("spec") or {}).get("selector", {}).get("matchLabels"))
        + "}"
    )


# -- defaults ---------------------------------------------------------------------------------


def _default_container(container: dict[str, Any]) -> None:
    image = str(container.get("image", ""))
    tag = image.rsplit("/", 1)[-1]
    latest = ":" not in tag or tag.endswith(":latest")
    container.setdefault("imagePullPolicy", "Always" if latest and "@" not in tag else "IfNotPresent")
    container.setdefault("resources", {})
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    for port in container.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")


def default_pod_spec(spec: dict[str, Any]) -> None:
    for container in spec.get("containers") or []:
        if isinstance(container, dict):
            _default_container(container)
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")


def apply_defaults(key: str, obj: dict[str, Any]) -> None:
    """Fill in what the real API defaults (in place, on a private copy)."""
    meta = obj.setdefault("metadata", {})
    spec = obj.get("spec")
    if key == "namespaces":
        meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta.get("name", "")
        obj.setdefault("spec", {"finalizers": ["kubernetes"]})
        obj.setdefault("status", {"phase": "Active"})
    elif key == "services" and isinstance(spec, dict):
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        if spec["type"] != "ExternalName":
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
            spec.setdefault("internalTrafficPolicy", "Cluster")
        if spec["type"] in ("NodePort", "LoadBalancer"):
            spec.setdefault("externalTrafficPolicy", "Cluster")
        for port in spec.get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")
                if "port" in port:
                    port.setdefault("targetPort", port["port"])
        obj.setdefault("status", {"loadBalancer": {}})
    elif key in ("deployments.apps", "replicasets.apps", "daemonsets.apps") and isinstance(spec, dict):
        if key != "daemonsets.apps":
            spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        if key == "deployments.apps":
            spec.setdefault("progressDeadlineSeconds", 600)
            spec.setdefault(
                "strategy",
                {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            )
        if key == "daemonsets.apps":
            spec.setdefault(
                "updateStrategy",
                {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}},
            )
        template = spec.setdefault("template", {})
        template.setdefault("metadata", {}).setdefault("creationTimestamp", None)
        if isinstance(template.get("spec"), dict):
            default_pod_spec(template["spec"])
        # Status fields that are not omitempty in the Go types (strict clients require them).
        if key == "daemonsets.apps":
            zeros = ("currentNumberScheduled", "desiredNumberScheduled", "numberMisscheduled", "numberReady")
            obj.setdefault("status", dict.fromkeys(zeros, 0))
        elif key == "replicasets.apps":
            obj.setdefault("status", {"replicas": 0})
        else:
            obj.setdefault("status", {})
    elif key == "pods" and isinstance(spec, dict):
        default_pod_spec(spec)
        obj.setdefault("status", {"phase": "Pending", "qosClass": "BestEffort"})
    elif key == "secrets":
        obj.setdefault("type", "Opaque")
        string_data = obj.pop("stringData", None)
        if isinstance(string_data, dict):
            data = obj.setdefault("data", {})
            for k, v in string_data.items():
                data[k] = base64.b64encode(str(v).encode()).decode()
