"""One exec, whatever carries it: the checks before the upgrade, the program run, the Status.

``pods/{name}/exec`` reaches a simulated program over WebSocket (:mod:`tui.sim.execws`, what
meshtui and kubectl 1.30+ use) or SPDY/3.1 (:mod:`tui.sim.kubectl`, kubectl 1.27-1.29). Both
check the pod the same way, run the program chosen by :func:`tui.sim.programs.program_for`
beside the transport's reader (the program is cancelled when the client goes away) and end
with the same ``Status``, which kubectl and the Python client read the exit code from.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tui.sim.errors import bad_request, not_found
from tui.sim.programs import STDERR, ExecIO, ExecRequest, ExecStartFailed, program_for

if TYPE_CHECKING:
    from tui.sim.cluster import SimCluster


def exit_status(code: int, command: list[str]) -> dict[str, Any]:
    """The final Status of a command that ran: Success, or the exit code as a cause."""
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"command terminated with non-zero exit code: error executing command "
        f"[{' '.join(command)}], exit code {code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


def start_failed_status(message: str) -> dict[str, Any]:
    """The final Status of a command the runtime could not start: no ExitCode cause."""
    return {
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": "InternalError",
        "details": {"causes": [{"message": message}]},
        "code": 500,
    }


def query_flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("true", "1")


def exec_request(request: web.Request, cluster: SimCluster, namespace: str, name: str) -> ExecRequest:
    """The exec a request asks for, after the apiserver's and kubelet's checks (an
    :class:`~tui.sim.errors.ApiError` before any upgrade: the client prints it)."""
    entry = cluster.store.get("pods", namespace, name)
    if entry is None:
        raise not_found(cluster.registry.by_key("pods"), name)
    pod = entry.obj
    containers = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
    container = request.query.get("container") or (containers[0] if containers else "")
    if container not in containers:
        raise bad_request(f"container {container} is not valid for pod {name}")
    phase = (pod.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed"):
        raise bad_request(f"cannot exec into a container in a completed pod; current phase is {phase}")
    if phase != "Running":
        raise bad_request(f'unable to upgrade connection: container not found ("{container}")')
    command = request.query.getall("command", [])
    if not command:
        raise bad_request("you must specify at least 1 command")
    return ExecRequest(
        cluster=cluster.name,
        pod=pod,
        container=container,
        command=list(command),
        tty=query_flag(request, "tty"),
        stdin=query_flag(request, "stdin"),
        network=cluster.mesh.network_for(cluster, pod) if cluster.mesh is not None else None,
        extras={"mesh": cluster.mesh, "sim_cluster": cluster},
    )


async def run_exec(
    request: ExecRequest,
    io: ExecIO,
    reader: Coroutine[Any, Any, None],
    finish: Callable[[dict[str, Any]], Awaitable[None]],
) -> None:
    """Run the program beside ``reader`` (the transport's loop over what the client sends,
    which returns when the client goes away). When the program ends first, ``finish`` gets the
    final Status while ``reader`` still runs (a transport's close may need it); either way
    both are stopped before this returns."""
    import tui.sim.shell  # noqa: F401  (registers the shell program; ~0.1 s, so with the first exec)

    program = program_for(request)
    program_task = asyncio.create_task(program(request, io))
    reader_task = asyncio.create_task(reader)
    try:
        await asyncio.wait({program_task, reader_task}, return_when=asyncio.FIRST_COMPLETED)
        if program_task.done():
            status: dict[str, Any]
            try:
                status = exit_status(int(program_task.result()), request.command)
            except ExecStartFailed as exc:
                status = start_failed_status(str(exc))
            except Exception as exc:
                await io.write(STDERR, f"{type(exc).__name__}: {exc}\n".encode())
                status = exit_status(126, request.command)
            await finish(status)
    finally:
        for task in (program_task, reader_task):
            if not task.done():
                task.cancel()
        for task in (program_task, reader_task):
            with contextlib.suppress(BaseException):
                await task
