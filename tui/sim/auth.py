"""Bearer tokens and a small rule-based RBAC, with the apiserver's Forbidden texts.

Each token maps to a :class:`User` with :class:`Rule`s (verbs x groups x resources, optionally
limited to namespaces). ``SelfSubjectAccessReview`` answers from the same rules, so the product
can learn in advance what a context allows. Tokens never leave this process except in the
kubeconfig file the simulator writes (mode 0600).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

from tui.sim.errors import ApiError
from tui.sim.resources import ResourceType

READ_VERBS = ("get", "list", "watch")


@dataclass(frozen=True)
class Rule:
    """Allow ``verbs`` on ``resources`` (``"services"``, ``"deployments/scale"``, ``"*"``) in ``groups``."""

    verbs: tuple[str, ...]
    resources: tuple[str, ...] = ("*",)
    groups: tuple[str, ...] = ("*",)
    namespaces: tuple[str, ...] | None = None
    """``None``: every namespace and the cluster scope."""

    def allows(self, verb: str, group: str, resource: str, namespace: str) -> bool:
        if "*" not in self.verbs and verb not in self.verbs:
            return False
        if "*" not in self.groups and group not in self.groups:
            return False
        if "*" not in self.resources and resource not in self.resources:
            base = resource.split("/", 1)[0]
            if f"{base}/*" not in self.resources:
                return False
        return self.namespaces is None or namespace in self.namespaces


@dataclass(frozen=True)
class User:
    name: str
    rules: tuple[Rule, ...]
    denies: tuple[Rule, ...] = ()
    """Exceptions to ``rules`` (to build e.g. "everything but reading secrets")."""
    groups: tuple[str, ...] = ("system:authenticated",)

    def allows(self, verb: str, group: str, resource: str, namespace: str = "") -> bool:
        if resource in ("selfsubjectaccessreviews", "selfsubjectrulesreviews"):
            return True  # every authenticated user may ask (system:basic-user)
        if any(r.allows(verb, group, resource, namespace) for r in self.denies):
            return False
        return any(r.allows(verb, group, resource, namespace) for r in self.rules)


def admin(name: str = "meshtui-admin") -> User:
    return User(name, (Rule(("*",)),), groups=("system:masters", "system:authenticated"))


def read_only(name: str = "meshtui-readonly") -> User:
    return User(name, (Rule(READ_VERBS),))


@dataclass
class Authenticator:
    """Tokens of one cluster."""

    users: dict[str, User] = field(default_factory=dict)
    """token -> user"""

    def add(self, user: User, token: str | None = None) -> str:
        token = token or secrets.token_urlsafe(32)
        self.users[token] = user
        return token

    def token_for(self, name: str) -> str | None:
        for token, user in self.users.items():
            if user.name == name:
                return token
        return None

    def authenticate(self, header: str | None) -> User:
        if header and header.lower().startswith("bearer "):
            user = self.users.get(header[7:].strip())
            if user is not None:
                return user
        raise ApiError(401, "Unauthorized", "Unauthorized")


def forbidden(
    user: User, verb: str, rtype: ResourceType, namespace: str, name: str = "", subresource: str = ""
) -> ApiError:
    """``services "x" is forbidden: User "u" cannot patch resource "services" in API group "" ...``"""
    resource = f"{rtype.plural}/{subresource}" if subresource else rtype.plural
    subject = f'{rtype.key} "{name}"' if name else rtype.key
    scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    message = (
        f'{subject} is forbidden: User "{user.name}" cannot {verb} resource "{resource}" '
        f'in API group "{rtype.group}" {scope}'
    )
    details: dict[str, str] = {}
    if name:
        details["name"] = name
    if rtype.group:
        details["group"] = rtype.group
    details["kind"] = rtype.plural
    return ApiError(403, message, "Forbidden", details)


def authorize(
    user: User, verb: str, rtype: ResourceType, namespace: str, name: str = "", subresource: str = ""
) -> None:
    resource = f"{rtype.plural}/{subresource}" if subresource else rtype.plural
    if not user.allows(verb, rtype.group, resource, namespace if rtype.namespaced else ""):
        raise forbidden(user, verb, rtype, namespace if rtype.namespaced else "", name, subresource)


def readers_except(name: str, hidden: Iterable[str]) -> User:
    """A read-only user that may not read the given resources (e.g. ``secrets``)."""
    return User(name, (Rule(READ_VERBS),), denies=(Rule(("*",), tuple(hidden)),))
