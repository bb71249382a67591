"""ARCHITECTURE.md Cilium §3, the annotation table: global / shared / affinity and their aliases."""

from __future__ import annotations

import pytest

from tui.mesh.annotations import (
    ANNOTATION_AFFINITY,
    ANNOTATION_GLOBAL,
    ANNOTATION_SHARED,
    LEGACY_AFFINITY,
    LEGACY_GLOBAL,
    LEGACY_SHARED,
    flags_of,
    service_flags,
)
from tui.mesh.model import Service, frozen_map

G, S, A = ANNOTATION_GLOBAL, ANNOTATION_SHARED, ANNOTATION_AFFINITY
LG, LS, LA = LEGACY_GLOBAL, LEGACY_SHARED, LEGACY_AFFINITY

# (id naming the rule, annotations, is_global, shared, affinity)
CASES = [
    ("global-true", {G: "true"}, True, True, "none"),
    ("global-True-case-insensitive", {G: "True"}, True, True, "none"),
    ("global-TRUE-case-insensitive", {G: "TRUE"}, True, True, "none"),
    ("global-false", {G: "false"}, False, False, "none"),
    ("global-yes-is-not-true", {G: "yes"}, False, False, "none"),
    ("global-1-is-not-true", {G: "1"}, False, False, "none"),
    ("global-empty-is-not-true", {G: ""}, False, False, "none"),
    ("global-padded-is-not-true", {G: " true"}, False, False, "none"),
    ("no-annotations-not-global", {}, False, False, "none"),
    ("legacy-global-alias", {LG: "true"}, True, True, "none"),
    ("legacy-global-alias-case", {LG: "TRUE"}, True, True, "none"),
    ("new-global-wins-over-legacy-false", {G: "false", LG: "true"}, False, False, "none"),
    ("new-global-wins-over-legacy-true", {G: "true", LG: "false"}, True, True, "none"),
    ("new-global-empty-still-wins", {G: "", LG: "true"}, False, False, "none"),
    ("shared-defaults-true-when-global", {G: "true"}, True, True, "none"),
    ("shared-false", {G: "true", S: "false"}, True, False, "none"),
    ("shared-FALSE", {G: "true", S: "FALSE"}, True, False, "none"),
    ("shared-True", {G: "true", S: "True"}, True, True, "none"),
    ("shared-other-value-is-false", {G: "true", S: "no"}, True, False, "none"),
    ("shared-empty-is-false", {G: "true", S: ""}, True, False, "none"),
    ("shared-ignored-when-not-global", {S: "true"}, False, False, "none"),
    ("shared-ignored-when-global-false", {G: "false", S: "true"}, False, False, "none"),
    ("legacy-shared-alias", {G: "true", LS: "false"}, True, False, "none"),
    ("new-shared-wins-over-legacy", {G: "true", S: "true", LS: "false"}, True, True, "none"),
    ("new-shared-false-wins-over-legacy", {G: "true", S: "false", LS: "true"}, True, False, "none"),
    ("affinity-local", {G: "true", A: "local"}, True, True, "local"),
    ("affinity-remote", {G: "true", A: "remote"}, True, True, "remote"),
    ("affinity-none", {G: "true", A: "none"}, True, True, "none"),
    ("affinity-empty-is-none", {G: "true", A: ""}, True, True, "none"),
    ("affinity-Local-case-insensitive", {G: "true", A: "Local"}, True, True, "local"),
    ("affinity-REMOTE-case-insensitive", {G: "true", A: "REMOTE"}, True, True, "remote"),
    ("affinity-unknown-is-none", {G: "true", A: "nearest"}, True, True, "none"),
    ("affinity-ignored-when-not-global", {A: "local"}, False, False, "none"),
    ("legacy-affinity-alias", {G: "true", LA: "remote"}, True, True, "remote"),
    ("new-affinity-wins-over-legacy", {G: "true", A: "local", LA: "remote"}, True, True, "local"),
    ("new-affinity-empty-wins-over-legacy", {G: "true", A: "", LA: "remote"}, True, True, "none"),
    ("all-legacy", {LG: "true", LS: "false", LA: "local"}, True, False, "local"),
    ("labels-are-never-read", {"app": "userlist"}, False, False, "none"),
]


@pytest.mark.parametrize(
    ("annotations", "is_global", "shared", "affinity"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_annotation_table(annotations: dict[str, str], is_global: bool, shared: bool, affinity: str) -> None:
    flags = service_flags(annotations)
    assert (flags.is_global, flags.shared, flags.affinity) == (is_global, shared, affinity)


def test_unknown_affinity_is_flagged_and_kept_raw() -> None:
    """Rule: unknown affinity = none, but the typo stays visible for a warning."""
    flags = service_flags({G: "true", A: "Nearest"})
    assert flags.affinity == "none"
    assert flags.affinity_unknown
    assert flags.affinity_raw == "Nearest"
    assert not service_flags({G: "true", A: "none"}).affinity_unknown
    assert not service_flags({G: "true", A: ""}).affinity_unknown


def test_key_in_force_is_reported() -> None:
    """Rule: the new name wins over the alias; the key that decided is recorded."""
    assert service_flags({LG: "true"}).global_key == LG
    assert service_flags({G: "true", LG: "true"}).global_key == G
    assert service_flags({G: "true", LS: "false"}).shared_key == LS
    assert service_flags({G: "true"}).shared_key is None
    assert not service_flags({G: "true"}).shared_explicit
    assert service_flags({G: "true", S: "true"}).shared_explicit


def test_labels_are_not_annotations() -> None:
    """Rule: only annotations are read, never labels."""
    svc = Service("song", "userlist-svc", labels=frozen_map({G: "true"}))
    assert not flags_of(svc).is_global


def test_describe() -> None:
    assert service_flags({G: "true"}).describe() == "global shared none"
    assert service_flags({G: "true", S: "false", A: "local"}).describe() == "global not-shared local"
    assert service_flags({}).describe() == "not global"


def test_flags_of_caches_per_service_object() -> None:
    """Flags are computed once per Service object (views call this for every snapshot)."""
    svc = Service("song", "userlist-svc", annotations=frozen_map({G: "true", A: "remote"}))
    first = flags_of(svc)
    assert flags_of(svc) is first
    other = Service("song", "userlist-svc", annotations=frozen_map({G: "true"}))
    assert flags_of(other).affinity == "none"
    assert flags_of(svc).affinity == "remote"


# --- the affinity write (cilium/cilium#46623: the word "none" is never written) -----------------

from tui.mesh.actions import CILIUM_VALUES, InvalidAction, SetAnnotation, affinity_action  # noqa: E402

NEW, OLD = "service.cilium.io/affinity", "io.cilium/service-affinity"


@pytest.mark.parametrize(
    ("annotations", "choice", "key", "value", "also", "kubectl_tail"),
    [
        ({NEW: "none"}, "none", NEW, None, (), f"{NEW}-"),
        ({NEW: "nearest"}, "none", NEW, None, (), f"{NEW}-"),
        ({OLD: "none"}, "none", OLD, None, (), f"{OLD}-"),
        ({NEW: "local", OLD: "none"}, "remove", NEW, None, (OLD,), f"{NEW}- {OLD}-"),
        ({}, "local", NEW, "local", (), f"{NEW}=local --overwrite"),
        ({OLD: "remote"}, "local", NEW, "local", (OLD,), f"{NEW}=local {OLD}- --overwrite"),
    ],
)
def test_affinity_action(
    annotations: dict[str, str], choice: str, key: str, value: str | None, also: tuple, kubectl_tail: str
) -> None:
    action = affinity_action("bastion02", "song", "userlist-svc", annotations, choice)
    assert action is not None
    assert (action.key, action.value, action.also_remove) == (key, value, also)
    assert action.kubectl().endswith(kubectl_tail)
    action.validate()
    assert all(v != "none" for v in action.patch().values())


@pytest.mark.parametrize(("annotations", "choice"), [({}, "none"), ({}, "remove"), ({NEW: "local"}, "local")])
def test_affinity_action_nothing_to_change(annotations: dict[str, str], choice: str) -> None:
    assert affinity_action("c", "song", "svc", annotations, choice) is None


def test_the_word_none_cannot_be_written() -> None:
    assert "none" not in CILIUM_VALUES[NEW]
    with pytest.raises(InvalidAction):
        SetAnnotation("c", "song", "svc", NEW, "none").validate()
    with pytest.raises(InvalidAction):
        affinity_action("c", "song", "svc", {}, "nowhere")
