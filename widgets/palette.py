"""Semantic colours for Rich text inside widgets, taken from the current Textual theme.

Cells and lines are Rich ``Text`` (DataTable, OptionList and Static render it), which cannot
use Textual's ``$variables``. Resolving the theme's *text-* colours here keeps every pane
readable in light and dark themes; 16-colour terminals get them downgraded by Textual.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import App

from tui.views.clustercolors import ClusterColors


@dataclass(frozen=True, slots=True)
class Palette:
    ok: str
    warn: str
    err: str
    accent: str
    primary: str
    muted: str = "dim"

    def phase(self, phase: str) -> str:
        """The style of a cluster phase (``ok`` / ``syncing`` / ``stale`` / failures)."""
        if phase == "ok":
            return self.ok
        if phase in ("syncing", "stale"):
            return self.warn
        return self.err

    def severity(self, severity: str) -> str:
        return {"error": self.err, "warning": self.warn}.get(severity, self.primary)


_cache: dict[str, Palette] = {}

DEFAULT = Palette(ok="green", warn="yellow", err="red", accent="cyan", primary="blue")


def palette(app: App | None) -> Palette:
    """The palette of ``app``'s current theme (cached per theme name)."""
    if app is None:
        return DEFAULT
    name = app.theme or ""
    found = _cache.get(name)
    if found is None:
        variables = app.get_css_variables()
        found = Palette(
            ok=variables.get("text-success", "green"),
            warn=variables.get("text-warning", "yellow"),
            err=variables.get("text-error", "red"),
            accent=variables.get("text-accent", "cyan"),
            primary=variables.get("text-primary", "blue"),
        )
        _cache[name] = found
    return found


SEVERITY_MARK = {"error": "✗", "warning": "⚠", "info": "ℹ"}


def cluster_colors(app: App | None) -> ClusterColors:
    """The app's colours per cluster (:mod:`tui.views.clustercolors`), by context order.

    The app sets ``cluster_colors`` from each snapshot and theme; a widget drawn alone (tests)
    gets an empty mapping, which colours every cluster grey.
    """
    found = getattr(app, "cluster_colors", None)
    if isinstance(found, ClusterColors):
        return found
    dark = True
    if app is not None:
        dark = bool(getattr(app.current_theme, "dark", True))
    return ClusterColors((), dark)
