"""Live curl loops: which cluster answers, as it happens, from every cluster at once.

Usable without the TUI (``meshtui curl`` and the app's curl loops both drive it). Entry points:

* :class:`tui.curl.target.CurlTarget` ``(namespace, service, port=80, path="/")`` — validated
  at construction (DNS-1123 names, port range, a path without shell metacharacters);
  :func:`~tui.curl.target.default_target` ``(snapshot, key)`` picks the service's first port and
  ``/users/1`` for userlist; :func:`~tui.curl.target.parse_target` reads ``NS/SVC[:PORT][/PATH]``.
* :class:`tui.curl.loop.CurlLoop` ``(source, context, target, *, interval=1.0, timeout=2.0,
  count=None, client=None, client_deployment=None, ...)`` — ``async for answer in loop`` yields
  :class:`~tui.curl.loop.CurlAnswer` ``(at, from_cluster, to_cluster, pod, body, code, ms,
  error_kind, ...)``; ``await loop.stop()``.
* :class:`tui.curl.session.CurlSession` ``(source, target, *, interval, timeout, count, window,
  clients, on_change, on_answer, on_event)`` — ``await start(contexts=None)``, ``stop()``,
  ``wait(timeout)``, ``relearn()``; ``stats[context]`` (:class:`~tui.curl.stats.LoopStats`:
  ``split()``, ``shares()``, ``expected``, ``latency()``, ``errors``, ``rate(now)``), ``log``,
  ``events``, ``fingerprints`` (the learned map: ``rows``), ``summary()`` (JSON-ready).

The source is a :class:`tui.source.ExecSource`: snapshots (``snapshot``, ``listen``) and the
one exec protocol, :class:`tui.source.PodExec` (``exec``, ``exec_stream``,
``pods_of_deployment``), as :class:`tui.kube.source.KubeSource` offers them. What the loops
compare the answers with (the rules' expected share) is handed in (``expected=``): this
package never imports the views. Importing it imports nothing heavy.
"""
