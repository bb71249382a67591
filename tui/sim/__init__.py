"""A simulated ClusterMesh: Kubernetes-compatible API servers on 127.0.0.1 plus a kubeconfig.

Product code never knows it is simulated: it only sees the kubeconfig this package writes.
This package never imports the app (``tui.app``, ``tui.kube``, ``tui.views``, ``widgets``);
it may import the pure rules in ``tui.mesh`` so Cilium's behaviour has one source of truth.

Entry points (import the modules, this package imports nothing heavy):

* ``tui.sim.mesh.SimMesh(scenario, *, plain_http, kubeconfig_path, user, watch_history,
  ready_delay, termination_grace, seed)`` — ``await start()`` / ``await stop()`` on a loop;
  ``.clusters`` (by Cilium name), ``.cluster(name_or_context)``, ``.write_kubeconfig(path, user)``,
  ``.network_factory`` (part 2: ``(cluster, pod) -> Network`` for exec programs).
* ``tui.sim.mesh.SimThread(scenario, *, kubeconfig_path=None, **mesh_kwargs)`` — the same in a
  daemon thread: ``with SimThread("seed") as sim:`` → ``sim.kubeconfig_path``, ``sim.mesh``,
  ``sim.call(fn, *args)`` (runs ``fn`` on the simulator's loop, awaiting coroutines), ``stop()``.
* ``tui.sim.testing.fast_sim()`` / ``Kubectl`` — for tests (near-zero delays; real kubectl with
  an isolated cache dir and timeouts).

Per cluster (``tui.sim.cluster.SimCluster``, use on the simulator's loop, e.g. via ``sim.call``):
``store`` (``get/items/iter``, ``subscribe(callback)`` for extra controllers, ``compact()``,
``expire_watches()``), ``create_object(manifest)``, ``create/update/patch/delete`` (the API's
admission path), ``add_user(auth.User) -> token``, ``admin_token``/``readonly_token``,
``request_hooks`` (async ``(request) -> response | None`` consulted before every request: API
faults), ``listen()``/``stop_listening()`` (API server up/down on the same port),
``controllers.extra`` (more reactions to store events), ``registry`` (served types;
``resources.register_type`` adds one to every new cluster; ``kubectl.register_printer`` its
columns). Exec programs: ``tui.sim.programs.register_program(name, matcher, first=...)``; a
program's ``ExecRequest.extras`` holds ``"mesh"`` (the SimMesh) and ``"sim_cluster"`` (its
SimCluster), ``ExecRequest.network`` what ``SimMesh.network_factory`` returned.
Scenario keys this part does not know stay in ``Scenario.extra`` / ``ClusterSpec.extra``.

Part 2 (Cilium, ClusterMesh, data plane, faults): ``SimMesh(..., sync_delay, link_latency,
connect_delay, syn_timeout, cilium=True)``; ``mesh.cilium`` (:class:`tui.sim.ciliummesh.CiliumMesh`:
``settings``, ``views`` — each cluster's agents' realized services, ``links`` — ClusterMesh links
and their health, ``dataplane``, ``connect(a, b)`` / ``disconnect(a, b)``); ``mesh.faults``
(:mod:`tui.sim.faults`, coroutines: ``api_down``, ``api_slow``, ``api_errors``,
``expire_watches``, ``link_down``, ``apiserver_down``, ``agent_not_ready``, ``heal``, ``list``);
:mod:`tui.sim.control` (the fault endpoint of ``meshtui sim``, ``state_path_for(kubeconfig)``);
:mod:`tui.sim.meshtesting` (``mesh_sim``, ``Http``, ``curl_loop``, ``userlist_owners``).
"""
