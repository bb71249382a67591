"""The app's Textual-free core: everything :class:`tui.app.MeshtuiApp` decides, without drawing.

The app class keeps composition, bindings and routing; what it decides lives here, testable
without Textual (``tests/appcore``) and checked never to import it (an import contract):

* :mod:`tui.appcore.screenviews` — the views one repaint draws, and when an apply changed nothing;
* :mod:`tui.appcore.coalesce` — snapshot coalescing: at most one visible apply per window;
* :mod:`tui.appcore.agentlists` — when to read an agent's ``cilium service list``, per context;
* :mod:`tui.appcore.activity` — what goes to the activity log as snapshots arrive;
* :mod:`tui.appcore.keys` — the key table (binding ids, help, write keys) and keymap parsing;
* :mod:`tui.appcore.palette` — what the command palette offers, and why a write cannot run;
* :mod:`tui.appcore.curl` — the app's curl loops (what their keys do) and the view the pane draws;
* :mod:`tui.appcore.launch` — from ``meshtui`` arguments to a source, a label and settings.

Write planning (which write, on which context, with what warning) is shared with the headless
commands and lives in :mod:`tui.writeplan`.
"""
