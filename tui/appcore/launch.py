"""From ``meshtui [--demo] [--kubeconfig …] [--context …]`` to what the app is started with.

Cheap on purpose (no kubernetes, aiohttp, simulator or Textual import): the heavy part happens
in the source's ``start()``, after the first frame. :func:`tui.app.run` puts these together.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from tui.appcore.keys import parse_keymap
from tui.safetext import SafeLogFormatter
from tui.source import MeshSource


@dataclass(frozen=True)
class Launch:
    """Everything ``meshtui`` starts the app with."""

    source: MeshSource
    label: str
    """The kubeconfig as the header names it."""
    read_only: bool = False
    theme: str | None = None
    """``MESHTUI_THEME``: a Textual theme name (e.g. ``textual-light``)."""
    keymap: Mapping[str, str] = field(default_factory=dict)
    """``MESHTUI_KEYMAP`` parsed (:func:`tui.appcore.keys.parse_keymap`): binding id → keys."""


def kubeconfig_label(path: str | None) -> str:
    """The kubeconfig as the header names it: ``--kubeconfig``, ``$KUBECONFIG`` or the default."""
    if path:
        return path
    env = os.environ.get("KUBECONFIG", "")
    if env:
        return env
    return "~/.kube/config"


def quiet_logging() -> None:
    """Keep log records off the terminal the TUI draws on (``MESHTUI_LOG=FILE`` keeps them).

    Without a handler, Python prints warnings to stderr (the "last resort" handler), which
    would scribble over the screen; the cluster-access layer's records are already redacted.
    """
    root = logging.getLogger()
    path = os.environ.get("MESHTUI_LOG")
    if path:
        handler: logging.Handler = logging.FileHandler(path)
        # One safe line per record: a cluster's text cannot forge records or reach a terminal
        # that tails the file (tui.safetext).
        handler.setFormatter(SafeLogFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.setLevel(logging.INFO)
    else:
        handler = logging.NullHandler()
    root.addHandler(handler)


def make_source(args: argparse.Namespace) -> tuple[MeshSource, str] | str:
    """The source and header label for ``args``, or an error message (bad ``--scenario``).

    ``--demo`` runs the simulator in-process (:class:`tui.demo.DemoSource`); otherwise every
    (or each ``--context``) context of the kubeconfig (:class:`tui.kube.source.KubeSource`).
    """
    read_only = bool(getattr(args, "read_only", False))
    if getattr(args, "demo", False):
        from tui.demo import DemoError, DemoSource, demo_scenario

        try:
            scenario = demo_scenario(getattr(args, "scenario", None) or "seed")
        except DemoError as exc:
            return str(exc)
        if getattr(args, "kubeconfig", None) or getattr(args, "contexts", None):
            return "--demo uses the simulator's own kubeconfig: drop --kubeconfig/--context"

        demo = DemoSource(scenario, read_only=read_only)
        return demo, demo.kubeconfig_label
    from tui.kube.source import KubeSource

    kubeconfig = getattr(args, "kubeconfig", None)
    source = KubeSource(kubeconfig, getattr(args, "contexts", None), read_only=read_only)
    return source, kubeconfig_label(kubeconfig)


def launch(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Launch | str:
    """What ``meshtui`` starts the app with, or why it cannot start (exit 2 with that message).

    ``MESHTUI_THEME`` picks a Textual theme, ``MESHTUI_KEYMAP`` remaps keys by binding id.
    """
    env = os.environ if environ is None else environ
    made = make_source(args)
    if isinstance(made, str):
        return made
    source, label = made
    return Launch(
        source,
        label,
        read_only=bool(getattr(args, "read_only", False)),
        theme=env.get("MESHTUI_THEME") or None,
        keymap=parse_keymap(env.get("MESHTUI_KEYMAP", "")),
    )
