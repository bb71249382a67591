"""meshtui: one terminal screen for operators of a Cilium ClusterMesh.

Layers, with data flowing one way:

* ``tui.mesh``  — pure rules (no I/O): what Cilium does with the objects read from each cluster.
* ``tui.kube``  — cluster access: every kubeconfig context at once, live, as immutable snapshots.
* ``tui.views`` — app state: snapshots + rules turned into what the panes and headless commands show.
* ``widgets``   — drawing only; a widget never calls a cluster.
* ``tui.sim``   — a simulated ClusterMesh (fake API servers); it never imports the app.
"""

__version__ = "0.1.0"
