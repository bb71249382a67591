"""kubectl beside the demo: what the simulated API servers speak only because kubectl does.

meshtui itself needs little of the API (JSON lists and watches, JSON merge patch, the ``scale``
subresource, access reviews, exec over WebSocket). A presenter also types kubectl next to the
demo, so the simulator answers it as a real apiserver would, and that is this package:

* request bodies in Kubernetes protobuf (``kubectl create …``, ``auth can-i``) and the field
  tables they are decoded with, generated from kubectl 1.32's own descriptors
  (:mod:`.protobuf`, :mod:`.proto_schema`, :mod:`.protogen`), which also give
  ``fieldValidation``'s unknown fields (:mod:`.strict`);
* OpenAPI v3 (kubectl 1.30+) and ``/openapi/v2`` in protobuf (kubectl 1.27–1.29) for ``apply``,
  ``diff`` and ``explain`` (:mod:`.openapi`, :mod:`.openapi_schema`, :mod:`.openapi_v2`);
* strategic merge patch and JSON patch (:mod:`.patch`);
* server-side printing, the ``meta.k8s.io/v1`` Tables of ``kubectl get`` (:mod:`.tables`);
* exec over SPDY/3.1 for kubectl 1.27 and 1.28 (and 1.29 unless
  ``KUBECTL_REMOTE_COMMAND_WEBSOCKETS=true``): the framing (:mod:`.spdy`) and Kubernetes'
  remote command protocol ``v4.channel.k8s.io`` over it (:mod:`.execspdy`), running the same
  exec programs as WebSocket does.

Served and tested: the kubectl 1.27 to 1.33 installed on this machine (``kubectl.1.27`` …
``kubectl.1.33``, tests/sim/test_sim_kubectl_versions.py).

The rest of the simulator uses only the names imported here (an import contract in
pyproject.toml keeps it so). This package may use the simulator's core (store, errors,
resources, exec programs) but not what imports it (``api``, ``cluster``, ``httpkit``…): that
would be a cycle, which tests/test_layers.py refuses.
"""

from __future__ import annotations

from tui.sim.kubectl.execspdy import handle_spdy_exec
from tui.sim.kubectl.openapi import group_document, root_document, v2_document
from tui.sim.kubectl.openapi_v2 import PROTOBUF_CT, protobuf_document
from tui.sim.kubectl.patch import json_patch, strategic_merge
from tui.sim.kubectl.protobuf import ProtobufError, decode_object
from tui.sim.kubectl.strict import strict_message, unknown_fields
from tui.sim.kubectl.tables import Column, Printer, human_duration, register_printer, table

__all__ = [
    "PROTOBUF_CT",
    "Column",
    "Printer",
    "ProtobufError",
    "decode_object",
    "group_document",
    "handle_spdy_exec",
    "human_duration",
    "json_patch",
    "protobuf_document",
    "register_printer",
    "root_document",
    "strategic_merge",
    "strict_message",
    "table",
    "unknown_fields",
    "v2_document",
]
