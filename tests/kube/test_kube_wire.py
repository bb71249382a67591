"""The msgspec path (``tui.kube.wire``) against the stdlib path (``json`` + ``tui.kube.parse``).

Both read the same answers into the same model values: the simulator's real answers (lists of
every kind the layer decodes, in several scenarios), and hand-built objects with every field
left out, set to null, or next to unknown fields. A value of the wrong type is never coerced by
the msgspec path: it fails with a ``ValidationError``, which a reflector reports on its cluster
("unexpected answer listing services: Expected ... - at `$.items[0]...`"), never a crash.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable, Iterator
from typing import Any

import msgspec
import pytest

from tui.kube import parse, wire
from tui.kube.client import KubeClient, Timeouts
from tui.kube.cluster import base_specs, pod_spec
from tui.kube.config import load_configuration, read_kubeconfig
from tui.kube.errors import KubeError
from tui.kube.watch import Gone, Reflector, ResourceSpec
from tui.sim.mesh import SimThread
from tui.sim.scenario import generated

# -- hand-built objects: every field the parsers read ---------------------------------------------

SERVICE = {
    "metadata": {
        "name": "rebel-base",
        "namespace": "default",
        "resourceVersion": "42",
        "annotations": {"service.cilium.io/global": "true", "service.cilium.io/affinity": "local"},
        "labels": {"app": "rebel-base"},
    },
    "spec": {
        "type": "LoadBalancer",
        "clusterIP": "10.96.0.7",
        "ports": [
            {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP", "nodePort": 31000},
            {"name": "admin", "port": 9090, "targetPort": 9091, "protocol": "UDP"},
        ],
        "selector": {"name": "rebel-base"},
    },
    "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}, {"hostname": "lb.example"}, {}]}},
}
SLICE = {
    "metadata": {
        "name": "rb-x",
        "namespace": "default",
        "resourceVersion": "7",
        "labels": {parse.SERVICE_NAME_LABEL: "rebel-base", parse.MANAGED_BY_LABEL: "controller"},
    },
    "addressType": "IPv4",
    "ports": [{"name": "http", "port": 8080}, {"name": "admin", "port": 9090}],
    "endpoints": [
        {"addresses": ["10.1.0.5"], "conditions": {"ready": True, "serving": True, "terminating": False},
         "nodeName": "n1", "targetRef": {"kind": "Pod", "name": "rebel-base-1"}},
        {"addresses": ["10.1.0.6", "10.1.0.9"], "conditions": {"ready": False, "terminating": True},
         "nodeName": "n2", "targetRef": {"kind": "Pod", "name": "rebel-base-2"}},
        {"addresses": ["10.1.0.7"], "targetRef": {"kind": "Node", "name": "n3"}},
    ],
}  # fmt: skip
POD = {
    "metadata": {
        "name": "cilium-6c9f7d-abcde",
        "namespace": "kube-system",
        "resourceVersion": "9",
        "labels": {"pod-template-hash": "6c9f7d", "k8s-app": "cilium"},
        "ownerReferences": [{"kind": "ReplicaSet", "name": "cilium-6c9f7d"}],
        "deletionTimestamp": "2024-01-01T00:00:00Z",
    },
    "spec": {
        "nodeName": "n1",
        "containers": [
            {"name": "mount", "image": "busybox"},
            {"name": "cilium-agent", "image": "quay.io/cilium/cilium:v1.18.2@sha256:0"},
        ],
    },
    "status": {
        "phase": "Running",
        "podIP": "10.0.0.1",
        "startTime": "2024-01-01T00:00:00Z",
        "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}],
    },
}
DEPLOYMENT = {
    "metadata": {
        "name": "clustermesh-apiserver",
        "namespace": "kube-system",
        "resourceVersion": "11",
        "generation": 3,
        "labels": {"app": "x"},
        "annotations": {"a": "b"},
    },
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "x"}},
        "template": {"spec": {"containers": [{"name": "kvstoremesh", "image": "img:1"}]}},
    },
    "status": {"readyReplicas": 1, "availableReplicas": 1, "updatedReplicas": 2, "observedGeneration": 3},
}
NODE = {
    "metadata": {"name": "n1", "resourceVersion": "5"},
    "spec": {"podCIDR": "10.1.0.0/24", "podCIDRs": ["10.1.0.0/24", "fd00::/64"]},
    "status": {
        "addresses": [
            {"type": "ExternalIP", "address": "1.2.3.4"},
            {"type": "InternalIP", "address": "172.30.1.89"},
            {"type": "InternalIP", "address": "172.30.1.90"},
        ],
        "conditions": [{"type": "Ready", "status": "True"}],
    },
}

KINDS: dict[str, tuple[dict[str, Any], Callable[[Any], Any], wire.Codec]] = {
    "service": (SERVICE, parse.service, wire.SERVICES),
    "slice": (SLICE, lambda o: parse.endpoint_slice(o, "c1"), wire.endpoint_slices(lambda: "c1")),
    "pod": (POD, parse.pod, wire.PODS),
    "agent": (POD, parse.agent_pod, wire.AGENTS),
    "deployment": (DEPLOYMENT, parse.deployment, wire.DEPLOYMENTS),
    "node": (NODE, parse.node, wire.NODES),
}


MAPS = ("labels", "annotations", "selector", "matchLabels")
"""String maps: their entries are values, not fields (a null entry is a wrong type)."""


def paths(value: Any, prefix: tuple[Any, ...] = (), *, entries: bool = True) -> Iterator[tuple[Any, ...]]:
    """Every path to a value inside ``value`` (dict keys and list indexes), outermost first;
    without ``entries``, not the entries of string maps."""
    if isinstance(value, dict):
        if not entries and prefix[-1:] and prefix[-1] in MAPS:
            return
        for key, item in value.items():
            yield (*prefix, key)
            yield from paths(item, (*prefix, key), entries=entries)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*prefix, index)
            yield from paths(item, (*prefix, index), entries=entries)


def changed(obj: dict[str, Any], path: tuple[Any, ...], change: Callable[[Any, Any], None]) -> dict[str, Any]:
    new = copy.deepcopy(obj)
    parent = new
    for step in path[:-1]:
        parent = parent[step]
    change(parent, path[-1])
    return new


def both(obj: Any, stdlib: Callable[[Any], Any], codec: wire.Codec) -> tuple[Any, Any]:
    """(stdlib's value or its exception, msgspec's value or its exception) for one object."""
    data = json.dumps(obj).encode()
    try:
        expected = stdlib(json.loads(data))
    except Exception as exc:
        expected = exc
    try:
        got = codec.read(codec.object_decoder.decode(data))
    except Exception as exc:
        got = exc
    return expected, got


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_field_left_out_or_null_reads_as_the_stdlib_path_does(kind: str) -> None:
    """Absent and null mean the same in both paths, for every field at every depth."""
    sample, stdlib, codec = KINDS[kind]
    expected, got = both(sample, stdlib, codec)
    assert got == expected and not isinstance(got, Exception)
    cases = 0
    for path in paths(sample, entries=False):
        for how, change in (
            ("left out", lambda parent, key: parent.pop(key)),
            ("null", lambda parent, key: parent.__setitem__(key, None)),
        ):
            if isinstance(path[-1], int):
                continue  # a list item is a value, not a field (null: see the wrong types)
            obj = changed(sample, path, change)
            expected, got = both(obj, stdlib, codec)
            where = f"{kind} {'.'.join(map(str, path))} {how}"
            assert got == expected and not isinstance(got, Exception), where
            cases += 1
    assert cases > 10


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_unknown_fields_are_skipped(kind: str) -> None:
    sample, stdlib, codec = KINDS[kind]
    noisy = copy.deepcopy(sample)
    for path in [(), *paths(sample)]:
        parent: Any = noisy
        for step in path:
            parent = parent[step]
        if isinstance(parent, dict) and not (path[-1:] and path[-1] in MAPS):
            parent["zz-unknown"] = {"managedFields": [{"deep": [[{"x": None}]]}], "n": 1.5e300}
    assert both(noisy, stdlib, codec)[1] == both(sample, stdlib, codec)[0]


WRONG = (None, 7, -1, 2**70, 1.5, True, "text", "", [], ["x"], {}, {"a": 1})


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_wrong_type_fails_with_its_path_and_is_never_coerced(kind: str) -> None:
    """Where stdlib would coerce (a number as a name, a string as a condition, null as a label
    value), msgspec refuses with a ValidationError naming where; where it accepts, it reads what
    stdlib reads."""
    sample, stdlib, codec = KINDS[kind]
    refused = 0
    for path in paths(sample):
        for value in WRONG:
            obj = changed(sample, path, lambda parent, key, v=value: parent.__setitem__(key, v))
            expected, got = both(obj, stdlib, codec)
            where = f"{kind} {'.'.join(map(str, path))} = {value!r}"
            if isinstance(got, Exception):
                assert isinstance(got, msgspec.ValidationError), f"{where}: {got!r}"
                assert "Expected `" in str(got) and " - at `$." in str(got), where
                refused += 1
            else:
                assert got == expected, where
    assert refused > 20


# -- the simulator's answers, through a reflector with and without its codec ------------------------


class Recorder:
    def __init__(self) -> None:
        self.changes: list[set[Any]] = []

    def change(self, reflector: Reflector, keys: set[Any]) -> None:
        self.changes.append(keys)

    def state(self, reflector: Reflector) -> None:
        pass


async def listed(client: KubeClient, spec: ResourceSpec, page_size: int) -> Reflector:
    recorder = Recorder()
    reflector = Reflector(client, spec, on_change=recorder.change, on_state=recorder.state)
    reflector.settings = dataclasses.replace(reflector.settings, page_size=page_size)
    await reflector._list()
    return reflector


SCENARIOS = {
    "seed": "seed",
    "loadbalancer": "loadbalancer",
    "mirrored-slices": "mirrored-slices",
    "kvstoremesh": "kvstoremesh",
    "generated": generated(2, 30),
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
async def test_the_simulators_lists_read_the_same_through_both_paths(scenario: str) -> None:
    """Every resource a cluster decodes with msgspec, listed twice (pages of 7, so ``continue``
    is followed too): keys, versions and values equal to the stdlib path's."""
    with SimThread(SCENARIOS[scenario], ready_delay=0.01, termination_grace=0.05) as sim:
        kubeconfig = read_kubeconfig(str(sim.kubeconfig_path))
        compared: dict[str, int] = {}
        for entry in kubeconfig.contexts:
            client = KubeClient(entry.name, await load_configuration(kubeconfig, entry), Timeouts())
            try:
                specs = [*base_specs("all", None, lambda: "cluster-x"), pod_spec("kube-system")]
                for spec in specs:
                    if spec.codec is None:
                        continue
                    fast = await listed(client, spec, 7)
                    slow = await listed(client, dataclasses.replace(spec, codec=None), 7)
                    assert fast.items == slow.items, f"{entry.name} {spec.name}"
                    assert fast.versions == slow.versions and fast.resource_version == slow.resource_version
                    assert list(fast.items) == list(slow.items)  # the server's order, both
                    compared[spec.name] = compared.get(spec.name, 0) + len(fast.items)
            finally:
                await client.close()
    assert compared["services"] > 2 and compared["endpointslices"] > 2 and compared["agents"] >= 2
    assert compared["nodes"] >= 2 and compared["deployments"] >= 2 and compared["pods"] > 4


# -- a reflector's answers: lists and events, both paths -------------------------------------------


class CannedClient:
    """A client whose every request answers ``pages`` in turn (no network: reflector units)."""

    context = "canned"
    timeouts = Timeouts()

    def __init__(self, *pages: bytes) -> None:
        self.pages = list(pages)

    async def request(self, method: str, path: str, **kwargs: Any) -> bytes:
        return self.pages.pop(0)


def reflector(spec: ResourceSpec, *pages: bytes) -> tuple[Reflector, Recorder]:
    recorder = Recorder()
    made = Reflector(CannedClient(*pages), spec, on_change=recorder.change, on_state=recorder.state)  # type: ignore[arg-type]
    return made, recorder


SERVICES_SPEC = base_specs("mesh", None, lambda: "c1")[1]
PATHS = {"wire": SERVICES_SPEC, "stdlib": dataclasses.replace(SERVICES_SPEC, codec=None)}


def page(*items: Any, **metadata: Any) -> bytes:
    return json.dumps({"kind": "ServiceList", "metadata": metadata, "items": list(items)}).encode()


async def test_a_list_with_a_wrong_type_fails_on_its_cluster_naming_where() -> None:
    bad = {**SERVICE, "metadata": {**SERVICE["metadata"], "name": 7}}
    made, _ = reflector(SERVICES_SPEC, page(SERVICE, bad, resourceVersion="3"))
    with pytest.raises(KubeError) as caught:
        await made._list()
    assert caught.value.kind == "invalid"
    assert str(caught.value) == (
        "unexpected answer listing services: Expected `str | null`, got `int` - at `$.items[1].metadata.name`"
    )
    made, _ = reflector(SERVICES_SPEC, json.dumps({"items": {"a": 1}}).encode())
    with pytest.raises(KubeError, match=r"Expected `array \| null`, got `object` - at `\$.items`"):
        await made._list()
    made, _ = reflector(SERVICES_SPEC, b'{"items": [], "metadata": {"resourceVersion": NaN}}')
    with pytest.raises(KubeError, match="bad JSON listing services"):  # json.loads would take NaN
        await made._list()
    made, _ = reflector(SERVICES_SPEC, b"[1, 2]")
    with pytest.raises(KubeError, match="unexpected answer listing services: Expected `object`, got `array`"):
        await made._list()


@pytest.mark.parametrize("path", sorted(PATHS))
@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b'{"items": [{"metadata": ', "bad JSON listing services"),
        (b"<html>sign in</html>", "HTML instead of JSON listing services"),
        (b'{"items": [{"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}]}", "bad JSON listing services"),
    ],
)
async def test_an_answer_that_is_not_json_says_so_on_both_paths(path: str, body: bytes, words: str) -> None:
    made, _ = reflector(PATHS[path], body)
    with pytest.raises(KubeError, match=words) as caught:
        await made._list()
    assert caught.value.kind == "invalid"


@pytest.mark.parametrize("path", sorted(PATHS))
async def test_pages_versions_and_the_list_version_read_alike(path: str) -> None:
    odd = {**SERVICE, "metadata": {**SERVICE["metadata"], "name": "odd", "resourceVersion": "²"}}
    made, recorder = reflector(
        PATHS[path],
        page(SERVICE, resourceVersion="3", **{"continue": "next"}),
        page(odd, {"metadata": None}, resourceVersion="4"),
    )
    await made._list()
    assert made.versions == {("default", "rebel-base"): 42, ("default", "odd"): "²", ("", ""): ""}
    assert made.resource_version == "4" and made.synced
    assert made.items[("default", "rebel-base")] == parse.service(SERVICE)
    assert recorder.changes == [set(made.items)]


def event(kind: str, obj: Any) -> bytes:
    return json.dumps({"type": kind, "object": obj}).encode()


@pytest.mark.parametrize("path", sorted(PATHS))
async def test_watch_events_read_alike(path: str) -> None:
    made, _ = reflector(PATHS[path], page(resourceVersion="1"))
    await made._list()
    changed: set[Any] = set()
    made._event(event("ADDED", SERVICE), changed)
    key = ("default", "rebel-base")
    assert changed == {key} and made.items[key] == parse.service(SERVICE) and made.resource_version == "42"
    changed = set()
    made._event(event("MODIFIED", SERVICE), changed)  # the same version: nothing to do
    assert changed == set()
    made._event(event("BOOKMARK", {"kind": "Service", "metadata": {"resourceVersion": "50"}}), changed)
    assert made.resource_version == "50" and changed == set()
    made._event(event("DELETED", SERVICE), changed)
    assert changed == {key} and key not in made.items
    with pytest.raises(Gone):
        made._event(event("ERROR", {"kind": "Status", "code": 410, "message": "too old"}), set())
    with pytest.raises(KubeError, match="watch error 500: boom") as caught:
        made._event(event("ERROR", {"code": 500, "message": "boom"}), set())
    assert caught.value.status == 500
    for line in (b"not json", b'{"type": "ADDED"}', event("ADDED", None), event("ADDED", "x"), b"[]"):
        with pytest.raises(KubeError, match="malformed watch event for services"):
            made._event(line, set())


async def test_a_wrong_typed_event_names_where() -> None:
    made, _ = reflector(SERVICES_SPEC, page(resourceVersion="1"))
    await made._list()
    bad = {**SERVICE, "spec": {**SERVICE["spec"], "ports": [{"port": "80"}]}}
    with pytest.raises(KubeError) as caught:
        made._event(event("MODIFIED", bad), set())
    assert str(caught.value) == (
        "malformed watch event for services: Expected `int | null`, got `str` - at `$.spec.ports[0].port`"
    )
    assert made.items == {}


def test_structs_keep_only_what_is_read_and_are_not_tracked_by_the_collector() -> None:
    import gc

    decoded = wire.SERVICES.list_decoder.decode(
        page({**SERVICE, "metadata": {**SERVICE["metadata"], "uid": "u"}})
    )
    assert not gc.is_tracked(decoded.items[0]) and not gc.is_tracked(decoded.items[0].metadata)
    assert not hasattr(decoded.items[0].metadata, "uid")
    assert parse.new_service(*(getattr(parse.service(SERVICE), f.name) for f in dataclasses.fields(
        parse.Service))) == parse.service(SERVICE)  # fmt: skip


async def test_the_json_decoder_setting_takes_the_stdlib_path() -> None:
    """``WatchSettings(decoder="json")`` (kube_bench --decoder json) leaves every codec unused."""
    from tui.kube.watch import WatchSettings

    recorder = Recorder()
    made = Reflector(
        CannedClient(page(SERVICE, {**SERVICE, "metadata": {"name": 7}}, resourceVersion="3")),  # type: ignore[arg-type]
        SERVICES_SPEC,
        on_change=recorder.change,
        on_state=recorder.state,
        settings=WatchSettings(decoder="json"),
    )
    assert made.codec is None
    await made._list()  # a name of 7 is coerced on the stdlib path, refused on msgspec's
    assert set(made.items) == {("default", "rebel-base"), ("", 7)}
