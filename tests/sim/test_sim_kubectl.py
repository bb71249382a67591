"""Real kubectl (/usr/bin/kubectl, 1.32) against the simulator, over HTTPS with bearer tokens."""

from __future__ import annotations

import json
import re
import subprocess
import time

import yaml

from tui.sim.mesh import SimThread
from tui.sim.testing import Kubectl


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_get_prints_tables_for_pods_services_and_deployments(kubectl: Kubectl) -> None:
    out = ok(kubectl("get", "pods,svc,deploy", "-n", "song"))
    assert re.search(r"NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE", out)
    assert re.search(
        r"pod/userlist-[bcdfghjklmnpqrstvwxz2456789]{6,10}-[bcdfghjklmnpqrstvwxz2456789]{5}\s+1/1\s+Running",
        out,
    )
    assert re.search(r"service/userlist-svc\s+ClusterIP\s+10\.96\.\d+\.\d+\s+<none>\s+80/TCP", out)
    assert re.search(r"deployment.apps/curltest\s+1/1\s+1\s+1", out)
    assert re.search(r"deployment.apps/userlist\s+1/1\s+1\s+1", out)


def test_contexts_are_distinct_clusters(kubectl: Kubectl) -> None:
    nodes2 = ok(kubectl("get", "nodes", "-o", "wide", context="bastion02"))
    nodes3 = ok(kubectl("get", "nodes", "-o", "wide", context="bastion03"))
    assert "cluster1-node1" in nodes2 and "172.30.1.89" in nodes2
    assert "cluster2-node1" in nodes3 and "172.30.1.85" in nodes3
    pods3 = json.loads(ok(kubectl("get", "pods", "-n", "song", "-o", "json", context="bastion03")))
    assert all(p["status"]["podIP"].startswith("10.2.") for p in pods3["items"])


def test_get_all_namespaces_shows_namespace_column(kubectl: Kubectl) -> None:
    out = ok(kubectl("get", "svc", "-A"))
    assert re.search(r"^default\s+kubernetes\s+ClusterIP", out, re.M)
    assert re.search(r"^song\s+userlist-svc\s+ClusterIP", out, re.M)


def test_get_json_and_yaml(kubectl: Kubectl) -> None:
    listed = json.loads(ok(kubectl("get", "svc", "-n", "song", "-o", "json")))
    assert listed["kind"] == "List" and len(listed["items"]) == 1
    svc = listed["items"][0]
    assert svc["metadata"]["annotations"]["service.cilium.io/global"] == "true"
    assert svc["spec"]["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 8181}]
    doc = yaml.safe_load(ok(kubectl("get", "deploy", "userlist", "-n", "song", "-o", "yaml")))
    assert doc["spec"]["template"]["spec"]["containers"][0]["image"] == "ssongman/userlist:v1"
    assert doc["status"]["readyReplicas"] == 1
    assert doc["metadata"]["generation"] == doc["status"]["observedGeneration"] == 1


def test_describe_service_deployment_and_pod(kubectl: Kubectl) -> None:
    svc = ok(kubectl("describe", "svc", "userlist-svc", "-n", "song"))
    assert re.search(r"Endpoints:\s+10\.1\.\d+\.\d+:8181", svc)
    assert "service.cilium.io/shared: true" in svc
    deploy = ok(kubectl("describe", "deploy", "userlist", "-n", "song"))
    assert re.search(r"Replicas:\s+1 desired \| 1 updated \| 1 total \| 1 available \| 0 unavailable", deploy)
    assert re.search(r"NewReplicaSet:\s+userlist-\w+ \(1/1 replicas created\)", deploy)
    pod_name = ok(kubectl("get", "pods", "-n", "song", "-l", "app=curltest", "-o", "name")).strip()
    pod = ok(kubectl("describe", pod_name, "-n", "song"))
    assert re.search(r"Node:\s+cluster1-node1/172\.30\.1\.89", pod)
    assert re.search(r"Status:\s+Running", pod)
    assert "curlimages/curl" in pod


def test_annotate_overwrite_and_remove(kubectl: Kubectl) -> None:
    out = ok(
        kubectl(
            "annotate", "svc", "userlist-svc", "-n", "song", "service.cilium.io/affinity=local", "--overwrite"
        )
    )
    assert "service/userlist-svc annotated" in out
    got = ok(kubectl("get", "svc", "userlist-svc", "-n", "song", "-o", "jsonpath={.metadata.annotations}"))
    assert json.loads(got)["service.cilium.io/affinity"] == "local"
    ok(kubectl("annotate", "svc", "userlist-svc", "-n", "song", "service.cilium.io/affinity-"))
    got = ok(kubectl("get", "svc", "userlist-svc", "-n", "song", "-o", "jsonpath={.metadata.annotations}"))
    assert "service.cilium.io/affinity" not in json.loads(got)
    # Without --overwrite an existing key is refused by kubectl itself.
    refused = kubectl("annotate", "svc", "userlist-svc", "-n", "song", "service.cilium.io/global=false")
    assert refused.returncode == 1 and "already has a value" in refused.stderr


def test_scale_creates_and_removes_pods(kubectl: Kubectl) -> None:
    assert "deployment.apps/userlist scaled" in ok(
        kubectl("scale", "deploy/userlist", "-n", "song", "--replicas=3")
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        out = ok(kubectl("get", "deploy", "userlist", "-n", "song", "-o", "jsonpath={.status.readyReplicas}"))
        if out == "3":
            break
        time.sleep(0.1)
    assert out == "3"
    slices = ok(
        kubectl(
            "get",
            "endpointslices",
            "-n",
            "song",
            "-l",
            "kubernetes.io/service-name=userlist-svc",
            "-o",
            "jsonpath={.items[0].endpoints[*].addresses[0]}",
        )
    )
    assert len(slices.split()) == 3
    ok(kubectl("scale", "deploy/userlist", "-n", "song", "--replicas=0", "--current-replicas=3"))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        pods = ok(kubectl("get", "pods", "-n", "song", "-l", "app=userlist", "-o", "name"))
        if not pods.strip():
            break
        time.sleep(0.1)
    assert pods.strip() == ""
    stale = kubectl("scale", "deploy/userlist", "-n", "song", "--replicas=1", "--current-replicas=5")
    assert stale.returncode == 1 and "Expected replicas to be 5, was 0" in stale.stderr


MANIFEST = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: echo, namespace: song}
spec:
  replicas: 2
  selector: {matchLabels: {app: echo}}
  template:
    metadata: {labels: {app: echo}}
    spec:
      containers:
      - name: echo
        image: ealen/echo-server:0.9.2
        ports: [{containerPort: 80}]
        env: [{name: MODE, value: one}]
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: song}
spec:
  selector: {app: echo}
  ports: [{port: 80}]
"""


def test_create_apply_and_delete(kubectl: Kubectl) -> None:
    created = ok(kubectl("create", "-f", "-", input=MANIFEST))
    assert "deployment.apps/echo created" in created and "service/echo created" in created
    again = kubectl("create", "-f", "-", input=MANIFEST)
    assert again.returncode == 1
    assert (
        'Error from server (AlreadyExists): error when creating "STDIN": services "echo" already exists'
        in again.stderr
    )
    changed = MANIFEST.replace("value: one", "value: two").replace("replicas: 2", "replicas: 1")
    applied = ok(kubectl("apply", "-f", "-", input=changed))
    assert "deployment.apps/echo configured" in applied
    env = ok(
        kubectl(
            "get", "deploy", "echo", "-n", "song", "-o", "jsonpath={.spec.template.spec.containers[0].env}"
        )
    )
    assert json.loads(env) == [{"name": "MODE", "value": "two"}]
    ok(kubectl("apply", "--server-side", "-f", "-", input=changed.replace("replicas: 1", "replicas: 2")))
    assert ok(kubectl("get", "deploy", "echo", "-n", "song", "-o", "jsonpath={.spec.replicas}")) == "2"
    assert 'service "echo" deleted' in ok(kubectl("delete", "svc", "echo", "-n", "song"))
    gone = kubectl("get", "svc", "echo", "-n", "song")
    assert gone.returncode == 1 and 'Error from server (NotFound): services "echo" not found' in gone.stderr


def test_server_side_apply_creates_when_absent(kubectl: Kubectl) -> None:
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: song}\ndata: {a: '1'}\n"
    assert "serverside-applied" in ok(kubectl("apply", "--server-side", "-f", "-", input=cm))
    assert ok(kubectl("get", "cm", "settings", "-n", "song", "-o", "jsonpath={.data.a}")) == "1"


def test_watch_prints_changes_until_request_timeout(kubectl: Kubectl) -> None:
    proc = subprocess.Popen(
        [*_base(kubectl), "get", "deploy", "-n", "song", "-w", "--request-timeout=2s"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(kubectl),
    )
    try:
        time.sleep(0.7)
        ok(kubectl("scale", "deploy/curltest", "-n", "song", "--replicas=2"))
        out, _err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    lines = [line for line in out.splitlines() if line.startswith("curltest")]
    assert re.match(r"curltest\s+1/1", lines[0]), out
    assert any(re.match(r"curltest\s+\d/2", line) for line in lines[1:]), out


def _base(kubectl: Kubectl) -> list[str]:
    from tui.sim.testing import KUBECTL

    return [KUBECTL, "--kubeconfig", str(kubectl.kubeconfig), "--cache-dir", str(kubectl.cache_dir)]


def _env(kubectl: Kubectl) -> dict[str, str]:
    import os

    return {**os.environ, "HOME": str(kubectl.cache_dir)}


def test_exec_exit_code_of_a_minimal_container(kubectl: Kubectl) -> None:
    result = kubectl("exec", "deploy/userlist", "-n", "song", "--", "ls", "/")
    assert result.returncode == 127
    assert "sh: ls: not found" in result.stderr


def test_error_messages(kubectl: Kubectl) -> None:
    missing = kubectl("get", "deploy", "nope", "-n", "song")
    assert missing.returncode == 1
    assert 'Error from server (NotFound): deployments.apps "nope" not found' in missing.stderr
    bad = "apiVersion: v1\nkind: Service\nmetadata: {name: Bad_Name, namespace: song}\n"
    bad += "spec: {ports: [{port: 80}]}\n"
    invalid = kubectl("create", "-f", "-", input=bad)
    assert invalid.returncode == 1
    assert (
        'The Service "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a DNS-1035 label'
        in invalid.stderr
    )
    no_ns = kubectl("get", "pods", "-n", "nowhere")
    assert no_ns.returncode == 0 and "No resources found in nowhere namespace." in no_ns.stderr
    unknown = kubectl("get", "widgets")
    assert unknown.returncode == 1 and 'the server doesn\'t have a resource type "widgets"' in unknown.stderr


def test_conflict_on_stale_resource_version(kubectl: Kubectl) -> None:
    svc = json.loads(ok(kubectl("get", "svc", "userlist-svc", "-n", "song", "-o", "json")))
    ok(kubectl("annotate", "svc", "userlist-svc", "-n", "song", "x.example.com/touch=1"))
    stale = kubectl("replace", "-f", "-", input=json.dumps(svc))
    assert stale.returncode == 1
    assert (
        'Error from server (Conflict): error when replacing "STDIN": Operation cannot be fulfilled on '
        'services "userlist-svc": the object has been modified; please apply your changes to the latest '
        "version and try again"
    ) in stale.stderr


def test_read_only_user_is_forbidden_to_write(sim: SimThread, tmp_path) -> None:
    path = tmp_path / "ro.yaml"
    sim.call(lambda: sim.mesh.write_kubeconfig(path, {"bastion02": "readonly"}))
    runner = Kubectl(path)
    try:
        assert "annotated" in ok(
            runner("annotate", "svc", "userlist-svc", "-n", "song", "a.example.com/b=c", context="bastion03")
        ), "bastion03 keeps the admin user"
        assert "userlist-svc" in ok(runner("get", "svc", "-n", "song"))
        denied = runner("annotate", "svc", "userlist-svc", "-n", "song", "a.example.com/b=c")
        assert denied.returncode == 1
        assert (
            'Error from server (Forbidden): services "userlist-svc" is forbidden: User "meshtui-readonly" '
            'cannot patch resource "services" in API group "" in the namespace "song"'
        ) in denied.stderr
        scale = runner("scale", "deploy/userlist", "-n", "song", "--replicas=2")
        assert scale.returncode == 1
        assert 'cannot patch resource "deployments/scale" in API group "apps"' in scale.stderr
    finally:
        runner.cleanup()


def test_unknown_token_must_log_in(sim: SimThread, tmp_path) -> None:
    config = yaml.safe_load(sim.kubeconfig_path.read_text())
    for user in config["users"]:
        user["user"] = {"token": "not-a-token-of-this-cluster"}
    path = tmp_path / "anon.yaml"
    path.write_text(yaml.safe_dump(config))
    runner = Kubectl(path)
    try:
        result = runner("get", "pods", "-n", "song")
        assert result.returncode == 1
        assert "You must be logged in to the server" in result.stderr
    finally:
        runner.cleanup()


def test_imperative_creates_send_protobuf_and_work(kubectl: Kubectl) -> None:
    assert "namespace/demo created" in ok(kubectl("create", "namespace", "demo"))
    ok(
        kubectl(
            "create", "deployment", "web", "--image=nginx:1.27", "--replicas=2", "--port=8080", "-n", "demo"
        )
    )
    ok(kubectl("create", "configmap", "cfg", "--from-literal=mode=fast", "-n", "demo"))
    ok(kubectl("create", "secret", "generic", "pw", "--from-literal=p=q", "-n", "demo"))
    ok(kubectl("create", "service", "loadbalancer", "web", "--tcp=80:8080", "-n", "demo"))
    deploy = json.loads(ok(kubectl("get", "deploy", "web", "-n", "demo", "-o", "json")))
    container = deploy["spec"]["template"]["spec"]["containers"][0]
    assert deploy["spec"]["replicas"] == 2 and container["image"] == "nginx:1.27"
    assert container["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]
    assert ok(kubectl("get", "cm", "cfg", "-n", "demo", "-o", "jsonpath={.data.mode}")) == "fast"
    assert ok(kubectl("get", "secret", "pw", "-n", "demo", "-o", "jsonpath={.data.p}")) == "cQ=="
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        out = ok(kubectl("get", "svc", "web", "-n", "demo"))
        if "<pending>" not in out:
            break
        time.sleep(0.05)
    assert re.search(r"web\s+LoadBalancer\s+10\.96\.\d+\.\d+\s+198\.18\.1\.\d+\s+80:3\d{4}/TCP", out), out


def test_auth_can_i(kubectl: Kubectl) -> None:
    assert ok(kubectl("auth", "can-i", "patch", "services", "-n", "song")).strip() == "yes"
    listed = ok(kubectl("auth", "can-i", "--list", "-n", "song"))
    assert re.search(r"^\*\.\*\s+\[\]\s+\[\]\s+\[\*\]", listed, re.M)


TYPO = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: typo, namespace: song}
spec:
  replica: 2
  selector: {matchLabels: {app: typo}}
  template:
    metadata: {labels: {app: typo}}
    spec:
      containers: [{name: a, image: nginx:1.27, imagee: x}]
      volumes: [{name: v, configMap: {name: cm}}]
"""


def test_unknown_fields_are_rejected_or_warned(kubectl: Kubectl) -> None:
    strict = kubectl("apply", "-f", "-", input=TYPO)
    assert strict.returncode == 1
    assert (
        'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: '
        'unknown field "spec.replica", unknown field "spec.template.spec.containers[0].imagee"'
    ) in strict.stderr
    assert kubectl("get", "deploy", "typo", "-n", "song").returncode == 1
    warned = kubectl("create", "-f", "-", "--validate=warn", input=TYPO)
    assert warned.returncode == 0, warned.stderr
    assert 'Warning: unknown field "spec.replica"' in warned.stderr
