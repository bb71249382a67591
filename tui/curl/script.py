"""The POSIX ``sh`` scripts a curl loop runs in a client pod: one exec, many requests.

Each request is framed by lines that start with a random per-loop *nonce*::

    <nonce> B <seq>                      (printf, before the request)
    ...curl's body and its error line... (stdout and stderr merged, any bytes)
    <nonce> E <http_code> <time_total> <exitcode> <errormsg>   (curl's --write-out)

A body cannot forge a frame: it would have to guess 16 random hex digits at the start of a line.
``--write-out`` starts with a newline so the end frame is on a line of its own even when the
body has no final newline; the parser (:mod:`tui.curl.frames`) removes exactly that newline.

Only validated values reach these builders (:mod:`tui.curl.target`), and every one of them is
still passed through ``shlex.quote``; numbers are formatted here, never taken as text. The
scripts use only what busybox ash and curl 7.75+ offer (``printf``, ``$((...))``, ``[``,
``sleep`` with fractions, ``%{exitcode}``/``%{errormsg}``), as in ``curlimages/curl``.
"""

from __future__ import annotations

import math
import secrets
import shlex
from collections.abc import Sequence

from tui.curl.target import (
    CurlTarget,
    check_count,
    check_interval,
    check_ip,
    check_path,
    check_port,
    check_seconds,
    check_timeout,
)

NONCE_BYTES = 8


def new_nonce() -> str:
    """``M`` and 16 random hex digits, different for every loop and every probe run."""
    return "M" + secrets.token_hex(NONCE_BYTES)


def _seconds(value: float) -> str:
    """``1.5`` → ``1.5``, ``2.0`` → ``2``, never an exponent (``sleep`` and ``-m`` read decimals)."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return text or "0"


def write_out(nonce: str) -> str:
    """curl's ``-w`` format: the end frame (``\\n`` and ``%{...}`` are curl's, not the shell's)."""
    return f"\\n{nonce} E %{{http_code}} %{{time_total}} %{{exitcode}} %{{errormsg}}\\n"


def curl_command(nonce: str, url: str, timeout: float) -> str:
    """One framed request: the begin line, then curl with stderr merged into stdout."""
    return (
        f"printf '\\n{nonce} B %s\\n' \"$i\"; "
        f"curl -sS -m {_seconds(check_timeout(timeout))} -w {shlex.quote(write_out(nonce))} "
        f"{shlex.quote(url)} 2>&1"
    )


def loop_script(
    target: CurlTarget,
    nonce: str,
    *,
    interval: float = 1.0,
    timeout: float = 2.0,
    count: int | None = None,
    start: int = 0,
    segment: float | None = None,
) -> str:
    """``while`` loop of framed requests to ``target``: ``count`` of them, or until the exec ends.

    Requests are numbered from ``start + 1`` (a reattached loop goes on with the numbering).
    The script first prints its shell's PID (``<nonce> P <pid>``) so a stop can kill it.
    ``segment``: the script also ends by itself after that many seconds (``date +%s``); the
    caller starts the next segment at once. Closing an exec's WebSocket does not end the
    command on every container runtime, so this bounds how long a loop whose client went away
    (stop, quit, a crash) can keep running in the pod, whatever the runtime does.
    """
    if not isinstance(target, CurlTarget):
        raise TypeError("target must be a CurlTarget")
    _check_nonce(nonce)
    interval = check_interval(interval)
    count = check_count(count)
    if isinstance(start, bool) or not isinstance(start, int) or start < 0:
        raise ValueError("start must be a whole number ≥ 0")
    tests = [] if count is None else [f'[ "$i" -lt {start + count} ]']
    prologue = f"printf '\\n{nonce} P %s\\n' \"$$\"; i={start}"
    if segment is not None:
        seconds = max(
            1, math.ceil(check_seconds(segment, "segment", minimum=0.1, maximum=86400, allow_zero=False))
        )
        prologue += f"; end=$(($(date +%s) + {seconds}))"
        tests.append('[ "$(date +%s)" -lt "$end" ]')
    condition = " && ".join(tests) or "true"
    pause = f"; sleep {_seconds(interval)}" if interval > 0 else ""
    body = curl_command(nonce, target.url, timeout)
    return f"{prologue}; while {condition}; do i=$((i+1)); {body}{pause}; done"


def probe_script(addresses: Sequence[tuple[str, int]], path: str, nonce: str, *, timeout: float = 2.0) -> str:
    """One framed request per ``(pod IP, port)`` in order (sequence numbers 1..n)."""
    _check_nonce(nonce)
    check_path(path)
    parts = []
    for index, (ip, port) in enumerate(addresses, start=1):
        ip = check_ip(ip)
        port = check_port(port)
        host = f"[{ip}]" if ":" in ip else ip
        parts.append(f"i={index}; " + curl_command(nonce, f"http://{host}:{port}{path}", timeout))
    return "; ".join(parts) if parts else "true"


def _check_nonce(nonce: str) -> None:
    if not (isinstance(nonce, str) and nonce[:1] == "M" and len(nonce) > 8 and nonce[1:].isalnum()):
        raise ValueError("nonce must come from new_nonce()")
