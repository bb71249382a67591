"""Every private part of a library that meshtui uses (``tui/compat/``) still is what we think.

A new Textual, kubernetes client or Python may rename any of them without notice. Without these
tests that would show up as a pane that no longer updates, an exec token that is never renewed,
or a secret that is no longer redacted; here each check fails naming the adapter function and
the library part that moved. Run on the newest and on the lowest allowed versions (smoke).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from kubernetes.aio.client import ApiClient, Configuration
from kubernetes.aio.config.kube_config import KubeConfigLoader
from textual import events
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from tui.compat import asyncio_private, kubernetes_private, textual_private

pytestmark = pytest.mark.smoke


# --- Textual ------------------------------------------------------------------------------------


class TableApp(App[None]):
    keys_seen: list[str]

    def compose(self) -> ComposeResult:
        self.keys_seen = []
        yield DataTable(id="t")

    def on_key(self, event: events.Key) -> None:
        self.keys_seen.append(event.key)


async def test_written_cells_show_once_their_row_is_refreshed() -> None:
    """``write_cells`` changes the data and invalidates DataTable's render caches."""
    app = TableApp()
    async with app.run_test(size=(40, 6)) as pilot:
        table = app.query_one(DataTable)
        table.add_column("name", key="name", width=8)
        table.add_column("state", key="state", width=8)
        table.add_row("web", "old", key="web")
        await pilot.pause()
        assert "old" in table.render_line(1).text
        textual_private.write_cells(table, "web", [("state", "new")])
        assert table.get_cell("web", "state") == "new"
        table.refresh()
        await pilot.pause()
        assert "new" in table.render_line(1).text, "a cached line survived: the update counter moved?"


async def test_the_app_loop_thread_notifications_and_driver_are_reachable() -> None:
    app = TableApp()
    assert textual_private.event_loop(app) is None
    with pytest.raises(RuntimeError):
        textual_private.driver(app)  # not running yet
    async with app.run_test(size=(40, 6)) as pilot:
        assert textual_private.event_loop(app) is asyncio.get_running_loop()
        assert textual_private.on_app_thread(app)
        elsewhere: list[bool] = []
        thread = threading.Thread(target=lambda: elsewhere.append(textual_private.on_app_thread(app)))
        thread.start()
        thread.join(5)
        assert elsewhere == [False]
        app.notify("hello from the test")
        await pilot.pause()
        assert [n.message for n in textual_private.notifications(app)] == ["hello from the test"]
        key = events.Key("x", "x")
        key.set_sender(app)
        textual_private.driver(app).send_message(key)
        await pilot.pause()
        assert "x" in app.keys_seen


# --- kubernetes ---------------------------------------------------------------------------------


def kubeconfig(user: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6443"}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "ctx",
    }


async def load(user: dict[str, Any]) -> tuple[KubeConfigLoader, Configuration]:
    loader = KubeConfigLoader(config_dict=kubeconfig(user), active_context="ctx", config_base_path=None)
    configuration = Configuration()
    await loader.load_and_set(configuration)
    return loader, configuration


async def test_the_loader_exposes_its_user_and_token() -> None:
    loader, configuration = await load({"token": "t0ken-for-the-compat-test"})
    user = kubernetes_private.loader_user(loader)
    assert user is not None and "token" in user and "exec" not in user
    assert kubernetes_private.loader_token(loader) == "Bearer t0ken-for-the-compat-test"
    assert configuration.api_key["BearerToken"] == "Bearer t0ken-for-the-compat-test"
    assert not kubernetes_private.loader_has_client_certificate(loader)
    assert not kubernetes_private.exec_token_expired(loader)


async def test_the_loader_exposes_a_client_certificate() -> None:
    loader, _ = await load({"client-certificate-data": "Y2VydA==", "client-key-data": "a2V5"})
    assert kubernetes_private.loader_has_client_certificate(loader)
    assert kubernetes_private.loader_token(loader) is None


def plugin(tmp_path: Path, token: str, expires: str) -> dict[str, Any]:
    script = tmp_path / f"plugin-{token}.py"
    status = {"token": token, "expirationTimestamp": expires}
    api_version = "client.authentication.k8s.io/v1"
    credential = {"apiVersion": api_version, "kind": "ExecCredential", "status": status}
    script.write_text(f"print({json.dumps(json.dumps(credential))})\n")
    return {"exec": {"apiVersion": api_version, "command": sys.executable, "args": [str(script)]}}


async def test_an_exec_plugin_token_its_expiry_and_a_rerun(tmp_path: Path) -> None:
    loader, _ = await load(plugin(tmp_path, "fresh-token", "2999-01-01T00:00:00Z"))
    assert "exec" in kubernetes_private.loader_user(loader)
    assert kubernetes_private.loader_token(loader) == "Bearer fresh-token"
    assert not kubernetes_private.exec_token_expired(loader)

    loader, _ = await load(plugin(tmp_path, "stale-token", "2000-01-01T00:00:00Z"))
    assert kubernetes_private.exec_token_expired(loader)
    assert await kubernetes_private.rerun_exec_plugin(loader)
    assert kubernetes_private.loader_token(loader) == "Bearer stale-token"


async def test_the_rest_layer_gives_its_session_and_the_open_response() -> None:
    async def hello(request: web.Request) -> web.Response:
        return web.Response(body=b'{"kind":"Status"}', content_type="application/json")

    app = web.Application()
    app.router.add_get("/hello", hello)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    api = ApiClient(Configuration(host=str(server.make_url(""))))
    try:
        rest = api.rest_client
        assert kubernetes_private.open_session(rest) is None
        session = kubernetes_private.session(rest)
        assert kubernetes_private.open_session(rest) is session and not session.closed
        sent = await kubernetes_private.send(
            rest,
            "GET",
            str(server.make_url("/hello")),
            headers={"Accept": "application/json"},
            body=None,
            timeout=aiohttp.ClientTimeout(total=10),
        )
        response = kubernetes_private.open_response(sent)
        assert response.status == 200
        assert await response.read() == b'{"kind":"Status"}'
        response.release()
    finally:
        await api.close()
        await server.close()


# --- asyncio ------------------------------------------------------------------------------------


def test_the_tls_read_buffer_can_be_lowered_never_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    from asyncio import sslproto

    default = asyncio_private.tls_read_buffer_size()
    assert isinstance(default, int), "asyncio.sslproto.SSLProtocol.max_size is gone: see asyncio_private"
    monkeypatch.setattr(sslproto.SSLProtocol, "max_size", default)  # restored after the test
    assert not asyncio_private.lower_tls_read_buffer(default * 2)
    assert not asyncio_private.lower_tls_read_buffer(8 * 1024)  # below one TLS record
    assert asyncio_private.lower_tls_read_buffer(64 * 1024) == (default > 64 * 1024)
    assert asyncio_private.tls_read_buffer_size() == min(default, 64 * 1024)


async def test_one_connection_s_read_buffer_widens_for_an_answer_and_narrows_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``set_read_buffer``: what ``KubeClient.request`` does around a list page (wider on the
    next read, narrower at once so the wide buffer is freed); a plain transport is left alone."""
    import ssl
    from asyncio import sslproto
    from types import SimpleNamespace

    monkeypatch.setattr(sslproto.SSLProtocol, "max_size", 16 * 1024)
    loop = asyncio.get_running_loop()
    protocol = sslproto.SSLProtocol(loop, asyncio.Protocol(), ssl.create_default_context(), None)
    transport = SimpleNamespace(_ssl_protocol=protocol)
    assert len(protocol.get_buffer(-1)) == 16 * 1024
    assert asyncio_private.set_read_buffer(transport, 64 * 1024)
    assert len(protocol.get_buffer(-1)) == 64 * 1024  # grown by asyncio itself on the next read
    assert asyncio_private.set_read_buffer(transport, 16 * 1024)
    assert len(protocol._ssl_buffer) == 16 * 1024  # replaced at once
    assert len(protocol.get_buffer(-1)) == 16 * 1024
    assert not asyncio_private.set_read_buffer(SimpleNamespace(), 64 * 1024)


# --- kubernetes.aio without the synchronous package (tui/compat/kubernetes_import.py) --------------


def fresh_interpreter(probe: str) -> subprocess.CompletedProcess[str]:
    """``python -c probe``: what a module imports is only seen in an interpreter of its own."""
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)


def test_the_cluster_access_layer_imports_no_synchronous_kubernetes_client() -> None:
    """In a fresh interpreter, the whole layer (hub, client, kubeconfig loader) loads without the
    inits of ``kubernetes`` and ``kubernetes.aio`` (the sync client, requests, oauthlib,
    websocket-client, the aio dynamic client); the sync client still imports on demand."""
    probe = (
        "import sys, tui.kube.hub, tui.kube.config\n"
        "from kubernetes.aio.config.kube_config import KubeConfigLoader\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('kubernetes', 'requests', 'oauthlib', 'websocket'))\n"
        "print(' '.join(loaded))\n"
        "from kubernetes import client, config\n"
        "print(client.CoreV1Api.__name__, config.load_kube_config.__name__)\n"
    )
    done = fresh_interpreter(probe)
    assert done.returncode == 0, done.stderr
    loaded, on_demand = done.stdout.splitlines()
    modules = set(loaded.split())
    assert {"kubernetes.aio.client.rest", "kubernetes.aio.config.kube_config"} <= modules
    sync = ("kubernetes.client", "kubernetes.config", "kubernetes.stream", "kubernetes.aio.dynamic")
    unwanted = {
        m for m in modules if m.startswith(sync) or m.split(".")[0] in ("requests", "oauthlib", "websocket")
    }
    assert unwanted == set()
    assert on_demand == "CoreV1Api load_kube_config"


def test_the_kubeconfig_loader_imports_without_the_generated_api_client() -> None:
    """In a fresh interpreter, the layer and the kubeconfig loader load without pydantic (the
    generated ``ApiClient``'s import); the loader's own ``ApiClient`` still builds a real one,
    and everybody else importing ``ApiClient`` afterwards gets the real class."""
    probe = (
        "import sys, tui.kube.hub, tui.kube.config\n"
        "from kubernetes.aio.config import kube_config\n"
        "print('pydantic' in sys.modules, 'kubernetes.aio.client.api_client' in sys.modules)\n"
        "from kubernetes.aio.client import ApiClient, Configuration\n"
        "from kubernetes.aio.client.api_client import ApiClient as Real\n"
        "made = kube_config.ApiClient(configuration=Configuration(host='https://127.0.0.1:1'))\n"
        "print(ApiClient is Real, type(made) is Real, made.configuration.host)\n"
    )
    done = fresh_interpreter(probe)
    assert done.returncode == 0, done.stderr
    before, after = done.stdout.splitlines()
    assert before == "False False", "the loader pulled in the generated ApiClient (pydantic) again"
    assert after == "True True https://127.0.0.1:1"


def test_the_linux_driver_still_flags_its_own_suspend() -> None:
    """``resume_only_after_suspend`` reads the flag the driver's SIGTSTP handler sets; without
    it a hang-up's SIGCONT would restart the terminal output and block the exit again."""
    from textual.drivers.linux_driver import LinuxDriver

    source = Path(sys.modules[LinuxDriver.__module__].__file__ or "").read_text(encoding="utf-8")
    assert "self._must_signal_resume = True" in source, "Textual moved the driver's suspend flag"
    assert "def _sigcont_application" in source, "Textual moved the driver's SIGCONT handler"
