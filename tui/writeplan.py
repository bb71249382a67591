"""Write planning shared by the app and the headless commands: one rule set for every write.

Both ``tui/app.py`` (a key, a dialog) and ``tui/headless/writes.py`` (``meshtui shared ... off``)
plan the same changes from a snapshot: which context may be written (:func:`unwritable_reason`:
phase ``ok`` only, see :attr:`ClusterState.writable`), what is changed and its old value, the
warning an operator reads before confirming, and the test that a write has reached the
cluster's state. The sample apps (``meshtui sample``, the palette) follow the same phase rule.
No Textual here: headless commands import it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tui.mesh.actions import NONE_WRITE_NOTE, Scale, SetAnnotation, WriteAction, affinity_action
from tui.mesh.annotations import ANNOTATION_AFFINITY, ANNOTATION_GLOBAL, ANNOTATION_SHARED, flags_of
from tui.mesh.model import ClusterState, Deployment, MeshSnapshot, Service, ServiceKey
from tui.views.labels import phase_text, stale_text

SERVICE_VERB = "patch services"
SCALE_VERB = "patch deployments/scale"
VERB_FOR_KIND = {"annotation": SERVICE_VERB, "scale": SCALE_VERB}
"""The access-review id (``ClusterState.allowed`` key) each kind of write needs."""


def verb_for(action: WriteAction) -> str:
    """The ``ClusterState.allowed`` key a write needs (``"patch services"``...)."""
    return VERB_FOR_KIND[action.kind]


def unwritable_reason(state: ClusterState) -> str:
    """Why nothing may be written to ``state``'s context now, as its state (``""``: it may).

    The one phase rule (:attr:`ClusterState.writable`): ``ok`` only. ``stale since 12:00:01:
    connection refused`` — the data a plan is made from may be out of date and the broken watch
    could not show the change landing; ``unreachable: …``, ``syncing``... — nothing to plan from.
    """
    if state.writable:
        return ""
    return stale_text(state) if state.phase == "stale" else phase_text(state)


def object_text(action: WriteAction) -> str:
    """``svc song/userlist-svc`` / ``deploy song/userlist``: the object column of the activity log."""
    if isinstance(action, SetAnnotation):
        return f"svc {action.namespace}/{action.service}"
    return f"deploy {action.namespace}/{action.deployment}"


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


def find_deployment(state: ClusterState, service: Service) -> Deployment | None:
    """The Deployment behind a service's backends in one cluster (for "scale").

    First the owners of the backend pods, then (no backends, e.g. scaled to 0) the deployment
    whose selector agrees with the service's selector. ``None`` when it is ambiguous or absent.
    """
    owners = []
    for backend in service.backends:
        pod = state.pods.get((service.namespace, backend.pod)) if backend.pod else None
        if pod is not None and pod.owner and pod.owner not in owners:
            owners.append(pod.owner)
    for owner in owners:
        found = state.deployments.get((service.namespace, owner))
        if found is not None:
            return found
    if not service.selector:
        return None
    wanted = dict(service.selector)
    matches = [
        d
        for d in state.deployments.values()
        if d.namespace == service.namespace
        and d.selector
        and all(wanted.get(k) == v for k, v in d.selector.items())
    ]
    return matches[0] if len(matches) == 1 else None


@dataclass(frozen=True, slots=True)
class AnnotationState:
    """The current value of one flag's annotation on a service (what a toggle would change)."""

    key: str
    value: str | None
    effective: bool | str


def annotation_state(service: Service, which: str) -> AnnotationState:
    """The annotation key in force for ``which`` (global/shared/affinity) and its value.

    When the service uses the legacy alias, the new name is written (it wins over the alias),
    and ``value`` is the alias's current value so the dialog shows the real old value.
    """
    flags = flags_of(service)
    new_key = {"global": ANNOTATION_GLOBAL, "shared": ANNOTATION_SHARED, "affinity": ANNOTATION_AFFINITY}[
        which
    ]
    used = {"global": flags.global_key, "shared": flags.shared_key, "affinity": flags.affinity_key}[which]
    effective: bool | str = {"global": flags.is_global, "shared": flags.shared, "affinity": flags.affinity}[
        which
    ]
    if used == new_key:
        return AnnotationState(new_key, service.annotations.get(new_key), effective)
    return AnnotationState(new_key, None, effective)


# -- the app's writes: the selected service seen from the viewing cluster -----------------------


def write_target(
    snapshot: MeshSnapshot, viewing: str | None, key: ServiceKey | None
) -> tuple[ClusterState, Service] | None:
    """The viewing cluster's state and its copy of the selected service (``None``: either is missing)."""
    if key is None or viewing is None:
        return None
    state = snapshot.by_context(viewing)
    if state is None:
        return None
    service = state.services.get(key)
    return None if service is None else (state, service)


def write_block_reason(
    snapshot: MeshSnapshot, viewing: str | None, key: ServiceKey | None, action: str, *, read_only: bool
) -> str:
    """Why the app's write ``action`` (``affinity``, ``toggle_shared``, ``scale_zero``...) cannot
    run now on the selected service in the viewing cluster (``""`` when it can): read-only, no
    selection, the phase rule, the service absent there, RBAC, no deployment behind it."""
    if read_only:
        return "read-only mode"
    if key is None:
        return "select a service first"
    state = snapshot.by_context(viewing) if viewing else None
    if state is None:
        return "no viewing cluster"
    if why := unwritable_reason(state):
        return f"{state.context} is {why}"
    service = state.services.get(key)
    if service is None:
        return f"{key[0]}/{key[1]} does not exist in {state.cluster} ({state.context})"
    scale = action.startswith("scale")
    verb = SCALE_VERB if scale else SERVICE_VERB
    if state.allowed.get(verb) is False:
        return f"{state.context} forbids it: {state.denied_reasons.get(verb) or verb}"
    if scale:
        deployment = find_deployment(state, service)
        if deployment is None:
            return f"no deployment found behind {service.namespace}/{service.name} in {state.cluster}"
        if action == "scale_zero" and deployment.replicas == 0:
            return f"{deployment.name} is already at 0 replicas"
    return ""


def blocked_text(snapshot: MeshSnapshot, viewing: str | None, *, read_only: bool) -> str:
    """Why writes are off in the viewing cluster (phase, RBAC), for the Backends pane (``""``: on)."""
    if read_only or viewing is None:
        return ""
    state = snapshot.by_context(viewing)
    if state is None:
        return ""
    if not state.writable:
        return f"disabled: {state.context} is {phase_text(state)}"
    reasons = []
    for verb in (SERVICE_VERB, SCALE_VERB):
        if state.allowed.get(verb) is False:
            reasons.append(state.denied_reasons.get(verb) or f"{verb} forbidden")
    return f"disabled in {state.context}: " + "; ".join(reasons) if reasons else ""


def affinity_holders(snapshot: MeshSnapshot, key: ServiceKey) -> list[ClusterState]:
    """The writable clusters holding ``key``: where ``*`` in the affinity menu applies it."""
    return [s for s in snapshot.clusters if s.writable and key in s.services]


@dataclass(frozen=True)
class AffinityPlan:
    """The affinity writes for one choice, and what the confirmation says beside them."""

    actions: tuple[WriteAction, ...]
    notes: tuple[str, ...] = ()

    @property
    def warning(self) -> str:
        return "; ".join(self.notes)


def plan_affinity(states: Sequence[ClusterState], key: ServiceKey, choice: str) -> AffinityPlan:
    """Set (``local``/``remote``) or remove (``none``/``remove``) the affinity of ``key`` in each
    of ``states``: contexts whose RBAC forbids patching services are skipped and named, those
    where the affinity already means that get no action, ``none`` says why it removes."""
    actions: list[WriteAction] = []
    skipped = []
    for state in states:
        service = state.services[key]
        if state.allowed.get(SERVICE_VERB) is False:
            skipped.append(state.context)
            continue
        action = affinity_action(state.context, service.namespace, service.name, service.annotations, choice)
        if action is not None:
            actions.append(action)
    notes = [f"skipped (RBAC forbids patching services): {', '.join(skipped)}"] if skipped else []
    if choice in ("none", "remove"):
        notes.append(NONE_WRITE_NOTE)
    return AffinityPlan(tuple(actions), tuple(notes))


def plan_toggle(state: ClusterState, service: Service, which: str) -> tuple[SetAnnotation, str]:
    """Turn ``global``/``shared`` over on ``service`` in ``state``: the action and its warning."""
    current = annotation_state(service, which)
    new = "false" if current.effective else "true"
    action = SetAnnotation(
        state.context, service.namespace, service.name, current.key, new, old=current.value
    )
    return action, switch_warning(which, state.cluster, service.name, new)


def plan_scale(state: ClusterState, deployment: Deployment, replicas: int) -> tuple[Scale, str]:
    """Scale ``deployment`` in ``state`` to ``replicas``: the action and its warning."""
    action = Scale(state.context, deployment.namespace, deployment.name, replicas, old=deployment.replicas)
    return action, scale_warning(deployment.name, state.cluster, replicas)
