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
