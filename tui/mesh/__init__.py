"""Pure ClusterMesh rules: no I/O, no Textual, no kubernetes imports.

Given the objects read from each cluster (``tui.mesh.model``), these modules answer what
Cilium would do: which annotations count, which clusters' backends a client cluster merges,
which backends it selects under affinity, what ``cilium clustermesh status`` would print, and
which connect-time checks fail. The simulator reuses them, so there is one source of truth.
"""
