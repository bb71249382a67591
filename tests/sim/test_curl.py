"""The simulated curl (tui/sim/curl.py): options, write-out, and curl 8.x errors and exit codes."""

from __future__ import annotations

import asyncio
import re
import time

import pytest

from tui.sim.curl import (
    ConnectionReset,
    EmptyReply,
    HttpRequest,
    HttpResponse,
    StaticNetwork,
    parse_options,
    parse_url,
)
from tui.sim.shell import Shell
from tui.sim.shell_io import CaptureOutput

SVC = "userlist-svc.song.svc"
SVC_IP = "10.96.0.20"


def json_handler(req: HttpRequest) -> HttpResponse:
    if req.path_only == "/users/1":
        return HttpResponse(
            200, "", {"Content-Type": "application/json"}, b'{"id":1,"name":"Ada L. Kim-Berg"}'
        )
    if req.path_only == "/echo":
        agent, test = req.header("user-agent"), req.header("X-Test")
        body = f"{req.method} {req.path} host={req.host_header} ua={agent} x={test}"
        return HttpResponse(200, "OK", {"Content-Type": "text/plain"}, body.encode() + b"|" + req.body)
    if req.path_only == "/moved":
        return HttpResponse(302, "Found", {"Location": "/users/1"}, b"")
    return HttpResponse(404, "", {"Content-Type": "application/json"}, b'{"status":404}')


def network(**extra_routes: object) -> StaticNetwork:
    routes: dict[tuple[str, int], object] = {
        (SVC_IP, 80): json_handler,
        ("10.96.0.21", 80): "blackhole",
        ("10.96.0.22", 80): ConnectionReset,
        ("10.96.0.23", 80): EmptyReply,
    }
    return StaticNetwork(
        {
            SVC: SVC_IP,
            "black.song.svc": "10.96.0.21",
            "reset.song.svc": "10.96.0.22",
            "empty.song.svc": "10.96.0.23",
        },
        routes,
    )


async def run(script: str, net: StaticNetwork | None = None) -> tuple[int, str, str]:
    out, err = CaptureOutput(), CaptureOutput()
    shell = Shell(
        hostname="curltest-1", stdout=out, stderr=err, network=net if net is not None else network()
    )
    try:
        status = await asyncio.wait_for(shell.main(["sh", "-c", script]), timeout=5)
    finally:
        await shell.close()
    return status, out.value().decode(), err.value().decode()


async def test_body_is_written_without_added_newline() -> None:
    assert await run(f"curl -sS {SVC}:80/users/1") == (0, '{"id":1,"name":"Ada L. Kim-Berg"}', "")


async def test_workflow_loop_prints_one_answer_per_line() -> None:
    status, out, err = await run(
        f"i=0; while [ $i -lt 3 ]; do curl -sS {SVC}:80/users/1; sleep 0.01; echo; i=$((i+1)); done"
    )
    assert (status, err) == (0, "")
    assert out.splitlines() == ['{"id":1,"name":"Ada L. Kim-Berg"}'] * 3


async def test_http_code_to_dev_null() -> None:
    assert await run(f"curl -s -o /dev/null -w '%{{http_code}}' http://{SVC}/users/1") == (0, "200", "")
    assert await run(f"curl -so /dev/null -w '%{{http_code}}\\n' {SVC}/nope") == (0, "404\n", "")


async def test_write_out_variables() -> None:
    fmt = (
        "%{http_code} %{remote_ip} %{remote_port} %{size_download} %{url_effective} %{exitcode} "
        "[%{errormsg}] %{content_type} %{method} %%\\t%{time_total} %{time_connect}\\n"
    )
    status, out, err = await run(f"curl -s -o /dev/null -w '{fmt}' {SVC}:80/users/1")
    assert (status, err) == (0, "")
    fields = out.rstrip("\n").split(" ")
    assert fields[:8] == [
        "200",
        SVC_IP,
        "80",
        "33",
        f"http://{SVC}:80/users/1",
        "0",
        "[]",
        "application/json",
    ]
    assert fields[8] == "GET"
    assert fields[9].startswith("%\t")
    assert re.fullmatch(r"\d+\.\d{6}", fields[9][2:]) and re.fullmatch(r"\d+\.\d{6}", fields[10])


async def test_write_out_on_failure_has_code_000_and_the_error() -> None:
    status, out, err = await run("curl -s -w '%{http_code} %{exitcode} %{errormsg}' nowhere.song.svc")
    assert (status, err) == (6, "")
    assert out == "000 6 Could not resolve host: nowhere.song.svc"


async def test_write_out_header_and_stderr_and_unknown() -> None:
    status, out, err = await run(
        f"curl -s -o /dev/null -w '%{{header{{content-type}}}}%{{stderr}}to-err %{{bogus}}' {SVC}/users/1"
    )
    assert (status, out) == (0, "application/json")
    assert err == "to-err curl: unknown --write-out variable: 'bogus'\n"


async def test_include_headers() -> None:
    status, out, _ = await run(f"curl -si {SVC}/users/1")
    assert status == 0
    head, _, body = out.partition("\r\n\r\n")
    assert head.splitlines()[0] == "HTTP/1.1 200 OK"
    assert "Content-Type: application/json" in head.splitlines()
    assert "Content-Length: 33" in head.splitlines()
    assert body == '{"id":1,"name":"Ada L. Kim-Berg"}'


async def test_head_request() -> None:
    status, out, _ = await run(f"curl -sI {SVC}/users/1")
    assert status == 0
    assert out.startswith("HTTP/1.1 200 OK\r\n") and out.endswith("\r\n\r\n")


async def test_headers_method_data_and_user_agent() -> None:
    status, out, _ = await run(
        f"curl -s -X PUT -H 'X-Test: yes' -A probe/1 -d a=1 -d b=2 http://{SVC}:8080/echo"
    )
    assert status == 7  # port 8080 is not served
    status, out, _ = await run(f"curl -s -H 'X-Test: yes' -A probe/1 -d a=1 -d b=2 {SVC}/echo?q=1")
    assert (status, out) == (0, f"POST /echo?q=1 host={SVC} ua=probe/1 x=yes|a=1&b=2")
    status, out, _ = await run(f"curl -s -X DELETE {SVC}:80/echo")
    assert out.startswith(f"DELETE /echo host={SVC} ua=curl/8.")


async def test_fail_option() -> None:
    assert await run(f"curl -sf {SVC}/nope") == (22, "", "")
    assert await run(f"curl -sSf {SVC}/nope") == (
        22,
        "",
        "curl: (22) The requested URL returned error: 404\n",
    )
    assert await run(f"curl -s --fail-with-body {SVC}/nope") == (22, '{"status":404}', "")


async def test_output_file_then_cat() -> None:
    status, out, _ = await run(f"curl -sS -o /tmp/u {SVC}/users/1 && cat /tmp/u")
    assert (status, out) == (0, '{"id":1,"name":"Ada L. Kim-Berg"}')
    status, out, _ = await run(f"curl -s --output - {SVC}/users/1")
    assert out.startswith('{"id":1')
    status, _, err = await run(f"curl -sS -o /no/dir/x {SVC}/users/1")
    assert status == 23
    assert err.startswith(
        "Warning: Failed to open the file /no/dir/x: No such file or directory\ncurl: (23) "
    )


async def test_location_follows_redirects() -> None:
    assert (await run(f"curl -s -w ' %{{http_code}}' {SVC}/moved"))[1] == " 302"
    status, out, _ = await run(f"curl -sL -w ' %{{http_code}} %{{num_redirects}}' {SVC}/moved")
    assert (status, out) == (0, '{"id":1,"name":"Ada L. Kim-Berg"} 200 1')


async def test_could_not_resolve() -> None:
    assert await run("curl -sS foo") == (6, "", "curl: (6) Could not resolve host: foo\n")
    assert await run("curl -s foo") == (6, "", "")


async def test_connection_refused() -> None:
    status, out, err = await run("curl -sS 10.1.0.5:8181/users/1")
    assert (status, out) == (7, "")
    assert re.fullmatch(
        r"curl: \(7\) Failed to connect to 10\.1\.0\.5 port 8181 after \d+ ms: Couldn't connect to server\n",
        err,
    )


async def test_no_network_resolves_nothing() -> None:
    out, err = CaptureOutput(), CaptureOutput()
    shell = Shell(hostname="curltest-1", stdout=out, stderr=err, network=None)
    assert await shell.main(["sh", "-c", f"curl -sS {SVC}"]) == 6
    assert await shell.main(["sh", "-c", "curl -sS 10.96.0.1"]) == 7


async def test_connect_timeout() -> None:
    started = time.monotonic()
    status, out, err = await run("curl -sS --connect-timeout 0.05 black.song.svc")
    assert time.monotonic() - started >= 0.05
    assert (status, out) == (28, "")
    ms = int(re.fullmatch(r"curl: \(28\) Connection timed out after (\d+) milliseconds\n", err).group(1))
    assert 50 <= ms < 1000


async def test_max_time_bounds_the_connect_too() -> None:
    status, _, err = await run("curl -sS -m 0.05 black.song.svc")
    assert status == 28
    assert re.fullmatch(r"curl: \(28\) Connection timed out after \d+ milliseconds\n", err)


async def test_operation_timeout() -> None:
    net = network()
    net.latency = 0.2
    status, out, err = await run(f"curl -sS -m 0.05 -w '%{{http_code}}' {SVC}/users/1", net)
    assert (status, out) == (28, "000")
    ms = int(
        re.fullmatch(
            r"curl: \(28\) Operation timed out after (\d+) milliseconds with 0 bytes received\n", err
        ).group(1)
    )
    assert 50 <= ms < 1000


async def test_max_time_is_enforced_even_if_the_network_ignores_it() -> None:
    async def slow(req: HttpRequest) -> HttpResponse:
        await asyncio.sleep(5)
        return HttpResponse(200)

    net = StaticNetwork({"slow": "10.0.0.1"}, {("10.0.0.1", 80): slow})
    started = time.monotonic()
    status, _, err = await run("curl -sS -m 0.05 slow", net)
    assert time.monotonic() - started < 2.5  # not the network's 5 s
    assert status == 28
    assert "Operation timed out after" in err


async def test_reset_and_empty_reply() -> None:
    assert await run("curl -sS reset.song.svc") == (
        56,
        "",
        "curl: (56) Recv failure: Connection reset by peer\n",
    )
    assert await run("curl -sS empty.song.svc") == (52, "", "curl: (52) Empty reply from server\n")


async def test_https_is_a_tls_error_against_plain_http_backends() -> None:
    status, _, err = await run(f"curl -sS https://{SVC}/users/1")
    assert status == 35
    assert err == "curl: (35) TLS connect error: error:0A00010B:SSL routines::wrong version number\n"


@pytest.mark.parametrize(
    ("command", "status", "stderr"),
    [
        (
            "curl",
            2,
            "curl: no URL specified\ncurl: try 'curl --help' or 'curl --manual' for more information\n",
        ),
        (
            "curl --bogus x",
            2,
            "curl: option --bogus: is unknown\ncurl: try 'curl --help' for more information\n",
        ),
        ("curl -o", 2, "curl: option -o: requires parameter\ncurl: try 'curl --help' for more information\n"),
        (
            "curl -m abc x",
            2,
            "curl: option -m: expected a proper numerical parameter\n"
            "curl: try 'curl --help' for more information\n",
        ),
        ("curl -sS ftp://x/", 1, 'curl: (1) Protocol "ftp" not supported\n'),
        (
            "curl -sS http://x:99999/",
            3,
            "curl: (3) URL rejected: Port number was not a decimal number between 0 and 65535\n",
        ),
        ("curl -sS http:///path", 3, "curl: (3) URL rejected: No host part in the URL\n"),
    ],
)
async def test_usage_and_url_errors(command: str, status: int, stderr: str) -> None:
    assert await run(command) == (status, "", stderr)


async def test_progress_meter_when_not_silent_and_not_a_terminal() -> None:
    status, out, err = await run(f"curl {SVC}/users/1")
    assert status == 0
    assert out.startswith('{"id":1')
    lines = err.split("\n")
    assert lines[0].startswith("  % Total    % Received % Xferd")
    assert lines[2].startswith("\r100    33  100    33")
    status, _, err = await run("curl foo")
    assert err.endswith("curl: (6) Could not resolve host: foo\n") and "% Total" in err


async def test_verbose_lines_go_to_stderr() -> None:
    status, out, err = await run(f"curl -sv {SVC}/users/1")
    assert status == 0 and out.startswith('{"id":1')
    assert f"*   Trying {SVC_IP}:80..." in err
    assert "> GET /users/1 HTTP/1.1" in err and f"> Host: {SVC}" in err
    assert "< HTTP/1.1 200 OK" in err


async def test_retry_on_timeout_then_give_up() -> None:
    status, _, err = await run("curl -sS --retry 1 --retry-delay 0.01 --connect-timeout 0.02 black.song.svc")
    assert status == 28
    assert err.count("curl: (28)") == 1  # reported once, after the retries


async def test_retry_warning_when_not_silent() -> None:
    status, _, err = await run("curl --no-progress-meter --retry 1 --retry-delay 0.01 -m 0.02 black.song.svc")
    assert status == 28
    assert "Warning: Problem : timeout. Will retry in 0.01 seconds. 1 retry left.\n" in err


def test_combined_short_options() -> None:
    opts = parse_options(
        ["-sSo/dev/null", "-w%{http_code}", "-m5", "-H", "A: b", "--connect-timeout", "1.5", "u"]
    )
    assert (opts.silent, opts.show_error, opts.outputs, opts.write_out) == (
        True,
        True,
        ["/dev/null"],
        "%{http_code}",
    )
    assert (opts.max_time, opts.connect_timeout, opts.headers, opts.urls) == (5.0, 1.5, ["A: b"], ["u"])
    assert parse_options(["--silent", "--no-silent", "x"]).silent is False


def test_url_forms() -> None:
    url = parse_url("userlist-svc.song.svc:80/users/1?x=1#frag")
    assert (url.scheme, url.host, url.port, url.path) == ("http", "userlist-svc.song.svc", 80, "/users/1?x=1")
    assert url.host_header == "userlist-svc.song.svc"
    assert parse_url("http://10.0.0.1:8181").host_header == "10.0.0.1:8181"
    assert parse_url("http://[fd00::1]:8080/").host == "fd00::1"
    assert parse_url("https://svc").port == 443


async def test_static_network_round_robin() -> None:
    a = lambda req: HttpResponse(200, body=b"a")  # noqa: E731
    b = lambda req: HttpResponse(200, body=b"b")  # noqa: E731
    net = StaticNetwork({"svc": "10.0.0.9"}, {("10.0.0.9", 80): [a, b]})
    status, out, _ = await run("for i in 1 2 3 4; do curl -s svc; done", net)
    assert (status, out) == (0, "abab")
