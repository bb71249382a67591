"""A simulated ClusterMesh: Kubernetes-compatible API servers on 127.0.0.1 plus a kubeconfig.

Product code never knows it is simulated: it only sees the kubeconfig this package writes.
This package never imports the app (``tui.app``, ``tui.kube``, ``tui.views``, ``widgets``);
it may import the pure rules in ``tui.mesh`` so Cilium's behaviour has one source of truth.
"""
