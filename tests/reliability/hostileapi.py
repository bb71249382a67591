"""A hostile Kubernetes API endpoint for the reliability tests: one misbehaviour per server.

Plain HTTP on 127.0.0.1, any token accepted. Outside its misbehaviour it answers as a quiet
cluster would: ``/version``, access reviews (allowed), empty lists, a ``cilium-config`` naming
the cluster ``hostile``, :data:`AGENTS` Cilium agent pods, quiet watches and a ``cilium status``
exec answering a valid document. Modes (``--mode``):

``malformed-json``  lists answer a truncated JSON document
``html``            every request answers 200 with an HTML page (a proxy's login page)
``429`` / ``500``   every request answers that status (500 with the hostile payload as body)
``endless-continue`` every list page carries a new ``continue`` token (and a full page of items)
``repeated-continue`` every list page carries the same ``continue`` token
``short-pages``     every list page holds one object and a new ``continue`` token
``huge-body``       lists answer a JSON list of ``--body-mb`` MB (streamed, never held in memory)
``silent-watch``    watches are accepted and never send a byte
``garbage-watch``   watches send lines that are not JSON
``wrong-types``     the services list holds a service whose name is a number
``wrong-types-watch`` watches of services send an event whose labels are a string
``slowloris``       every answer trickles one byte every ``--trickle`` seconds
``exec-hang``       exec upgrades and then never sends nor closes
``exec-flood``      exec floods stdout and never answers the client's CLOSE

Bounded on purpose (the server is a test fixture that must stop by itself): it exits after
``--lifetime`` seconds, and no single answer sends more than ``--max-mb`` MB. It runs as its own
process (:class:`HostileServer`, started and killed by pid), so a flood costs the process under
test its own CPU only, not the test's interpreter lock.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

MODES = (
    "ok",
    "malformed-json",
    "html",
    "429",
    "500",
    "endless-continue",
    "repeated-continue",
    "short-pages",
    "huge-body",
    "silent-watch",
    "garbage-watch",
    "wrong-types",
    "wrong-types-watch",
    "slowloris",
    "exec-hang",
    "exec-flood",
)
AGENTS = 4
CLUSTER_NAME = "hostile"
PAYLOAD = "x[/][bold red]R\x1b[2J\x1b]0;pwned\x07\x1b]52;c;cHduZWQ=\x07\x07\r\x9b2J\u202eZ"
ITEM_PAD = 900
"""Bytes of annotation per listed item (a page of 500 is about half a megabyte)."""


def _agent(index: int) -> dict[str, Any]:
    return {
        "metadata": {
            "name": f"cilium-hostile{index}",
            "namespace": "kube-system",
            "labels": {"k8s-app": "cilium"},
            "resourceVersion": "1",
        },
        "spec": {
            "nodeName": f"hostile-node{index}",
            "containers": [{"name": "cilium-agent", "image": "quay.io/cilium/cilium:v1.14.1"}],
        },
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
    }


def _service(n: int) -> dict[str, Any]:
    return {
        "metadata": {
            "name": f"svc-{n}",
            "namespace": "flood",
            "resourceVersion": str(n + 1),
            "annotations": {"pad": "p" * ITEM_PAD},
        },
        "spec": {"type": "ClusterIP", "clusterIP": "10.0.0.1", "ports": [{"port": 80}]},
    }


STATUS_DOC = json.dumps({"cilium": {"state": "Ok"}, "cluster-mesh": {}, "kvstore": {"state": "Disabled"}})


class Hostile:
    def __init__(
        self,
        mode: str,
        *,
        max_bytes: int,
        body_bytes: int,
        trickle: float,
        lifetime: float,
        frame: int,
        chunked: bool = False,
    ) -> None:
        self.mode = mode
        self.chunked = chunked
        self.frame = frame
        self.max_bytes = max_bytes
        self.body_bytes = min(body_bytes, max_bytes)
        self.trickle = trickle
        self.deadline = time.monotonic() + lifetime
        self.pages = 0
        self.sent = 0

    def left(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path.endswith("/exec"):
            return await self.exec(request)
        if self.mode == "html":
            return web.Response(text="<html><body><h1>Sign in</h1></body></html>", content_type="text/html")
        if self.mode == "429":
            return web.Response(status=429, text="Too Many Requests", headers={"Retry-After": "1"})
        if self.mode == "500":
            body = json.dumps({"kind": "Status", "status": "Failure", "message": PAYLOAD, "code": 500})
            return web.Response(status=500, text=body, content_type="application/json")
        if path == "/version":
            return await self.send(request, json.dumps({"gitVersion": "v1.30.0"}).encode())
        if "accessreview" in path:
            await request.read()
            doc = {"kind": "SelfSubjectAccessReview", "status": {"allowed": True}}
            return await self.send(request, json.dumps(doc).encode())
        if request.query.get("watch") in ("true", "1"):
            return await self.watch(request)
        return await self.list(request)

    async def send(self, request: web.Request, body: bytes, status: int = 200) -> web.StreamResponse:
        if self.mode != "slowloris":
            return web.Response(status=status, body=body, content_type="application/json")
        response = web.StreamResponse(status=status, headers={"Content-Type": "application/json"})
        await response.prepare(request)
        for index in range(min(len(body), self.max_bytes)):
            await response.write(body[index : index + 1])
            await asyncio.sleep(self.trickle)
        await response.write_eof()
        return response

    async def list(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if self.mode == "malformed-json":
            return web.Response(
                body=b'{"kind": "List", "items": [{"metadata": ', content_type="application/json"
            )
        if self.mode == "huge-body":
            return await self.huge(request)
        items: list[dict[str, Any]] = []
        if path.endswith("/configmaps"):
            metadata = {"name": "cilium-config", "namespace": "kube-system", "resourceVersion": "1"}
            items = [{"metadata": metadata, "data": {"cluster-name": CLUSTER_NAME, "cluster-id": "9"}}]
        elif path.endswith("/pods") and "kube-system" in path:
            items = [_agent(i) for i in range(AGENTS)]
        page: dict[str, Any] = {"resourceVersion": "100"}
        if self.mode in ("endless-continue", "repeated-continue", "short-pages") and path.endswith(
            "/services"
        ):
            self.pages += 1
            limit = 1 if self.mode == "short-pages" else int(request.query.get("limit") or 500)
            start = self.pages * limit
            items = [_service(start + i) for i in range(limit)]
            page["continue"] = "again" if self.mode == "repeated-continue" else f"page-{self.pages}"
        if self.mode == "wrong-types" and path.endswith("/services"):
            items = [_service(0), {**_service(1), "metadata": {"name": 7, "namespace": "flood"}}]
        body = json.dumps({"kind": "List", "apiVersion": "v1", "metadata": page, "items": items})
        return await self.send(request, body.encode())

    async def huge(self, request: web.Request) -> web.StreamResponse:
        """A valid JSON list of ``body_bytes``, made as it is sent (Content-Length given unless
        ``--chunked``)."""
        head, tail = b'{"kind": "List", "metadata": {"resourceVersion": "1"}, "items": [', b"]}"
        item = json.dumps(_service(0)).encode()
        count = max(1, (self.body_bytes - len(head) - len(tail)) // (len(item) + 1))
        length = len(head) + len(tail) + count * len(item) + (count - 1)
        headers = {"Content-Type": "application/json"}
        if not self.chunked:
            headers["Content-Length"] = str(length)  # else sent chunked: no size known in advance
        response = web.StreamResponse(headers=headers)
        await response.prepare(request)
        await response.write(head)
        batch = b",".join([item] * 256)
        sent = 0
        while sent < count and self.left() > 0:
            n = min(256, count - sent)
            chunk = batch if n == 256 else b",".join([item] * n)
            await response.write(chunk if sent == 0 else b"," + chunk)
            sent += n
        await response.write(tail)
        await response.write_eof()
        return response

    async def watch(self, request: web.Request) -> web.StreamResponse:
        timeout = min(float(request.query.get("timeoutSeconds") or 60), self.left())
        if self.mode == "silent-watch":
            await asyncio.sleep(timeout)  # not even the headers
            return web.Response(status=504)
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        end = time.monotonic() + timeout
        sent = 0
        while time.monotonic() < end and sent < self.max_bytes:
            if self.mode == "garbage-watch":
                line = b"\x00\xff garbage " + PAYLOAD.encode() + b" }{\n"
                await response.write(line)
                sent += len(line)
                await asyncio.sleep(0.05)
            elif self.mode == "wrong-types-watch" and request.path.endswith("/services"):
                obj = {**_service(2), "metadata": {"name": "x", "namespace": "flood", "labels": PAYLOAD}}
                line = json.dumps({"type": "ADDED", "object": obj}).encode() + b"\n"
                await response.write(line)
                sent += len(line)
                await asyncio.sleep(1.0)
            else:
                await asyncio.sleep(min(1.0, max(0.0, end - time.monotonic())))
        return response

    async def exec(self, request: web.Request) -> web.StreamResponse:
        protocol = "v5.channel.k8s.io"
        if self.mode == "exec-flood":
            ws = web.WebSocketResponse(protocols=(protocol,), autoclose=False, autoping=False)
            await ws.prepare(request)
            frame = b"\x01" + b'{"flood": "' + b"f" * self.frame + b'"}\n'
            sent = 0
            while sent < self.max_bytes and self.left() > 0 and not ws.closed:
                try:
                    await ws.send_bytes(frame)
                except (ConnectionError, RuntimeError):
                    break
                sent += len(frame)
            return ws
        if self.mode == "exec-hang":  # never a byte, never an answer to the client's CLOSE
            ws = web.WebSocketResponse(protocols=(protocol,), autoclose=False, autoping=False)
            await ws.prepare(request)
            await asyncio.sleep(self.left())
            return ws
        ws = web.WebSocketResponse(protocols=(protocol,))
        await ws.prepare(request)
        await ws.send_bytes(b"\x01" + STATUS_DOC.encode())
        await ws.send_bytes(b"\x03" + json.dumps({"metadata": {}, "status": "Success"}).encode())
        await ws.close()
        return ws


async def serve(args: argparse.Namespace) -> None:
    hostile = Hostile(
        args.mode,
        max_bytes=int(args.max_mb * 2**20),
        body_bytes=int(args.body_mb * 2**20),
        trickle=args.trickle,
        lifetime=args.lifetime,
        frame=args.frame,
        chunked=bool(args.chunked),
    )
    app = web.Application(client_max_size=2**20)
    app.router.add_route("*", "/{tail:.*}", hostile.handle)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"url: http://127.0.0.1:{port}", flush=True)
    try:
        await asyncio.sleep(args.lifetime)
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=MODES, default="ok")
    parser.add_argument("--lifetime", type=float, default=60.0, help="seconds before it exits by itself")
    parser.add_argument("--max-mb", type=float, default=1024.0, help="most MB one answer sends")
    parser.add_argument("--body-mb", type=float, default=600.0, help="huge-body: the list's size in MB")
    parser.add_argument("--chunked", type=int, default=0, help="huge-body: 1 sends no Content-Length")
    parser.add_argument("--frame", type=int, default=65_000, help="exec-flood: bytes per stdout frame")
    parser.add_argument("--trickle", type=float, default=0.5, help="slowloris: seconds between bytes")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    asyncio.run(serve(args))
    return 0


# -- for tests: the server as a process, and a kubeconfig that holds it ---------------------------


class HostileServer:
    """``hostileapi.py --mode MODE`` as a subprocess; ``url`` once it listens; killed by pid."""

    def __init__(self, mode: str, *, lifetime: float = 60.0, **options: float) -> None:
        argv = [sys.executable, str(Path(__file__).resolve()), "--mode", mode, "--lifetime", str(lifetime)]
        for key, value in options.items():
            argv += [f"--{key.replace('_', '-')}", str(value)]
        self.argv = argv
        self.mode = mode
        self.process: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self, timeout: float = 15.0) -> HostileServer:
        return self.launch().wait_listening(timeout)

    def launch(self) -> HostileServer:
        """Start the process without waiting for it to listen (see :func:`hostile_servers`)."""
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            self.argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
        )
        return self

    def wait_listening(self, timeout: float = 15.0) -> HostileServer:
        """Read the ``url:`` line the server prints once it listens."""
        assert self.process is not None and self.process.stdout is not None
        deadline = time.monotonic() + timeout
        line = self.process.stdout.readline()  # bounded: the server prints its url at once or dies
        if not line.startswith("url: ") or time.monotonic() > deadline:
            self.stop()
            raise RuntimeError(f"hostile server ({self.mode}) did not start: {line!r}")
        self.url = line.split(" ", 1)[1].strip()
        return self

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.kill()  # by pid: this process only
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


@contextmanager
def hostile_server(mode: str, **options: Any) -> Iterator[HostileServer]:
    server = HostileServer(mode, **options).start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def hostile_servers(modes: list[str], **options: Any) -> Iterator[list[HostileServer]]:
    """One server per mode, all started at once (each process spends ~0.3 s of CPU importing
    before it listens: started one after the other, a dozen took seconds); all stopped after."""
    servers = [HostileServer(mode, **options) for mode in modes]
    try:
        for server in servers:
            server.launch()
        for server in servers:
            server.wait_listening()
        yield servers
    finally:
        for server in servers:
            server.stop()


def add_context(kubeconfig: dict[str, Any], name: str, url: str) -> dict[str, Any]:
    """``kubeconfig`` (a parsed document) with one more context for ``url``, as a copy."""
    doc = json.loads(json.dumps(kubeconfig))
    doc["clusters"].append({"name": f"{name}-cluster", "cluster": {"server": url}})
    doc["users"].append({"name": f"{name}-user", "user": {"token": f"hostile-token-{name}-0123456789"}})
    doc["contexts"].append({"name": name, "context": {"cluster": f"{name}-cluster", "user": f"{name}-user"}})
    return doc


def kubeconfig_beside(base: Path | str | None, servers: dict[str, str], out: Path) -> Path:
    """A kubeconfig with every context of ``base`` (the simulator's) plus one per hostile server."""
    doc: dict[str, Any] = (
        yaml.safe_load(Path(base).read_text()) if base else {"apiVersion": "v1", "kind": "Config"}
    )
    doc.setdefault("clusters", [])
    doc.setdefault("users", [])
    doc.setdefault("contexts", [])
    for name, url in servers.items():
        doc = add_context(doc, name, url)
    out.write_text(yaml.safe_dump(doc, sort_keys=False))
    out.chmod(0o600)
    return out


if __name__ == "__main__":
    sys.exit(main())
