"""What runs when someone execs into a simulated pod: a *program*, never a host process.

The API server (``pods/{name}/exec`` over WebSocket) builds an :class:`ExecRequest`, wraps the
socket in an :class:`ExecIO` and awaits the program chosen by :func:`program_for`. A program
returns its exit code; it is cancelled when the client goes away, so loops cannot outlive the
stream that started them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from tui.sim.curl import Network

STDIN, STDOUT, STDERR, ERROR = 0, 1, 2, 3


class ExecIO(Protocol):
    """The exec stream as a program sees it."""

    async def read_stdin(self) -> bytes | None:
        """Next chunk of stdin, ``None`` at end of input (or when stdin was not requested)."""
        ...

    async def write(self, channel: int, data: bytes) -> None:
        """Send bytes on ``STDOUT`` or ``STDERR``; returns at once if the client is gone."""
        ...

    @property
    def closed(self) -> bool:
        """The client closed the stream: stop working."""
        ...


@dataclass
class ExecRequest:
    """One exec: which pod and container, the command, and what the pod can reach."""

    cluster: str
    """Cilium cluster name of the pod's cluster (or the context name before Cilium exists)."""
    pod: dict[str, Any]
    """The pod object as the API serves it (metadata, spec, status)."""
    container: str
    command: list[str]
    tty: bool = False
    stdin: bool = False
    network: Network | None = None
    """The data plane as seen from this pod (``None``: nothing resolves)."""
    extras: dict[str, Any] = field(default_factory=dict)
    """Program-specific context (e.g. the Cilium agent's view of the mesh)."""

    @property
    def pod_name(self) -> str:
        return str(self.pod.get("metadata", {}).get("name", ""))

    def image(self) -> str:
        """Image of the exec's container ('' when unknown)."""
        for container in self.pod.get("spec", {}).get("containers", []):
            if container.get("name") == self.container:
                return str(container.get("image", ""))
        return ""


Program = Callable[[ExecRequest, ExecIO], Awaitable[int]]


class ExecStartFailed(Exception):
    """The container runtime could not start the command (containerd / CRI-O): the exec ends
    with a ``Failure`` status that carries the runtime's message and *no* exit code, which is
    how a real cluster answers ``kubectl exec`` of a binary missing from the image."""


def oci_not_found(name: str) -> ExecStartFailed:
    """containerd's words for a command missing from ``$PATH`` (or a missing absolute path)."""
    detail = (
        f"exec: {name}: stat {name}: no such file or directory"
        if "/" in name
        else f'exec: "{name}": executable file not found in $PATH'
    )
    return ExecStartFailed(
        f"OCI runtime exec failed: exec failed: unable to start container process: {detail}: unknown"
    )


# -- which program runs ---------------------------------------------------------------------------

ProgramMatcher = Callable[[ExecRequest], "Program | None"]
"""Given an exec, the program that runs it, or ``None`` to let the next matcher decide."""

_MATCHERS: list[tuple[str, ProgramMatcher]] = []
SHELL_LABEL = "meshtui.sim/shell"
"""Pod label that gives any container the simulated shell (value ``"true"``; the shell's own
matcher, registered by :mod:`tui.sim.shell`, reads it)."""


def register_program(name: str, matcher: ProgramMatcher, *, first: bool = False) -> None:
    """Add (or replace, by ``name``) a matcher consulted by :func:`program_for`.

    Part 2 registers the Cilium agent here, e.g. ``register_program("cilium-agent", m, first=True)``
    with ``m`` answering for images ``quay.io/cilium/cilium*`` / container ``cilium-agent``.
    """
    global _MATCHERS
    _MATCHERS = [(n, m) for n, m in _MATCHERS if n != name]
    if first:
        _MATCHERS.insert(0, (name, matcher))
    else:
        _MATCHERS.append((name, matcher))


def program_for(request: ExecRequest) -> Program:
    """The program for an exec: the first registered matcher that answers, else a minimal container."""
    for _name, matcher in list(_MATCHERS):
        program = matcher(request)
        if program is not None:
            return program
    return minimal_container


async def minimal_container(request: ExecRequest, io: ExecIO) -> int:
    """A container with nothing in it: every command is 'not found' (exit 127)."""
    word = request.command[0] if request.command else ""
    await io.write(STDERR, f"sh: {word}: not found\n".encode())
    return 127
