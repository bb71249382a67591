"""``meshtui serve --demo`` in headless Chromium: the page shows the app, ``c`` shows an answer.

The browser is Debian's ``chromium`` driven over the DevTools protocol (aiohttp's WebSocket
client): it opens the served page, the test types ``c`` into the page's terminal and reads
what the terminal was sent. xterm.js draws on a canvas, so the screen is rebuilt from the
bytes the app sent (a tiny terminal: cursor moves and text; styles ignored), captured by a
script the test adds to the page before it loads. Every request the browser makes is
recorded: none may leave the server (the stock textual-serve page loads a web font from a
CDN; Chromium is also told to resolve no other host, so a miss fails loudly).

Bounded: 90 s at most; the server, the browser and every process they started are stopped by
pid at the end. Without ``chromium`` the test fails, naming the package (.ci/run installs it).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tui.serve import check_host

CAPTURE = """
(() => {
  window.__meshtui = {chunks: [], sockets: 0};
  const Native = window.WebSocket;
  window.WebSocket = function (url, protocols) {
    const socket = protocols === undefined ? new Native(url) : new Native(url, protocols);
    window.__meshtui.sockets += 1;
    socket.addEventListener("message", (event) => {
      if (typeof event.data !== "string") {
        const bytes = new Uint8Array(event.data);
        let text = "";
        for (let i = 0; i < bytes.length; i += 1) text += String.fromCharCode(bytes[i]);
        window.__meshtui.chunks.push(btoa(text));
      }
    });
    return socket;
  };
  window.WebSocket.prototype = Native.prototype;
  Object.assign(window.WebSocket, Native);
})();
"""
"""Records the terminal bytes the page receives (base64 chunks in ``window.__meshtui``)."""

TAKE = "(() => { const c = window.__meshtui ? window.__meshtui.chunks : []; const out = c.join(' '); c.length = 0; return out; })()"  # noqa: E501


STATE = (
    "JSON.stringify({url: location.href, body: document.body && document.body.className,"
    " sockets: window.__meshtui ? window.__meshtui.sockets : null})"
)
"""What the page is at, for a failure's message."""


class Screen:
    """Just enough of a terminal to read Textual's output: ``CSI row;col H``, text, CR/LF."""

    def __init__(self) -> None:
        self.cells: dict[tuple[int, int], str] = {}
        self.row = 0
        self.col = 0
        self._pending = b""

    def feed(self, data: bytes) -> None:
        data = self._pending + data
        text = data.decode("utf-8", "replace")
        if text.endswith("\ufffd"):  # a multi-byte character cut between chunks
            cut = len(data) - 1
            while cut > 0 and data[cut] & 0xC0 == 0x80:
                cut -= 1
            self._pending, text = data[cut:], data[:cut].decode("utf-8", "replace")
        else:
            self._pending = b""
        for match in re.finditer(
            r"\x1b\[([0-9;?<>=$]*)([A-Za-z@`])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b.|(.)", text, re.S
        ):
            params, final, char = match.group(1), match.group(2), match.group(3)
            if final == "H" or final == "f":
                parts = [int(p) if p.isdigit() else 1 for p in (params or "1;1").split(";")] + [1, 1]
                self.row, self.col = parts[0] - 1, parts[1] - 1
            elif final == "J" and params == "2":
                self.cells.clear()
            elif char == "\r":
                self.col = 0
            elif char == "\n":
                self.row += 1
                self.col = 0
            elif char is not None and char >= " ":
                self.cells[(self.row, self.col)] = char
                self.col += 1

    def text(self) -> str:
        if not self.cells:
            return ""
        rows = max(r for r, _ in self.cells) + 1
        lines = []
        for r in range(rows):
            cols = [c for (row, c) in self.cells if row == r]
            width = max(cols) + 1 if cols else 0
            lines.append("".join(self.cells.get((r, c), " ") for c in range(width)).rstrip())
        return "\n".join(lines)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (from /proc), so each can be stopped by its own pid."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def stop_tree(process: subprocess.Popen[bytes], timeout: float = 10.0) -> list[int]:
    """SIGTERM ``process``, wait; then SIGKILL, by pid, whatever it started that still runs.
    Returns the pids that had to be killed (the caller decides whether that is a failure)."""
    below = descendants(process.pid)
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout)
    deadline = time.monotonic() + timeout
    below |= descendants(process.pid)
    while any(alive(p) for p in below) and time.monotonic() < deadline:
        time.sleep(0.1)
    killed = [p for p in below if alive(p)]
    for pid in killed:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if process.poll() is None:
        process.kill()
        killed.append(process.pid)
    process.wait(5)
    return killed


class DevTools:
    """One page of a headless Chromium over the DevTools protocol."""

    def __init__(self, socket_: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket_
        self.next_id = 0
        self.requests: list[str] = []
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        async for message in self.socket:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            doc = json.loads(message.data)
            if "id" in doc:
                future = self._waiting.pop(doc["id"], None)
                if future is not None and not future.done():
                    future.set_result(doc)
            elif doc.get("method") == "Network.requestWillBeSent":
                self.requests.append(doc["params"]["request"]["url"])

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[self.next_id] = future
        await self.socket.send_json({"id": self.next_id, "method": method, "params": params})
        doc = await asyncio.wait_for(future, 15)
        assert "error" not in doc, f"{method}: {doc['error']}"
        return doc.get("result", {})

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    async def press(self, key: str) -> None:
        code = f"Key{key.upper()}" if key.isalpha() else ""
        vk = ord(key.upper())
        await self.call("Input.dispatchKeyEvent", type="keyDown", key=key, code=code, text=key,
                        windowsVirtualKeyCode=vk)  # fmt: skip
        await self.call("Input.dispatchKeyEvent", type="keyUp", key=key, code=code, windowsVirtualKeyCode=vk)

    def close(self) -> None:
        self._reader.cancel()


@pytest.fixture
def server() -> Iterator[str]:
    """``meshtui serve --demo`` on a free loopback port; its URL. Stopped by pid after."""
    port = free_port()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tui", "serve", "--demo", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 20
            while True:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                    break
                assert process.poll() is None, "meshtui serve exited at start"
                assert time.monotonic() < deadline, "meshtui serve did not listen within 20 s"
                time.sleep(0.1)
            yield f"http://127.0.0.1:{port}/"
        finally:
            killed = stop_tree(process)
            log.seek(0)
            output = log.read().decode("utf-8", "replace")
            assert not killed, f"processes left after meshtui serve stopped: {killed}\n{output[-2000:]}"


@pytest.fixture
async def page(server: str) -> AsyncIterator[tuple[DevTools, str]]:
    """Headless Chromium on ``server``'s page (no other host resolvable), stopped by pid after."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.fail("meshtui serve's browser test needs Chromium: apt-get install -y chromium")
    profile = tempfile.mkdtemp(prefix="meshtui-chromium-")
    process = subprocess.Popen(
        [
            browser,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-default-apps",
            "--disable-domain-reliability",
            "--no-pings",
            "--no-proxy-server",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # no other host resolves
            "--window-size=1600,1000",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    tools: DevTools | None = None
    try:
        active = Path(profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 20
        while not (active.exists() and active.read_text().strip()):
            assert process.poll() is None, "chromium exited at start"
            assert time.monotonic() < deadline, "chromium opened no DevTools port within 20 s"
            await asyncio.sleep(0.1)
        devtools_port = int(active.read_text().split()[0])
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{devtools_port}/json/list") as response:
                targets = await response.json()
            target = next(t for t in targets if t.get("type") == "page")
            async with http.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                tools = DevTools(ws)
                await tools.call("Network.enable")
                await tools.call("Page.enable")
                await tools.call("Page.addScriptToEvaluateOnNewDocument", source=CAPTURE)
                await tools.call("Page.navigate", url=server)
                yield tools, server
                tools.close()
    finally:
        if tools is not None:
            tools.close()
        stop_tree(process)
        shutil.rmtree(profile, ignore_errors=True)


async def read_until(tools: DevTools, screen: Screen, pattern: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        taken = await tools.evaluate(TAKE) or ""
        for chunk in taken.split():
            screen.feed(base64.b64decode(chunk).decode("latin-1").encode("latin-1"))
        shown = screen.text()
        if re.search(pattern, shown):
            return shown
        if time.monotonic() >= deadline:
            state = await tools.evaluate(STATE)
            raise AssertionError(f"not on the page within {timeout:g} s: {pattern!r}\n{state}\n{shown}")
        await asyncio.sleep(0.2)


async def test_serve_shows_the_app_in_chromium_and_c_shows_an_answer(page: tuple[DevTools, str]) -> None:
    tools, url = page
    started = time.monotonic()
    screen = Screen()
    await read_until(tools, screen, r"Contexts[\s\S]*bastion02[\s\S]*bastion03", 40)
    await read_until(tools, screen, r"song/userlist-svc", 20)
    await tools.evaluate("document.querySelector('.xterm-helper-textarea').focus()")
    await tools.press("c")
    shown = await read_until(tools, screen, r"cluster[12]\s*→\s*[●■]\s*cluster[12]", 30)
    assert "userlist-svc.song.svc" in shown
    if os.environ.get("MESHTUI_SERVE_SHOT"):  # a picture to look at (not an assertion)
        shot = await tools.call("Page.captureScreenshot", format="png")
        Path(os.environ["MESHTUI_SERVE_SHOT"]).write_bytes(base64.b64decode(shot["data"]))
    # Nothing was asked of any other host: the page, its JS, CSS and font came from the server.
    origin = url.rstrip("/")
    outside = [u for u in tools.requests if not (u.startswith(origin) or u.startswith("ws://127.0.0.1"))]
    assert not [u for u in outside if not u.startswith(("data:", "about:"))], outside
    assert any(u.endswith("/static/js/textual.js") for u in tools.requests)
    # Another site's page may not open the app's WebSocket, nor may a request for another Host.
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(f"{origin}/ws", headers={"Origin": "http://attacker.invalid"})
        assert refused.value.status == 403
        async with http.get(url, headers={"Host": "rebound.invalid"}) as response:
            assert response.status == 403
    assert time.monotonic() - started < 90


def test_serve_refuses_a_non_loopback_address_unless_allowed() -> None:
    assert check_host("127.0.0.1", allow_remote=False) is None
    assert check_host("::1", allow_remote=False) is None
    assert check_host("localhost", allow_remote=False) is None
    assert "credentials" in (check_host("0.0.0.0", allow_remote=False) or "")
    assert check_host("192.0.2.7", allow_remote=False) is not None
    assert check_host("example.com", allow_remote=False) is not None
    assert check_host("0.0.0.0", allow_remote=True) is None
    done = subprocess.run(
        [sys.executable, "-m", "tui", "serve", "--demo", "--host", "0.0.0.0", "--port", "1"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2 and "--allow-remote" in done.stderr
