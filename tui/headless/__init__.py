"""Headless commands: one answer on stdout for scripts, CI jobs and people without a screen.

``meshtui status|services|backends|curl`` read the mesh; ``meshtui affinity|global|shared|scale``
change it. They use the same cluster-access layer (:class:`tui.kube.source.KubeSource`, run on
``asyncio.run`` in the main thread) and the same view models (:mod:`tui.views`) as the TUI, so a
script and the screen always say the same thing.

Modules (every top level stays light: ``meshtui --help`` imports each registration module):

* :mod:`tui.headless.options` — shared options, target parsing, exit codes, :class:`UsageError`.
* :mod:`tui.headless.session` — start the simulator (``--demo``), the source, bounded sync,
  Ctrl-C / SIGTERM, always stop everything (:func:`execute`, :class:`Session`).
* :mod:`tui.headless.reach` — which clusters could be read, findings for those that could not.
* :mod:`tui.headless.output` — ``-o table|json|yaml``: the console, dumps, stderr messages.
* :mod:`tui.headless.tables` — rich renderables of the views (pure).
* :mod:`tui.headless.reads` — ``status``, ``services``, ``backends``.
* :mod:`tui.headless.writes` — ``affinity``, ``global``, ``shared``, ``scale``.
* :mod:`tui.headless.curl` — ``curl`` (on the curl engine, :mod:`tui.curl`).

Exit codes: 0 answered; 1 the answer holds an error-severity finding (status) or an action
failed; 2 usage or connection error (the message is on stderr); 130 interrupted.
"""
