"""What the app's write keys plan and refuse (tui/writeplan.py, shared with the headless
commands), and which views a repaint draws (tui/appcore/screenviews.py): no Textual."""

from __future__ import annotations

import dataclasses

from meshmodels import forbidden_snapshot, replace_cluster, seed_snapshot, unreachable_snapshot

from tui.appcore.screenviews import changes_nothing, compute_views, keep_current_selection
from tui.mesh.actions import NONE_WRITE_NOTE, Scale, SetAnnotation
from tui.views.builder import ViewBuilder
from tui.writeplan import (
    affinity_holders,
    blocked_text,
    find_deployment,
    plan_affinity,
    plan_scale,
    plan_toggle,
    write_block_reason,
)

KEY = ("song", "userlist-svc")


def test_every_reason_a_write_key_is_refused() -> None:
    seed = seed_snapshot()
    assert write_block_reason(seed, "bastion02", KEY, "affinity", read_only=True) == "read-only mode"
    assert (
        write_block_reason(seed, "bastion02", None, "affinity", read_only=False) == "select a service first"
    )
    assert write_block_reason(seed, "nope", KEY, "affinity", read_only=False) == "no viewing cluster"
    down = unreachable_snapshot()
    assert write_block_reason(down, "bastion03", KEY, "toggle_shared", read_only=False).startswith(
        "bastion03 is unreachable: dial tcp"
    )
    assert write_block_reason(seed, "bastion02", ("song", "x"), "toggle_global", read_only=False) == (
        "song/x does not exist in cluster1 (bastion02)"
    )
    forbidden = forbidden_snapshot()
    assert write_block_reason(forbidden, "bastion03", KEY, "scale", read_only=False).startswith(
        'bastion03 forbids it: User "viewer" cannot patch resource "deployments/scale"'
    )
    assert blocked_text(forbidden, "bastion03", read_only=False).startswith("disabled in bastion03: User")
    assert blocked_text(down, "bastion03", read_only=False).startswith("disabled: bastion03 is unreachable")
    assert blocked_text(seed, "bastion02", read_only=False) == ""
    assert write_block_reason(seed, "bastion02", KEY, "scale_zero", read_only=False) == ""
    state = seed.clusters[0]
    deployment = find_deployment(state, state.services[KEY])
    assert deployment is not None and deployment.name == "userlist"
    zero = dataclasses.replace(deployment, replicas=0)
    scaled = replace_cluster(
        seed, dataclasses.replace(state, deployments={**state.deployments, deployment.key: zero})
    )
    assert write_block_reason(scaled, "bastion02", KEY, "scale_zero", read_only=False) == (
        "userlist is already at 0 replicas"
    )


def test_affinity_everywhere_skips_forbidden_contexts_and_says_why_none_removes() -> None:
    snapshot = forbidden_snapshot()
    holders = affinity_holders(snapshot, KEY)
    assert [s.context for s in holders] == ["bastion02", "bastion03"]
    plan = plan_affinity(holders, KEY, "local")
    assert [a.context for a in plan.actions] == ["bastion02"]
    assert plan.warning == "skipped (RBAC forbids patching services): bastion03"
    none = plan_affinity(holders[:1], KEY, "none")
    assert none.actions == () and none.notes == (NONE_WRITE_NOTE,)  # nothing set: nothing to remove
    stale = replace_cluster(snapshot, dataclasses.replace(snapshot.clusters[1], phase="stale"))
    assert [s.context for s in affinity_holders(stale, KEY)] == ["bastion02"]  # writes: ok only


def test_toggles_and_scales_carry_their_old_value_and_warning() -> None:
    state = seed_snapshot().clusters[0]
    service = state.services[KEY]
    action, warning = plan_toggle(state, service, "shared")
    assert isinstance(action, SetAnnotation) and (action.value, action.old) == ("false", "true")
    assert warning == "cluster1's backends will no longer be used by the other clusters"
    deployment = find_deployment(state, service)
    assert deployment is not None
    scale, warning = plan_scale(state, deployment, 0)
    assert isinstance(scale, Scale) and (scale.replicas, scale.old) == (0, deployment.replicas)
    assert warning == "every pod of userlist in cluster1 goes away"


def test_views_fall_back_to_the_first_context_and_row_and_an_unchanged_mesh_changes_nothing() -> None:
    builder = ViewBuilder()
    snapshot = seed_snapshot()
    asked: list[tuple[object, object]] = []

    def backends_for(snap, service, viewing):  # type: ignore[no-untyped-def]
        asked.append((service, viewing))
        state = snap.by_context(viewing)
        return builder.backends(snap, service, state)

    views = compute_views(
        builder, snapshot, show_all=False, service=None, viewing="gone", backends_for=backends_for
    )
    assert (views.service, views.viewing) == (KEY, "bastion02") and asked == [(KEY, "bastion02")]
    newer = dataclasses.replace(snapshot, generation=2)
    again = compute_views(
        builder, newer, show_all=False, service=KEY, viewing="bastion02", backends_for=backends_for
    )
    assert changes_nothing(views, again) and not changes_nothing(None, again)
    # views computed for a selection a key has left keep what the pane shows for the current one
    other = dataclasses.replace(again, viewing="bastion03", backends=None)
    kept = keep_current_selection(views, other, KEY, "bastion02")
    assert (kept.viewing, kept.backends) == ("bastion02", views.backends)
    assert keep_current_selection(views, other, KEY, "bastion03") is other
