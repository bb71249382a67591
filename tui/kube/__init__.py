"""Cluster access: every kubeconfig context at once, live, as immutable ``tui.mesh.model`` snapshots.

Importing this package is cheap; the modules below load ``kubernetes.aio`` (without the
synchronous client: :mod:`tui.compat.kubernetes_import`) and ``aiohttp`` (about half a
second), so the app imports :mod:`tui.kube.source` only, which loads the rest when it starts
(on its own thread when threaded).

Public API (what the app, its curl loops and the headless commands call):

* :class:`tui.kube.source.KubeSource` ``(kubeconfig=None, contexts=None, read_only=False,
  threaded=True, settings=None)`` — the app's :class:`tui.source.MeshSource`:
  ``snapshot()``, ``listen(cb)`` (called on the hub's thread), ``await start()/stop()``,
  ``await write(action) -> WriteResult``; plus ``wait_synced(timeout)``, ``wait_for(pred,
  timeout)``, ``refresh_cilium(context=None)``, ``agent_service_list(context, pod=None)`` (entries
  or ``None``), ``read_agent_service_list(...) -> AgentServiceList``, ``exec_stream(context,
  namespace, pod, command, container=None, idle_timeout=None, max_lines=None) -> ExecStream``,
  ``exec(...) -> ExecResult``, ``pods_of_deployment(context, namespace, deployment)``,
  ``create_manifests(context, manifests)`` / ``delete_manifests(...) -> list[ManifestResult]``,
  ``check_access(context, verb, resource, group=, subresource=, namespace=) -> AccessDecision``.
* :class:`tui.kube.hub.MeshHub` — the same on the caller's loop (headless: ``asyncio.run``).
* :class:`tui.kube.exec.ExecStream` — ``async for line in stream`` (:class:`ExecLine`: channel,
  text, at), ``await stream.close()`` (ends the command in the pod), ``exit_code``, ``error``,
  ``dropped`` (lines lost to a slow reader), ``await stream.wait()``.
* :class:`tui.kube.settings.HubSettings` — every timeout, interval and bound.
* ``ClusterState.allowed`` keys: :data:`tui.kube.access.ACTION_CHECKS` ids (``patch services``,
  ``patch deployments/scale``, ``create pods/exec``, ...).

Modules: ``config`` (kubeconfig by kubectl's rules), ``client`` (one context's raw HTTP/WebSocket
access), ``watch`` (list + watch reflector), ``parse`` (JSON → model), ``cluster`` (one context's
live state and phase), ``cilium`` / ``exec`` / ``access`` / ``writes``, ``hub``, ``source``,
``redact`` (every message leaving the layer is scrubbed of kubeconfig secrets), ``errors``,
``backoff``, ``settings``.
"""

from tui.compat.kubernetes_import import skip_package_inits

skip_package_inits()  # the kubernetes package's own init loads its synchronous client: not used
