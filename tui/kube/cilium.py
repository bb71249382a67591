"""The Cilium agents' own view: ``cilium status -o json`` and ``cilium service list -o json`` via exec.

Bounded on purpose: at most a few execs per cluster and a few more overall run at once, each
within a few seconds, so 64 clusters × N agents never open hundreds of sockets or wait on a hung
agent. A failed read keeps the previous answer (with its age) and records why it failed.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tui.kube.client import KubeClient
from tui.kube.exec import ExecResult, run_exec
from tui.kube.parse import CILIUM_AGENT_CONTAINER
from tui.mesh.model import KVStoreMeshRead
from tui.mesh.status import KVSTOREMESH_BINARY, KVSTOREMESH_CONTAINER

KUBE_SYSTEM = "kube-system"
STATUS_COMMAND = ("cilium", "status", "-o", "json")
STATUS_MAX_BYTES = 2 * 2**20
"""A ``cilium status -o json`` document is tens of KB even with 255 remotes: more is a peer
flooding, cut off early (the rest of the exec is not read)."""
SERVICE_LIST_COMMAND = ("cilium", "service", "list", "-o", "json")
SERVICE_LIST_MAX_BYTES = 64 * 2**20
"""``cilium service list -o json`` lists every frontend the agent load-balances, remote clusters'
backends included: ~30 MB at 64 clusters × 2,000 services, so the exec default (8 MB) would
refuse exactly the meshes it is most needed on. Above this it is a flood, cut off early."""


@dataclass(frozen=True, slots=True)
class AgentRead:
    """The newest answer of one agent (``status``) and, if the latest read failed, why.

    ``status`` is the parsed document as the agent wrote it (plain dicts and lists, as the
    model promises); nothing in the layer or the app mutates it once stored.
    """

    status: Mapping[str, Any] | None
    read_at: float | None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class AgentServiceList:
    """``cilium service list -o json`` of one agent pod: the raw entries, unmodified."""

    context: str
    pod: str
    entries: tuple[Mapping[str, Any], ...] = ()
    read_at: float | None = None
    error: str | None = None


class Limits:
    """Per-cluster and overall exec parallelism (the overall one is shared by every cluster)."""

    def __init__(self, per_cluster: int, overall: asyncio.Semaphore) -> None:
        self.cluster = asyncio.Semaphore(per_cluster)
        self.overall = overall


_NOT_FOUND = ("not found", "no such file or directory")


def binary_missing(result: ExecResult) -> bool:
    """The runtime could not find the command, in any of the ways real ones answer: exit 127
    (a shell), exit 126 (dockershim), or — containerd/CRI-O — a failure status without an exit
    code whose message says ``executable file not found in $PATH`` / ``no such file``."""
    if result.exit_code in (126, 127):
        return True
    if result.exit_code is None and result.error:
        text = f"{result.error} {result.stderr[-512:].decode('utf-8', 'replace')}".lower()
        return any(marker in text for marker in _NOT_FOUND)
    return False


async def agent_exec(
    client: KubeClient,
    limits: Limits,
    pod: str,
    command: Sequence[str],
    timeout: float,
    max_bytes: int = 8 * 2**20,
) -> ExecResult:
    """Exec in the agent container, retrying with ``cilium-dbg`` when ``cilium`` is missing
    (images from 1.15 ship ``cilium-dbg``; a trimmed image may lack the ``cilium`` link)."""
    async with limits.cluster, limits.overall:
        result = await run_exec(
            client,
            KUBE_SYSTEM,
            pod,
            command,
            container=CILIUM_AGENT_CONTAINER,
            timeout=timeout,
            max_bytes=max_bytes,
        )
        if binary_missing(result) and command and command[0] == "cilium":
            result = await run_exec(
                client,
                KUBE_SYSTEM,
                pod,
                ["cilium-dbg", *command[1:]],
                container=CILIUM_AGENT_CONTAINER,
                timeout=timeout,
                max_bytes=max_bytes,
            )
        return result


def _json(result: ExecResult, what: str) -> tuple[Any, str | None]:
    if result.error and result.exit_code != 0:
        stderr = result.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = f": {stderr[-1]}" if stderr else ""
        return None, f"{what}: {result.error}{detail}"
    try:
        return json.loads(result.stdout), None
    except ValueError:
        return None, f"{what}: output is not JSON"


async def read_status(
    client: KubeClient, limits: Limits, pod: str, timeout: float, previous: AgentRead | None
) -> AgentRead:
    """One agent's status; on failure the previous document and its time are kept."""
    result = await agent_exec(client, limits, pod, STATUS_COMMAND, timeout, STATUS_MAX_BYTES)
    doc, error = _json(result, "cilium status")
    if error is None and not isinstance(doc, dict):
        error = "cilium status: unexpected output"
    if error is not None:
        return AgentRead(
            status=previous.status if previous else None,
            read_at=previous.read_at if previous else None,
            error=error,
        )
    if previous is not None and previous.status is not None and previous.status == doc:
        doc = previous.status  # the same answer: the same document (consumers compare by identity)
    return AgentRead(status=doc, read_at=time.time())


VERSION_COMMAND = ("cilium", "version")
_VERSION_LINE = re.compile(r"^(Daemon|Client):\s+v?(\d+\.\d+\.\d+[0-9A-Za-z.+-]*)", re.MULTILINE)


def version_of(output: str) -> str | None:
    """The daemon's version from ``cilium version`` (``Daemon: 1.18.3 afda2aa9 …``), else the
    client's (same binary in the same image)."""
    found = dict((kind, version) for kind, version in _VERSION_LINE.findall(output))
    return found.get("Daemon") or found.get("Client")


async def read_version(client: KubeClient, limits: Limits, pod: str, timeout: float) -> str | None:
    """``cilium version`` in one agent: the version when the image tag has none (digest-only)."""
    result = await agent_exec(client, limits, pod, VERSION_COMMAND, timeout)
    if result.exit_code != 0:
        return None
    return version_of(result.stdout[:4096].decode("utf-8", "replace"))


KVSTOREMESH_COMMAND = (KVSTOREMESH_BINARY, "kvstoremesh-dbg", "status", "-o", "json")


async def read_kvstoremesh(
    client: KubeClient,
    limits: Limits,
    pod: str,
    ready: bool,
    timeout: float,
    previous: KVStoreMeshRead | None,
) -> KVStoreMeshRead:
    """``kvstoremesh-dbg status -o json`` in a clustermesh-apiserver pod's ``kvstoremesh``
    container (cilium-cli ``KVStoreMeshStatus``): a list of ``RemoteCluster``; "Usage:" or
    "unknown command" on stderr means this version has no such command."""
    async with limits.cluster, limits.overall:
        result = await run_exec(
            client, KUBE_SYSTEM, pod, KVSTOREMESH_COMMAND, container=KVSTOREMESH_CONTAINER, timeout=timeout
        )
    stderr = result.stderr[-2048:].decode("utf-8", "replace")
    if result.exit_code != 0 and ("Usage:" in stderr or "unknown command" in stderr):
        return KVStoreMeshRead(pod, ready, None, None, not_supported=True, read_at=time.time())
    doc, error = _json(result, "kvstoremesh-dbg status")
    if error is None and not isinstance(doc, list):
        error = "kvstoremesh-dbg status: unexpected output"
    if error is not None:
        kept = previous.remotes if previous is not None else None
        return KVStoreMeshRead(pod, ready, kept, error, read_at=previous.read_at if previous else None)
    remotes = tuple(item for item in doc if isinstance(item, dict))
    if (
        previous is not None
        and previous.remotes == remotes
        and previous.pod_ready == ready
        and not previous.error
    ):
        return previous  # the same answer: the same object (views compare by identity)
    return KVStoreMeshRead(pod, ready, remotes, None, read_at=time.time())


async def read_service_list(client: KubeClient, limits: Limits, pod: str, timeout: float) -> AgentServiceList:
    result = await agent_exec(client, limits, pod, SERVICE_LIST_COMMAND, timeout, SERVICE_LIST_MAX_BYTES)
    doc, error = _json(result, "cilium service list")
    if error is None and not isinstance(doc, list):
        error = "cilium service list: unexpected output"
    if error is not None:
        return AgentServiceList(client.context, pod, error=error)
    entries = tuple(entry for entry in doc if isinstance(entry, dict))
    return AgentServiceList(client.context, pod, entries, read_at=time.time())
