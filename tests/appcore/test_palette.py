"""What the command palette offers, without Textual (tui/appcore/palette.py)."""

from __future__ import annotations

import dataclasses

from meshmodels import seed_snapshot

from tui.appcore.palette import palette_commands
from tui.views.services import services_view


def commands(snapshot=None, **kwargs):  # type: ignore[no-untyped-def]
    snapshot = snapshot or seed_snapshot()
    kwargs.setdefault("read_only", False)
    kwargs.setdefault("block_reason", lambda action: "")
    kwargs.setdefault("display", lambda ident, default: default)
    kwargs.setdefault("curl_interval", None)
    return {c.title: c for c in palette_commands(snapshot, services_view(snapshot).rows, **kwargs)}


def test_every_action_by_name_and_a_blocked_write_says_why() -> None:
    offered = commands(
        block_reason=lambda action: "bastion02 is stale since 12:00:01" if action == "scale" else ""
    )
    assert offered["Affinity"].kind == "action" and offered["Affinity"].arg == "affinity"
    assert offered["Affinity"].help.startswith("(a) set the selected service's affinity")
    assert (offered["Scale"].kind, offered["Scale"].help) == (
        "refuse",
        "disabled: bastion02 is stale since 12:00:01",
    )
    assert "Quit" not in offered and "Palette" not in offered
    assert offered["View from bastion03 (cluster2)"].arg == "bastion03"
    assert offered["Service song/userlist-svc"].arg == ("song", "userlist-svc")


def test_read_only_offers_no_write_and_no_exec_means_no_curl_commands() -> None:
    offered = commands(read_only=True)
    assert not {"Affinity", "Global", "Shared", "Scale", "+1", "-1", "Scale 0"} & set(offered)
    assert not any(title.startswith(("Curl:", "Sample:")) for title in offered)
    with_curl = commands(curl_interval=0.5, curl_running=True)
    assert with_curl["Curl: interval"].help == "every 0.5 s" and with_curl["Curl: stop"].discover
    assert with_curl["Sample: delete rebel-base"].arg == ("rebel-base", True)
    assert not commands(curl_interval=1.0)["Curl: stop"].discover  # nothing to stop: not listed first


def test_names_from_a_cluster_are_escaped_for_the_palettes_markup() -> None:
    snapshot = seed_snapshot()
    hostile = dataclasses.replace(snapshot.clusters[1], context="evil[b]ctx[/b]")
    offered = commands(dataclasses.replace(snapshot, clusters=(snapshot.clusters[0], hostile)))
    titles = [t for t in offered if t.startswith("View from evil")]
    assert titles == ["View from evil\\[b]ctx\\[/b] (cluster2)"]


def test_jumps_svc_ctx_ns_rank_exact_then_prefix_then_substring() -> None:
    from tui.appcore.palette import jump_commands

    snapshot = seed_snapshot()
    rows = services_view(snapshot, show_all=True).rows

    def jump(query: str) -> list[tuple[str, str, object]]:
        return [(c.title, c.kind, c.arg) for c in jump_commands(query, snapshot, rows, show_all=True)]

    assert jump("svc userlist-svc")[0] == ("svc song/userlist-svc", "service", ("song", "userlist-svc"))
    assert {a for _, _, a in jump(":svc kube")} == {  # names or keys starting with kube
        ("default", "kubernetes"),
        ("kube-system", "clustermesh-apiserver"),
        ("kube-system", "kube-dns"),
    }
    assert jump("service DNS") == [("svc kube-system/kube-dns", "service", ("kube-system", "kube-dns"))]
    assert jump("ctx bastion03") == [("ctx bastion03 (cluster2)", "view", "bastion03")]
    assert [a for _, _, a in jump("context cluster")] == ["bastion02", "bastion03"]
    assert jump("ns song") == [("ns song", "namespace", "song")]
    assert jump("svc nothing")[0][1] == "refuse"
    assert [a for _, _, a in jump("ctx")] == ["bastion02", "bastion03"]  # as k9s: :ctx lists them
    assert jump("services") == [] and jump("affinity") == []
    only_global = jump_commands("svc dns", snapshot, services_view(snapshot).rows, show_all=False)
    assert only_global[0].kind == "refuse" and "A shows every service" in only_global[0].arg
