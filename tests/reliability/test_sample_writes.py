"""Sample deploy/delete are writes like the others (issue 17, point 5).

``meshtui sample deploy </dev/null`` wrote 8 objects into every cluster without asking. Now:
without a terminal it refuses unless ``--yes``; on a terminal it asks, naming every context and
every object; without ``--context`` it says every context is used, ``--yes`` or not. In the app
the palette's "Sample: deploy" opens the same confirmation. A recorder on every simulated API
server checks that nothing is written before the answer is yes.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator

import pytest
from apphelpers import activity
from reliabilityhelp import REL_HUB, seed_sim, write_recorder
from testkit import settle, until

from tui import samples
from tui.app import MeshtuiApp
from tui.cli import main
from tui.kube.source import KubeSource
from tui.sim.mesh import SimThread

OBJECTS = (
    "namespace demo",
    "deployment demo/userlist",
    "service demo/userlist-svc",
    "deployment demo/curltest",
)
WHERE = ("bastion02 (cluster1)", "bastion03 (cluster2)")


@pytest.fixture
def sim() -> Iterator[SimThread]:
    with seed_sim() as running:
        yield running


def sample(sim: SimThread, *args: str, stdin: str = "") -> int:
    old, sys.stdin = sys.stdin, io.StringIO(stdin)  # not a terminal (isatty is False)
    try:
        return main(["sample", *args, "--kubeconfig", str(sim.kubeconfig_path), "--timeout", "15"])
    finally:
        sys.stdin = old


@pytest.mark.parametrize("action", ["deploy", "delete"])
def test_without_a_terminal_sample_refuses_unless_yes(
    sim: SimThread, action: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with write_recorder(sim) as writes:
        assert sample(sim, action, "--namespace", "demo") == 2
    err = capsys.readouterr().err
    assert f"refusing to {action} without a terminal" in err and "--yes" in err
    assert writes == []


def test_on_a_terminal_the_prompt_names_every_context_and_object(
    sim: SimThread, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(samples, "stdin_is_tty", lambda: True)
    with write_recorder(sim) as writes:
        assert sample(sim, "deploy", "--namespace", "demo", stdin="n\n") == 1
    err = capsys.readouterr().err
    assert writes == []
    assert "no --context given: every context of the kubeconfig is used" in err
    for words in (*WHERE, *OBJECTS, "Deploy? [y/N]", "not confirmed; nothing was deployed"):
        assert words in err, (words, err)
    with write_recorder(sim) as writes:
        assert sample(sim, "deploy", "--namespace", "demo", "--context", "bastion03", stdin="y\n") == 0
    err = capsys.readouterr().err
    assert "every context" not in err and WHERE[1] in err and WHERE[0] not in err
    assert writes and all("/namespaces/demo" in w or w.endswith("/namespaces") for w in writes), writes


def test_yes_without_context_says_every_context_is_used(
    sim: SimThread, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sample(sim, "deploy", "--namespace", "demo", "--yes") == 0
    err = capsys.readouterr().err
    assert f"every context of the kubeconfig is used: {', '.join(WHERE)}" in err


async def test_the_app_asks_before_deploying_a_sample(sim: SimThread) -> None:
    source = KubeSource(str(sim.kubeconfig_path), settings=REL_HUB, threaded=True)
    app = MeshtuiApp(source, kubeconfig_label="~/.kube/config-multi", refresh_interval=0.02)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(lambda: app.curl_pane is not None and app.source_started, 20.0)
        await settle(pilot, timeout=20.0)
        with write_recorder(sim) as writes:
            app.sample("userlist", delete=False)  # the palette's "Sample: deploy userlist"
            await pilot.pause(0.3)
            dialog = app.screen
            assert type(dialog).__name__ == "ConfirmDialog"  # the app's confirmation, as every write
            text = " ".join(str(w.render()) for w in dialog.query("Static"))
            for words in ("Deploy the userlist sample into 2 contexts", *WHERE, "deployment song/userlist"):
                assert words in text, (words, text)
            await pilot.press("n")
            await pilot.pause(0.5)
            assert writes == []
            app.sample("userlist", delete=False)
            await pilot.pause(0.3)
            await pilot.press("y")
            await until(lambda: len(writes) > 0, 10.0)

            # and the activity log has it per context, as every write: sent…, then its outcome
            def logged() -> dict[str, tuple[str, str, str]]:
                return {e[1]: (e[3], e[4], e[5]) for e in activity(app) if e[2] == "sample userlist"}

            await until(lambda: len(logged()) == 2 and all(o[2] != "sent" for o in logged().values()), 15.0)
            assert set(logged()) == {"bastion02", "bastion03"}
            assert all(change == "deploy in song" and kind == "ok" for change, _, kind in logged().values())
