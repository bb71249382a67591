"""meshtui: one terminal screen for operators of a Cilium ClusterMesh.

Layers, with data flowing one way:

* ``tui.mesh``    — pure rules (no I/O): what Cilium does with the objects read from each cluster.
* ``tui.kube``    — cluster access: every kubeconfig context at once, live, as immutable snapshots.
* ``tui.curl``    — curl loops in client pods and who answered (handed what to compare with).
* ``tui.views``   — view models, one module per pane: what the panes and headless commands show.
* ``tui.appcore`` — the app's Textual-free core: when to compute and apply, agent lists, keys,
  launch, the curl loops' control; ``tui.writeplan``: write planning shared with headless.
* ``tui.app``, ``tui.screens``, ``widgets`` — Textual: composition, dialogs, drawing only.
* ``tui.sim``     — a simulated ClusterMesh (fake API servers); it never imports the app.

ARCHITECTURE.md draws the layout and the import contracts that keep it.
"""

__version__ = "0.1.0"
