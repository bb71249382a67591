"""The small ones of issue 17 (point 7): redaction that leaves ordinary words alone, a token
file ending in a newline, and a bad header that is not blamed on the server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from headlesshelp import Cli, add_dead_context
from reliabilityhelp import seed_sim

from tui.kube.redact import MASK, scrub
from tui.sim.mesh import SimThread


@pytest.fixture(scope="module")
def sim() -> Iterator[SimThread]:
    with seed_sim() as running:
        yield running


def test_words_after_a_context_named_like_c_basic_are_not_masked() -> None:
    assert scrub("c-basic cilium-config: connection refused") == "c-basic cilium-config: connection refused"
    assert (
        scrub("context c-basic: basic authentication failed")
        == "context c-basic: basic authentication failed"
    )
    assert scrub("authorization: Bearer abcdefgh12345") == f"authorization: Bearer {MASK}"
    assert scrub("'Authorization': 'Basic dXNlcjpwYXNzd29yZA=='") == f"'Authorization': 'Basic {MASK}'"


def test_a_c_basic_context_is_named_and_its_reason_readable_in_the_log(sim: SimThread, cli: Cli) -> None:
    path = cli.kubeconfig_variant(sim, "c-basic.yaml", lambda doc: add_dead_context(doc, "c-basic"))
    result = cli("status", "-v", "-o", "json", "--timeout", "5", kubeconfig=path)
    states = {c["context"]: c["state"] for c in result.json()["clusters"]}
    assert states["c-basic"] == "unreachable: connection refused"
    lines = [line for line in result.err.splitlines() if "c-basic" in line]
    assert lines and not any(MASK in line for line in lines), lines
    assert any("c-basic cilium-config: connection refused" in line for line in lines), lines


def token_file(tmp_path: Path, content: str) -> Any:
    """An edit moving every user's token into a file holding ``content`` (``{token}`` filled)."""

    def edit(doc: dict[str, Any]) -> None:
        for index, user in enumerate(doc["users"]):
            token = user["user"].pop("token")
            path = tmp_path / f"token-{index}"
            path.write_text(content.format(token=token))
            user["user"]["tokenFile"] = str(path)

    return edit


def test_a_token_file_ending_in_a_newline_works_as_in_kubectl(
    sim: SimThread, cli: Cli, tmp_path: Path
) -> None:
    path = cli.kubeconfig_variant(sim, "tokenfile.yaml", token_file(tmp_path, "{token}\n"))
    result = cli("status", "-o", "json", "--timeout", "10", kubeconfig=path)
    states = {c["context"]: c["state"] for c in result.json()["clusters"]}
    assert states == {"bastion02": "ok", "bastion03": "ok"}, result.err


def test_a_token_with_a_line_break_is_the_kubeconfig_not_the_server(
    sim: SimThread, cli: Cli, tmp_path: Path
) -> None:
    path = cli.kubeconfig_variant(sim, "broken-token.yaml", token_file(tmp_path, "{token}\nsecond-line\n"))
    result = cli("status", "-o", "json", "--timeout", "5", kubeconfig=path)
    assert result.code == 2, result  # no cluster could be read: each one says why
    assert result.err.count("token holds a line break or a control character") == 2, result.err
    assert "server" not in result.err.replace("meshtui status: ", ""), result.err
