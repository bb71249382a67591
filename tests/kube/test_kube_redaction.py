"""No kubeconfig secret ever reaches the user: messages, reasons, exceptions and logs are scanned."""

from __future__ import annotations

import base64
import copy
import logging
import sys
from pathlib import Path
from typing import Any

import pytest
from kubehelp import Hubs, LogCapture, free_port, tokens_of, write_yaml

from tui.kube.errors import KubeError
from tui.kube.redact import MASK, RedactingFilter, Redactor, register_user_secrets, scrub
from tui.mesh.actions import Scale, SetAnnotation

FAKE_KEY = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n"
    "MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\n"
    "-----END PRIVATE KEY-----\n"
)


def test_redactor_masks_registered_values_and_credential_patterns() -> None:
    redactor = Redactor()
    redactor.register("tok-0123456789abcdef", "abc")  # too short to register: "abc" stays
    text = "sent tok-0123456789abcdef and abc"
    assert redactor.scrub(text) == f"sent {MASK} and abc"
    assert redactor.scrub("Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.x.y") == f"Authorization: Bearer {MASK}"
    assert (
        redactor.scrub({"authorization": "Basic dXNlcjpwYXNzd29yZA=="})
        == f"{{'authorization': 'Basic {MASK}'}}"
    )
    assert MASK in redactor.scrub("key: " + FAKE_KEY) and "MIIEvQ" not in redactor.scrub(FAKE_KEY)
    encoded = base64.b64encode(b"tok-0123456789abcdef").decode()
    assert redactor.scrub(f"x {encoded} y") == f"x {MASK} y"


def test_user_entries_register_every_secret_kind() -> None:
    key_data = base64.b64encode(FAKE_KEY.encode()).decode()
    register_user_secrets(
        {
            "token": "user-token-abcdef123456",
            "client-key-data": key_data,
            "username": "admin",
            "password": "hunter2-password",
            "auth-provider": {
                "name": "oidc",
                "config": {"id-token": "id.tok.en-9876543", "client-id": "meshtui"},
            },
            "exec": {"command": "aws", "env": [{"name": "AWS_SECRET", "value": "aws-secret-value-1234"}]},
        }
    )
    text = (
        "user-token-abcdef123456 hunter2-password id.tok.en-9876543 aws-secret-value-1234 "
        f"{key_data} {base64.b64encode(b'admin:hunter2-password').decode()} meshtui admin"
    )
    assert scrub(text) == " ".join([MASK] * 6) + " meshtui admin"
    assert "MzEfYyjiWA4R4" not in scrub(
        "partial: MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu"
    )


def test_log_filter_scrubs_messages_arguments_and_tracebacks() -> None:
    register_user_secrets({"token": "logged-token-ABCDEFGH"})
    record = logging.LogRecord(
        "tui.kube", logging.ERROR, __file__, 1, "failed with %s", ("logged-token-ABCDEFGH",), None
    )
    try:
        raise RuntimeError("boom logged-token-ABCDEFGH")
    except RuntimeError:
        record.exc_info = sys.exc_info()
    RedactingFilter().filter(record)
    assert record.getMessage() == f"failed with {MASK}"
    assert record.exc_text is not None and "logged-token-ABCDEFGH" not in record.exc_text
    assert "RuntimeError: boom" in record.exc_text


def test_kube_errors_are_scrubbed() -> None:
    register_user_secrets({"token": "error-token-ZYXWVUT1"})
    error = KubeError("bad error-token-ZYXWVUT1", server_message="echo error-token-ZYXWVUT1")
    assert "error-token-ZYXWVUT1" not in str(error) + error.server_message + repr(error)


@pytest.mark.usefixtures("sim")
async def test_no_secret_reaches_any_output(
    kubeconfig_doc: dict[str, Any],
    tmp_path: Path,
    hubs: Hubs,
    all_logs: LogCapture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    doc = copy.deepcopy(kubeconfig_doc)
    secrets = tokens_of(doc)
    good_cluster = doc["clusters"][0]["cluster"]
    key_data = base64.b64encode(FAKE_KEY.encode()).decode()
    exec_secret = "exec-env-secret-value-42"
    script = tmp_path / "plugin.py"
    script.write_text(
        f"import sys\nsys.stderr.write('denied: {exec_secret} Bearer {secrets[0]}')\nsys.exit(1)\n"
    )
    extra = {
        "bad-token": ({**good_cluster}, {"token": "rejected-token-0123456789"}),
        "client-cert": (
            {"server": f"https://127.0.0.1:{free_port()}"},
            {"client-certificate-data": key_data, "client-key-data": key_data},
        ),
        "exec-fails": (
            {**good_cluster},
            {
                "exec": {
                    "apiVersion": "client.authentication.k8s.io/v1",
                    "command": sys.executable,
                    "args": [str(script)],
                    "env": [{"name": "SECRET", "value": exec_secret}],
                }
            },
        ),
    }
    for name, (cluster, user) in extra.items():
        doc["clusters"].append({"name": name, "cluster": cluster})
        doc["users"].append({"name": name, "user": user})
        doc["contexts"].append({"name": name, "context": {"cluster": name, "user": name}})
    secrets += ["rejected-token-0123456789", key_data, FAKE_KEY.strip(), exec_secret]
    broken = tmp_path / "broken.yaml"
    broken.write_text(f"users:\n- name: leak\n  user: {{token: {secrets[0]}\n")
    config = write_yaml(tmp_path / "config", doc)

    monkeypatch.setenv("KUBECONFIG", f"{config}:{broken}")
    hub = await hubs.start(None)
    outputs: list[str] = [repr(hub.snapshot())]
    outputs.append(
        repr((await hub.write(SetAnnotation("bad-token", "song", "userlist-svc", "a/b", "c"))).message)
    )
    outputs.append((await hub.write(Scale("exec-fails", "song", "userlist", 1))).message)
    outputs.append((await hub.write(Scale("bastion02", "song", "missing", 1))).message)
    for context in ("client-cert", "exec-fails", "bad-token"):
        try:
            await hub.check_access(context, "get", "pods")
        except KubeError as exc:
            outputs.append(str(exc))
    result = await hub.exec("bad-token", "song", "nope", ["sh", "-c", "true"])
    outputs.append(repr(result))
    outputs.append(repr(hub.snapshot()))
    outputs += all_logs.lines

    by = {c.context: c for c in hub.snapshot().clusters}
    assert by["bad-token"].phase == "unreachable"
    assert by["client-cert"].phase == "error" and "unusable TLS settings" in by["client-cert"].reason
    assert by["exec-fails"].phase == "error" and "exec credential plugin" in by["exec-fails"].reason
    assert hub.snapshot().config_errors  # the broken file was reported
    assert len(all_logs.lines) > 5  # the scan saw real output
    text = "\n".join(outputs)
    for secret in secrets:
        assert secret not in text
        for line in secret.splitlines()[1:-1]:
            assert line not in text
