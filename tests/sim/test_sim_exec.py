"""pods/exec over WebSocket at the frame level: v4 and v5, stdin, resize, cancellation on close."""

from __future__ import annotations

import asyncio
import json
import ssl
import threading

import aiohttp
import pytest

from tui.sim.mesh import SimThread
from tui.sim.programs import STDERR, STDOUT, ExecIO, ExecRequest, register_program


async def _open(
    sim: SimThread, protocol: str, command: list[str], stdin: bool = False
) -> tuple[aiohttp.ClientSession, aiohttp.ClientWebSocketResponse, str]:
    cluster = sim.mesh.cluster("bastion03")
    pods = sim.call(lambda: cluster.store.items("pods", "song"))  # read on the simulator's loop
    pod = next(e for e in pods if e.labels.get("app") == "userlist")
    query = [("command", c) for c in command] + [("stdout", "true"), ("stderr", "true")]
    if stdin:
        query.append(("stdin", "true"))
    session = aiohttp.ClientSession(headers={"Authorization": f"Bearer {cluster.admin_token}"})
    context = ssl.create_default_context(cadata=cluster.tls.ca_pem.decode())
    ws = await session.ws_connect(
        f"{cluster.url}/api/v1/namespaces/song/pods/{pod.name}/exec", params=query, protocols=(protocol,),
        ssl=context,
    )  # fmt: skip
    return session, ws, pod.name


async def _frames(ws: aiohttp.ClientWebSocketResponse) -> list[bytes]:
    frames = []
    async for message in ws:
        if message.type == aiohttp.WSMsgType.BINARY:
            frames.append(message.data)
    return frames


@pytest.mark.parametrize("protocol", ["v4.channel.k8s.io", "v5.channel.k8s.io"])
async def test_frames_end_with_a_status_on_channel_3(sim: SimThread, protocol: str) -> None:
    session, ws, _pod = await _open(sim, protocol, ["nslookup", "x"])
    try:
        assert ws.protocol == protocol
        frames = await asyncio.wait_for(_frames(ws), 10)
    finally:
        await session.close()
    assert frames[0] == bytes([STDERR]) + b"sh: nslookup: not found\n"
    status = json.loads(frames[-1][1:])
    assert frames[-1][0] == 3
    assert status["status"] == "Failure" and status["reason"] == "NonZeroExitCode"
    assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "127"}]


async def test_stdin_resize_and_close(sim: SimThread) -> None:
    async def cat(request: ExecRequest, io: ExecIO) -> int:
        while (chunk := await io.read_stdin()) is not None:
            await io.write(STDOUT, chunk)
        return 0

    register_program("test-cat", lambda r: cat if r.command == ["cat"] else None, first=True)
    session, ws, _pod = await _open(sim, "v5.channel.k8s.io", ["cat"], stdin=True)
    try:
        await ws.send_bytes(b"\x04" + json.dumps({"Width": 80, "Height": 24}).encode())
        await ws.send_bytes(b"\x00abc")
        await ws.send_bytes(b"\x00def")
        await ws.send_bytes(b"\xff\x00")
        frames = await asyncio.wait_for(_frames(ws), 10)
    finally:
        register_program("test-cat", lambda r: None)
        await session.close()
    assert b"".join(f[1:] for f in frames if f[0] == STDOUT) == b"abcdef"
    assert json.loads(frames[-1][1:]) == {"metadata": {}, "status": "Success"}


async def test_program_is_cancelled_when_the_client_goes_away(sim: SimThread) -> None:
    started, cancelled = threading.Event(), threading.Event()

    async def forever(request: ExecRequest, io: ExecIO) -> int:
        started.set()
        try:
            while True:
                await io.write(STDOUT, b"tick\n")
                await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    register_program("test-forever", lambda r: forever if r.command == ["forever"] else None, first=True)
    try:
        session, ws, _pod = await _open(sim, "v5.channel.k8s.io", ["forever"])
        message = await asyncio.wait_for(ws.receive(), 5)
        assert message.data == bytes([STDOUT]) + b"tick\n"
        await ws.close()
        await session.close()
        assert await asyncio.to_thread(cancelled.wait, 5)
    finally:
        register_program("test-forever", lambda r: None)


async def test_exec_needs_a_known_container_and_a_running_pod(sim: SimThread) -> None:
    cluster = sim.mesh.cluster("bastion03")
    pods = sim.call(lambda: cluster.store.items("pods", "song"))  # read on the simulator's loop
    pod = next(e for e in pods if e.labels.get("app") == "userlist")
    context = ssl.create_default_context(cadata=cluster.tls.ca_pem.decode())
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {cluster.admin_token}"}) as session:
        url = f"{cluster.url}/api/v1/namespaces/song/pods/{pod.name}/exec"
        params = {"command": "ls", "container": "nope", "stdout": "true"}
        async with session.get(url, params=params, ssl=context) as response:
            body = await response.json()
        assert response.status == 400 and body["message"] == f"container nope is not valid for pod {pod.name}"
        async with session.get(
            url.replace(pod.name, "missing"), params={"command": "ls"}, ssl=context
        ) as response:
            assert response.status == 404
