"""Write actions as plain data: what the operator asked for, its kubectl equivalent, and its outcome.

The app and the headless commands build these; the cluster-access layer performs them. Keeping
them pure means the confirmation dialog, the activity log and ``--yes`` prompts all show the same
words and the same kubectl command, and validation happens before anything is sent.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from tui.mesh.annotations import (
    ANNOTATION_AFFINITY,
    ANNOTATION_GLOBAL,
    ANNOTATION_SHARED,
    LEGACY_AFFINITY,
    LEGACY_GLOBAL,
    LEGACY_SHARED,
)

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_ANNOTATION_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$")


class InvalidAction(ValueError):
    """The action cannot be sent as asked; the message says why in the operator's words."""


def check_label_name(kind: str, value: str) -> None:
    """Namespaces and services are DNS-1123 labels (63 chars, lower-case alphanumerics and '-')."""
    if not value or len(value) > 63 or not DNS1123_LABEL.match(value):
        raise InvalidAction(
            f"invalid {kind} name {value!r}: must be a DNS-1123 label (at most 63 lower-case letters, "
            "digits or '-', starting and ending with a letter or digit)"
        )


def check_subdomain_name(kind: str, value: str) -> None:
    """Deployments and pods are DNS-1123 subdomains (253 chars, labels joined by '.')."""
    if not value or len(value) > 253 or not DNS1123_SUBDOMAIN.match(value):
        raise InvalidAction(
            f"invalid {kind} name {value!r}: must be a DNS-1123 subdomain (lower-case letters, "
            "digits, '-' and '.', starting and ending with a letter or digit)"
        )


def check_annotation_key(key: str) -> None:
    """``prefix/name`` with a DNS-1123 subdomain prefix and a 63-char qualified name."""
    prefix, _, name = key.rpartition("/")
    if prefix:
        check_subdomain_name("annotation prefix", prefix)
    if not name or len(name) > 63 or not _ANNOTATION_NAME.match(name):
        raise InvalidAction(f"invalid annotation key {key!r}")


CILIUM_VALUES: dict[str, tuple[str, ...]] = {
    **dict.fromkeys((ANNOTATION_GLOBAL, LEGACY_GLOBAL, ANNOTATION_SHARED, LEGACY_SHARED), ("true", "false")),
    **dict.fromkeys((ANNOTATION_AFFINITY, LEGACY_AFFINITY), ("local", "remote")),
}
"""The values meshtui writes to Cilium's service annotations (anything else Cilium would misread).

Affinity "none" is never written as a word: Cilium 1.18.x and 1.19.x (before the fix of
cilium/cilium#46623) read the literal ``none`` as "local backends only", which blackholes a
service without local backends. Removing the annotation means "no preference" in every
version, so that is what "none" does (:func:`affinity_action`)."""

AFFINITY_CHOICES = ("local", "remote", "none", "remove")
NONE_WRITE_NOTE = (
    "none = no preference: meshtui removes the annotation (the word 'none' makes Cilium "
    "1.18/1.19 use local backends only, cilium/cilium#46623)"
)


def check_annotation_value(key: str, value: str | None) -> None:
    """A Cilium annotation gets one of its values; other keys are the API server's to judge."""
    allowed = CILIUM_VALUES.get(key)
    if value is not None and allowed is not None and value not in allowed:
        raise InvalidAction(f"invalid value {value!r} for {key}: must be one of {', '.join(allowed)}")


@dataclass(frozen=True, slots=True)
class SetAnnotation:
    """Set (``value`` given) or remove (``value is None``) one annotation of a Service."""

    context: str
    namespace: str
    service: str
    key: str
    value: str | None
    old: str | None = None
    """The value before the change, as the app saw it (for the dialog and the log)."""
    also_remove: tuple[str, ...] = ()
    """Further keys removed in the same patch (the legacy alias of an affinity being removed:
    Cilium would read it once the new key is gone)."""

    kind: Literal["annotation"] = "annotation"

    def validate(self) -> None:
        check_label_name("namespace", self.namespace)
        check_label_name("service", self.service)
        check_annotation_key(self.key)
        check_annotation_value(self.key, self.value)
        for key in self.also_remove:
            check_annotation_key(key)

    @property
    def removed(self) -> tuple[str, ...]:
        """Every key this write removes."""
        return ((self.key,) if self.value is None else ()) + self.also_remove

    def patch(self) -> dict[str, str | None]:
        """The ``metadata.annotations`` of the merge patch (``None`` removes a key)."""
        body: dict[str, str | None] = {self.key: self.value}
        body.update(dict.fromkeys(self.also_remove))
        return body

    @property
    def target(self) -> str:
        return f"service {self.namespace}/{self.service}"

    def describe(self) -> str:
        """``service.cilium.io/affinity: none → local`` as the dialog and log show it."""
        old = "(unset)" if self.old is None else self.old
        new = "(removed)" if self.value is None else self.value
        text = f"{self.key}: {old} → {new}"
        if self.also_remove:
            text += f"; {', '.join(self.also_remove)} removed"
        return text

    def kubectl(self) -> str:
        """The command an operator would type for the same change."""
        change = f"{self.key}-" if self.value is None else f"{self.key}={self.value}"
        args = ["kubectl", "--context", self.context, "-n", self.namespace, "annotate", "service"]
        args += [self.service, change, *(f"{key}-" for key in self.also_remove)]
        if self.value is not None:
            args.append("--overwrite")
        return shlex.join(args)


def affinity_action(
    context: str, namespace: str, service: str, annotations: Mapping[str, str], choice: str
) -> SetAnnotation | None:
    """The write for an affinity choice (``local``/``remote``/``none``/``remove``) on a service
    with ``annotations``; ``None`` when it already has that meaning.

    ``local``/``remote`` write ``service.cilium.io/affinity`` (and drop a legacy alias, which
    the new key would override anyway). ``none`` and ``remove`` both remove every affinity
    annotation — new key and legacy alias — because the word ``none`` blackholes on Cilium
    1.18/1.19 (cilium/cilium#46623) while an absent annotation means no preference everywhere.
    """
    if choice not in AFFINITY_CHOICES:
        raise InvalidAction(f"invalid affinity {choice!r}: must be one of {', '.join(AFFINITY_CHOICES)}")
    present = [k for k in (ANNOTATION_AFFINITY, LEGACY_AFFINITY) if k in annotations]
    old = annotations[present[0]] if present else None
    if choice in ("local", "remote"):
        alias = (LEGACY_AFFINITY,) if LEGACY_AFFINITY in annotations else ()
        if annotations.get(ANNOTATION_AFFINITY) == choice and not alias:
            return None
        return SetAnnotation(
            context, namespace, service, ANNOTATION_AFFINITY, choice, old=old, also_remove=alias
        )
    if not present:
        return None
    return SetAnnotation(
        context, namespace, service, present[0], None, old=old, also_remove=tuple(present[1:])
    )


@dataclass(frozen=True, slots=True)
class Scale:
    """Set a Deployment's replicas through the scale subresource."""

    context: str
    namespace: str
    deployment: str
    replicas: int
    old: int | None = None

    kind: Literal["scale"] = "scale"

    def validate(self) -> None:
        check_label_name("namespace", self.namespace)
        check_subdomain_name("deployment", self.deployment)
        if not isinstance(self.replicas, int) or isinstance(self.replicas, bool) or self.replicas < 0:
            raise InvalidAction(f"invalid replica count {self.replicas!r}: must be a whole number ≥ 0")
        if self.replicas > 1000:
            raise InvalidAction(f"refusing to scale to {self.replicas} replicas (more than 1000)")

    @property
    def target(self) -> str:
        return f"deployment {self.namespace}/{self.deployment}"

    def describe(self) -> str:
        old = "?" if self.old is None else str(self.old)
        return f"replicas: {old} → {self.replicas}"

    def kubectl(self) -> str:
        args = ["kubectl", "--context", self.context, "-n", self.namespace, "scale"]
        args += [f"deployment/{self.deployment}", f"--replicas={self.replicas}"]
        return shlex.join(args)


WriteAction = SetAnnotation | Scale


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What happened to a write: ``ok``, or the precise error (HTTP status and the server's words).

    ``message`` never contains credentials: the cluster-access layer redacts before building it.
    """

    action: WriteAction
    ok: bool
    message: str = ""
    status: int | None = None
    """HTTP status of the failure (403, 404, 409, 422...), ``None`` for success or no answer."""
    refused: bool = False
    """Refused before sending (read-only mode, invalid input, RBAC known to deny)."""
