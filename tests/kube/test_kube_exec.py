"""Exec over WebSocket: short commands, line streaming, stop, idle timeout, bounded buffers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from kubehelp import FAST, Hubs
from testkit import until

from tui.kube.errors import KubeError
from tui.kube.hub import MeshHub
from tui.kube.source import KubeSource
from tui.sim.mesh import SimThread


def curl_pod(hub: MeshHub, context: str = "bastion02") -> str:
    state = hub.snapshot().by_context(context)
    assert state is not None
    return next(p.name for p in state.pods.values() if p.owner == "curltest" and p.ready)


def programs_running(sim: SimThread) -> int:
    """Exec programs alive in the simulator (its shell runs as a task per exec)."""

    def count() -> int:
        return sum(1 for t in asyncio.all_tasks() if "program" in t.get_coro().__qualname__ and not t.done())

    return sim.call(count)


async def test_short_command_output_and_exit_code(sim: SimThread, hubs: Hubs) -> None:
    hub = await hubs.start(sim.kubeconfig_path)
    result = await hub.exec(
        "bastion02", "song", curl_pod(hub), ["sh", "-c", "echo out; echo err >&2; exit 3"]
    )
    assert (result.stdout, result.stderr, result.exit_code) == (b"out\n", b"err\n", 3)
    assert result.error is not None and "exit code 3" in result.error
    ok = await hub.exec("bastion02", "song", curl_pod(hub), ["sh", "-c", "echo fine"])
    assert (ok.stdout, ok.exit_code, ok.error) == (b"fine\n", 0, None)


async def test_stream_delivers_lines_as_they_come_and_close_stops_the_command(
    sim: SimThread, hubs: Hubs
) -> None:
    hub = await hubs.start(sim.kubeconfig_path)
    baseline = programs_running(sim)
    stream = await hub.exec_stream(
        "bastion02",
        "song",
        curl_pod(hub),
        ["sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.05; done"],
    )
    lines = []
    async for line in stream:
        lines.append(line)
        if len(lines) == 4:
            break
    assert [line.text for line in lines] == ["tick 0", "tick 1", "tick 2", "tick 3"]
    assert all(line.channel == "stdout" for line in lines)
    assert lines[3].at - lines[0].at >= 0.1  # they arrived one by one, not all at the end
    assert programs_running(sim) == baseline + 1
    await stream.close()
    assert stream.done and stream.exit_code is None and stream.error == "stopped"
    await until(lambda: programs_running(sim) == baseline, 3.0)


async def test_stream_ends_with_the_exit_code_and_keeps_stderr_and_partial_lines(
    sim: SimThread, hubs: Hubs
) -> None:
    hub = await hubs.start(sim.kubeconfig_path)
    stream = await hub.exec_stream(
        "bastion02",
        "song",
        curl_pod(hub),
        [
            "sh",
            "-c",
            "printf 'par'; sleep 0.1; printf 'tial\\nnext\\n'; echo oops >&2; printf 'no newline'; exit 4",
        ],
    )
    lines = [(line.channel, line.text) async for line in stream]
    assert ("stdout", "partial") in lines and ("stdout", "next") in lines and ("stderr", "oops") in lines
    assert lines[-1] == ("stdout", "no newline")
    assert stream.exit_code == 4
    assert stream.error is not None and "exit code 4" in stream.error


async def test_idle_stream_is_ended(sim: SimThread, hubs: Hubs) -> None:
    hub = await hubs.start(sim.kubeconfig_path)
    started = time.monotonic()
    stream = await hub.exec_stream(
        "bastion02", "song", curl_pod(hub), ["sh", "-c", "sleep 30"], idle_timeout=0.3
    )
    assert [line async for line in stream] == []
    assert time.monotonic() - started < 2.0
    assert stream.error == "no output for 0.3 s: stopped"


async def test_a_slow_consumer_loses_the_oldest_lines_and_knows_how_many(sim: SimThread, hubs: Hubs) -> None:
    hub = await hubs.start(sim.kubeconfig_path)
    stream = await hub.exec_stream(
        "bastion02", "song", curl_pod(hub), ["sh", "-c", "seq 1 500"], max_lines=50, idle_timeout=5
    )
    await asyncio.wait_for(stream.wait(), 5)
    assert stream.exit_code == 0
    assert stream.pending() == 50 and stream.dropped == 450
    texts = [line.text async for line in stream]
    assert texts == [str(n) for n in range(451, 501)]


async def test_refused_execs_raise_precise_errors(sim: SimThread, hubs: Hubs) -> None:
    hub = await hubs.start(sim.kubeconfig_path)
    with pytest.raises(KubeError) as missing:
        await hub.exec_stream("bastion02", "song", "no-such-pod", ["sh"])
    assert missing.value.status == 404
    with pytest.raises(KubeError) as unknown:
        await hub.exec_stream("nowhere", "song", "x", ["sh"])
    assert "no context 'nowhere'" in str(unknown.value)


@pytest.fixture
def readonly_sim() -> Iterator[SimThread]:
    with SimThread("seed", ready_delay=0.01, user="readonly") as running:
        yield running


async def test_exec_forbidden_by_rbac(readonly_sim: SimThread, hubs: Hubs) -> None:
    hub = await hubs.start(readonly_sim.kubeconfig_path)
    with pytest.raises(KubeError) as denied:
        await hub.exec_stream("bastion02", "song", curl_pod(hub), ["sh", "-c", "echo hi"])
    assert denied.value.status == 403
    assert "cannot create pods/exec in namespace song" in str(denied.value)


async def test_threaded_source_streams_to_the_callers_loop(sim: SimThread) -> None:
    source = KubeSource(str(sim.kubeconfig_path), threaded=True, settings=FAST)
    await source.start()
    try:
        await source.wait_synced(10)
        state = source.snapshot().clusters[1]
        pod = next(p.name for p in state.pods.values() if p.owner == "curltest")
        stream = await source.exec_stream(
            "bastion03", "song", pod, ["sh", "-c", "for i in 1 2 3; do echo $i; done"]
        )
        texts = [line.text async for line in stream]
        assert texts == ["1", "2", "3"] and stream.exit_code == 0
        forever = await source.exec_stream(
            "bastion03", "song", pod, ["sh", "-c", "while true; do sleep 1; done"]
        )
        await forever.close()
        assert forever.done
    finally:
        await source.stop()


def test_the_hub_and_the_source_implement_the_one_exec_protocol() -> None:
    """tui.source.PodExec is the only description of "exec in a pod / pods of a deployment":
    the curl loops, the probes and the client pod check are typed on it. The hub and the
    source must take every parameter it names, with the same defaults (the hub may take more)."""
    import inspect

    from meshmodels import seed_snapshot
    from staticsource import StaticSource

    from tui.kube.hub import MeshHub
    from tui.kube.source import KubeSource
    from tui.source import ExecSource, PodExec, can_exec

    assert can_exec(KubeSource(threaded=False)) and isinstance(KubeSource(threaded=False), ExecSource)
    assert not can_exec(StaticSource(seed_snapshot()))
    for name in ("exec", "exec_stream", "pods_of_deployment"):
        wanted = inspect.signature(getattr(PodExec, name)).parameters
        for implementation in (MeshHub, KubeSource):
            given = inspect.signature(getattr(implementation, name)).parameters
            for param, spec in wanted.items():
                assert param in given, (implementation.__name__, name, param)
                assert given[param].kind == spec.kind, (implementation.__name__, name, param)
                assert given[param].default == spec.default, (implementation.__name__, name, param)


async def test_stop_waits_for_exec_sockets_only_while_they_close(sim: SimThread, hubs: Hubs) -> None:
    """A client's close lets its exec sockets finish their TLS close, and waits no longer than
    that: a headless command exits as soon as they are closed, not after a fixed pause."""
    hub = await hubs.start(sim.kubeconfig_path)
    client = hub.clusters["bastion02"].client
    assert client is not None
    done = await hub.exec("bastion02", "song", curl_pod(hub), ["sh", "-c", "echo fine"])
    assert done.exit_code == 0 and len(client._exec_sockets) == 1
    sock = client._exec_sockets[0]
    started = time.monotonic()
    await client._settle_exec_sockets(bound=20.0)
    assert time.monotonic() - started < 5.0  # returned once closed, long before the bound
    assert sock.fileno() == -1 and client._exec_sockets == []
    await hub.stop()
    assert client.closed
