"""Cluster access: every kubeconfig context at once, live, as immutable ``tui.mesh.model`` snapshots."""
