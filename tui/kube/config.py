"""Kubeconfig by kubectl's rules, through ``kubernetes.aio.config`` (never parsed by hand).

kubectl's rules kept here: ``--kubeconfig`` names one file that must exist; otherwise
``$KUBECONFIG`` lists files joined by ``:`` (missing ones skipped, the first definition of a name
wins) and falls back to ``~/.kube/config``; ``--context`` may be repeated and defaults to every
context. What kubectl would do differently, on purpose: one broken file or context does not stop
the others. A file that cannot be read or parsed, an unknown ``--context``, or a context whose
cluster or user is missing becomes a message naming it, and every other context still loads.

Messages never quote file contents (a YAML error would otherwise echo a token line) and go
through the redactor; every secret of every user entry is registered with it as the files are read.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from kubernetes.aio.client import Configuration
from kubernetes.aio.config.config_exception import ConfigException
from kubernetes.aio.config.kube_config import (
    ENV_KUBECONFIG_PATH_SEPARATOR,
    ConfigNode,
    KubeConfigLoader,
    KubeConfigMerger,
)

from tui.compat import kubernetes_private as loader_internals
from tui.kube.redact import register, register_user_secrets, scrub

DEFAULT_KUBECONFIG = "~/.kube/config"
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml when present: a 64-context kubeconfig parses in 50 ms instead of 500 ms."""


@dataclass(frozen=True, slots=True)
class ContextEntry:
    """One context of the merged kubeconfig (names only, never credentials)."""

    name: str
    cluster: str = ""
    user: str = ""
    namespace: str = ""
    server: str = ""
    error: str | None = None
    """Why this context cannot be used (missing cluster/user, no server); ``None`` when usable."""


@dataclass
class Kubeconfig:
    """The merged kubeconfig: its contexts in file order, and what was wrong with it."""

    paths: tuple[str, ...]
    contexts: list[ContextEntry]
    errors: list[str] = field(default_factory=list)
    current_context: str | None = None
    merged: ConfigNode | None = None

    def entry(self, name: str) -> ContextEntry | None:
        for entry in self.contexts:
            if entry.name == name:
                return entry
        return None


class _TolerantMerger(KubeConfigMerger):
    """``KubeConfigMerger`` that records an unreadable or malformed file instead of raising."""

    def __init__(self, paths: str, errors: list[str]) -> None:
        self._errors = errors
        super().__init__(paths)

    def load_config(self, path: str) -> None:
        try:
            with open(path) as f:
                config = yaml.load(f, Loader=_YAML_LOADER)
        except OSError as exc:
            self._errors.append(f"cannot read kubeconfig {path}: {exc.strerror or type(exc).__name__}")
            return
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
            problem = getattr(exc, "problem", None) or "invalid YAML"
            self._errors.append(f"cannot parse kubeconfig {path}{where}: {problem}")
            return
        if config is None:
            return
        if not isinstance(config, dict):
            self._errors.append(f"cannot parse kubeconfig {path}: not a kubeconfig document")
            return
        for item in ("clusters", "contexts", "users"):
            if not isinstance(config.get(item) or [], list):
                self._errors.append(f"cannot parse kubeconfig {path}: {item} is not a list")
                return
            for entry in config.get(item) or []:
                if not isinstance(entry, dict) or "name" not in entry:
                    self._errors.append(f"cannot parse kubeconfig {path}: an entry of {item} has no name")
                    return
        for user in config.get("users") or []:
            register_user_secrets(user.get("user") if isinstance(user.get("user"), dict) else None)
        if self.config_merged is None:
            # The parent class's first-file path, without re-reading the file.
            base = {k: v for k, v in config.items() if k not in ("clusters", "contexts", "users")}
            base.update(clusters=[], contexts=[], users=[])
            self.config_merged = ConfigNode(path, base, path)
        for item in ("clusters", "contexts", "users"):
            self._merge(item, config.get(item) or [], path)
        # kubectl: the first file that sets current-context wins.
        if config.get("current-context") and not self.config_merged.value.get("current-context"):
            self.config_merged.value["current-context"] = config["current-context"]
        self.config_files[path] = config

    def _merge(self, item: str, add_cfg: list[dict[str, Any]], path: str) -> None:
        """As the parent (first definition wins), but nodes are named without their contents.

        The parent names each node ``<path>/<the whole entry>``, and that name appears in the
        loader's error messages: it would quote a user's token.
        """
        existing = {node["name"] for node in self.config_merged.value[item]}
        for new_item in add_cfg:
            if new_item["name"] not in existing:
                existing.add(new_item["name"])
                node = ConfigNode(f"{path}: {item}[name={new_item['name']}]", new_item, path)
                self.config_merged.value[item].append(node)


def kubeconfig_paths(kubeconfig: str | None = None) -> tuple[list[str], list[str]]:
    """(files to read, errors): ``--kubeconfig`` must exist; ``$KUBECONFIG`` entries may not."""
    if kubeconfig:
        path = os.path.expanduser(kubeconfig)
        if not os.path.exists(path):
            return [], [f"kubeconfig {kubeconfig} does not exist"]
        return [path], []
    env = os.environ.get("KUBECONFIG", "")
    if env.strip():
        paths = [os.path.expanduser(p) for p in env.split(ENV_KUBECONFIG_PATH_SEPARATOR) if p]
        existing = [p for p in dict.fromkeys(paths) if os.path.exists(p)]
        if not existing:
            return [], [f"none of the files in KUBECONFIG exist: {env}"]
        return existing, []
    path = os.path.expanduser(DEFAULT_KUBECONFIG)
    if not os.path.exists(path):
        return [], [f"no kubeconfig: {DEFAULT_KUBECONFIG} does not exist and KUBECONFIG is not set"]
    return [path], []


def read_kubeconfig(kubeconfig: str | None = None, contexts: Sequence[str] | None = None) -> Kubeconfig:
    """Merge the kubeconfig files and pick the contexts (all of them unless ``contexts`` is given)."""
    paths, errors = kubeconfig_paths(kubeconfig)
    merger = _TolerantMerger(ENV_KUBECONFIG_PATH_SEPARATOR.join(paths), errors) if paths else None
    merged = merger.config if merger is not None else None
    if merged is None:
        return Kubeconfig(tuple(paths), [], [scrub(e) for e in errors])
    value = merged.value
    clusters = {c["name"]: c for c in value.get("clusters") or [] if isinstance(c, dict | ConfigNode)}
    users = {u["name"]: u for u in value.get("users") or [] if isinstance(u, dict | ConfigNode)}
    entries: list[ContextEntry] = []
    for raw in value.get("contexts") or []:
        entries.append(_context_entry(_plain(raw), clusters, users))
    if contexts:
        by_name = {e.name: e for e in entries}
        chosen: list[ContextEntry] = []
        for name in dict.fromkeys(contexts):
            if name in by_name:
                chosen.append(by_name[name])
            else:
                errors.append(f"context {name!r} not found in the kubeconfig")
        entries = chosen
    if not entries and not errors:
        errors.append("the kubeconfig has no contexts")
    return Kubeconfig(
        paths=tuple(paths),
        contexts=entries,
        errors=[scrub(e) for e in errors],
        current_context=value.get("current-context") or None,
        merged=merged,
    )


def _plain(item: Any) -> dict[str, Any]:
    return item.value if isinstance(item, ConfigNode) else item


def _context_entry(raw: dict[str, Any], clusters: dict[str, Any], users: dict[str, Any]) -> ContextEntry:
    name = str(raw.get("name"))
    ctx = raw.get("context") or {}
    cluster_name = ctx.get("cluster") or ""
    user_name = ctx.get("user") or ""
    namespace = ctx.get("namespace") or ""
    error = None
    server = ""
    if not cluster_name:
        error = f"context {name!r} names no cluster"
    elif cluster_name not in clusters:
        error = f"context {name!r}: cluster {cluster_name!r} not found in the kubeconfig"
    else:
        server = str((_plain(clusters[cluster_name]).get("cluster") or {}).get("server") or "")
        if not server:
            error = f"context {name!r}: cluster {cluster_name!r} has no server"
    if error is None and user_name and user_name not in users:
        error = f"context {name!r}: user {user_name!r} not found in the kubeconfig"
    return ContextEntry(
        name=name,
        cluster=cluster_name,
        user=user_name,
        namespace=namespace,
        server=server,
        error=scrub(error) if error else None,
    )


# -- credentials ------------------------------------------------------------------------------

_loading_context: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "tui_kube_loading_context", default=None
)


class _CaptureLoaderErrors(logging.Handler):
    """The kubernetes loader logs (and swallows) exec-plugin failures; keep them per context."""

    def emit(self, record: logging.LogRecord) -> None:
        sink = _loading_context.get()
        if sink is not None and record.levelno >= logging.ERROR:
            sink.append(scrub(record.getMessage()))


_LOADER_LOGGER = logging.getLogger("kubernetes.aio.config.kube_config")
_LOADER_LOGGER.addHandler(_CaptureLoaderErrors())


async def load_configuration(kubeconfig: Kubeconfig, entry: ContextEntry) -> Configuration:
    """The client configuration of one context (TLS files, token, exec plugin run once).

    Raises :class:`ConfigException` with a redacted message naming the context. Exec-plugin
    tokens are renewed by a ``refresh_api_key_hook`` when their ``expirationTimestamp`` passes.
    """
    if entry.error:
        raise ConfigException(entry.error)
    assert kubeconfig.merged is not None
    loader = KubeConfigLoader(config_dict=kubeconfig.merged, active_context=entry.name, config_base_path=None)
    configuration = Configuration()
    sink: list[str] = []
    token = _loading_context.set(sink)
    try:
        await loader.load_and_set(configuration)
    except ConfigException as exc:
        raise ConfigException(f"context {entry.name!r}: {scrub(exc)}") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigException(f"context {entry.name!r}: {type(exc).__name__}: {scrub(exc)}") from None
    finally:
        _loading_context.reset(token)
    _trim_token(configuration, entry)
    _register_loaded(loader, configuration)
    user = loader_internals.loader_user(loader)
    if user is not None and "exec" in user and not _has_credentials(loader, configuration):
        detail = "; ".join(sink) or "no token or client certificate in its output"
        command = user["exec"].safe_get("command") or "?"
        raise ConfigException(
            f"context {entry.name!r}: exec credential plugin {os.path.basename(str(command))!r} failed: "
            + scrub(detail)
        )
    if user is not None and "exec" in user:
        configuration.refresh_api_key_hook = _exec_refresher(loader)
    return configuration


def _trim_token(configuration: Configuration, entry: ContextEntry) -> None:
    """The token as kubectl sends it: a token file's surrounding whitespace (its final newline)
    trimmed, as client-go does; a line break or control character left inside is the
    kubeconfig's fault, said so here rather than as a failed request later."""
    value = configuration.api_key.get("BearerToken")
    if not isinstance(value, str) or " " not in value:
        return
    scheme, _, token = value.partition(" ")
    token = token.strip()
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in token):
        raise ConfigException(
            f"context {entry.name!r}: its token holds a line break or a control character "
            "(check the user's token or tokenFile in the kubeconfig)"
        )
    configuration.api_key["BearerToken"] = f"{scheme} {token}"


def _has_credentials(loader: KubeConfigLoader, configuration: Configuration) -> bool:
    return bool(
        configuration.api_key.get("BearerToken") or loader_internals.loader_has_client_certificate(loader)
    )


def _register_loaded(loader: KubeConfigLoader, configuration: Configuration) -> None:
    """Secrets only known after loading: a token file's content, an exec plugin's token."""
    register(configuration.api_key.get("BearerToken"), loader_internals.loader_token(loader))


EXEC_REFRESH_MIN_INTERVAL = 30.0
"""Seconds between two runs of an exec plugin, whatever the token's expiry says."""


def _exec_refresher(loader: KubeConfigLoader):
    """A hook the client awaits before each request: re-run the plugin once its token expired.

    The loader counts a token as expired five minutes before its ``expirationTimestamp``, so a
    plugin handing out short-lived tokens would otherwise run before every request; runs are
    therefore serialized (one plugin process at a time per context) and at most one per
    :data:`EXEC_REFRESH_MIN_INTERVAL`.
    """
    lock = asyncio.Lock()
    last_run = [time.monotonic()]

    async def refresh(configuration: Configuration) -> None:
        if not loader_internals.exec_token_expired(loader):
            return
        if time.monotonic() - last_run[0] < EXEC_REFRESH_MIN_INTERVAL:
            return
        async with lock:
            if time.monotonic() - last_run[0] < EXEC_REFRESH_MIN_INTERVAL:
                return  # another request refreshed it while this one waited
            last_run[0] = time.monotonic()
            if await loader_internals.rerun_exec_plugin(loader):
                token = loader_internals.loader_token(loader)
                if token:
                    register(token)
                    configuration.api_key["BearerToken"] = token

    return refresh
