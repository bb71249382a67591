"""Developer tool: regenerate :mod:`tui.sim.kubectl.proto_schema` from a kubectl binary.

Go binaries built from Kubernetes embed each API's ``generated.proto`` descriptor
(gzip-compressed ``FileDescriptorProto``). This reads them, keeps the messages reachable from the
kinds the simulator serves, and writes their field tables::

    python -m tui.sim.kubectl.protogen /usr/lib/google-cloud-sdk/bin/kubectl.1.32 \
        > tui/sim/kubectl/proto_schema.py
"""

from __future__ import annotations

import re
import sys
import zlib
from pprint import pformat
from typing import Any

from tui.sim.kubectl.protobuf import fields

ROOTS = [
    "k8s.io.api.core.v1.Namespace", "k8s.io.api.core.v1.Pod", "k8s.io.api.core.v1.Service",
    "k8s.io.api.core.v1.ConfigMap", "k8s.io.api.core.v1.Secret", "k8s.io.api.core.v1.Node",
    "k8s.io.api.core.v1.Event", "k8s.io.api.apps.v1.Deployment", "k8s.io.api.apps.v1.ReplicaSet",
    "k8s.io.api.apps.v1.DaemonSet", "k8s.io.api.discovery.v1.EndpointSlice",
    "k8s.io.api.core.v1.Endpoints", "k8s.io.api.authorization.v1.SelfSubjectAccessReview",
    "k8s.io.api.authorization.v1.SelfSubjectRulesReview",
    "k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions",
]  # fmt: skip
TYPES = {1: "double", 2: "float", 3: "int64", 4: "uint64", 5: "int32", 8: "bool", 9: "string", 11: "message",
         12: "bytes", 13: "uint32", 14: "enum", 17: "int32", 18: "int64"}  # fmt: skip


def descriptors(binary: bytes) -> list[bytes]:
    found = []
    for match in re.finditer(rb"\x1f\x8b\x08\x00\x00\x00\x00\x00", binary):
        try:
            out = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(
                binary[match.start() : match.start() + 4_000_000]
            )
        except zlib.error:
            continue
        if out[:1] == b"\x0a" and b"generated.proto" in out[:200]:
            found.append(out)
    return found


def collect(message: bytes, prefix: str, out: dict[str, Any]) -> None:
    parts = fields(message)
    name = next(v.decode() for n, _, v in parts if n == 1)
    full = f"{prefix}.{name}"
    is_map = any(n == 7 and dict((k, x) for k, _, x in fields(v)).get(7) for n, _, v in parts)
    table: dict[Any, Any] = {}
    for number, _, value in parts:
        if number == 2:
            f = {n: v for n, _, v in fields(value)}
            table[f[3]] = (
                f[1].decode(),
                TYPES.get(f[5], "unknown"),
                f.get(4) == 3,
                f.get(6, b"").decode().lstrip("."),
            )
        elif number == 3:
            collect(value, full, out)
    out[full] = {"__map__": True, **table} if is_map else table


def build(binary: bytes) -> dict[str, Any]:
    everything: dict[str, Any] = {}
    for blob in descriptors(binary):
        top = fields(blob)
        package = next((v.decode() for n, _, v in top if n == 2), "")
        for number, _, value in top:
            if number == 4:
                collect(value, package, everything)
    keep: dict[str, Any] = {}
    pending = list(ROOTS)
    while pending:
        name = pending.pop()
        if name in keep or name not in everything:
            continue
        table = everything[name]
        if table.get("__map__"):
            key, value = table[1], table[2]
            keep[name] = {"map": (key[1], value[1], value[3])}
            if value[3]:
                pending.append(value[3])
            continue
        entry = {}
        for number, (field, kind, repeated, ref) in table.items():
            if kind == "message" and everything.get(ref, {}).get("__map__"):
                entry[number] = (field, "map", False, ref)
            else:
                entry[number] = (field, kind, repeated, ref)
            if ref:
                pending.append(ref)
        keep[name] = entry
    return dict(sorted(keep.items()))


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else "/usr/lib/google-cloud-sdk/bin/kubectl.1.32"
    with open(path, "rb") as handle:
        messages = build(handle.read())
    print(
        '"""Field tables of the Kubernetes protobuf messages the simulator decodes (generated: do not edit).'
    )
    print()
    print(
        "Made by ``python -m tui.sim.kubectl.protogen KUBECTL_BINARY`` from the descriptors embedded in "
        "kubectl 1.32."
    )
    print("Message -> {field number: (JSON name, type, repeated, message type)}; map entries -> {'map': (key")
    print('type, value type, value message)}."""')
    print()
    print("# ruff: noqa: E501")
    print("# fmt: off")
    print("MESSAGES: dict = " + pformat(messages, width=110, compact=True))
    print("# fmt: on")


if __name__ == "__main__":
    main()
