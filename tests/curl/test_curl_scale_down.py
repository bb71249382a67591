"""A pod terminating in a scale-down is still named while it answers (issue 14, bug 5).

Cilium stops choosing a terminating backend only once its agent has realized the change
(``sync_delay`` here: 1.5 s), while meshtui sees the pod terminating at once and relearns the
map without it. The answers it still gives in between are its own, not "unknown".
"""

from __future__ import annotations

from typing import Any

import pytest
from curlhelp import BACKOFF, userlist_oracle
from testkit import until

from tui.curl.session import CurlSession
from tui.curl.target import CurlTarget
from tui.kube.source import KubeSource
from tui.mesh.actions import Scale
from tui.sim.mesh import SimThread
from tui.views.backends import expected_share

USERLIST = CurlTarget("song", "userlist-svc", 80, "/users/1")
C2 = "bastion03"


@pytest.fixture
def sim_options() -> dict[str, Any]:
    """Agents realize changes 1.5 s late; a deleted pod stays Terminating (and answers) 3 s."""
    return {"sync_delay": 1.5, "termination_grace": 3.0}


async def test_answers_of_a_terminating_pod_stay_identified(sim: SimThread, source: KubeSource) -> None:
    session = CurlSession(
        source, USERLIST, interval=0.05, timeout=2.0, backoff=BACKOFF, expected=expected_share
    )
    await session.start()
    try:
        assert (await source.write(Scale(C2, "song", "userlist", 2))).ok
        await until(lambda: len(session.fingerprints.rows) == 3, timeout=10)
        three = userlist_oracle(sim)
        await until(lambda: {a.pod for a in list(session.log)[-80:]} >= {p for _c, p in three.values()}, 10)

        assert (await source.write(Scale(C2, "song", "userlist", 1))).ok
        await until(lambda: len(session.fingerprints.rows) == 2, timeout=10)
        relearned = max(e.at for e in session.events if e.kind == "learned")
        leaving = {p for _c, p in three.values()} - {r.pod for r in session.fingerprints.rows}
        assert len(leaving) == 1
        (pod,) = leaving
        await until(lambda: max(a.at for a in session.log) > relearned + 1.6, timeout=10)

        after = [a for a in session.log if a.at > relearned and a.answered]
        from_leaving = [a for a in after if three.get(a.label, ("", ""))[1] == pod]
        assert from_leaving, "the terminating pod never answered after the map was relearned"
        assert all((a.to_cluster, a.pod) == three[a.label] for a in from_leaving), from_leaving[:3]
        assert not [a for a in after if a.to_cluster is None]
        assert {k["pod"] for k in session.fingerprints.to_json()["kept"]} == {pod}
    finally:
        await session.stop()
