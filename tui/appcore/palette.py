"""What the command palette offers (``:`` / ``ctrl+p``): every action by name, every context and
service, the curl and sample-app commands — and, for a write that cannot run now, why.

Plain :class:`Command` records; the app turns them into Textual's ``SystemCommand`` and binds
each ``kind`` to what it does. Titles and help are escaped here: the palette parses them as
markup, and context, service and reason texts come from clusters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tui.appcore.keys import KEYS
from tui.mesh.model import MeshSnapshot
from tui.safetext import markup_escaped
from tui.views.curl import interval_text
from tui.views.labels import phase_text
from tui.views.services import ServiceRow

SAMPLE_APPS = ("userlist", "rebel-base")


@dataclass(frozen=True)
class Command:
    """One palette entry. ``kind`` says what choosing it does with ``arg``:

    ``action`` run the app action ``arg``; ``refuse`` say ``arg`` (why a write cannot run);
    ``view`` make context ``arg`` the viewing cluster; ``service`` select service ``arg``;
    ``curl`` run the app action ``arg`` (a curl command); ``sample`` deploy (``arg`` = (app,
    False)) or delete (``(app, True)``) a sample app.
    """

    title: str
    help: str
    kind: str
    arg: Any
    discover: bool = True


def palette_commands(
    snapshot: MeshSnapshot,
    rows: Sequence[ServiceRow],
    *,
    read_only: bool,
    block_reason: Callable[[str], str],
    display: Callable[[str, str], str],
    curl_interval: float | None,
    curl_running: bool = False,
) -> Iterable[Command]:
    """The palette's entries now. ``block_reason(action)``: why a write cannot run (``""``: it
    can); ``display(binding id, default keys)``: the keys as the footer shows them;
    ``curl_interval``: the curl loops' interval, ``None`` when the source cannot exec."""
    for k in KEYS:
        if k.name in ("command_palette", "quit") or (k.write and read_only):
            continue
        title = k.title[0].upper() + k.title[1:]
        reason = block_reason(k.name) if k.write else ""
        if reason:
            yield Command(title, markup_escaped(f"disabled: {reason}"), "refuse", reason)
        else:
            yield Command(title, markup_escaped(f"({display(k.id, k.key)}) {k.help}"), "action", k.action)
    for index, state in enumerate(snapshot.clusters, start=1):
        yield Command(
            markup_escaped(f"View from {state.context} ({state.cluster})"),
            markup_escaped(f"viewing cluster {index}: {phase_text(state)}"),
            "view",
            state.context,
        )
    for row in rows:
        yield Command(
            markup_escaped(f"Service {row.key_text}"),
            markup_escaped("; ".join(row.warnings)) or "select it",
            "service",
            row.key,
        )
    if curl_interval is None:
        return
    yield Command("Curl: stop", "stop every curl loop", "curl", "curl_stop", discover=curl_running)
    yield Command("Curl: client pod", "pick the client pod of the viewing cluster", "curl", "curl_pick")
    yield Command("Curl: interval", interval_text(curl_interval), "curl", "curl_interval")
    yield Command("Curl: path", "the HTTP path for the selected service", "curl", "curl_path")
    yield Command("Curl: learned map", "which answer means which pod", "curl", "curl_map")
    yield Command("Curl: learn again", "probe every backend again", "curl", "curl_relearn")
    for app in SAMPLE_APPS:
        yield Command(
            markup_escaped(f"Sample: deploy {app}"),
            "namespace, backend, global+shared service and curl client in every cluster",
            "sample",
            (app, False),
        )
        yield Command(
            markup_escaped(f"Sample: delete {app}"),
            "remove the sample from every cluster (asks first)",
            "sample",
            (app, True),
        )


JUMPS = {
    "svc": "service",
    "service": "service",
    "ctx": "context",
    "context": "context",
    "ns": "namespace",
    "namespace": "namespace",
}
"""k9s-style jumps typed in the palette (``:svc userlist``, ``:ctx bastion03``, ``:ns song``)."""

MAX_JUMPS = 20


def jump_commands(
    query: str, snapshot: MeshSnapshot, rows: Sequence[ServiceRow], *, show_all: bool
) -> list[Command]:
    """The palette's answers to ``svc NAME`` / ``ctx NAME`` (``context``) / ``ns NAME``
    (``namespace``), best first: an exact name, then a name starting with NAME, then one
    containing it (case-insensitive); without NAME every one (as k9s lists contexts on
    ``:ctx``); nothing for any other query. A jump that finds nothing says so (kind
    ``refuse``) rather than leaving the palette empty."""
    word, _, name = query.strip().lstrip(":").strip().partition(" ")
    kind = JUMPS.get(word.lower())
    name = name.strip()
    if kind is None:
        return []
    wanted = name.lower()

    def rank(*texts: str) -> int | None:
        lowered = [t.lower() for t in texts]
        if wanted in lowered:
            return 0
        if any(t.startswith(wanted) for t in lowered):
            return 1
        if any(wanted in t for t in lowered):
            return 2
        return None

    found: list[tuple[int, Command]] = []
    if kind == "service":
        for row in rows:
            if (r := rank(row.name, row.key_text)) is not None:
                title = markup_escaped(f"svc {row.key_text}")
                found.append((r, Command(title, "jump to this service", "service", row.key)))
    elif kind == "context":
        for index, state in enumerate(snapshot.clusters, start=1):
            if (r := rank(state.context, state.cluster)) is not None:
                title = markup_escaped(f"ctx {state.context} ({state.cluster})")
                help_text = markup_escaped(f"view from context {index}: {phase_text(state)}")
                found.append((r, Command(title, help_text, "view", state.context)))
    else:
        for namespace in sorted({row.namespace for row in rows}):
            if (r := rank(namespace)) is not None:
                title = markup_escaped(f"ns {namespace}")
                help_text = markup_escaped(
                    f"show only the services of namespace {namespace} (filter {namespace}/)"
                )
                found.append((r, Command(title, help_text, "namespace", namespace)))
    found.sort(key=lambda item: item[0])
    if found:
        return [command for _, command in found[:MAX_JUMPS]]
    hint = " (A shows every service)" if kind != "context" and not show_all else ""
    reason = f"no {kind} matches {name!r}{hint}" if name else f"no {kind} to jump to{hint}"
    return [Command(markup_escaped(f"{word} {name}".strip()), markup_escaped(reason), "refuse", reason)]
