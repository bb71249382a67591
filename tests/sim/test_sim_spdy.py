"""pods/exec over SPDY/3.1, as kubectl 1.27-1.29 speak it: the framing, a raw client, real kubectl.

kubectl.1.27 and kubectl.1.28 sit beside ``kubectl`` on this machine and CI's (the Google Cloud
SDK's versioned binaries): a missing one fails these tests by name, it does not skip them.
"""

from __future__ import annotations

import asyncio
import json
import os
import pty
import select
import signal
import ssl
import struct
import subprocess
import threading
import time
import zlib
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from aiohttp import web

from tui.sim.kubectl.spdy import (
    CANCEL,
    DATA,
    DICTIONARY,
    FLAG_FIN,
    GOAWAY,
    MAX_FRAME,
    PING,
    REFUSED_STREAM,
    RST_STREAM,
    SETTINGS,
    SYN_REPLY,
    SYN_STREAM,
    FrameReader,
    FrameWriter,
    SpdyError,
    encode_header_block,
)
from tui.sim.mesh import SimThread
from tui.sim.programs import STDOUT, ExecIO, ExecRequest, register_program
from tui.sim.testing import Kubectl, fast_sim, versioned_kubectl

SPDY_RELEASES = ("1.27", "1.28")
"""The kubectl releases that speak only SPDY for exec (1.29 too, unless told otherwise)."""

# -- framing ----------------------------------------------------------------------------------------


def test_the_dictionary_is_spdy3s() -> None:
    """Every SPDY/3 header block's zlib stream names its dictionary by Adler-32: 0xE3C6A7C2."""
    assert (len(DICTIONARY), zlib.adler32(DICTIONARY)) == (1423, 0xE3C6A7C2)


def test_header_blocks_share_one_compression_context_per_direction() -> None:
    writer, reader = FrameWriter(), FrameReader()
    first = writer.syn_reply(1, {"streamtype": ["error"]})
    second = writer.syn_reply(3, {"StreamType": ["stdout"], "x": ["a", "b"]}, fin=True)
    frames = [frame for byte in first + second for frame in reader.feed(bytes([byte]))]
    assert [(f.type, f.stream_id, f.fin, f.headers) for f in frames] == [
        (SYN_REPLY, 1, False, {"streamtype": ["error"]}),
        (SYN_REPLY, 3, True, {"streamtype": ["stdout"], "x": ["a", "b"]}),
    ]
    with pytest.raises(SpdyError):  # the second block continues the first one's zlib stream
        FrameReader().feed(second)


def test_data_and_control_frames() -> None:
    wire = (
        FrameWriter.data(5, b"abc", fin=True)
        + FrameWriter.ping(7)
        + FrameWriter.rst_stream(3, CANCEL)
        + _control(SETTINGS, struct.pack(">III", 1, 7, 65536))
        + FrameWriter.goaway(7)
    )
    frames = FrameReader().feed(wire)
    assert [(f.type, f.stream_id, f.flags, f.data, f.value) for f in frames] == [
        (DATA, 5, FLAG_FIN, b"abc", 0),
        (PING, 0, 0, b"", 7),
        (RST_STREAM, 3, 0, b"", CANCEL),
        (GOAWAY, 7, 0, b"", 0),
    ]  # SETTINGS is read and dropped


@pytest.mark.parametrize(
    "wire",
    [
        struct.pack(">II", 1, MAX_FRAME + 1),  # a data frame longer than is buffered
        struct.pack(">HHI", 0x8002, SYN_STREAM, 10) + bytes(10),  # SPDY/2
        struct.pack(">HHI", 0x8003, SYN_STREAM, 14) + bytes(10) + b"junk",
        struct.pack(">HHI", 0x8003, RST_STREAM, 4) + bytes(4),  # too short for its fields
    ],
    ids=["oversized", "version-2", "not-zlib", "short"],
)
def test_broken_framing_is_refused(wire: bytes) -> None:
    with pytest.raises(SpdyError):
        FrameReader().feed(wire)


def test_aiohttp_still_lets_an_upgraded_connection_be_taken_over() -> None:
    """execspdy installs its frame reader with ``RequestHandler.set_parser``, as aiohttp's own
    WebSocketResponse does; not public API, so a release that moves it fails here by name."""
    from aiohttp.web_protocol import RequestHandler

    assert callable(getattr(RequestHandler, "set_parser", None)), (
        "aiohttp.web_protocol.RequestHandler.set_parser is gone: tui/sim/kubectl/execspdy.py "
        "(_take_over) can no longer serve exec over SPDY"
    )


# -- the simulator, a raw client --------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim() -> Iterator[SimThread]:
    running = fast_sim("seed")
    try:
        yield running
    finally:
        running.stop()


class RawClient:
    """Just enough of a SPDY client to poke at the server: TLS, the upgrade, frames."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.frames = FrameReader()
        self.deflate = zlib.compressobj(zlib.Z_BEST_COMPRESSION, zdict=DICTIONARY)
        self.pending: list = []

    @classmethod
    async def open(cls, sim: SimThread, command: list[str], protocol: str = "v4.channel.k8s.io") -> RawClient:
        cluster = sim.mesh.cluster("bastion02")
        pods = sim.call(lambda: cluster.store.items("pods", "song"))
        pod = next(e.name for e in pods if e.labels.get("app") == "curltest")
        context = ssl.create_default_context(cadata=cluster.tls.ca_pem.decode())
        reader, writer = await asyncio.open_connection("127.0.0.1", cluster.port, ssl=context)
        query = urlencode([("command", c) for c in command] + [("stdout", "true"), ("stderr", "true")])
        writer.write(
            f"POST /api/v1/namespaces/song/pods/{pod}/exec?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {cluster.admin_token}\r\nContent-Length: 0\r\n"
            f"Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
            f"X-Stream-Protocol-Version: {protocol}\r\n\r\n".encode()
        )
        return cls(reader, writer)

    async def head(self) -> tuple[int, str]:
        raw = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 10)
        status = int(raw.split(b" ", 2)[1])
        return status, raw.decode()

    def syn_stream(self, stream_id: int, kind: str) -> None:
        block = self.deflate.compress(encode_header_block({"streamtype": [kind]}))
        block += self.deflate.flush(zlib.Z_SYNC_FLUSH)
        self.writer.write(_control(SYN_STREAM, struct.pack(">IIH", stream_id, 0, 0) + block))

    async def frame(self):
        while not self.pending:
            data = await asyncio.wait_for(self.reader.read(65536), 10)
            if not data:
                return None
            self.pending += self.frames.feed(data)
        return self.pending.pop(0)

    async def close(self) -> None:
        self.writer.close()
        await asyncio.wait_for(self.writer.wait_closed(), 5)


def _control(kind: int, payload: bytes) -> bytes:
    return struct.pack(">HHI", 0x8003, kind, len(payload)) + payload


async def test_a_raw_client_gets_replies_pings_output_and_the_status(sim: SimThread) -> None:
    client = await RawClient.open(sim, ["sh", "-c", "echo hi; exit 4"])
    try:
        status, head = await client.head()
        assert status == 101 and "x-stream-protocol-version: v4.channel.k8s.io" in head.lower()
        client.syn_stream(1, "error")
        client.syn_stream(3, "stdout")
        client.syn_stream(5, "bogus")  # not a stream kubelet knows: refused
        client.writer.write(FrameWriter.ping(9))
        client.syn_stream(7, "stderr")
        frames = []
        while (frame := await client.frame()) is not None and not (
            frame.type == DATA and frame.stream_id == 1
        ):
            frames.append(frame)
        status_frame = frame
    finally:
        await client.close()
    assert [(f.type, f.stream_id, f.value) for f in frames if f.type != DATA] == [
        (SYN_REPLY, 1, 0), (SYN_REPLY, 3, 0), (RST_STREAM, 5, REFUSED_STREAM), (PING, 0, 9),
        (SYN_REPLY, 7, 0),
    ]  # fmt: skip
    assert b"".join(f.data for f in frames if f.type == DATA and f.stream_id == 3) == b"hi\n"
    assert {f.stream_id for f in frames if f.type == DATA and f.fin} == {3, 7}  # stdout, stderr closed
    assert status_frame is not None and status_frame.fin
    assert json.loads(status_frame.data)["details"]["causes"] == [{"reason": "ExitCode", "message": "4"}]


async def test_a_client_offering_no_known_protocol_is_refused(sim: SimThread) -> None:
    client = await RawClient.open(sim, ["true"], protocol="v2.channel.k8s.io")
    try:
        status, head = await client.head()
        length = next(
            int(line.split(":")[1]) for line in head.lower().splitlines() if line.startswith("content-length")
        )
        body = await asyncio.wait_for(client.reader.readexactly(length), 5)
    finally:
        await client.close()
    assert status == 403
    assert (
        "unable to negotiate protocol: client supports ['v2.channel.k8s.io']" in json.loads(body)["message"]
    )


async def test_broken_framing_ends_the_connection_and_the_program(sim: SimThread) -> None:
    started, cancelled = threading.Event(), threading.Event()

    async def wait_forever(request: ExecRequest, io: ExecIO) -> int:
        started.set()
        try:
            await asyncio.sleep(60)
        finally:
            cancelled.set()
        return 0

    register_program(
        "test-spdy-forever", lambda r: wait_forever if r.command == ["forever"] else None, first=True
    )
    try:
        client = await RawClient.open(sim, ["forever"])
        try:
            assert (await client.head())[0] == 101
            for stream_id, kind in ((1, "error"), (3, "stdout"), (5, "stderr")):
                client.syn_stream(stream_id, kind)
            assert await asyncio.to_thread(started.wait, 10)
            client.writer.write(struct.pack(">II", 3, MAX_FRAME + 1))  # a 1 MiB+ frame announced
            while await client.frame() is not None:  # the server hangs up
                pass
        finally:
            await client.close()
        assert await asyncio.to_thread(cancelled.wait, 5)
    finally:
        register_program("test-spdy-forever", lambda r: None)


# -- real kubectl -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def upgrades(sim: SimThread) -> list[str]:
    """The ``Upgrade`` header of every exec request bastion02 receives (so a test knows which
    transport kubectl chose)."""
    seen: list[str] = []

    async def record(request: web.Request) -> None:
        if request.path.endswith("/exec"):
            seen.append(request.headers.get("Upgrade", ""))

    cluster = sim.mesh.cluster("bastion02")
    sim.call(lambda: cluster.request_hooks.append(record))
    return seen


def kubectl(sim: SimThread, version: str, *args: str, stdin: str | None = None, **env: str):
    runner = Kubectl(sim.kubeconfig_path, timeout=60, binary=versioned_kubectl(version))
    try:
        return runner("-n", "song", *args, context="bastion02", input=stdin, env=env)
    finally:
        runner.cleanup()


@pytest.mark.parametrize("version", SPDY_RELEASES)
def test_curl_from_the_client_pod(sim: SimThread, upgrades: list[str], version: str) -> None:
    before = len(upgrades)
    result = kubectl(sim, version, "exec", "deploy/curltest", "--", "curl", "-sS", "userlist-svc/users/1")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert json.loads(result.stdout)["id"] == 1
    assert upgrades[before:] == ["SPDY/3.1"]


@pytest.mark.parametrize("version", SPDY_RELEASES)
def test_exit_code_and_both_outputs(sim: SimThread, upgrades: list[str], version: str) -> None:
    before = len(upgrades)
    result = kubectl(
        sim, version, "exec", "deploy/curltest", "--", "sh", "-c", "echo out; echo err >&2; exit 3"
    )
    assert (result.returncode, result.stdout) == (3, "out\n")
    assert result.stderr == "err\ncommand terminated with exit code 3\n"
    assert upgrades[before:] == ["SPDY/3.1"]


@pytest.mark.parametrize("version", SPDY_RELEASES)
def test_stdin(sim: SimThread, version: str) -> None:
    result = kubectl(
        sim, version, "exec", "-i", "deploy/curltest", "--", "sh", "-c", "cat; echo done", stdin="hi\n"
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "hi\ndone\n", "")


def test_1_29_speaks_spdy_unless_told_to_use_websockets(sim: SimThread, upgrades: list[str]) -> None:
    for env, transport in (({}, "SPDY/3.1"), ({"KUBECTL_REMOTE_COMMAND_WEBSOCKETS": "true"}, "websocket")):
        before = len(upgrades)
        result = kubectl(
            sim, "1.29", "exec", "deploy/curltest", "--", "curl", "-sS", "userlist-svc/users/2", **env
        )
        assert result.returncode == 0 and json.loads(result.stdout)["id"] == 2, result.stderr
        assert upgrades[before:] == [transport]


@pytest.mark.parametrize(
    "command",
    [
        ["-n", "song", "exec", "deploy/curltest", "--", "nosuch"],  # 126 from the shell
        ["-n", "kube-system", "exec", "ds/cilium", "--", "nosuch"],  # no exit code: start failed
        ["-n", "song", "exec", "deploy/userlist", "--", "sh", "-c", "true"],  # no shell in the image
        ["-n", "song", "exec", "deploy/curltest", "-c", "nope", "--", "true"],  # refused before upgrading
    ],
    ids=["not-found", "start-failed", "no-shell", "bad-container"],
)
def test_spdy_and_websocket_give_the_same_answers(sim: SimThread, command: list[str]) -> None:
    answers = []
    for version in ("1.27", "1.33"):
        runner = Kubectl(sim.kubeconfig_path, timeout=60, binary=versioned_kubectl(version))
        try:
            result = runner(*command, context="bastion02")
        finally:
            runner.cleanup()
        answers.append((result.returncode, result.stdout, result.stderr))
    assert answers[0] == answers[1]
    assert answers[0][0] != 0 and answers[0][2]


@pytest.mark.parametrize("version", SPDY_RELEASES)
def test_an_interactive_shell_on_a_terminal(sim: SimThread, version: str) -> None:
    """``exec -it``: a resize stream, stderr merged into stdout, the exit code of ``exit 5``."""
    runner = Kubectl(sim.kubeconfig_path, binary=versioned_kubectl(version))
    fd, terminal = pty.openpty()
    process = subprocess.Popen(
        runner.command("-n", "song", "exec", "-it", "deploy/curltest", "--", "sh", context="bastion02"),
        stdin=terminal, stdout=terminal, stderr=terminal, env=runner.env(), start_new_session=True,
    )  # fmt: skip
    os.close(terminal)
    output, typed, deadline = b"", 0, time.monotonic() + 20
    try:
        while time.monotonic() < deadline:
            if select.select([fd], [], [], 0.2)[0]:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:  # the terminal closed: kubectl exited
                    break
                if not chunk:
                    break
                output += chunk
            elif typed == 0 and b"$ " in output:
                os.write(fd, b"echo tty-$((6*7)) >&2\r")
                typed = 1
            elif typed == 1 and b"tty-42\r\n" in output:
                os.write(fd, b"exit 5\r")
                typed = 2
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        code = process.wait(10)
        os.close(fd)
        runner.cleanup()
    assert b"tty-42\r\n" in output and b"command terminated with exit code 5" in output, output[-300:]
    assert code == 5


def test_the_program_stops_when_kubectl_goes_away(sim: SimThread) -> None:
    started, cancelled = threading.Event(), threading.Event()

    async def wait_forever(request: ExecRequest, io: ExecIO) -> int:
        started.set()
        await io.write(STDOUT, b"waiting\n")
        try:
            await asyncio.sleep(60)
        finally:
            cancelled.set()
        return 0

    register_program(
        "test-spdy-hangup", lambda r: wait_forever if r.command == ["hang"] else None, first=True
    )
    runner = Kubectl(sim.kubeconfig_path, binary=versioned_kubectl("1.27"))
    process = subprocess.Popen(
        runner.command("-n", "song", "exec", "deploy/curltest", "--", "hang", context="bastion02"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=runner.env(),
    )  # fmt: skip
    try:
        assert started.wait(30), "the program never started"
        assert process.stdout is not None and process.stdout.readline() == b"waiting\n"
        process.kill()
        assert cancelled.wait(5), "the program outlived kubectl"
    finally:
        register_program("test-spdy-hangup", lambda r: None)
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)
        runner.cleanup()
