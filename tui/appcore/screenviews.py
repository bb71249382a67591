"""What one repaint draws (:class:`Views`), computed from one snapshot and the selection.

The status and services views are the costly part (a whole-mesh recompute; the app does it in a
worker thread), the selected service's backends the cheap one (a key redraws only those, on the
UI thread). These functions decide what is drawn; the app only draws it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from tui.mesh.model import MeshSnapshot, ServiceKey
from tui.views.backends import BackendsPerspective
from tui.views.builder import ViewBuilder
from tui.views.services import ServicesView
from tui.views.status import StatusView

BackendsFor = Callable[[MeshSnapshot, ServiceKey | None, str | None], BackendsPerspective | None]
"""``(snapshot, service, viewing context) → the Backends pane's view`` (``None`` without either)."""


@dataclass(frozen=True, slots=True)
class Views:
    """Everything one repaint draws, computed off the UI thread from one snapshot."""

    snapshot: MeshSnapshot
    status: StatusView
    services: ServicesView
    service: ServiceKey | None
    viewing: str | None
    backends: BackendsPerspective | None


def compute_views(
    builder: ViewBuilder,
    snapshot: MeshSnapshot,
    *,
    show_all: bool,
    service: ServiceKey | None,
    viewing: str | None,
    backends_for: BackendsFor,
) -> Views:
    """The views of ``snapshot``: the selection falls back to the first context and the first
    row when there is none (or the viewing context left the kubeconfig)."""
    status = builder.status(snapshot)
    services = builder.services(snapshot, show_all=show_all)
    if viewing is None or snapshot.by_context(viewing) is None:
        viewing = snapshot.clusters[0].context if snapshot.clusters else None
    if service is None and services.rows:
        service = services.rows[0].key
    return Views(snapshot, status, services, service, viewing, backends_for(snapshot, service, viewing))


def keep_current_selection(
    previous: Views | None, views: Views, service: ServiceKey | None, viewing: str | None
) -> Views:
    """``views`` as they may be drawn now that the selection is (``service``, ``viewing``).

    Views computed for a selection a key has since left (a computation follows) keep what the
    Backends pane shows for the current one rather than the stale one.
    """
    if (
        previous is not None
        and service is not None
        and viewing is not None
        and (views.service, views.viewing) != (service, viewing)
        and (previous.service, previous.viewing) == (service, viewing)
    ):
        return dataclasses.replace(
            views, service=previous.service, viewing=previous.viewing, backends=previous.backends
        )
    return views


def changes_nothing(previous: Views | None, views: Views) -> bool:
    """Drawing ``views`` over ``previous`` would change nothing on screen (the builders hand
    back the very same view objects when nothing they show changed)."""
    return (
        previous is not None
        and views.status is previous.status
        and views.services is previous.services
        and views.backends == previous.backends
    )
