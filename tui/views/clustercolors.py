"""One colour (and one mark) per cluster, the same in every pane it appears in.

Colours are assigned by the order of the contexts (the kubeconfig's order, the order of the
Contexts pane), so a cluster keeps its colour for the session and ``cluster1`` of the seed is
always the first colour. The palette is Okabe-Ito's (colour-blind safe: it stays distinct
under the common colour-vision deficiencies), in a dark-background and a light-background
variant (yellow and sky blue darkened to be readable on white). Terminals with 16 colours get
them downgraded by Textual; two clusters may then look alike, which is why the cluster's name
is always written beside its colour and each cluster also has its own mark (``●`` ``■`` ``▲``...)
in the curl timeline: colour is never the only carrier.

Plain data, no Textual: the widgets and the curl view's text builders ask :func:`color_of`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

DARK = ("#56B4E9", "#E69F00", "#009E73", "#CC79A7", "#F0E442", "#0072B2", "#D55E00")
"""Okabe-Ito on a dark background: sky blue, orange, bluish green, reddish purple, yellow,
blue, vermillion (black left out: it is the background)."""
LIGHT = ("#0072B2", "#B35F00", "#007A5A", "#A8507F", "#8C7A00", "#2E6E9E", "#C14E00")
"""The same hues darkened for a light background (contrast about 4.5:1 on white)."""
MARKS = ("●", "■", "▲", "◆", "▼", "★", "✚")
"""One mark per colour: the curl timeline stays readable without colour."""
UNKNOWN_COLOR = "#999999"


@dataclass(frozen=True, slots=True)
class ClusterColors:
    """The colours of one snapshot's clusters (by context order) for a dark or light theme."""

    order: tuple[str, ...] = ()
    """Cluster names in context order."""
    dark: bool = True

    @classmethod
    def of(cls, clusters: Iterable[str], *, dark: bool = True) -> ClusterColors:
        seen: list[str] = []
        for name in clusters:
            if name and name not in seen:
                seen.append(name)
        return cls(tuple(seen), dark)

    def index(self, cluster: str | None) -> int | None:
        if cluster is None or cluster not in self.order:
            return None
        return self.order.index(cluster)

    def color(self, cluster: str | None) -> str:
        """The cluster's colour (a hex string); grey for a cluster not in the mesh."""
        index = self.index(cluster)
        if index is None:
            return UNKNOWN_COLOR
        colors = DARK if self.dark else LIGHT
        return colors[index % len(colors)]

    def mark(self, cluster: str | None) -> str:
        """The cluster's mark in timelines (``?`` for an unknown one)."""
        index = self.index(cluster)
        return "?" if index is None else MARKS[index % len(MARKS)]


def color_of(colors: ClusterColors | None, cluster: str | None) -> str:
    """``colors.color(cluster)``, or no style without a mapping (tests drawing alone)."""
    return "" if colors is None else colors.color(cluster)
