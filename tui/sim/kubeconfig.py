"""The kubeconfig a simulated mesh hands to its clients: one context per cluster.

Written with mode 0600 (it holds bearer tokens). Each context uses the cluster's admin user by
default, or its read-only user. Nothing here prints a token.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

if TYPE_CHECKING:
    from tui.sim.cluster import SimCluster

UserKind = Literal["admin", "readonly"]


def kubeconfig_dict(
    clusters: Iterable[SimCluster], user: UserKind | Mapping[str, UserKind] = "admin"
) -> dict[str, Any]:
    """The kubeconfig document; ``user`` is one kind for all contexts or a per-context mapping
    (contexts not in it get the admin user)."""
    entries_clusters, entries_users, entries_contexts = [], [], []
    clusters = list(clusters)
    for cluster in clusters:
        kind: UserKind = user if isinstance(user, str) else user.get(cluster.context, "admin")
        server: dict[str, Any] = {"server": cluster.url}
        if cluster.tls is not None:
            server["certificate-authority-data"] = base64.b64encode(cluster.tls.ca_pem).decode()
        user_name = f"{cluster.context}-{kind}"
        token = cluster.admin_token if kind == "admin" else cluster.readonly_token
        entries_clusters.append({"name": cluster.context, "cluster": server})
        entries_users.append({"name": user_name, "user": {"token": token}})
        entries_contexts.append(
            {"name": cluster.context, "context": {"cluster": cluster.context, "user": user_name}}
        )
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": entries_clusters,
        "users": entries_users,
        "contexts": entries_contexts,
        "current-context": clusters[0].context if clusters else "",
    }


def write_kubeconfig(
    path: str | os.PathLike[str],
    clusters: Iterable[SimCluster],
    user: UserKind | Mapping[str, UserKind] = "admin",
) -> Path:
    """Write (replace) ``path`` with mode 0600, creating its folder."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(kubeconfig_dict(clusters, user), sort_keys=False)
    tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, target)
    return target
