"""View models: what the panes draw and the headless commands print, derived from a snapshot.

Pure functions and frozen dataclasses, no Textual: ``MeshSnapshot`` + the rules core
(``tui.mesh``) in, rows out. Each view has ``to_json()`` with the shapes the headless commands
(``meshtui status|services|backends -o json``) print, so the TUI and the scripts say the same.
One module per pane:

* :mod:`tui.views.status` — Contexts and Mesh panes, ``meshtui status`` (:class:`StatusView`);
* :mod:`tui.views.services` — Global services pane, ``meshtui services`` (:class:`ServicesView`);
* :mod:`tui.views.backends` — Backends pane, ``meshtui backends`` (:class:`BackendsPerspective`);
* :mod:`tui.views.labels` — how a cluster's state and a service key read, everywhere;
* :mod:`tui.views.meshcache` — ClusterMesh statuses computed once per Cilium answer;
* :mod:`tui.views.builder` — :class:`ViewBuilder`: one consumer's builders and their cache.

Importing this package imports none of them (the app's first frame does not wait for them).
"""
