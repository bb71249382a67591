"""The Mesh pane at 80 columns: the matrix stays a matrix, fix commands still paste, plurals."""

from __future__ import annotations

import pytest
from apphelpers import make_app, mesh_text
from meshmodels import findings_snapshot, large_snapshot, seed_snapshot
from testkit import settle

from tui.views.status import status_view
from widgets.mesh import MeshPane, findings_count, render_mesh
from widgets.palette import Palette
from widgets.wrap import command_lines

COLORS = Palette(ok="green", warn="yellow", err="red", accent="cyan", primary="blue")


def pasted(lines: list[str]) -> list[str]:
    """The commands a shell runs from these lines: backslash-newline is removed, the rest
    split into words (so `` \\`` continues between words, a bare ``\\`` inside one)."""
    text = ""
    for line in lines:
        text += line[:-1] if line.endswith("\\") else line + "\n"
    return [" ".join(part.split()) for part in text.split("\n") if part.strip()]


def fix_lines(lines: list[str]) -> list[str]:
    """The lines under each ``fix:`` of the narrow Mesh pane (commands and their rest)."""
    out: list[str] = []
    inside = False
    for index, line in enumerate(lines):
        if line == "  fix:":
            inside = True
            continue
        continued = index > 0 and lines[index - 1].endswith("\\")
        inside = inside and (line.startswith("  ") or continued)
        if inside:
            out.append(line)
    return out


def shown(lines: list[tuple[bool, str]], indent: str) -> list[str]:
    return [(indent if indented else "") + text for indented, text in lines]


@pytest.mark.parametrize("width", [26, 40, 60])
def test_long_commands_are_cut_between_words_with_continuations(width: int) -> None:
    command = (
        "kubectl --context bastion02 -n kube-system get secret cilium-ca -o yaml "
        "| kubectl --context bastion03 create -f -"
    )
    lines = shown(command_lines(command, width, 2, 4), "    ")
    assert len(lines) > 1 and pasted(lines) == [command]
    assert all(len(line) <= width for line in lines)
    assert not any(line.endswith("--context \\") for line in lines)  # an option keeps its value
    assert any(line.strip().startswith("| kubectl") for line in lines)  # a pipe starts a line
    assert command_lines(command, 0, 7, 4) == [(True, command)]


def test_a_word_longer_than_the_line_is_cut_so_that_it_still_pastes() -> None:
    command = "kubectl rollout restart daemonset/cilium deployment/clustermesh-apiserver"
    lines = shown(command_lines(command, 24, 2, 4), "    ")
    assert all(len(line) <= 24 for line in lines) and pasted(lines) == [command]
    assert any(not line.startswith(" ") for line in lines[1:])  # the rest of the word: column 0


async def test_mesh_pane_at_80x24_keeps_the_matrix_and_the_fixes_whole() -> None:
    app, _ = make_app(findings_snapshot())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        pane = app.query_one(MeshPane)
        width = pane.scrollable_content_region.width
        assert 0 < width < 40
        lines = mesh_text(app).splitlines()
        assert all(len(line) <= width for line in lines), [ln for ln in lines if len(ln) > width]
        # numbered columns: one line per cluster holding every cell of its row
        assert lines[0].split() == ["→", "1", "2", "3"]
        assert lines[1].split() == ["1", "—", "1/1", "✓", "0/1", "✗"]
        assert lines[2].split() == ["2", "1/1", "✓", "—", "no", "link"]
        assert "1=cluster1" in mesh_text(app) and "3=cluster3" in mesh_text(app)
        # every fix, read back as a shell would, is the finding's command
        commands = pasted(fix_lines(lines))
        for finding in app.views.status.findings:  # type: ignore[union-attr]
            for fix in finding.fix.splitlines():
                assert fix in commands, (fix, commands)
        assert pane.border_subtitle == findings_count(
            sum(f.severity == "error" for f in app.views.status.findings),  # type: ignore[union-attr]
            sum(f.severity == "warning" for f in app.views.status.findings),  # type: ignore[union-attr]
        )


async def test_mesh_pane_wide_keeps_names_as_column_heads() -> None:
    app, _ = make_app(seed_snapshot())
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        lines = mesh_text(app).splitlines()
        assert lines[0].split() == ["from", "\\", "to", "cluster1", "cluster2"]
        assert "  fix: cilium clustermesh enable --context bastion02 --service-type LoadBalancer" in lines
        assert app.query_one(MeshPane).border_subtitle == "0 errors 2 warnings"


def test_plurals() -> None:
    assert findings_count(1, 1) == "1 error 1 warning"
    assert findings_count(0, 2) == "0 errors 2 warnings"


def test_many_clusters_come_in_column_blocks_that_fit() -> None:
    text = render_mesh(status_view(large_snapshot(40, 5)), COLORS, 30).plain
    assert max(len(line) for line in text.splitlines()) <= 30
    assert "columns 1–20" in text and "columns 21–40" in text
    wide = render_mesh(status_view(large_snapshot(40, 5)), COLORS, 0).plain
    assert "columns" not in wide
