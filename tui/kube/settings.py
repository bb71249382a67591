"""Every tunable of the cluster-access layer in one frozen value (tests shrink the waits)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from tui.kube.backoff import BackoffPolicy
from tui.kube.client import Timeouts
from tui.kube.watch import WatchSettings

PodScope = Literal["mesh", "all", "agents"]


@dataclass(frozen=True, slots=True)
class HubSettings:
    """Defaults are the issue's numbers; see each field for why."""

    timeouts: Timeouts = field(default_factory=Timeouts)
    backoff: BackoffPolicy = field(default_factory=BackoffPolicy)
    watch: WatchSettings = field(default_factory=WatchSettings)
    startup_watch_delay: float = 5.0
    """At start-up, a context whose lists are done opens its watches when every context is done,
    or after this many seconds (0: at once); see ``ClusterWatcher._open_watch_gate``."""
    kube_system_poll: float = 10.0
    """Seconds between reads of ``cilium-config``, ``cilium-ca`` and ``cilium-clustermesh``
    (polled rather than watched: see :attr:`tui.kube.watch.ResourceSpec.poll`; 0 watches them)."""
    probe_interval: float = 10.0
    """``GET /version`` per cluster: notices a silent or dead API server between watch events,
    and lets a recovered one skip the rest of its backoff."""
    cilium_interval: float = 8.0
    """Seconds between ``cilium status -o json`` rounds per cluster (jittered ±20 %)."""
    cilium_per_cluster: int = 4
    cilium_total: int = 64
    """``cilium status`` execs at once over every cluster. Each exec waits mostly on round trips
    (a TLS handshake, the WebSocket, the agent), so a round of 255 agents at 16 at a time took
    13–25 s; at 64, 9–13 s (app populated at 255 × 200: 19–37 s → 17–20 s)."""
    exec_timeout: float = 5.0
    """Whole ``cilium status`` exec (connect, run, read)."""
    coalesce: float = 0.05
    """At most one notification per this many seconds during a burst (trailing edge kept)."""
    access_interval: float = 300.0
    """How often access reviews are asked again (RBAC changes are rare)."""
    pods: PodScope = "mesh"
    """Which pods to watch besides the Cilium agents: ``mesh`` = the namespaces holding a global
    service (clients and backends of what the app shows), ``all``, or ``agents`` only. Watching
    every pod of 64 busy clusters would cost more memory and first-sync time than the services
    themselves, for objects the panes never show."""
    extra_pod_namespaces: tuple[str, ...] = ()
    """Namespaces whose pods are always watched (e.g. where curl clients live)."""
    exec_max_lines: int = 2000
    """Streaming exec: lines kept unread before the oldest are dropped (and counted)."""
    exec_idle_timeout: float = 60.0
    """Streaming exec: end a stream that sent nothing for this long."""
    tls_read_buffer: int = 16 * 1024
    """Per-connection TLS read buffer (0: Python's default, 256 KiB), one TLS record: what an
    idle watch needs (~650 of them at 64 clusters, 2,300 at 255). A request's answer is read
    with a wider one (:data:`tui.kube.client.ANSWER_READ_BUFFER`). Process-wide; see
    :func:`tui.kube.client.limit_tls_read_buffer`."""
    startup_gc_pause: float = 60.0
    """Pause CPython's cyclic GC from start until no context is syncing (at most this many
    seconds; 0: never). The initial lists allocate hundreds of thousands of acyclic objects and
    the collector would walk them over and over: half of the start-up time at 64 clusters."""
    gc_freeze_above: int = 20_000
    """After that pause, ``gc.freeze()`` when at least this many objects were listed."""
