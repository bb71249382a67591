"""One kubeconfig context, live: its reflectors, probe, Cilium reads and access reviews → ``ClusterState``.

Everything a cluster does runs in its own tasks on the hub's loop, so a slow, dead or forbidden
cluster only ever delays itself. The :class:`ClusterState` is rebuilt lazily when something
changed, reusing every unchanged object (services, deployments, the Cilium info) so consumers
can skip unchanged rows by identity.

Phase (what the operator sees):
* ``error``: the kubeconfig entry cannot be used (reason says why);
* ``unreachable``: nothing could be read yet and the server does not answer (reason);
* ``stale``: data was read, then a watch or the probe started failing; the data is kept and
  ``since`` says from when;
* ``syncing``: some resource has not been listed completely yet;
* ``forbidden``: everything else is live, but RBAC denies some reads (reason lists them: "cannot
  list secrets in namespace kube-system"); the rest of the cluster stays usable;
* ``ok``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import random
import ssl
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from kubernetes.aio.config.config_exception import ConfigException

from tui.kube import parse, wire
from tui.kube.access import review_all
from tui.kube.cilium import (
    AgentRead,
    AgentServiceList,
    Limits,
    read_kvstoremesh,
    read_service_list,
    read_status,
    read_version,
)
from tui.kube.client import Action, KubeClient
from tui.kube.config import ContextEntry, Kubeconfig, load_configuration
from tui.kube.errors import KubeError
from tui.kube.redact import log, scrub
from tui.kube.settings import HubSettings
from tui.kube.tasks import cancel_and_wait
from tui.kube.watch import Key, Reflector, ResourceSpec, gc_paused
from tui.mesh.model import (
    AgentStatus,
    CiliumInfo,
    ClusterPhase,
    ClusterState,
    KVStoreMeshRead,
    Pod,
    Service,
    ServiceKey,
    frozen_map,
)
from tui.mesh.status import kvstoremesh_enabled

KUBE_SYSTEM = "kube-system"
CLUSTERMESH_APISERVER = "clustermesh-apiserver"
PROBE_START_INTERVALS = 6
"""At start-up the first probe waits for the watch gate at most this many probe intervals."""
GLOBAL_ANNOTATIONS = ("service.cilium.io/global", "io.cilium/global-service")
FLOOD_SLOWDOWN = 8
"""At most this many times ``cilium_interval`` between the agent reads of a flooding cluster."""


def _name_key(obj: Mapping[str, Any]) -> Key:
    return (obj.get("metadata") or {}).get("name") or ""


def base_specs(pods: str, poll: float | None, cluster_name: Callable[[], str]) -> list[ResourceSpec]:
    """The resources every cluster watches or polls (pods per namespace are added as needed).

    ``cilium-config`` comes first: it names the cluster, which every backend carries.
    """

    def slice_backends(obj: Mapping[str, Any]) -> parse.SliceBackends:
        return parse.endpoint_slice(obj, cluster_name())

    specs = [
        ResourceSpec(
            "cilium-config",
            "/api/v1",
            "configmaps",
            parse.cilium_config,
            namespace=KUBE_SYSTEM,
            field_selector="metadata.name=cilium-config",
            poll=poll,
        ),
        ResourceSpec("services", "/api/v1", "services", parse.service, shared_keys=True, codec=wire.SERVICES),
        ResourceSpec(
            "endpointslices",
            "/apis/discovery.k8s.io/v1",
            "endpointslices",
            slice_backends,
            codec=wire.endpoint_slices(cluster_name),
        ),
        ResourceSpec("deployments", "/apis/apps/v1", "deployments", parse.deployment, codec=wire.DEPLOYMENTS),
        ResourceSpec(
            "nodes", "/api/v1", "nodes", parse.node, key=_name_key, cluster_scoped=True, codec=wire.NODES
        ),
        ResourceSpec(
            "agents",
            "/api/v1",
            "pods",
            parse.agent_pod,
            namespace=KUBE_SYSTEM,
            label_selector="k8s-app=cilium",
            codec=wire.AGENTS,
        ),
        ResourceSpec(
            "cilium-ca",
            "/api/v1",
            "secrets",
            parse.ca_ski,
            namespace=KUBE_SYSTEM,
            field_selector="metadata.name=cilium-ca",
            poll=poll,
        ),
        ResourceSpec(
            "cilium-clustermesh",
            "/api/v1",
            "secrets",
            parse.clustermesh_remotes,
            namespace=KUBE_SYSTEM,
            field_selector="metadata.name=cilium-clustermesh",
            poll=poll,
        ),
        ResourceSpec(
            "cilium-kvstoremesh",
            "/api/v1",
            "secrets",
            parse.clustermesh_remotes,
            namespace=KUBE_SYSTEM,
            field_selector="metadata.name=cilium-kvstoremesh",
            poll=poll,
        ),
        ResourceSpec(
            "clustermesh-pods",
            "/api/v1",
            "pods",
            parse.pod,
            namespace=KUBE_SYSTEM,
            label_selector="k8s-app=clustermesh-apiserver",
            codec=wire.PODS,
        ),
    ]
    if pods == "all":
        specs.append(ResourceSpec("pods", "/api/v1", "pods", parse.pod, codec=wire.PODS))
    return specs


def pod_spec(namespace: str) -> ResourceSpec:
    name = f"pods/{namespace}"
    return ResourceSpec(name, "/api/v1", "pods", parse.pod, namespace=namespace, codec=wire.PODS)


def safe_server(url: str) -> str:
    """The server URL without any ``user:password@``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return scrub(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        parts = parts._replace(netloc=netloc)
    return scrub(urlunsplit(parts))


def slice_keys(entry: Key | tuple[Key, ...] | None) -> tuple[Key, ...]:
    """The slice keys of one ``ClusterWatcher._slices_of`` entry.

    An entry is one slice key (a ``(namespace, name)`` tuple of strings) or a tuple of such
    keys: told apart by the type of the first element.
    """
    if entry is None:
        return ()
    return entry if type(entry[0]) is tuple else (entry,)  # type: ignore[return-value]


def is_global(service: Service) -> bool:
    for key in GLOBAL_ANNOTATIONS:
        if key in service.annotations:
            return str(service.annotations[key]).lower() == "true"
    return False


class ClusterWatcher:
    """The live picture of one context (all methods on the hub's loop)."""

    def __init__(
        self,
        kubeconfig: Kubeconfig,
        entry: ContextEntry,
        settings: HubSettings,
        *,
        on_dirty: Callable[[ClusterWatcher], None],
        exec_overall: asyncio.Semaphore,
        hub_ready: asyncio.Event | None = None,
    ) -> None:
        self.context = entry.name
        self.entry = entry
        self.kubeconfig = kubeconfig
        self.settings = settings
        self.server = safe_server(entry.server)
        self.client: KubeClient | None = None
        self.config_error: str | None = entry.error
        self.reflectors: dict[str, Reflector] = {}
        self.limits = Limits(settings.cilium_per_cluster, exec_overall)
        self._on_dirty = on_dirty
        self._tasks: list[asyncio.Task[Any]] = []
        self._stopping = False
        self._state: ClusterState | None = None
        self._dirty = True
        self._phase: tuple[ClusterPhase, str] = ("syncing", "")
        self._phase_since = time.time()
        self._ever_synced = False
        # probe
        self._probe_error: KubeError | None = None
        self._probe_failing_since: float | None = None
        self.server_version: str = ""
        # services joined with their EndpointSlices
        self._slices_of: dict[ServiceKey, Key | tuple[Key, ...]] = {}
        """service → its slice's key, or a tuple of keys when it has several (see
        :func:`slice_keys`): almost every service has one, and 128,000 one-tuples took 10 MB."""
        self._slice_owner: dict[Key, ServiceKey] = {}
        self._services_view: Mapping[ServiceKey, Service] | None = None
        self._dirty_services: set[ServiceKey] = set()
        self._global_namespaces: collections.Counter[str] = collections.Counter()
        self._global_keys: set[ServiceKey] = set()
        self._cluster_name: str = entry.name
        # other views, rebuilt when their reflector changes
        self._views: dict[str, Any] = {}
        # cilium
        self._agent_reads: dict[str, AgentRead] = {}
        self._kvm_reads: dict[str, KVStoreMeshRead] = {}
        self._agent_version: tuple[str, str | None] | None = None
        """(image the version was read for, ``cilium version`` of an agent) when no image tag
        carries one (digest-only images)."""
        self._agent_status_cache: dict[str, tuple[Any, AgentRead | None, AgentStatus]] = {}
        self._cilium_key: tuple[Any, ...] | None = None
        self._cilium: CiliumInfo = CiliumInfo()
        self._cilium_wake = asyncio.Event()
        self._cilium_round: asyncio.Future[None] | None = None
        self._first_round: asyncio.Future[None] | None = None
        """The start-up round while it runs (it starts once every list answered): a read asked
        for meanwhile waits for it instead of a second round right after."""
        self._cilium_floods = 0
        """Rounds in a row in which every agent flooded past the output cap: the reads slow down
        (up to :data:`FLOOD_SLOWDOWN` times the interval), so a flooding cluster costs itself."""
        # access
        self.allowed: Mapping[str, bool] = frozen_map()
        self.denied_reasons: Mapping[str, str] = frozen_map()
        self._access_wake = asyncio.Event()
        # start-up: lists go two at a time over kept-alive connections; watches (one socket
        # each), the probe and the access reviews wait until every list answered once, so the
        # first snapshot costs two TLS handshakes per cluster instead of twenty
        self._list_gate = asyncio.Semaphore(2)
        self._cilium_gate = asyncio.Event()
        """Set once every list answered (and the hub's first snapshot, see _open_watch_gate):
        the first ``cilium status`` round may start."""
        self._first_read_done = asyncio.Event()
        """Set when the first ``cilium status`` round ended: the watches may open."""
        self._watch_gate = asyncio.Event()
        self._hub_ready = hub_ready
        self._gate_task: asyncio.Task[None] | None = None

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> None:
        self._spawn(self._run(), "start")

    def _spawn(self, coro: Any, what: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=f"cluster {self.context} {what}")
        self._tasks.append(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            log.error("%s: task %s failed: %s", self.context, task.get_name(), scrub(repr(exc)))

    async def stop(self) -> None:
        self._stopping = True
        await cancel_and_wait(self._tasks)
        await cancel_and_wait([r.task for r in self.reflectors.values() if r.task is not None])
        self._tasks.clear()
        if self.client is not None:
            await self.client.close()

    async def _run(self) -> None:
        if self.config_error:
            self._changed()
            return
        try:
            configuration = await load_configuration(self.kubeconfig, self.entry)
            self.client = KubeClient(self.context, configuration, self.settings.timeouts)
        except ConfigException as exc:
            self.config_error = scrub(str(exc))
        except (ssl.SSLError, OSError, ValueError) as exc:
            # e.g. client-certificate-data that is not a certificate: the TLS context cannot be built
            detail = scrub(getattr(exc, "reason", None) or exc)
            self.config_error = (
                f"context {self.context!r}: unusable TLS settings ({type(exc).__name__}: {detail})"
            )
        if self.client is None:
            self._changed()
            return
        poll = self.settings.kube_system_poll or None
        for spec in base_specs(self.settings.pods, poll, lambda: self._cluster_name):
            self._add_reflector(spec)
        for namespace in self.settings.extra_pod_namespaces:
            self._ensure_pods(namespace)
        if not self.settings.watch.follow:
            # read once (headless reads): the lists report their own failures, and no write
            # needs the access reviews (nine requests per cluster)
            self._spawn(self._cilium_loop(), "cilium")
            return
        self._spawn(self._probe_loop(), "probe")
        self._spawn(self._cilium_loop(), "cilium")
        self._spawn(self._access_loop(), "access")

    def _add_reflector(self, spec: ResourceSpec) -> Reflector:
        assert self.client is not None
        reflector = Reflector(
            self.client,
            spec,
            on_change=self._reflector_changed,
            on_state=self._reflector_state,
            settings=self.settings.watch,
            backoff=self.settings.backoff,
            list_gate=self._list_gate,
            watch_gate=self._watch_gate,
        )
        self.reflectors[spec.name] = reflector
        if not self._stopping:
            reflector.start()
        return reflector

    def _ensure_pods(self, namespace: str) -> None:
        if self.settings.pods != "mesh" or self.client is None:
            return
        name = f"pods/{namespace}"
        if name not in self.reflectors:
            self._add_reflector(pod_spec(namespace))

    def _drop_pods(self, namespace: str) -> None:
        if namespace in self.settings.extra_pod_namespaces:
            return
        reflector = self.reflectors.pop(f"pods/{namespace}", None)
        if reflector is not None:
            self._spawn(reflector.stop(), f"stop pods/{namespace}")
            self._views.pop("pods", None)

    # -- change tracking --------------------------------------------------------------------------

    def _changed(self) -> None:
        self._dirty = True
        self._on_dirty(self)

    def _reflector_state(self, reflector: Reflector) -> None:
        self._open_watch_gate()
        self._changed()

    def _open_watch_gate(self) -> None:
        """Every resource was listed (or failed) once: read the agents, then let the watches,
        probe and reviews start.

        While the other contexts of a big kubeconfig are still listing, this one waits a little
        longer (until the hub's first complete snapshot, at most ``startup_watch_delay``): its
        data is already shown, and the hundreds of TLS handshakes of every cluster's watches
        then do not compete with the lists everybody waits for. Then the first ``cilium
        status`` round goes first, and the watches open when it ended (at most
        ``exec_timeout`` + 1 s later): the agents' state is the last thing the panes wait for,
        and at 64 clusters its 64 exec handshakes competed with 512 watch handshakes (ours and
        the simulator's CPU). Changes made meanwhile are not lost: the watches resume from the
        lists' resourceVersions.
        """
        if self._cilium_gate.is_set() or self._gate_task is not None:
            return
        if not all(r.synced or r.error is not None for r in self.reflectors.values()):
            return
        hub_ready = self._hub_ready
        if hub_ready is None or hub_ready.is_set() or self.settings.startup_watch_delay <= 0:
            self._lists_answered()
            return

        async def open_later() -> None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(hub_ready.wait(), self.settings.startup_watch_delay)
            self._lists_answered()

        self._gate_task = self._spawn(open_later(), "watch gate")

    def _lists_answered(self) -> None:
        """Open the first ``cilium status`` round now, the watches once it ended (bounded)."""
        self._cilium_gate.set()

        async def open_watches() -> None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._first_read_done.wait(), self.settings.exec_timeout + 1)
            self._watch_gate.set()

        self._spawn(open_watches(), "watch gate after the agents")

    def _reflector_changed(self, reflector: Reflector, keys: set[Key]) -> None:
        name = reflector.spec.name
        if name == "services":
            self._dirty_services.update(keys)  # type: ignore[arg-type]
            self._services_view = None
            if self.settings.pods == "mesh":
                self._track_globals(keys)  # type: ignore[arg-type]
        elif name == "endpointslices":
            self._slices_changed(keys)
        elif name == "cilium-config":
            self._views.pop("cilium", None)
            config = self._single("cilium-config")
            new_name = (config.cluster_name if config else None) or self.context
            if new_name != self._cluster_name:
                self._cluster_name = new_name
                slices = self.reflectors.get("endpointslices")
                if slices is not None:
                    for key, value in slices.items.items():
                        slices.items[key] = parse.renamed(value, new_name)
                services = self.reflectors.get("services")
                self._dirty_services.update(services.items if services else ())  # type: ignore[arg-type]
        elif name == "agents":
            if not self._agent_reads and keys:
                self._cilium_wake.set()  # first sight of the agents: read them now
        elif name == "pods" or name.startswith("pods/"):
            self._views.pop("pods", None)
        else:
            self._views.pop(name, None)
        self._changed()

    def _track_globals(self, keys: set[ServiceKey]) -> None:
        """Start / stop watching a namespace's pods as its first / last global service comes / goes.

        One loop over every changed key (2,000 per cluster at the first list): only a service
        whose globalness changed costs more than a lookup.
        """
        items = self.reflectors["services"].items
        global_keys = self._global_keys
        namespaces = self._global_namespaces
        for key in keys:
            service = items.get(key)
            now_global = service is not None and is_global(service)
            if now_global == (key in global_keys):
                continue
            namespace = key[0]
            if now_global:
                global_keys.add(key)
                namespaces[namespace] += 1
                if namespaces[namespace] == 1:
                    self._ensure_pods(namespace)
            else:
                global_keys.discard(key)
                namespaces[namespace] -= 1
                if namespaces[namespace] <= 0:
                    del namespaces[namespace]
                    self._drop_pods(namespace)

    def _slices_changed(self, keys: set[Key]) -> None:
        """Re-own changed slices; their services (old and new owner) are joined again."""
        owner_of = self._slice_owner
        slices_of = self._slices_of
        dirty = self._dirty_services
        slices = self.reflectors["endpointslices"].items
        for slice_key in keys:
            old_owner = owner_of.pop(slice_key, None)
            if old_owner is not None:
                rest = tuple(k for k in slice_keys(slices_of.get(old_owner)) if k != slice_key)
                if len(rest) > 1:
                    slices_of[old_owner] = rest
                elif rest:
                    slices_of[old_owner] = rest[0]
                else:
                    slices_of.pop(old_owner, None)
                dirty.add(old_owner)
            value = slices.get(slice_key)
            if value is not None and value.service:
                owner = parse.service_key(value.namespace, value.service)
                owner_of[slice_key] = owner
                known = slices_of.get(owner)
                slices_of[owner] = slice_key if known is None else (*slice_keys(known), slice_key)
                dirty.add(owner)

    def _flush_services(self) -> None:
        """Join the changed services with their slices (done lazily: once per published state).

        The joined service replaces the parsed one in the reflector's store (one object per
        service instead of two); a relist that finds the same resourceVersion keeps it, and a
        new version brings a fresh, unjoined one that the next flush joins again.
        """
        if not self._dirty_services:
            return
        dirty, self._dirty_services = self._dirty_services, set()
        items = self.reflectors["services"].items
        slices = self.reflectors["endpointslices"].items
        slices_of = self._slices_of
        joined = False
        with gc_paused():
            for key in dirty:
                base = items.get(key)
                if base is None:
                    continue
                entry = slices_of.get(key)
                backends: tuple[Any, ...] = ()
                if entry is None:
                    pass
                elif type(entry[0]) is not tuple:  # one slice: its key
                    value = slices.get(entry)
                    if value is not None:
                        backends = value.backends
                else:
                    for slice_key in sorted(entry, key=str):
                        value = slices.get(slice_key)
                        if value is not None:
                            backends += value.backends
                if base.backends == backends:
                    continue  # already joined with these backends (or none before and after)
                items[key] = parse.with_backends(base, backends)
                joined = True
        if joined:
            self._services_view = None

    def _single(self, name: str) -> Any:
        reflector = self.reflectors.get(name)
        if reflector is None or not reflector.items:
            return None
        return next(iter(reflector.items.values()))

    # -- the state --------------------------------------------------------------------------------

    def state(self) -> ClusterState:
        """The current state (the same object until something changes)."""
        if not self._dirty and self._state is not None:
            return self._state
        self._dirty = False
        phase, reason, since = self._compute_phase()
        if self.client is None or self.config_error:
            self._state = ClusterState(
                context=self.context, phase=phase, since=since, reason=reason, server=self.server
            )
            return self._state
        services_view: Mapping[ServiceKey, Service] = frozen_map()
        if self._ever_synced:
            # Before the first complete list a service may still miss its slices: "syncing"
            # shows no services rather than half-joined ones with 0 endpoints.
            self._flush_services()
            if self._services_view is None:
                services = self.reflectors.get("services")
                self._services_view = frozen_map(services.items if services else None)
            services_view = self._services_view
        self._state = ClusterState(
            context=self.context,
            phase=phase,
            since=since,
            reason=reason,
            server=self.server,
            cilium=self._cilium_info(),
            nodes=self._view("nodes", lambda r: tuple(sorted(r.values(), key=lambda n: n.name))),
            services=services_view,
            deployments=self._view("deployments", lambda r: frozen_map(r.items)),
            pods=self._pods_view(),
            allowed=self.allowed,
            denied_reasons=self.denied_reasons,
        )
        return self._state

    def _view(self, name: str, build: Callable[[Reflector], Any]) -> Any:
        if name in self._views:
            return self._views[name]
        reflector = self.reflectors.get(name)
        if reflector is None:
            return build_empty(name)
        value = self._views[name] = build(reflector)
        return value

    def _pods_view(self) -> Mapping[ServiceKey, Pod]:
        if "pods" in self._views:
            return self._views["pods"]
        pods: dict[ServiceKey, Pod] = {}
        agents = self.reflectors.get("agents")
        if agents is not None:
            for agent in agents.values():
                pods[agent.pod.key] = agent.pod
        for name, reflector in self.reflectors.items():
            if name == "pods" or name.startswith("pods/"):
                for pod in reflector.values():
                    pods[pod.key] = pod
        view = self._views["pods"] = frozen_map(pods)
        return view

    @property
    def syncing(self) -> bool:
        """Whether :meth:`state` would say ``syncing`` now, without building the state (cheap
        enough to ask on every change: :meth:`tui.kube.hub.MeshHub.wait_synced` does)."""
        if self.config_error:
            return False
        if self.client is None:
            return True
        reflectors = self.reflectors.values()
        if self._probe_error is not None or any(r.error is not None and not r.forbidden for r in reflectors):
            return False  # stale or unreachable
        return any(not r.synced and not r.forbidden for r in reflectors)

    def _compute_phase(self) -> tuple[ClusterPhase, str, float | None]:
        now = time.time()
        phase: ClusterPhase
        since: float | None = None
        if self.config_error:
            phase, reason = "error", self.config_error
        elif self.client is None:
            phase, reason = "syncing", "loading credentials"
        else:
            failing = [r for r in self.reflectors.values() if r.error is not None and not r.forbidden]
            forbidden = [r for r in self.reflectors.values() if r.forbidden]
            errors: list[tuple[float, str]] = []
            if self._probe_error is not None:
                errors.append((self._probe_failing_since or now, str(self._probe_error)))
            errors += [(r.failing_since or now, str(r.error)) for r in failing]
            pending = [r for r in self.reflectors.values() if not r.synced and not r.forbidden]
            if not pending:
                self._ever_synced = True
            if errors:
                first_since = min(t for t, _ in errors)
                reason = errors[0][1]
                if self._ever_synced:
                    phase, since = "stale", first_since
                else:
                    phase = "unreachable"
            elif pending:
                phase, reason = "syncing", ""
            elif forbidden:
                phase = "forbidden"
                reason = forbidden_reason(forbidden)
            else:
                phase, reason = "ok", ""
        if (phase, reason) != self._phase:
            if phase != self._phase[0]:
                self._phase_since = now
            self._phase = (phase, reason)
        return phase, reason, since if since is not None else self._phase_since

    # -- cilium -----------------------------------------------------------------------------------

    def _cilium_info(self) -> CiliumInfo:
        config = self._single("cilium-config")
        agents_reflector = self.reflectors.get("agents")
        agents = sorted(agents_reflector.values(), key=lambda a: a.pod.name) if agents_reflector else []
        statuses = tuple(self._agent_status(agent) for agent in agents)
        versions = collections.Counter(v for v in (a.version for a in agents) if v)
        version = versions.most_common(1)[0][0] if versions else None
        version_source = "image" if version else ""
        if version is None and self._agent_version is not None and self._agent_version[1]:
            version, version_source = self._agent_version[1], "agent"
        ca = self._single("cilium-ca")
        remotes_raw = self._single("cilium-clustermesh") or ()
        cluster_name = config.cluster_name if config else None
        remotes = tuple(k for k, has_endpoints in remotes_raw if has_endpoints and k != cluster_name)
        kvm_raw = self._single("cilium-kvstoremesh") or ()
        kvm_remotes = tuple(k for k, has_endpoints in kvm_raw if has_endpoints and k != cluster_name)
        kvm_reads = tuple(self._kvm_reads[name] for name in sorted(self._kvm_reads))
        service = (
            self._services_view.get((KUBE_SYSTEM, CLUSTERMESH_APISERVER)) if self._services_view else None
        )
        deployments = self.reflectors.get("deployments")
        deployment = deployments.items.get((KUBE_SYSTEM, CLUSTERMESH_APISERVER)) if deployments else None
        key = (config, statuses, version, ca, remotes, service, deployment, kvm_remotes, kvm_reads)
        if self._cilium_key is not None and all(
            a is b or (type(a) is tuple and a == b) for a, b in zip(key, self._cilium_key, strict=True)
        ):
            return self._cilium
        self._cilium_key = key
        self._cilium = CiliumInfo(
            cluster_name=cluster_name,
            cluster_id=config.cluster_id if config else None,
            cluster_id_raw=config.cluster_id_raw if config else None,
            max_connected_clusters=config.max_connected_clusters if config else None,
            identity_allocation_mode=config.identity_allocation_mode if config else None,
            version=version,
            config_present=config is not None,
            ca_ski=ca,
            clustermesh_service=service,
            clustermesh_deployment=deployment,
            clustermesh_secret_remotes=remotes,
            agents=statuses,
            version_source=version_source,
            ipam_mode=config.ipam_mode if config else None,
            pool_cidrs=config.pool_cidrs if config else (),
            kvstoremesh_secret_remotes=kvm_remotes,
            kvstoremesh=kvm_reads,
        )
        return self._cilium

    def _agent_status(self, agent: parse.AgentPod) -> AgentStatus:
        read = self._agent_reads.get(agent.pod.name)
        cached = self._agent_status_cache.get(agent.pod.name)
        if cached is not None and cached[0] is agent and cached[1] is read:
            return cached[2]
        status = AgentStatus(
            pod=agent.pod.name,
            node=agent.pod.node,
            pod_ready=agent.pod.ready,
            status=read.status if read else None,
            error=read.error if read else None,
            read_at=read.read_at if read else None,
        )
        self._agent_status_cache[agent.pod.name] = (agent, read, status)
        return status

    def agent_pods(self) -> list[parse.AgentPod]:
        reflector = self.reflectors.get("agents")
        if reflector is None:
            return []
        return sorted(
            (a for a in reflector.values() if a.pod.phase == "Running" and not a.pod.deleting),
            key=lambda a: a.pod.name,
        )

    async def _cilium_loop(self) -> None:
        interval = self.settings.cilium_interval
        await self._cilium_start_gate()
        self._cilium_wake.set()  # the first round right away
        if self._cilium_round is None:
            self._cilium_round = self._first_round = asyncio.get_running_loop().create_future()
        while True:
            slowdown = min(FLOOD_SLOWDOWN, 2**self._cilium_floods)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._cilium_wake.wait(), interval * slowdown * random.uniform(0.8, 1.2)
                )
            self._cilium_wake.clear()
            waiter = self._cilium_round
            self._cilium_round = None
            try:
                if self._probe_error is None:
                    await self.read_agents()
            finally:
                self._first_read_done.set()
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)

    async def _cilium_start_gate(self) -> None:
        """Hold the first ``cilium status`` round until every list answered (or one is asked for).

        Each exec is a WebSocket on a new TLS connection, in the cluster being listed: at start-up
        those handshakes (ours and the API server's) only slow the lists every context waits
        for, and the first frame shows the clusters without agent status anyway.
        """
        while not self._cilium_gate.is_set() and self._cilium_round is None:
            self._cilium_wake.clear()
            waiters = [
                asyncio.ensure_future(self._cilium_gate.wait()),
                asyncio.ensure_future(self._cilium_wake.wait()),
            ]
            try:
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()

    def request_cilium_read(self) -> asyncio.Future[None]:
        """Ask for a read round now; the future resolves when it is done.

        While the start-up round runs (it began once every list answered, so it is as fresh as
        the lists), that round is the answer: a headless command reads every agent once.
        """
        first = self._first_round
        if first is not None and not first.done() and self._cilium_round is None:
            return first
        if self._cilium_round is None or self._cilium_round.done():
            self._cilium_round = asyncio.get_running_loop().create_future()
        self._cilium_wake.set()
        return self._cilium_round

    async def read_agents(self) -> None:
        """``cilium status -o json`` in every running agent, bounded in parallelism and time."""
        if self.client is None:
            return
        agents = self.agent_pods()
        reads = await asyncio.gather(
            *(
                read_status(
                    self.client,
                    self.limits,
                    a.pod.name,
                    self.settings.exec_timeout,
                    self._agent_reads.get(a.pod.name),
                )
                for a in agents
            )
        )
        current = {a.pod.name for a in agents}
        for name in list(self._agent_reads):
            if name not in current:
                del self._agent_reads[name]
                self._agent_status_cache.pop(name, None)
        for agent, read in zip(agents, reads, strict=True):
            self._agent_reads[agent.pod.name] = read
        flooded = bool(reads) and all(r.error and "output larger than" in r.error for r in reads)
        self._cilium_floods = self._cilium_floods + 1 if flooded else 0
        if agents and not any(a.version for a in agents):
            image = agents[0].image
            if self._agent_version is None or self._agent_version[0] != image or not self._agent_version[1]:
                found = await read_version(
                    self.client, self.limits, agents[0].pod.name, self.settings.exec_timeout
                )
                self._agent_version = (image, found)
        await self.read_kvstoremesh()
        if agents:
            self._changed()

    async def read_kvstoremesh(self) -> None:
        """``kvstoremesh-dbg status`` in every running clustermesh-apiserver pod, only while its
        Deployment runs a ``kvstoremesh`` container (on by default since Cilium 1.16)."""
        assert self.client is not None
        deployments = self.reflectors.get("deployments")
        deployment = deployments.items.get((KUBE_SYSTEM, CLUSTERMESH_APISERVER)) if deployments else None
        pods_reflector = self.reflectors.get("clustermesh-pods")
        if deployment is None or pods_reflector is None or not kvstoremesh_enabled(deployment):
            if self._kvm_reads:
                self._kvm_reads.clear()
                self._changed()
            return
        pods = sorted(
            (p for p in pods_reflector.values() if p.phase == "Running" and not p.deleting),
            key=lambda p: p.name,
        )
        reads = await asyncio.gather(
            *(
                read_kvstoremesh(
                    self.client,
                    self.limits,
                    p.name,
                    p.ready,
                    self.settings.exec_timeout,
                    self._kvm_reads.get(p.name),
                )
                for p in pods
            )
        )
        fresh = {read.pod: read for read in reads}
        if fresh != self._kvm_reads or any(fresh[k] is not self._kvm_reads.get(k) for k in fresh):
            self._kvm_reads = fresh
            self._changed()

    async def service_list(self, pod: str | None = None) -> AgentServiceList:
        if self.client is None:
            return AgentServiceList(self.context, pod or "", error=self.config_error or "not connected")
        if pod is None:
            agents = self.agent_pods()
            if not agents:
                return AgentServiceList(self.context, "", error="no running Cilium agent pod")
            pod = agents[0].pod.name
        return await read_service_list(self.client, self.limits, pod, self.settings.exec_timeout * 2)

    # -- probe and access -------------------------------------------------------------------------

    async def _probe_loop(self) -> None:
        interval = self.settings.probe_interval
        # The lists report failures themselves meanwhile, and while they run a probe would open
        # a third connection (a TLS handshake on both sides) per cluster: a big mesh's start-up
        # takes longer than one interval, so wait for the gate (bounded all the same).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._watch_gate.wait(), interval * PROBE_START_INTERVALS)
        while True:
            await self.probe()
            await asyncio.sleep(interval * random.uniform(0.9, 1.1))

    async def probe(self) -> bool:
        """``GET /version``: is the server answering at all?"""
        assert self.client is not None
        try:
            doc = await self.client.request_json(
                "GET",
                "/version",
                action=Action("get", "version"),
                read_timeout=self.settings.timeouts.connect,
            )
        except KubeError as exc:
            if exc.kind == "forbidden":  # some RBAC setups hide /version: not a health signal
                return True
            changed = self._probe_error is None or str(self._probe_error) != str(exc)
            if self._probe_failing_since is None:
                self._probe_failing_since = time.time()
            self._probe_error = exc.with_traceback(None)  # kept: not the frames it failed in
            if changed:
                log.info("%s: probe failed: %s", self.context, exc)
                self._changed()
            return False
        self.server_version = str(doc.get("gitVersion") or "")
        if self._probe_error is not None:
            self._probe_error = None
            self._probe_failing_since = None
            for reflector in self.reflectors.values():
                if reflector.error is not None:
                    reflector.wake()
            self._access_wake.set()
            self._changed()
        return True

    async def _access_loop(self) -> None:
        await self._watch_gate.wait()
        while True:
            await self.review_access()
            self._access_wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._access_wake.wait(), self.settings.access_interval)

    async def review_access(self) -> None:
        if self.client is None:
            return
        try:
            allowed, reasons = await review_all(self.client)
        except KubeError as exc:
            log.info("%s: access review unavailable: %s", self.context, exc)
            return
        if dict(self.allowed) != allowed or dict(self.denied_reasons) != reasons:
            self.allowed = frozen_map(allowed)
            self.denied_reasons = frozen_map(reasons)
            self._changed()

    # -- helpers for writes -------------------------------------------------------------------------

    def apply(self, reflector_name: str, obj: Mapping[str, Any]) -> None:
        reflector = self.reflectors.get(reflector_name)
        if reflector is not None:
            reflector.apply(obj)


def forbidden_reason(reflectors: list[Reflector]) -> str:
    """``cannot list secrets in namespace kube-system (cilium-ca, cilium-clustermesh)``."""
    grouped: dict[str, list[str]] = {}
    for reflector in reflectors:
        names = grouped.setdefault(_forbidden_text(reflector), [])
        selector = reflector.spec.field_selector
        if selector.startswith("metadata.name="):
            names.append(selector.split("=", 1)[1])
    return "; ".join(text + (f" ({', '.join(names)})" if names else "") for text, names in grouped.items())


def _forbidden_text(reflector: Reflector) -> str:
    spec = reflector.spec
    place = (
        ""
        if spec.cluster_scoped
        else (f" in namespace {spec.namespace}" if spec.namespace else " in all namespaces")
    )
    return f"cannot list {spec.plural}{place}"


def build_empty(name: str) -> Any:
    return () if name == "nodes" else frozen_map()
