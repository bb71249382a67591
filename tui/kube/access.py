"""Access reviews (``SelfSubjectAccessReview``): which actions a context allows, known in advance.

The app hides or marks the actions RBAC denies (k9s removes them under RBAC or ``--readonly``);
the ids below are the keys of ``ClusterState.allowed`` / ``denied_reasons``.
"""

from __future__ import annotations

from dataclasses import dataclass

from tui.kube.client import Action, KubeClient
from tui.kube.errors import KubeError

SSAR_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


@dataclass(frozen=True, slots=True)
class AccessCheck:
    verb: str
    resource: str
    group: str = ""
    subresource: str = ""
    namespace: str = ""
    """``""``: every namespace (what the app's actions need: they apply anywhere)."""

    @property
    def id(self) -> str:
        """``patch services``, ``patch deployments/scale``, ``list secrets in kube-system``."""
        text = f"{self.verb} {self.resource}" + (f"/{self.subresource}" if self.subresource else "")
        return f"{text} in {self.namespace}" if self.namespace else text


ACTION_CHECKS: tuple[AccessCheck, ...] = (
    AccessCheck("patch", "services"),
    AccessCheck("patch", "deployments", "apps", "scale"),
    AccessCheck("create", "pods", "", "exec"),
    AccessCheck("create", "namespaces"),
    AccessCheck("create", "services"),
    AccessCheck("delete", "services"),
    AccessCheck("create", "deployments", "apps"),
    AccessCheck("delete", "deployments", "apps"),
    AccessCheck("list", "secrets", "", "", "kube-system"),
)
"""What the app asks about every context: annotate, scale, exec (curl, cilium), sample apps."""


@dataclass(frozen=True, slots=True)
class AccessDecision:
    check: AccessCheck
    allowed: bool
    reason: str = ""


async def review(client: KubeClient, check: AccessCheck) -> AccessDecision:
    """One review; raises :class:`KubeError` when the server cannot answer it."""
    attributes = {"verb": check.verb, "resource": check.resource, "group": check.group}
    if check.subresource:
        attributes["subresource"] = check.subresource
    if check.namespace:
        attributes["namespace"] = check.namespace
    body = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": attributes},
    }
    doc = await client.request_json(
        "POST", SSAR_PATH, action=Action("create", "selfsubjectaccessreviews"), body=body
    )
    status = doc.get("status") or {}
    allowed = bool(status.get("allowed")) and not status.get("denied")
    reason = str(status.get("reason") or status.get("evaluationError") or "")
    if not allowed and not reason:
        where = f" in {check.namespace}" if check.namespace else ""
        reason = f"RBAC does not allow {check.id.split(' in ')[0]}{where}"
    return AccessDecision(check, allowed, reason)


async def review_all(
    client: KubeClient, checks: tuple[AccessCheck, ...] = ACTION_CHECKS
) -> tuple[dict[str, bool], dict[str, str]]:
    """(allowed, denied reasons) by check id; checks the server could not answer are left out."""
    results: list[AccessDecision | BaseException] = []
    for check in checks:  # one after the other: one kept-alive connection, no burst of handshakes
        try:
            results.append(await review(client, check))
        except KubeError as exc:
            results.append(exc)
    allowed: dict[str, bool] = {}
    reasons: dict[str, str] = {}
    errors: list[KubeError] = []
    for check, result in zip(checks, results, strict=True):
        if isinstance(result, AccessDecision):
            allowed[check.id] = result.allowed
            if not result.allowed:
                reasons[check.id] = result.reason
        elif isinstance(result, KubeError):
            errors.append(result)
        elif isinstance(result, BaseException):
            raise result
    if errors and not allowed:
        raise errors[0]
    return allowed, reasons
