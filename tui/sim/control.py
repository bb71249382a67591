"""The fault-control endpoint of ``meshtui sim`` and the client ``meshtui sim fault`` uses.

The server is a small aiohttp app on 127.0.0.1 (ephemeral port) guarded by a random bearer
token. Its URL and token go to a state file next to the kubeconfig
(``<kubeconfig>.sim.json``, mode 0600), which is how ``meshtui sim fault ...`` finds it;
neither is ever printed. Routes (JSON in and out):

* ``GET /faults`` → ``{"faults": [...], "events": [...]}``
* ``POST /faults`` ``{"kind": "link-down", "clusters": ["cluster1", "cluster2"], "params": {}}``
  → ``201 {"id": "f1"}``
* ``DELETE /faults/{id}`` (``all`` heals everything) → ``{"healed": [...]}``
* ``POST /mesh/connect`` / ``POST /mesh/disconnect`` ``{"clusters": [a, b]}``
* ``GET /mesh`` → per cluster its remotes and whether its agents hold them

Errors answer ``{"error": "..."}`` with 400 (bad request), 401 (token) or 404.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiohttp import web

    from tui.sim.mesh import SimMesh

STATE_SUFFIX = ".sim.json"


def state_path_for(kubeconfig: str | Path) -> Path:
    """Where the control endpoint's URL and token are kept for a kubeconfig."""
    return Path(str(kubeconfig) + STATE_SUFFIX)


class ControlServer:
    """Serve :class:`~tui.sim.faults.Faults` of one mesh over HTTP on 127.0.0.1."""

    def __init__(self, mesh: SimMesh, state_path: str | Path) -> None:
        self.mesh = mesh
        self.state_path = Path(state_path)
        self.token = secrets.token_urlsafe(32)
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        from aiohttp import web

        @web.middleware
        async def auth(request: web.Request, handler: Any) -> web.StreamResponse:
            return await self._auth(request, handler)

        app = web.Application(middlewares=[auth], client_max_size=64 * 1024)
        app.router.add_get("/faults", self._list)
        app.router.add_post("/faults", self._add)
        app.router.add_delete("/faults", self._heal_all)
        app.router.add_delete("/faults/{id}", self._heal)
        app.router.add_post("/mesh/{verb}", self._mesh_change)
        app.router.add_get("/mesh", self._mesh)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]  # the port the system chose
        self._runner = runner
        self.url = f"http://127.0.0.1:{port}"
        self._write_state()
        return self.url

    def _write_state(self) -> None:
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_name(self.state_path.name + f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(
                {"url": self.url, "token": self.token, "pid": os.getpid(), "started": time.time()}, handle
            )
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.state_path)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        try:
            current = json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return
        if current.get("token") == self.token:  # never remove another simulator's file
            self.state_path.unlink(missing_ok=True)

    # -- handlers ------------------------------------------------------------------------------

    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        from aiohttp import web

        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode()):
            return web.json_response({"error": "unauthorized"}, status=401)
        from tui.sim.faults import FaultError

        try:
            return await handler(request)
        except FaultError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        except web.HTTPException:
            raise
        except (ValueError, TypeError, KeyError) as exc:
            return web.json_response({"error": f"bad request: {exc}"}, status=400)

    async def _body(self, request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError as exc:
            raise ValueError("the body must be JSON") from exc
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        return body

    async def _list(self, _request: web.Request) -> web.StreamResponse:
        from aiohttp import web

        faults = self.mesh.faults
        return web.json_response({"faults": faults.list(), "events": faults.events[-50:]})

    async def _add(self, request: web.Request) -> web.StreamResponse:
        from aiohttp import web

        body = await self._body(request)
        clusters = body.get("clusters") or []
        if not isinstance(clusters, list) or not all(isinstance(c, str) for c in clusters):
            raise ValueError("'clusters' must be a list of names")
        params = body.get("params") or {}
        if not isinstance(params, dict):
            raise ValueError("'params' must be an object")
        ident = await self.mesh.faults.apply(str(body.get("kind") or ""), clusters, params)
        return web.json_response({"id": ident}, status=201)

    async def _heal(self, request: web.Request) -> web.StreamResponse:
        from aiohttp import web

        healed = await self.mesh.faults.heal(request.match_info["id"])
        return web.json_response({"healed": healed})

    async def _heal_all(self, _request: web.Request) -> web.StreamResponse:
        from aiohttp import web

        return web.json_response({"healed": await self.mesh.faults.heal("all")})

    async def _mesh_change(self, request: web.Request) -> web.StreamResponse:
        from aiohttp import web

        verb = request.match_info["verb"]
        if verb not in ("connect", "disconnect"):
            return web.json_response({"error": f"unknown verb {verb!r}"}, status=404)
        clusters = (await self._body(request)).get("clusters") or []
        if not isinstance(clusters, list) or len(clusters) != 2:
            raise ValueError(f"{verb} needs two cluster names")
        await getattr(self.mesh.faults, verb)(str(clusters[0]), str(clusters[1]))
        return web.json_response({verb: clusters})

    async def _mesh(self, _request: web.Request) -> web.StreamResponse:
        from aiohttp import web

        cm = self.mesh.cilium
        now = time.time()
        out: dict[str, Any] = {}
        for name in cm.views:
            out[name] = {
                "context": self.mesh.clusters[name].context,
                "version": cm.version(name),
                "remotes": {
                    link.remote: {
                        "endpoint": link.endpoint,
                        "connected": link.connected(now, cm.settings.connect_delay),
                        "problem": link.health.text,
                    }
                    for link in cm.links.configured(name)
                },
                "holds": sorted(cm.links.usable(name, now)),
            }
        return web.json_response({"clusters": out})


# -- client ------------------------------------------------------------------------------------


class ControlError(Exception):
    """The control endpoint could not be reached or refused the request."""


def read_state(state_path: str | Path) -> dict[str, Any]:
    path = Path(state_path)
    try:
        state = json.loads(path.read_text())
    except FileNotFoundError:
        raise ControlError(
            f"no running simulator found: {path} does not exist (is `meshtui sim` running?)"
        ) from None
    except (OSError, ValueError) as exc:
        raise ControlError(f"cannot read {path}: {exc}") from exc
    if not isinstance(state, dict) or not state.get("url") or not state.get("token"):
        raise ControlError(f"{path} is not a simulator state file")
    if not str(state["url"]).startswith("http://127.0.0.1:"):
        raise ControlError(f"{path} names an endpoint that is not on 127.0.0.1")
    return state


def call(
    state_path: str | Path, method: str, path: str, body: dict[str, Any] | None = None, timeout: float = 15.0
) -> dict[str, Any]:
    """One request to the control endpoint; returns the JSON answer or raises :class:`ControlError`."""
    state = read_state(state_path)
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        str(state["url"]) + path,
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {state['token']}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read() or b"{}").get("error") or exc.reason
        except ValueError:
            message = exc.reason
        raise ControlError(str(message)) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ControlError(
            f"the simulator does not answer ({reason}); is `meshtui sim` still running?"
        ) from None
