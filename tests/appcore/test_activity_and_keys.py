"""The activity log's news, the key table and keymaps, launching: the core, without Textual."""

from __future__ import annotations

import argparse
import dataclasses
import logging

import pytest
from meshmodels import SEED_TIME, apply_write, replace_cluster, seed_snapshot

from tui.appcore.activity import ActivityTracker, PhaseChange, SeenChange
from tui.appcore.keys import CURL_KEYS, KEYS, WRITE_ACTIONS, help_rows, parse_keymap
from tui.appcore.launch import Launch, kubeconfig_label, launch, make_source, quiet_logging
from tui.mesh.actions import Scale, SetAnnotation


def test_a_first_sync_is_not_news_every_later_phase_change_is() -> None:
    tracker: ActivityTracker[str] = ActivityTracker()
    base = seed_snapshot()
    syncing = dataclasses.replace(
        base, clusters=tuple(dataclasses.replace(s, phase="syncing") for s in base.clusters)
    )
    assert tracker.phase_changes(syncing) == []
    assert tracker.phase_changes(base) == []  # syncing → ok the first time: not news
    down = replace_cluster(
        base,
        dataclasses.replace(base.clusters[1], phase="stale", since=SEED_TIME, reason="connection refused"),
    )
    assert tracker.phase_changes(down) == [PhaseChange("bastion03", "ok", "stale", "connection refused")]
    assert tracker.phase_changes(base) == [PhaseChange("bastion03", "stale", "ok", "")]
    again = replace_cluster(base, dataclasses.replace(base.clusters[1], phase="syncing"))
    assert tracker.phase_changes(again) == [PhaseChange("bastion03", "ok", "syncing", "")]
    assert tracker.phase_changes(base) == [PhaseChange("bastion03", "syncing", "ok", "")]  # not the first


def test_a_write_is_applied_only_once_a_snapshot_shows_it() -> None:
    tracker: ActivityTracker[str] = ActivityTracker()
    snapshot = seed_snapshot()
    action = SetAnnotation("bastion02", "song", "userlist-svc", "service.cilium.io/affinity", "local")
    tracker.sent("entry-1", action)
    assert tracker.landed(snapshot) == []
    assert tracker.landed(apply_write(snapshot, action)) == ["entry-1"]
    assert tracker.awaiting == []


def test_the_key_table_ids_are_unique_and_the_write_keys_known() -> None:
    ids = [k.id for k in (*KEYS, *CURL_KEYS)]
    assert len(ids) == len(set(ids))
    assert {"affinity", "toggle_global", "toggle_shared", "scale", "scale_by", "scale_zero"} == WRITE_ACTIONS


def test_parse_keymap() -> None:
    assert parse_keymap("affinity=f; palette=colon,ctrl+p;;bad") == {
        "affinity": "f",
        "palette": "colon,ctrl+p",
    }


def test_help_rows_show_the_keymap_read_only_and_the_curl_keys() -> None:
    keymap = {"affinity": "f"}

    def display(ident: str, default: str) -> str:
        return keymap.get(ident, default)

    rows = help_rows(display, read_only=True, curl_pane=False)
    by_id = {row[3]: row for row in rows}
    assert by_id["affinity"][0] == "f" and by_id["affinity"][2].startswith("(removed: read-only mode) ")
    assert not by_id["curl"][2].startswith("(removed")
    assert "curl.pick" not in by_id
    with_curl = {row[3]: row for row in help_rows(display, read_only=False, curl_pane=True)}
    assert with_curl["curl.pick"][2] == "curl pane (tab to it): pick the client pod of the viewing cluster"
    log_rows = [row for row in help_rows(display, read_only=False, curl_pane=True) if row[1] == "curl log"]
    assert [row[0] for row in log_rows] == ["pgup pgdn home end"]
    assert not [row for row in rows if row[1] == "curl log"]
    assert by_id["presenter"][0] == "P" and "presenter layout" in by_id["presenter"][2]


def test_launch_reads_the_theme_and_keymap_and_refuses_a_demo_with_a_kubeconfig(tmp_path) -> None:  # type: ignore[no-untyped-def]
    args = argparse.Namespace(demo=False, kubeconfig=str(tmp_path / "k"), contexts=None, read_only=True)
    made = launch(args, {"MESHTUI_THEME": "textual-light", "MESHTUI_KEYMAP": "scale=S"})
    assert isinstance(made, Launch)
    assert (made.label, made.read_only, made.theme, dict(made.keymap)) == (
        str(tmp_path / "k"),
        True,
        "textual-light",
        {"scale": "S"},
    )
    assert made.source.read_only
    demo = argparse.Namespace(demo=True, scenario=None, kubeconfig="x", contexts=None, read_only=False)
    assert make_source(demo) == "--demo uses the simulator's own kubeconfig: drop --kubeconfig/--context"


def test_the_header_names_the_kubeconfig(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    assert kubeconfig_label(None) == "~/.kube/config"
    monkeypatch.setenv("KUBECONFIG", "/a:/b")
    assert kubeconfig_label(None) == "/a:/b"
    assert kubeconfig_label("/c") == "/c"


def test_quiet_logging_keeps_records_off_the_terminal_or_in_the_named_file(
    tmp_path,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        monkeypatch.delenv("MESHTUI_LOG", raising=False)
        quiet_logging()
        assert isinstance(root.handlers[-1], logging.NullHandler)
        path = tmp_path / "meshtui.log"
        monkeypatch.setenv("MESHTUI_LOG", str(path))
        quiet_logging()
        logging.getLogger("tui.test").warning("a [b]markup[/b] line\nwith a second one")
        root.handlers[-1].flush()
        text = path.read_text()
        assert "tui.test: a [b]markup[/b] line" in text and text.count("\n") == 1
    finally:
        for handler in root.handlers[len(before) :]:
            handler.close()
        root.handlers[:] = before


def test_changes_outside_the_app_are_seen_its_own_writes_are_not() -> None:
    tracker: ActivityTracker[str] = ActivityTracker()
    base = seed_snapshot()
    assert tracker.seen_changes(base) == []  # nothing to compare with yet
    outside = SetAnnotation("bastion03", "song", "userlist-svc", "service.cilium.io/shared", "false")
    changed = apply_write(base, outside)
    assert tracker.seen_changes(changed) == [
        SeenChange("bastion03", "svc song/userlist-svc", "service.cilium.io/shared: true → false")
    ]
    assert tracker.seen_changes(changed) == []  # the same snapshot again: nothing new
    scaled = apply_write(changed, Scale("bastion02", "song", "userlist", 3))
    assert tracker.seen_changes(scaled) == [
        SeenChange("bastion02", "deploy song/userlist", "replicas: 1 → 3")
    ]
    # The app's writes, in flight or waiting for the watch, explain their own changes.
    ours = SetAnnotation("bastion02", "song", "userlist-svc", "service.cilium.io/affinity", "local")
    tracker.sending(ours)
    mine = apply_write(scaled, ours)
    assert tracker.seen_changes(mine) == []
    tracker.answered(ours)
    tracker.sent("entry-1", ours)
    back = apply_write(mine, Scale("bastion02", "song", "userlist", 1))
    tracker.sending(Scale("bastion02", "song", "userlist", 1))
    assert tracker.seen_changes(back) == []
    assert tracker.landed(back) == ["entry-1"]


def test_a_cluster_that_was_unreadable_is_not_compared_until_it_is_back() -> None:
    tracker: ActivityTracker[str] = ActivityTracker()
    base = seed_snapshot()
    syncing = replace_cluster(base, dataclasses.replace(base.clusters[1], phase="syncing"))
    tracker.seen_changes(syncing)
    outside = SetAnnotation("bastion03", "song", "userlist-svc", "service.cilium.io/shared", "false")
    assert tracker.seen_changes(apply_write(base, outside)) == []  # its first sync is not news
