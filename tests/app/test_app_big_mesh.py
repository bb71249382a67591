"""A mesh past 64 clusters (Cilium allows 255): the Mesh pane summarises and drills in.

A synthetic snapshot of 100 clusters (no simulator: 100 API servers add nothing to what the
pane draws), with cluster7's agents disconnected from cluster12 and cluster13 and cluster40
configured nowhere in cluster7 (neither its agents nor its clustermesh Secret).
"""

from __future__ import annotations

import dataclasses

from apphelpers import make_app, mesh_text, wait_for
from meshmodels import agent_document, large_snapshot, remote_status, replace_cluster
from testkit import settle

from tui.mesh.model import MeshSnapshot
from tui.views.status import status_view
from widgets.mesh import MeshPane
from widgets.meshsummary import SUMMARY_ABOVE, render_summary
from widgets.palette import DEFAULT

CLUSTERS = 100


def broken_mesh() -> MeshSnapshot:
    snapshot = large_snapshot(clusters=CLUSTERS, services=4)
    state = snapshot.clusters[6]
    assert state.cilium.cluster_name == "cluster7"
    remotes = [
        remote_status(f"cluster{j}", j, connected=j not in (12, 13))
        for j in range(1, CLUSTERS + 1)
        if j not in (7, 40)
    ]
    agents = tuple(
        dataclasses.replace(a, status=agent_document(remotes, num_global_services=1))
        for a in state.cilium.agents
    )
    secret = tuple(name for name in state.cilium.clustermesh_secret_remotes if name != "cluster40")
    cilium = dataclasses.replace(state.cilium, agents=agents, clustermesh_secret_remotes=secret)
    changed = dataclasses.replace(state, cilium=cilium)
    return replace_cluster(snapshot, changed)


async def test_a_big_mesh_is_summarised_and_the_viewing_cluster_drilled_into() -> None:
    assert CLUSTERS > SUMMARY_ABOVE
    app, _ = make_app(broken_mesh(), agent_lists=None)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await wait_for(pilot, lambda: "100 clusters" in mesh_text(app), timeout=20)
        text = mesh_text(app)
        assert "from \\ to" not in text  # no matrix
        assert "100 clusters · 9,900 links: 9,897 connected ✓ · 2 broken ✗ · 1 not configured" in text
        lines = text.splitlines()
        # per cluster, worst first: cluster7 reaches 96 of 99; the three it fails see 98 of 99 in
        troubled = [line.split() for line in lines if line.startswith("  cluster") and " in " in line]
        assert troubled[0] == ["cluster7", "out", "96/99", "✗", "in", "99/99", "✓"]
        assert sorted(t[0] for t in troubled[1:]) == ["cluster12", "cluster13", "cluster40"]
        assert all(t[1:] == ["out", "99/99", "✓", "in", "98/99", "✗"] for t in troubled[1:])
        assert "  96 clusters: every link connected ✓ (99/99 both ways)" in lines
        assert "  ✗ cluster7 → cluster12 cluster13 cluster40" in lines  # only the broken pairs
        assert sum(1 for line in lines if line.startswith("  ✗ cluster")) == 1
        # the drill-in follows the viewing cluster, chosen as for Backends (here: its number)
        assert "▸ cluster1 (ctx-01)" in text
        await pilot.press("7")
        await wait_for(pilot, lambda: "▸ cluster7 (ctx-07)" in mesh_text(app))
        text = mesh_text(app)
        assert "✗ broken to: cluster12 cluster13" in text
        assert "· not configured to: cluster40" in text
        await pilot.press("9")
        await wait_for(pilot, lambda: "▸ cluster9 (ctx-09)" in mesh_text(app))
        lines = mesh_text(app).splitlines()
        drill = lines.index(next(line for line in lines if line.startswith("▸ cluster9")))
        assert lines[drill + 1].split() == ["out", "99/99", "✓", "in", "99/99", "✓"]
        assert not any("broken to:" in line or "not configured to:" in line for line in lines)
        assert app.query_one(MeshPane).border_subtitle is not None


def test_links_not_known_yet_are_unknown_not_broken() -> None:
    """A cluster that cannot be read, or whose agents were not read yet: ``?``, never ``✗``."""
    snapshot = large_snapshot(clusters=70, services=2)
    unreadable = dataclasses.replace(snapshot.clusters[2], phase="unreachable")
    state = snapshot.clusters[4]
    unread = dataclasses.replace(
        state,
        cilium=dataclasses.replace(
            state.cilium, agents=tuple(dataclasses.replace(a, status=None) for a in state.cilium.agents)
        ),
    )
    view = status_view(replace_cluster(replace_cluster(snapshot, unreadable), unread))
    lines = render_summary(view, DEFAULT).plain.splitlines()
    assert lines[0] == "70 clusters · 4,830 links: 4,692 connected ✓ · 138 unknown ?"
    rows = {line.split()[0]: line.split()[1:] for line in lines if line.startswith("  cluster")}
    assert rows["cluster3"][:2] == ["out", "?"]
    assert rows["cluster5"] == ["out", "0/69", "?", "in", "68/69", "?"]
    assert "broken links (from → to):" not in lines
