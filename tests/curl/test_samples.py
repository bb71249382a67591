"""``meshtui sample deploy|delete`` against the simulator, and curl on the deployed rebel-base."""

from __future__ import annotations

import asyncio
import io
import json

import pytest
from curlhelp import BACKOFF, FAST

from tui.cli import main
from tui.curl.session import CurlSession
from tui.curl.target import CurlTarget, InvalidInput
from tui.kube.source import KubeSource
from tui.samples import manifests
from tui.sim.mesh import SimThread


def objects(sim: SimThread, context: str, kind: str, namespace: str) -> list[str]:
    assert sim.mesh is not None
    cluster = sim.mesh.cluster(context)

    def read() -> list[str]:
        return sorted(
            e.obj["metadata"]["name"]
            for e in cluster.store.items(kind, namespace)
            if not e.obj["metadata"].get("deletionTimestamp")
        )

    return sim.call(read)


def sample(sim: SimThread, *args: str) -> int:
    return main(["sample", *args, "--kubeconfig", str(sim.kubeconfig_path), "--timeout", "10"])


def test_manifests_are_built_from_checked_names() -> None:
    docs = manifests("userlist", "song")
    assert [(d["kind"], d["metadata"]["name"]) for d in docs] == [
        ("Namespace", "song"),
        ("Deployment", "userlist"),
        ("Service", "userlist-svc"),
        ("Deployment", "curltest"),
    ]
    service = docs[2]
    assert service["metadata"]["annotations"] == {
        "service.cilium.io/global": "true",
        "service.cilium.io/shared": "true",
    }
    assert service["spec"]["ports"] == [{"port": 80, "targetPort": 8181, "protocol": "TCP"}]
    rebel = manifests("rebel-base", "default", cluster_label="Cluster-2")
    assert "Namespace" not in [d["kind"] for d in rebel]  # default is never created nor deleted
    message = next(d for d in rebel if d["kind"] == "ConfigMap")["data"]["message"]
    assert json.loads(message) == {"Galaxy": "Alderaan", "Cluster": "Cluster-2"}
    for bad in ("Song", "song;id", "song\n", "x" * 64):
        with pytest.raises(InvalidInput):
            manifests("userlist", bad)


def test_deploy_is_idempotent_and_delete_asks_first(
    sim: SimThread, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert sample(sim, "deploy", "--namespace", "demo", "--yes") == 0
    out = capsys.readouterr().out
    assert "deployment demo/userlist" in out and "created" in out
    for context in ("bastion02", "bastion03"):
        assert objects(sim, context, "deployments.apps", "demo") == ["curltest", "userlist"]
        assert objects(sim, context, "services", "demo") == ["userlist-svc"]
    assert sample(sim, "deploy", "--namespace", "demo", "--context", "bastion03", "--yes") == 0
    again = capsys.readouterr().out
    assert "bastion03" in again and "bastion02" not in again
    assert "deploy: 4 already exists (left unchanged)" in again

    # Without a terminal and without --yes: refused, nothing deleted.
    monkeypatch.setattr("tui.samples.stdin_is_tty", lambda: True)
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    assert sample(sim, "delete", "--namespace", "demo") == 1
    assert "not confirmed" in capsys.readouterr().err
    assert objects(sim, "bastion02", "deployments.apps", "demo") == ["curltest", "userlist"]
    monkeypatch.setattr("tui.samples.stdin_is_tty", lambda: False)
    assert sample(sim, "delete", "--namespace", "demo") == 2
    assert "--yes" in capsys.readouterr().err

    assert sample(sim, "delete", "--namespace", "demo", "--yes") == 0
    assert "deleted" in capsys.readouterr().out
    for context in ("bastion02", "bastion03"):
        assert objects(sim, context, "services", "demo") == []
        assert objects(sim, context, "deployments.apps", "demo") == []
    assert "demo" in objects(sim, "bastion02", "namespaces", "")  # kept without --with-namespace


def test_read_only_and_bad_input_are_refused_before_anything_is_sent(
    sim: SimThread, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--read-only", "sample", "deploy", "--kubeconfig", str(sim.kubeconfig_path)]) == 2
    assert sample(sim, "deploy", "--read-only") == 2
    assert "refusing" in capsys.readouterr().err
    assert sample(sim, "deploy", "--namespace", "Bad;Name") == 2
    assert "not a valid name" in capsys.readouterr().err
    assert objects(sim, "bastion02", "namespaces", "").count("demo") == 0
    assert sample(sim, "deploy", "--context", "nope") == 2


def test_rebel_base_answers_are_identified_by_cluster(
    sim: SimThread, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sample(sim, "deploy", "--app", "rebel-base", "--namespace", "rebels", "--yes") == 0
    capsys.readouterr()

    async def curl() -> CurlSession:
        source = KubeSource(str(sim.kubeconfig_path), threaded=False, settings=FAST)
        try:
            await source.start()
            await source.wait_for(
                lambda s: (
                    all(
                        sum(b.active for b in st.services[("rebels", "rebel-base")].backends) == 2
                        for st in s.clusters
                        if ("rebels", "rebel-base") in st.services
                    )
                    and all(("rebels", "rebel-base") in st.services for st in s.clusters)
                ),
                10,
            )
            session = CurlSession(
                source, CurlTarget("rebels", "rebel-base", 80, "/"), interval=0, count=40, backoff=BACKOFF
            )
            try:
                await session.start()
                assert await session.wait(20)
            finally:
                await session.stop()
            return session
        finally:
            await source.stop()

    session = asyncio.run(curl())
    assert {row.identifies for row in session.fingerprints.rows} == {"cluster"}
    assert len(session.fingerprints.rows) == 4
    for context in ("bastion02", "bastion03"):
        stats = session.stats[context]
        assert set(stats.split()) == {"cluster1", "cluster2"}, stats.split()
        assert all(a.label in ("Cluster-1", "Cluster-2") for a in stats.recent)
        assert all(a.label == f"Cluster-{a.to_cluster[-1]}" for a in stats.recent if a.to_cluster)
    assert session.loops["bastion02"].client_deployment == "x-wing"
