"""Clusters that could not be read, as findings: ``meshtui status`` is a health check.

The rules (``connect_checks``) judge only clusters whose data is usable; a cluster that is
unreachable, broken in the kubeconfig, denied by RBAC or not synced within ``--timeout`` is
simply left out of them. For a script asking "is the mesh healthy?" that silence must not read
as health, so each such cluster becomes an **error** finding (``cluster-unreadable``) and
``status`` exits 1. A ``stale`` cluster (read, then its watches broke) is judged on the data
kept and gets a **warning** (``cluster-stale``). Only when no cluster at all could be read does
the command fail as a connection error (exit 2).
"""

from __future__ import annotations

import shlex

from tui.mesh.model import ClusterState, MeshSnapshot
from tui.views.labels import phase_text
from tui.views.status import FindingView, StatusView

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def _fix(state: ClusterState, timeout: float | None) -> str:
    context = shlex.quote(state.context)
    if state.phase == "error":
        return f"kubectl config view --minify --context {context}  # fix this context's entry"
    if state.phase == "forbidden":
        return f"kubectl auth can-i --list --context {context}"
    if state.phase == "syncing":
        longer = f" (more than {timeout:g} s)" if timeout is not None else ""
        return f"retry with a longer --timeout{longer}; kubectl get --raw /readyz --context {context}"
    return f"kubectl get --raw /readyz --context {context}"


def reach_findings(snapshot: MeshSnapshot, timeout: float | None = None) -> list[FindingView]:
    """One finding per context whose data could not be (fully) read."""
    out: list[FindingView] = []
    for state in snapshot.clusters:
        if state.phase == "ok":
            continue
        if state.phase == "stale":
            out.append(
                FindingView(
                    severity="warning",
                    check="cluster-stale",
                    clusters=(state.cluster,),
                    message=(
                        f"{state.context} ({state.cluster}): {phase_text(state)}: its watches broke, "
                        f"the data shown is the last read{': ' + state.reason if state.reason else ''}"
                    ),
                    fix=_fix(state, timeout),
                    contexts=(state.context,),
                )
            )
            continue
        what = (
            f"not synced within {timeout:g} s"
            if state.phase == "syncing" and timeout is not None
            else phase_text(state)
        )
        out.append(
            FindingView(
                severity="error",
                check="cluster-unreadable",
                clusters=(state.cluster,),
                message=f"{state.context}: {what}; its Cilium and ClusterMesh were not checked",
                fix=_fix(state, timeout),
                contexts=(state.context,),
            )
        )
    return out


def with_reach(view: StatusView, snapshot: MeshSnapshot, timeout: float | None = None) -> StatusView:
    """``view`` with the reachability findings merged in, errors first (stable otherwise)."""
    extra = reach_findings(snapshot, timeout)
    if not extra:
        return view
    findings = sorted((*extra, *view.findings), key=lambda f: SEVERITY_ORDER.get(f.severity, 3))
    return StatusView(view.clusters, tuple(findings), view.config_errors)


def has_errors(view: StatusView) -> bool:
    return any(f.severity == "error" for f in view.findings)
