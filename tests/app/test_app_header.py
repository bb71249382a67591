"""The header names the viewing context, its cluster and its Cilium version at every width."""

from __future__ import annotations

import time

import pytest
from apphelpers import frozen_clock, make_app, wait_for

from tui.compat.textual_private import screen_lines


@pytest.mark.parametrize("width", [60, 80, 120, 200])
async def test_the_header_names_the_viewing_context_and_its_cilium_version(width: int) -> None:
    app, _source = make_app()
    async with app.run_test(size=(width, 30)) as pilot:
        await wait_for(pilot, lambda: "bastion02" in screen_lines(app)[0])
        header = screen_lines(app)[0]
        assert "bastion02 cluster1 · cilium 1.14.1" in header, header
        assert len(header) == width
        if width >= 120:
            assert "kubeconfig: ~/.kube/config-multi" in header and "read-write" in header
        if width >= 80:
            clock = time.strftime("%H:%M:%S", time.localtime(frozen_clock()))
            assert header.rstrip().endswith(clock), header  # the (frozen) clock stays
        await pilot.press("2")
        await wait_for(pilot, lambda: "bastion03 cluster2 · cilium 1.14.1" in screen_lines(app)[0])
