"""meshtui's widgets: one pane per module, each with its styles beside it (``DEFAULT_CSS``).

Widgets draw view models from :mod:`tui.views` and post messages; they never read snapshots,
talk to a source or decide rules themselves, so the app stays the only place that wires them.
"""
