"""Textual widgets, one per module with its styles beside it. Widgets draw; they never call a cluster."""
