"""A pod's learned answer outlives its endpoint until it stops answering (issue 14, bug 5).

During a scale-down the terminating pod leaves the service's endpoints (the map is relearned
without it) but still answers for a while (connections draining, a dataplane that lags): those
answers must stay identified. Its fingerprint goes only after it has not answered for
:data:`tui.curl.fingerprints.RETAIN` seconds.
"""

from __future__ import annotations

from tui.curl.fingerprints import RETAIN, Fingerprints
from tui.curl.frames import RawAnswer
from tui.mesh.model import Backend

ANN = '{"id":1,"name":"Ann B. Lee-Kim"}'
BOB = '{"id":1,"name":"Bob C. Park-Cho"}'
REBEL1 = '{"Galaxy": "Alderaan", "Cluster": "Cluster-1"}'
REBEL2 = '{"Galaxy": "Alderaan", "Cluster": "Cluster-2"}'


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def ok(body: str) -> RawAnswer:
    return RawAnswer(seq=1, at=0.0, body=body, code=200, seconds=0.001, exit_code=0)


def b(cluster: str, pod: str, ip: str) -> Backend:
    return Backend(cluster, ip, 8181, pod)


def test_a_pod_that_left_the_endpoints_is_still_named_while_it_answers() -> None:
    clock = Clock()
    fp = Fingerprints(clock=clock)
    fp.learn(
        [(b("cluster1", "u-1", "10.1.0.1"), ok(ANN), "v"), (b("cluster2", "u-2", "10.2.0.1"), ok(BOB), "v")]
    )
    # Scale-down: u-1 terminates, leaves the endpoints, the map is learned again without it.
    fp.learn([(b("cluster2", "u-2", "10.2.0.1"), ok(BOB), "v")])
    assert [r.pod for r in fp.rows] == ["u-2"]
    for _ in range(5):  # it keeps answering for a while: each answer keeps it known
        clock.now += RETAIN * 0.6
        who = fp.identify(ANN)
        assert (who.cluster, who.pod, who.label) == ("cluster1", "u-1", "Ann B. Lee-Kim")
    # Silent for longer than RETAIN: gone from the answers, so gone from the map.
    clock.now += RETAIN + 1
    assert fp.identify(ANN).cluster is None
    assert fp.identify(BOB).pod == "u-2"
    assert [k["pod"] for k in fp.to_json()["kept"]] == []


def test_kept_fingerprints_survive_further_relearning_and_yield_to_new_probes() -> None:
    clock = Clock()
    fp = Fingerprints(clock=clock)
    fp.learn(
        [
            (b("cluster1", "u-1", "10.1.0.1"), ok(ANN), "v"),
            (b("cluster1", "r-1", "10.1.0.2"), ok(REBEL1), "v"),
        ]
    )
    fp.learn([(b("cluster2", "r-2", "10.2.0.2"), ok(REBEL2), "v")])  # cluster1 scaled to zero
    clock.now += 1
    fp.learn([(b("cluster2", "r-2", "10.2.0.2"), ok(REBEL2), "v")])  # a second relearn in between
    assert fp.identify(ANN).pod == "u-1"
    assert fp.identify(REBEL1).cluster == "cluster1"
    # The Cluster field of a cluster that left is kept too (a body varying elsewhere still maps).
    assert fp.identify('{"Cluster": "Cluster-1", "when": 7}').cluster == "cluster1"
    assert {k["pod"] for k in fp.to_json()["kept"]} >= {"u-1"}
    # A new probe that hears the same body from another cluster wins over what was kept.
    fp.learn([(b("cluster2", "u-9", "10.2.0.9"), ok(ANN), "v")])
    assert (fp.identify(ANN).cluster, fp.identify(ANN).pod) == ("cluster2", "u-9")
