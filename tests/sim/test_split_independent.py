"""The simulated traffic against Cilium's algorithm, reimplemented here *without* meshtui's rules.

The simulator's data plane picks backends with ``tui.mesh.selection``; if that rule were wrong,
a test that derives its expectation from the same module would agree with it. So this module
carries its own few lines of Cilium, written from the sources (not by calling ours), reads the
inputs straight from the simulated API servers (Services, EndpointSlices, the agents' version
from their image), and checks the split of real curl loops run in the client pods:

* ``GetAnnotationServiceAffinity`` — cilium/cilium ``pkg/annotation/clustermesh.go``: up to
  1.19 ``strings.ToLower(value)``; from v1.20.0-pre.3 (cilium/cilium#46635) ``none``/``""`` →
  none, unknown → none.
* ``SelectBackends`` — ``pkg/clustermesh/selectbackends.go`` (1.18+), then the BPF reconciler's
  ``if activeCount == 0 { activeCount = terminatingCount }``.
* ``segregateBackends`` + preferred marks — ``pkg/service/service.go`` / ``pkg/k8s/service_cache.go``
  (1.14–1.17).
* the merge — ``GetAnnotationIncludeExternal`` / ``GetAnnotationShared`` (global only when
  ``true``; shared defaults to true on a global service).
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Iterator

import pytest

from tui.sim.mesh import SimThread
from tui.sim.meshtesting import Http, mesh_sim

CONTEXTS = {"bastion02": "cluster1", "bastion03": "cluster2"}
SVC = "/api/v1/namespaces/song/services/userlist-svc"
REQUESTS = 40

# --- Cilium, from its sources (no tui.mesh import) -------------------------------------------


def get(annotations: dict[str, str], key: str, alias: str) -> str | None:
    """annotation.Get: the first key present wins, even when empty."""
    if key in annotations:
        return annotations[key]
    return annotations.get(alias)


def include_external(annotations: dict[str, str]) -> bool:
    value = get(annotations, "service.cilium.io/global", "io.cilium/global-service")
    return value is not None and value.lower() == "true"


def shared(annotations: dict[str, str]) -> bool:
    if not include_external(annotations):
        return False
    value = get(annotations, "service.cilium.io/shared", "io.cilium/shared-service")
    return True if value is None else value.lower() == "true"


def affinity(annotations: dict[str, str], minor: int) -> str:
    if not include_external(annotations):
        return ""
    value = get(annotations, "service.cilium.io/affinity", "io.cilium/service-affinity")
    if value is None:
        return ""
    lowered = value.lower()
    if minor >= 20:  # cilium/cilium#46635
        return lowered if lowered in ("local", "remote") else ""
    return lowered


def select_118(aff: str, is_global: bool, backends: list[tuple[bool, str]]) -> list[tuple[bool, str]]:
    """(remote?, state) backends → the ones new connections go to (SelectBackends + BPF)."""
    use_local, use_remote = True, False
    if not is_global:
        use_remote = False
    elif aff == "":
        use_remote = True
    else:
        local_healthy = sum(1 for remote, st in backends if not remote)
        local_active = sum(1 for remote, st in backends if not remote and st == "active")
        remote_healthy = sum(1 for remote, st in backends if remote)
        if aff == "local":
            use_remote = local_active == 0 and remote_healthy > 0
        elif aff == "remote":
            use_remote, use_local = True, remote_healthy == 0 and local_healthy > 0
    chosen = [b for b in backends if (use_remote if b[0] else use_local)]
    active = [b for b in chosen if b[1] == "active"]
    return active or [b for b in chosen if b[1] == "terminating"]


def select_114(aff: str, backends: list[tuple[bool, str]]) -> list[tuple[bool, str]]:
    active = [b for b in backends if b[1] == "active"]
    preferred = [b for b in active if (aff == "local" and not b[0]) or (aff == "remote" and b[0])]
    return preferred or active or [b for b in backends if b[1] == "terminating"]


# --- reading the simulated clusters --------------------------------------------------------


async def backends_of(http: Http, context: str) -> list[tuple[str, str]]:
    """(pod IP, state) of userlist-svc's own EndpointSlices (mirrors excluded, as agents do)."""
    slices = await http.get(
        context,
        "/apis/discovery.k8s.io/v1/namespaces/song/endpointslices",
        labelSelector="kubernetes.io/service-name=userlist-svc",
    )
    out = []
    for item in slices["items"]:
        if item["metadata"].get("labels", {}).get("endpointslice.kubernetes.io/managed-by") == (
            "endpointslice-mesh-controller.cilium.io"
        ):
            continue
        for endpoint in item.get("endpoints") or []:
            cond = endpoint.get("conditions") or {}
            ready = cond.get("ready", True)
            terminating = cond.get("terminating", False)
            serving = cond.get("serving", ready)
            state = (
                "active" if ready and not terminating else "terminating" if terminating and serving else ""
            )
            if state:
                out += [(ip, state) for ip in endpoint["addresses"]]
    return out


async def minor_of(http: Http, context: str) -> int:
    pods = await http.get(context, "/api/v1/namespaces/kube-system/pods", labelSelector="k8s-app=cilium")
    image = pods["items"][0]["spec"]["containers"][0]["image"]
    return int(image.rsplit(":v", 1)[1].split(".")[1])


async def expected_split(http: Http, client: str) -> dict[str, float]:
    """The share per cluster Cilium gives new connections from ``client``'s pods."""
    services = {ctx: (await http.get(ctx, SVC))["metadata"].get("annotations") or {} for ctx in CONTEXTS}
    own = services[client]
    minor = await minor_of(http, client)
    backends: list[tuple[bool, str]] = []
    owners: list[str] = []
    for ctx, cluster in CONTEXTS.items():
        remote = ctx != client
        if remote and not (
            include_external(own) and include_external(services[ctx]) and shared(services[ctx])
        ):
            continue
        found = await backends_of(http, ctx)
        if remote and not any(state == "active" for _, state in found):
            continue  # a remote with no ready endpoint contributes nothing
        backends += [(remote, state) for _, state in found]
        owners += [cluster] * len(found)
    aff = affinity(own, minor)
    used = select_118(aff, include_external(own), backends) if minor >= 18 else select_114(aff, backends)
    counts: Counter[str] = Counter()
    remaining = list(zip(backends, owners, strict=True))
    for backend in used:  # map each used backend back to its cluster
        index = next(i for i, (b, _) in enumerate(remaining) if b == backend)
        counts[remaining.pop(index)[1]] += 1
    total = sum(counts.values())
    return {cluster: n / total for cluster, n in counts.items()} if total else {}


async def observed_split(http: Http, client: str) -> tuple[Counter[str], int]:
    """Answers per cluster of a curl loop in ``client``'s curltest pod, and the failures."""
    owners: dict[str, str] = {}
    for ctx, cluster in CONTEXTS.items():
        pods = await http.get(ctx, "/api/v1/namespaces/song/pods", labelSelector="app=userlist")
        ips = [p["status"]["podIP"] for p in pods["items"] if p["status"].get("phase") == "Running"]
        if ips:
            probe = "; ".join(f"curl -sS -m 2 {ip}:8181/users/1; echo" for ip in ips)
            for line in (await http.sh(ctx, probe)).stdout.splitlines():
                if line.strip():
                    owners[json.loads(line)["name"]] = cluster
    curl = "curl -sS -m 1 --connect-timeout 0.3 userlist-svc.song.svc/users/1"
    loop = f"for i in $(seq {REQUESTS}); do {curl}; echo; done"
    result = await http.sh(client, loop)
    answers = [json.loads(line)["name"] for line in result.stdout.splitlines() if line.startswith("{")]
    return Counter(owners[name] for name in answers), REQUESTS - len(answers)


@pytest.fixture
def mixed() -> Iterator[SimThread]:
    sim = mesh_sim("mixed-versions")  # cluster1 Cilium 1.14.1, cluster2 1.18.3
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
async def http(mixed: SimThread) -> AsyncIterator[Http]:
    async with Http(mixed) as client:
        yield client


async def annotate(http: Http, context: str, value: str | None) -> None:
    await http.patch(context, SVC, {"metadata": {"annotations": {"service.cilium.io/affinity": value}}})
    await asyncio.sleep(0.15)  # the agents realize the change after the simulator's sync delay


def agrees(expected: dict[str, float], seen: Counter[str], failed: int) -> bool:
    """Every answer where Cilium sends it: a 100 % cluster gets all, a 50/50 split both halves
    at least a fifth of the requests (p < 1e-4 by chance), nothing fails unless nothing is used."""
    if not expected:
        return not seen and failed == REQUESTS
    if failed:
        return False
    if set(seen) != set(expected):
        return False
    return all(seen[cluster] >= REQUESTS * share / 2.5 for cluster, share in expected.items())


@pytest.mark.parametrize(
    ("client", "value", "independent"),
    [
        ("bastion02", None, {"cluster1": 0.5, "cluster2": 0.5}),  # 1.14: no annotation = all
        ("bastion02", "none", {"cluster1": 0.5, "cluster2": 0.5}),  # 1.14: 'none' is none
        ("bastion02", "local", {"cluster1": 1.0}),
        ("bastion03", None, {"cluster1": 0.5, "cluster2": 0.5}),
        ("bastion03", "none", {"cluster2": 1.0}),  # 1.18: 'none' keeps local only (#46623)
        ("bastion03", "nearest", {"cluster2": 1.0}),  # 1.18: any unknown word, too
        ("bastion03", "remote", {"cluster1": 1.0}),
    ],
)
async def test_curl_split_matches_ciliums_algorithm(
    http: Http, client: str, value: str | None, independent: dict[str, float]
) -> None:
    await annotate(http, client, value)
    expected = await expected_split(http, client)
    assert expected == independent  # the reimplementation reads the clusters as intended
    seen, failed = await observed_split(http, client)
    assert agrees(expected, seen, failed), (expected, seen, failed)


async def test_none_without_local_backend_is_a_blackhole_on_118(http: Http) -> None:
    """#46623: cluster2 (1.18.3) with affinity 'none' and no local pod: nothing answers, while
    the independent rule says so too; removing the annotation brings cluster1's backend back."""
    await http.patch(
        "bastion03", "/apis/apps/v1/namespaces/song/deployments/userlist/scale", {"spec": {"replicas": 0}}
    )
    for _ in range(50):
        if not await backends_of(http, "bastion03"):
            break
        await asyncio.sleep(0.1)
    await annotate(http, "bastion03", "none")
    expected = await expected_split(http, "bastion03")
    assert expected == {}
    seen, failed = await observed_split(http, "bastion03")
    assert agrees(expected, seen, failed), (seen, failed)
    await annotate(http, "bastion03", None)
    expected = await expected_split(http, "bastion03")
    assert expected == {"cluster1": 1.0}
    seen, failed = await observed_split(http, "bastion03")
    assert agrees(expected, seen, failed), (seen, failed)
