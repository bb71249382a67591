"""What the app's dialogs and the headless write commands say and check about a write.

Both ``tui/app.py`` (a key, a dialog) and ``tui/headless/writes.py`` (``meshtui shared ... off``)
plan the same changes; the warning an operator reads before confirming, and the test that a
write has reached the cluster's state, must be the same in both. No Textual here: headless
commands import it.
"""

from __future__ import annotations

from tui.mesh.actions import SetAnnotation, WriteAction
from tui.mesh.model import MeshSnapshot


def applied(snapshot: MeshSnapshot, action: WriteAction) -> bool:
    """The snapshot shows the write's effect (the watch delivered it): only then is it shown."""
    state = snapshot.by_context(action.context)
    if state is None:
        return False
    if isinstance(action, SetAnnotation):
        service = state.services.get((action.namespace, action.service))
        return service is not None and all(
            service.annotations.get(key) == value for key, value in action.patch().items()
        )
    deployment = state.deployments.get((action.namespace, action.deployment))
    return deployment is not None and deployment.replicas == action.replicas


def switch_warning(which: str, cluster: str, service: str, value: str | None) -> str:
    """The warning for turning ``global``/``shared`` to ``value`` in ``cluster`` ('' if none).

    Turning either off changes what *other* clusters get, which the operator may not expect
    from a change made in one cluster.
    """
    if value != "false":
        return ""
    if which == "shared":
        return f"{cluster}'s backends will no longer be used by the other clusters"
    if which == "global":
        return f"{cluster} stops merging {service} with the other clusters"
    return ""


def scale_warning(deployment: str, cluster: str, replicas: int) -> str:
    """The warning for scaling ``deployment`` in ``cluster`` to ``replicas`` ('' if none)."""
    return f"every pod of {deployment} in {cluster} goes away" if replicas == 0 else ""
