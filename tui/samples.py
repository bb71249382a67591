"""Sample apps for the curl loops: the field guide's userlist and Cilium's rebel-base demo.

``meshtui sample deploy|delete [--app userlist|rebel-base] [--namespace NS] [--context C ...]``
creates (or removes) in every chosen cluster what the workflow's step 6 creates by hand: the
namespace, the backend Deployment, a Service annotated ``service.cilium.io/global`` and
``shared`` (so the clusters share it), and a client Deployment with curl for the loops. The
palette offers the same (``Sample: deploy userlist`` ...).

* userlist (field guide): Deployment ``userlist`` (``ssongman/userlist:v1``, port 8181),
  Service ``userlist-svc`` 80 → 8181, client ``curltest`` (``curlimages/curl``, ``sleep 365d``).
* rebel-base (Cilium's demo): Deployment ``rebel-base`` (nginx ×2) serving
  ``{"Galaxy": "Alderaan", "Cluster": "Cluster-N"}`` from a per-cluster ConfigMap (N = the
  cluster's Cilium id, else its position), Service ``rebel-base``, client ``x-wing``. Cilium's
  own x-wing runs ``cilium/json-mock``; here it runs ``curlimages/curl`` like curltest, the
  image the curl loops are known to work with (POSIX ``sh`` and a recent curl).

Deploying is idempotent: existing objects are left unchanged and reported so. Deleting removes
the objects in reverse order; the namespace only with ``--with-namespace`` (it may hold other
things), never ``default`` or ``kube-*``. Both are writes like the others: the app asks first in
a dialog naming every context and object, and the command asks the same on a terminal and
refuses without one unless ``--yes``; without ``--context`` it says that every context of the
kubeconfig is used. Manifests are built here in Python from validated
names, never from text the user typed.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tui.curl.target import InvalidInput, check_label
from tui.mesh.annotations import ANNOTATION_GLOBAL, ANNOTATION_SHARED
from tui.safetext import safe_block, safe_line

APPS = ("userlist", "rebel-base")
DEFAULT_NAMESPACE = "song"
PROTECTED_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
PART_OF = {"app.kubernetes.io/part-of": "meshtui-sample"}
USERLIST_IMAGE = "ssongman/userlist:v1"
CURL_IMAGE = "curlimages/curl"
NGINX_IMAGE = "docker.io/nginx:1.15.8"


def rebel_label(cluster_id: int | None, position: int) -> str:
    """``Cluster-1``: what rebel-base answers in a cluster (its Cilium id, else its position)."""
    return f"Cluster-{cluster_id if cluster_id is not None else position}"


def _meta(name: str, namespace: str, labels: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "labels": {**PART_OF, **(labels or {})}}
    meta.update(extra)
    return meta


def _deployment(
    name: str,
    namespace: str,
    selector: dict[str, str],
    container: dict[str, Any],
    *,
    replicas: int = 1,
    volumes: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [container]}
    if volumes:
        spec["volumes"] = volumes
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(name, namespace, dict(selector)),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(selector)},
            "template": {"metadata": {"labels": {**PART_OF, **selector}}, "spec": spec},
        },
    }


def _service(name: str, namespace: str, selector: dict[str, str], port: int, target: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(
            name, namespace, annotations={ANNOTATION_GLOBAL: "true", ANNOTATION_SHARED: "true"}
        ),
        "spec": {
            "type": "ClusterIP",
            "selector": dict(selector),
            "ports": [{"port": port, "targetPort": target, "protocol": "TCP"}],
        },
    }


def _client(name: str, namespace: str, selector: dict[str, str]) -> dict[str, Any]:
    container = {"name": "curl", "image": CURL_IMAGE, "command": ["sleep", "365d"]}
    return _deployment(name, namespace, selector, container)


def namespace_manifest(namespace: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": dict(PART_OF)}}


def manifests(
    app: str,
    namespace: str = DEFAULT_NAMESPACE,
    *,
    cluster_label: str = "Cluster-1",
    with_namespace: bool = True,
) -> list[dict[str, Any]]:
    """The sample's objects for one cluster, in creation order (names validated first)."""
    check_label(namespace, "namespace")
    if app not in APPS:
        raise InvalidInput(f"unknown sample app {app!r} (have: {', '.join(APPS)})")
    out: list[dict[str, Any]] = []
    if with_namespace and namespace not in PROTECTED_NAMESPACES:
        out.append(namespace_manifest(namespace))
    if app == "userlist":
        container = {
            "name": "userlist",
            "image": USERLIST_IMAGE,
            "ports": [{"containerPort": 8181, "protocol": "TCP"}],
        }
        out.append(_deployment("userlist", namespace, {"app": "userlist"}, container))
        out.append(_service("userlist-svc", namespace, {"app": "userlist"}, 80, 8181))
        out.append(_client("curltest", namespace, {"app": "curltest"}))
        return out
    message = json.dumps({"Galaxy": "Alderaan", "Cluster": cluster_label}) + "\n"
    out.append(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": _meta("rebel-base-response", namespace),
            "data": {"message": message},
        }
    )
    container = {
        "name": "rebel-base",
        "image": NGINX_IMAGE,
        "ports": [{"containerPort": 80, "protocol": "TCP"}],
        "env": [{"name": "CLUSTER_LABEL", "value": cluster_label}],
        "volumeMounts": [
            {"name": "html", "mountPath": "/usr/share/nginx/html/index.html", "subPath": "message"}
        ],
        "readinessProbe": {"httpGet": {"path": "/", "port": 80}, "periodSeconds": 1},
    }
    volumes = [{"name": "html", "configMap": {"name": "rebel-base-response"}}]
    out.append(
        _deployment("rebel-base", namespace, {"name": "rebel-base"}, container, replicas=2, volumes=volumes)
    )
    out.append(_service("rebel-base", namespace, {"name": "rebel-base"}, 80, 80))
    out.append(_client("x-wing", namespace, {"name": "x-wing"}))
    return out


def cluster_labels(snapshot: Any, contexts: Sequence[str]) -> dict[str, str]:
    """rebel-base's ``Cluster-N`` per context: the Cilium id when known, else the position."""
    labels = {}
    for position, context in enumerate(contexts, start=1):
        state = snapshot.by_context(context) if snapshot is not None else None
        cluster_id = state.cilium.cluster_id if state is not None else None
        labels[context] = rebel_label(cluster_id, position)
    return labels


async def apply_sample(
    source: Any,
    contexts: Sequence[str],
    *,
    app: str = "userlist",
    namespace: str = DEFAULT_NAMESPACE,
    delete: bool = False,
    with_namespace: bool = False,
) -> dict[str, list[Any]]:
    """Create (or delete) the sample in each context through the source; results per context.

    Creating always includes the namespace (unless protected); deleting includes it only with
    ``with_namespace``. The source refuses everything in read-only mode (each result says so).
    """
    labels = cluster_labels(source.snapshot(), contexts)
    results: dict[str, list[Any]] = {}
    for context in contexts:
        docs = manifests(
            app, namespace, cluster_label=labels[context], with_namespace=not delete or with_namespace
        )
        if delete:
            results[context] = await source.delete_manifests(context, docs)
        else:
            results[context] = await source.create_manifests(context, docs)
    return results


def objects_text(app: str, namespace: str, *, delete: bool, with_namespace: bool = False) -> str:
    """``namespace song, deployment song/userlist, service song/userlist-svc, ...``: what is
    written, in the order it is written."""
    docs = manifests(app, namespace, with_namespace=not delete or with_namespace)
    if delete:
        docs = list(reversed(docs))
    names = []
    for doc in docs:
        kind, meta = doc["kind"].lower(), doc["metadata"]
        names.append(
            f"{kind} {meta['name']}" if kind == "namespace" else f"{kind} {namespace}/{meta['name']}"
        )
    return ", ".join(names)


def confirmation_text(
    app: str, namespace: str, where: Sequence[str], *, delete: bool, with_namespace: bool = False
) -> str:
    """What the app's dialog and the command's prompt ask: every context, every object."""
    verb = "Delete" if delete else "Deploy"
    lines = [
        f"{verb} the {app} sample {'from' if delete else 'into'} {len(where)} "
        f"context{'s' if len(where) != 1 else ''}: {', '.join(where)}",
        f"{'deleting' if delete else 'creating'} in each: "
        + objects_text(app, namespace, delete=delete, with_namespace=with_namespace),
    ]
    if delete and not with_namespace:
        lines.append(f"The namespace {namespace} itself is kept.")
    elif not delete:
        lines.append("Objects that exist already are left unchanged.")
    return "\n".join(lines)


@dataclass(frozen=True)
class SamplePlan:
    """Deploying or deleting a sample from the app: where, and what the confirmation says."""

    app: str
    namespace: str
    delete: bool
    contexts: tuple[str, ...]
    where: tuple[str, ...]
    """``bastion02 (cluster1)`` per context."""

    @property
    def verb(self) -> str:
        return "delete" if self.delete else "deploy"

    @property
    def title(self) -> str:
        return f"{self.verb.capitalize()} the {self.app} sample?"

    @property
    def body(self) -> str:
        return confirmation_text(self.app, self.namespace, self.where, delete=self.delete)


def plan_sample(
    snapshot: Any, app: str, *, delete: bool, namespace: str = DEFAULT_NAMESPACE
) -> SamplePlan | str:
    """The app's sample write into every context writes may go to now (the one phase rule of
    :mod:`tui.writeplan`: ``ok``), or why there is none."""
    usable = [s for s in snapshot.clusters if s.writable]
    if not usable:
        return "no cluster can be written right now"
    return SamplePlan(
        app,
        namespace,
        delete,
        tuple(s.context for s in usable),
        tuple(f"{s.context} ({s.cluster})" for s in usable),
    )


def result_counts(results: Sequence[Any]) -> dict[str, int]:
    """``{"created": 3, "already exists (left unchanged)": 1, "failed": 0}`` for a summary line."""
    counts: dict[str, int] = {}
    for result in results:
        key = result.message if result.ok else ("refused" if result.refused else "failed")
        counts[key] = counts.get(key, 0) + 1
    return counts


def summary_text(results: Sequence[Any]) -> str:
    return ", ".join(f"{n} {what}" for what, n in result_counts(results).items()) or "nothing to do"


# -- meshtui sample ------------------------------------------------------------------------------

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def register(subparsers: Any) -> None:
    """``meshtui sample deploy|delete``; cluster options repeat the top level's (``SUPPRESS``
    defaults: a subparser's real default would overwrite ``meshtui --context a sample ...``)."""
    suppress = argparse.SUPPRESS
    parser = subparsers.add_parser(
        "sample",
        help="deploy or delete a sample app (userlist, rebel-base) in every cluster",
        description=(
            "Create (deploy) or remove (delete) a sample app for the curl loops in every chosen "
            "cluster: namespace, backend Deployment, a Service annotated service.cilium.io/global "
            "and shared, and a client Deployment with curl. Deploy is idempotent (existing objects "
            "are left unchanged and reported so); delete keeps the namespace unless "
            "--with-namespace. Both ask first, naming every context and object (--yes to skip, "
            "required without a terminal); without --context every context is used, and said so. "
            "Exit codes: 0 done, 1 something failed or not confirmed, 2 refused or bad input."
        ),
    )
    parser.add_argument("action", choices=("deploy", "delete"))
    parser.add_argument("--app", choices=APPS, default="userlist", help="which sample (default: userlist)")
    parser.add_argument(
        "-n", "--namespace", default=DEFAULT_NAMESPACE, help=f"namespace (default: {DEFAULT_NAMESPACE})"
    )
    parser.add_argument(
        "-y",
        "--yes",
        action="store_true",
        help="deploy or delete without asking (required without a terminal)",
    )
    parser.add_argument(
        "--with-namespace", action="store_true", help="delete: remove the namespace too (and all in it)"
    )
    parser.add_argument("--kubeconfig", metavar="PATH", default=suppress, help="kubeconfig file")
    parser.add_argument(
        "--context", action="append", dest="contexts", metavar="NAME", default=suppress,
        help="a context to use; repeat for several (default: every context)",
    )  # fmt: skip
    parser.add_argument(
        "--read-only", action="store_true", default=suppress, help="refuse to write (nothing is sent)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=20.0,
        metavar="S",
        help="seconds to wait for the clusters (default: 20)",
    )


def stdin_is_tty() -> bool:
    """Whether a person can answer the prompt (tests replace this)."""
    import sys

    isatty = getattr(sys.stdin, "isatty", None)
    return bool(isatty and isatty())


def _err(text: str) -> None:
    import sys

    print(safe_block(text), file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    """``meshtui sample deploy|delete``: exit 0 done, 1 failed / not confirmed, 2 refused / bad input."""
    import asyncio
    import logging

    root = logging.getLogger()
    quiet = logging.NullHandler() if not root.handlers else None
    if quiet is not None:
        root.addHandler(quiet)  # library warnings must not mix with the report on stderr
    try:
        return asyncio.run(_run(args))
    except KeyboardInterrupt:
        _err("meshtui sample: interrupted")
        return EXIT_INTERRUPTED
    finally:
        if quiet is not None:
            root.removeHandler(quiet)


async def _run(args: argparse.Namespace) -> int:
    import asyncio
    import contextlib

    delete = args.action == "delete"
    verb = "delete" if delete else "deploy"
    try:
        manifests(args.app, args.namespace, with_namespace=not delete or args.with_namespace)
    except InvalidInput as exc:
        _err(f"meshtui sample: {exc}")
        return EXIT_USAGE
    if getattr(args, "read_only", False):
        _err(f"meshtui sample: --read-only: refusing to {verb} the {args.app} sample (nothing was sent)")
        return EXIT_USAGE
    if not args.yes and not stdin_is_tty():
        _err(
            f"meshtui sample: refusing to {verb} without a terminal to confirm on; "
            "pass --yes to confirm (nothing was sent)"
        )
        return EXIT_USAGE
    if args.timeout <= 0:
        _err("meshtui sample: --timeout must be more than 0 seconds")
        return EXIT_USAGE
    from tui.kube.source import KubeSource
    from tui.writeplan import unwritable_reason

    source = KubeSource(getattr(args, "kubeconfig", None), getattr(args, "contexts", None), threaded=False)
    try:
        await source.start()
        with contextlib.suppress(TimeoutError):
            await source.wait_synced(args.timeout)
        snapshot = source.snapshot()
        for problem in snapshot.config_errors:
            _err(f"meshtui sample: {problem}")
        # A write like the others: only where writes go (tui.writeplan's phase rule: ok)
        usable = [s.context for s in snapshot.clusters if s.writable]
        skipped = [s for s in snapshot.clusters if not s.writable]
        for state in skipped:
            _err(safe_line(f"meshtui sample: {state.context}: {unwritable_reason(state)}; skipped"))
        if not usable:
            _err("meshtui sample: no cluster can be written now; nothing was sent")
            return EXIT_USAGE
        where = [f"{c} ({snapshot.by_context(c).cluster})" for c in usable]  # type: ignore[union-attr]
        if not getattr(args, "contexts", None):
            every = ", ".join(where)
            _err(f"meshtui sample: no --context given: every context of the kubeconfig is used: {every}")
        if not args.yes:
            _err(
                confirmation_text(
                    args.app, args.namespace, where, delete=delete, with_namespace=args.with_namespace
                )
            )
            _err(f"{verb.capitalize()}? [y/N] ")
            import sys

            answer = await asyncio.to_thread(sys.stdin.readline)
            if answer.strip().lower() not in ("y", "yes"):
                _err(f"meshtui sample: not confirmed; nothing was {'deleted' if delete else 'deployed'}")
                return EXIT_FAILED
        results = await apply_sample(
            source,
            usable,
            app=args.app,
            namespace=args.namespace,
            delete=delete,
            with_namespace=args.with_namespace,
        )
    finally:
        await source.stop()
    failed = bool(skipped)
    for context, items in results.items():
        for result in items:
            state = result.message if result.ok else f"FAILED: {result.message}"
            print(safe_line(f"{context:<16} {result.target:<44} {state}"))
            failed = failed or not result.ok
        print(safe_line(f"{context:<16} {verb}: {summary_text(items)}"))
    return EXIT_FAILED if failed else EXIT_OK
