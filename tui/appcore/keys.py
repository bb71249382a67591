"""Every key of the app, by binding id: the footer, the help screen, the palette and keymaps.

One table (:data:`KEYS` for the main screen, :data:`CURL_KEYS` for the curl pane) that the app
turns into Textual bindings, the help screen lists, the palette offers and ``MESHTUI_KEYMAP``
remaps by id. Keys follow k9s where they overlap (``:`` palette, ``/`` filter, ``?`` help,
``s`` scale, ``q`` quit).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

AGENT_AUTO_MAX_SERVICES = 500
"""Above this many services in the viewing cluster the agent's list (every service × every
backend: 30 MB of JSON at 64 × 2,000) is read only on request (``r``), never automatically."""


@dataclass(frozen=True, slots=True)
class KeyHelp:
    """One binding as the help screen and the command palette describe it."""

    id: str
    key: str
    action: str
    title: str
    help: str
    write: bool = False
    show: bool = True

    @property
    def name(self) -> str:
        """The action without its arguments (``scale_by(1)`` → ``scale_by``)."""
        return self.action.split("(")[0]


KEYS: tuple[KeyHelp, ...] = (
    KeyHelp(
        "affinity",
        "a",
        "affinity",
        "affinity",
        "set the selected service's affinity: local / remote / "
        "none / remove (viewing cluster, * for every cluster)",
        write=True,
    ),
    KeyHelp(
        "global",
        "g",
        "toggle_global",
        "global",
        "turn service.cilium.io/global on/off for the selected service in the viewing cluster",
        write=True,
    ),
    KeyHelp(
        "shared",
        "h",
        "toggle_shared",
        "shared",
        "turn service.cilium.io/shared on/off in the viewing "
        "cluster (off: take this cluster's backends out of the others)",
        write=True,
    ),
    KeyHelp(
        "scale",
        "s",
        "scale",
        "scale",
        "scale the deployment behind the selected service in the viewing "
        "cluster (dialog prefilled with the current count)",
        write=True,
    ),
    KeyHelp(
        "scale-up", "plus", "scale_by(1)", "+1", "scale that deployment up by one", write=True, show=False
    ),
    KeyHelp(
        "scale-down",
        "minus",
        "scale_by(-1)",
        "-1",
        "scale that deployment down by one",
        write=True,
        show=False,
    ),
    KeyHelp(
        "scale-zero", "0", "scale_zero", "scale 0", "scale that deployment to zero", write=True, show=False
    ),
    KeyHelp("curl", "c", "curl", "curl", "run curl from every cluster to the selected service"),
    KeyHelp(
        "agent-list",
        "r",
        "read_agent",
        "agent list",
        "read the viewing cluster's `cilium service list` now and compare it with the computed "
        f"selection (automatic below {AGENT_AUTO_MAX_SERVICES} services)",
        show=False,
    ),
    KeyHelp(
        "curl-here",
        "C",
        "curl_here",
        "curl here",
        "run curl from the viewing cluster only (again: stop it)",
        show=False,
    ),
    KeyHelp(
        "presenter",
        "P",
        "presenter",
        "presenter",
        "presenter layout: the curl pane takes most of the screen, with big bars (and back)",
        show=False,
    ),
    KeyHelp(
        "filter", "slash", "filter", "filter", "filter the services (words in name or why); escape clears"
    ),
    KeyHelp(
        "show-all", "A", "toggle_all", "all services", "show every service, not only global ones", show=False
    ),
    KeyHelp(
        "log",
        "L",
        "toggle_log",
        "log",  # short: every footer key must fit 80 columns (L is shown only when narrow)
        "narrow terminals: show the activity log in place of the backends (and back)",
    ),
    KeyHelp(
        "palette",
        "colon,ctrl+p",
        "command_palette",
        "cmd",  # as k9s's ":" command mode; short so the footer fits 80 columns
        "command palette: every action, every cluster and service by name",
    ),
    KeyHelp("help", "question_mark", "help", "help", "this screen"),
    KeyHelp("quit", "q", "quit", "quit", "quit meshtui (ctrl+c too); running curl loops are stopped first"),
)
WRITE_ACTIONS = frozenset(k.name for k in KEYS if k.write)
"""The app's write actions: removed under ``--read-only``, disabled (with a reason) elsewhere."""


def write_key(key: str, keymap: Mapping[str, str]) -> KeyHelp | None:
    """The write binding ``key`` stands for (``keymap``: binding id → keys, as handed to
    Textual), or ``None``. Under ``--read-only`` those bindings are removed, so Textual no
    longer knows the key: this lets the app say why the key does nothing."""
    for k in KEYS:
        if k.write and key in (part.strip() for part in keymap.get(k.id, k.key).split(",")):
            return k
    return None


VIEW_CLUSTER_KEYS = 9
"""``1`` … ``9`` make the n-th context the viewing cluster (ids ``view-cluster-1`` …)."""

CURL_KEYS: tuple[KeyHelp, ...] = (
    KeyHelp("curl.pick", "p", "curl_pick", "client pod", "pick the client pod of the viewing cluster"),
    KeyHelp(
        "curl.interval",
        "i",
        "curl_interval",
        "interval",
        "seconds between requests (0: as fast as curl goes)",
    ),
    KeyHelp(
        "curl.map",
        "m",
        "curl_map",
        "learned map",
        "the learned map (which answer means which pod) in place of the log, and back",
    ),
    KeyHelp("curl.relearn", "r", "curl_relearn", "learn again", "probe every backend again"),
    KeyHelp("curl.stop", "x", "curl_stop", "stop curl", "stop every curl loop"),
)
"""The curl pane's own keys (when it has the focus); their actions are the app's."""


def parse_keymap(text: str) -> dict[str, str]:
    """``"affinity=f;scale=S"`` → ``{"affinity": "f", "scale": "S"}`` (binding id = keys).

    Ids are those of :data:`KEYS` (and ``view-cluster-1`` … ``9``); several keys for one id are
    separated by commas (``palette=colon,ctrl+p``), entries by ``;``.
    """
    keymap: dict[str, str] = {}
    for item in text.split(";"):
        ident, sep, keys = item.partition("=")
        if sep and ident.strip() and keys.strip():
            keymap[ident.strip()] = keys.strip()
    return keymap


HelpRow = tuple[str, str, str, str]
"""(keys, title, what it does, binding id)."""


def help_rows(display: Callable[[str, str], str], *, read_only: bool, curl_pane: bool) -> list[HelpRow]:
    """The help screen's rows, keymap applied: ``display(binding id, default keys)`` gives the
    keys as the footer shows them. The curl pane's keys are listed once it is there."""
    rows: list[HelpRow] = []
    for k in KEYS:
        text = k.help
        if k.write and read_only:
            text = "(removed: read-only mode) " + text
        rows.append((display(k.id, k.key), k.title, text, k.id))
    if curl_pane:
        for k in CURL_KEYS:
            rows.append((display(k.id, k.key), k.title, f"curl pane (tab to it): {k.help}", k.id))
        rows.append(
            (
                "pgup pgdn home end",
                "curl log",
                "scroll the curl log's last 1,000 lines (tab to it); end follows the newest again",
                "",  # Textual's scroll keys, not remappable here
            )
        )
    rows.append(("1 … 9", "viewing cluster", "look at the backends from the n-th context", "view-cluster-N"))
    rows.append(("tab shift+tab", "panes", "move between the panes", ""))
    rows.append(("enter", "whole row", "on a Services or Backends row: every field, uncut", ""))
    rows.append(("enter / esc", "dialogs", "confirm / cancel (also y / n)", ""))
    return rows
