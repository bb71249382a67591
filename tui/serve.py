"""``meshtui serve``: the same app in a browser, for a live audience (textual-serve).

Each browser tab that opens the page gets its own ``meshtui`` process (textual-serve starts
the command below per WebSocket and pipes the screen to the page's terminal), run with the
options given here: ``--demo`` (every tab its own simulated mesh), or the operator's
kubeconfig and contexts, ``--read-only`` passed on.

Why loopback only, unless ``--allow-remote``: the served app is the operator's app, with the
operator's kubeconfig credentials and write keys; textual-serve has no login. Anyone who can
open the page can read the clusters and (without ``--read-only``) change them. Two more fences
for the same reason: a WebSocket whose ``Origin`` is not this server's page is refused (a web
page the operator visits could otherwise drive the app on 127.0.0.1: cross-site WebSocket
hijacking), and so is a request for another ``Host`` (DNS rebinding).

The page is textual-serve's own, less its link to a web font on a CDN: it loads its JS, CSS
and font from this server only (``tui/serve_page/app_index.html``, which also says so to the
browser in a Content-Security-Policy).
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import shlex
import sys
from pathlib import Path
from typing import Any

PAGE = Path(__file__).resolve().parent / "serve_page"
"""The template folder handed to textual-serve (its ``app_index.html``)."""
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
TITLE = "meshtui"


def register(subparsers: argparse._SubParsersAction) -> None:
    suppress = argparse.SUPPRESS
    parser = subparsers.add_parser(
        "serve",
        help="serve the app to a browser (textual-serve), on 127.0.0.1 unless --allow-remote",
        description=(
            "Serve the meshtui app to web browsers, for a live audience: each tab that opens "
            "http://HOST:PORT/ runs its own meshtui with these options. Only loopback "
            "addresses unless --allow-remote: the served app has your kubeconfig's credentials "
            "and write keys, and whoever opens the page can use them (there is no login). "
            "Nothing is loaded from outside this server."
        ),
    )
    group = parser.add_argument_group("what the app shows (as for meshtui itself)")
    group.add_argument("--kubeconfig", metavar="PATH", default=suppress, help="kubeconfig file")
    group.add_argument(
        "--context", action="append", dest="contexts", metavar="NAME", default=suppress, help="a context"
    )
    group.add_argument(
        "--demo", action="store_true", default=suppress, help="a simulated ClusterMesh (one per browser tab)"
    )
    group.add_argument("--scenario", metavar="NAME|FILE", default=suppress, help="with --demo: scenario")
    group.add_argument(
        "--read-only", action="store_true", default=suppress, help="the served app never writes"
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="listen on a non-loopback address too (anyone reaching it uses your credentials)",
    )
    parser.add_argument(
        "--public-url",
        metavar="URL",
        help="the URL browsers open, when it is not http://HOST:PORT (behind a proxy, --host 0.0.0.0)",
    )


def check_host(host: str, *, allow_remote: bool) -> str | None:
    """Why ``host`` may not be listened on (``None``: fine)."""
    if host == "localhost":
        return None
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        if allow_remote:
            return None
        return f"--host {host!r}: give a loopback IP address (127.0.0.1, ::1) or --allow-remote"
    if address.is_loopback or allow_remote:
        return None
    return (
        f"--host {host}: not a loopback address; the served app has your kubeconfig's credentials "
        "and anyone who opens the page can use them. Add --allow-remote if that is what you want."
    )


def app_command(args: argparse.Namespace) -> list[str]:
    """``python -m tui ...``: the app each browser tab runs (same interpreter, same options)."""
    command = [sys.executable, "-m", "tui"]
    if getattr(args, "demo", False):
        command += ["--demo", "--scenario", getattr(args, "scenario", None) or "seed"]
    else:
        kubeconfig = getattr(args, "kubeconfig", None)
        if kubeconfig:
            paths = [os.path.abspath(p) for p in kubeconfig.split(os.pathsep) if p]
            command += ["--kubeconfig", os.pathsep.join(paths)]
        for context in getattr(args, "contexts", None) or ():
            command += ["--context", context]
    if getattr(args, "read_only", False):
        command.append("--read-only")
    return command


def _public_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}"


def make_server(args: argparse.Namespace) -> Any:
    """The textual-serve server for ``args`` (checked), with this module's page and fences."""
    from aiohttp import web
    from textual_serve.server import Server

    public_url = (args.public_url or _public_url(args.host, args.port)).rstrip("/")
    allowed_host = public_url.split("://", 1)[-1].split("/", 1)[0].lower()
    allowed_origin = public_url.split("://", 1)[0] + "://" + allowed_host

    class MeshtuiServer(Server):
        """textual-serve's server, refusing other hosts and other pages' WebSockets."""

        def _refused(self, request: web.Request) -> str | None:
            host = (request.headers.get("Host") or "").lower()
            if host != allowed_host:
                return f"unexpected Host {host!r}"
            origin = request.headers.get("Origin")
            if request.path == "/ws" and (origin or "").lower().rstrip("/") != allowed_origin:
                return "WebSocket from another origin"
            return None

        async def _make_app(self) -> web.Application:
            app = await super()._make_app()

            @web.middleware
            async def fence(request: web.Request, handler: Any) -> web.StreamResponse:
                why = self._refused(request)
                if why is not None:
                    raise web.HTTPForbidden(text=f"meshtui serve: {why}\n")
                return await handler(request)

            app.middlewares.append(fence)
            return app

    return MeshtuiServer(
        shlex.join(app_command(args)),
        host=args.host.strip("[]"),
        port=args.port,
        title=TITLE,
        public_url=public_url,
        templates_path=PAGE,
    )


def run(args: argparse.Namespace) -> int:
    why = check_host(args.host, allow_remote=args.allow_remote)
    if why is None and not 0 < args.port < 65536:
        why = f"--port {args.port}: not a port number"
    if why is None and args.host in ("0.0.0.0", "::", "[::]") and not args.public_url:
        why = f"--host {args.host} listens everywhere: also give --public-url (the URL browsers open)"
    if why is None and getattr(args, "demo", False):
        if getattr(args, "kubeconfig", None) or getattr(args, "contexts", None):
            why = "--demo uses the simulator's own kubeconfig: drop --kubeconfig/--context"
        else:
            from tui.demo import DemoError, demo_scenario

            try:
                demo_scenario(getattr(args, "scenario", None) or "seed")
            except DemoError as exc:
                why = str(exc)
    if why is not None:
        print(f"meshtui serve: {why}", file=sys.stderr)
        return 2
    server = make_server(args)
    print(f"meshtui serve: {server.public_url}/ runs: {server.command}", file=sys.stderr, flush=True)
    server.serve()
    return 0
