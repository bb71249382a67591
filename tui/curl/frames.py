"""Reading a framed curl loop's output back into requests (see :mod:`tui.curl.script`).

The parser is fed lines as the exec stream delivers them and returns each request when its
end frame arrives. It trusts nothing between frames: bodies may hold any text, including
lines that look like frames of another nonce or curl's own error lines. A request whose end
frame never came (curl missing, the shell killed, the stream cut) is returned as incomplete
when the next begin frame or the end of the stream shows it is over.

Bodies are bounded (:data:`MAX_BODY` characters, :data:`MAX_BODY_LINES` lines) so a large or
endless answer cannot grow memory; the excess is counted, not kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_BODY = 2048
MAX_BODY_LINES = 40
CURL_ERROR = re.compile(r"curl: \((\d+)\) (.*)")


@dataclass(frozen=True, slots=True)
class RawAnswer:
    """One request as the pod reported it, before anyone knows who answered."""

    seq: int
    at: float
    body: str
    code: int
    """HTTP status, 0 when no HTTP answer came."""
    seconds: float
    exit_code: int | None
    """curl's exit code (``None``: the end frame never came, or the curl was too old to say)."""
    message: str = ""
    """curl's error message (``%{errormsg}``, else its ``curl: (N) ...`` line)."""
    complete: bool = True
    truncated: int = 0
    """Characters of the body not kept."""

    @property
    def error_kind(self) -> str | None:
        return error_kind(self)


def error_kind(raw: RawAnswer) -> str | None:
    """``None`` for an answer, else a short kind: ``timeout``, ``resolve``, ``refused``, ``http 503``..."""
    if not raw.complete:
        if "curl: not found" in raw.body or "curl: Permission denied" in raw.body:
            return "no curl"
        return "no answer"
    code = raw.exit_code
    if code in (0, None) and raw.code >= 400:
        return f"http {raw.code}"
    if code == 0 or (code is None and raw.code > 0):
        return None
    if code == 6:
        return "resolve"
    if code == 7:
        lowered = raw.message.lower()
        if "no route" in lowered or "unreachable" in lowered:
            return "unreachable"
        return "refused"
    if code == 28:
        return "timeout"
    if code == 52:
        return "empty reply"
    if code == 56:
        return "reset"
    if code == 35:
        return "tls"
    if code in (1, 3):
        return "bad url"
    if code is None:
        return "no answer"
    return f"curl {code}"


class FrameParser:
    """Turns the lines of one framed exec into :class:`RawAnswer` s."""

    __slots__ = (
        "_at", "_begin", "_cut", "_end", "_lines", "_open", "_pid", "_seq", "_size", "frames", "noise", "pid",
    )  # fmt: skip

    def __init__(self, nonce: str) -> None:
        self._begin = f"{nonce} B "
        self._end = f"{nonce} E "
        self._pid = f"{nonce} P "
        self.pid: int | None = None
        """The looping shell's PID in the pod, once its first line said so."""
        self._lines: list[str] = []
        self._size = 0
        self._seq = 0
        self._at = 0.0
        self._open = False
        self._cut = 0
        self.noise = 0
        """Lines outside any request (shell messages): counted, not kept."""
        self.frames = 0

    def feed(self, text: str, at: float) -> RawAnswer | None:
        """One line (without its newline); returns the request it completes, if any.

        A begin frame that arrives while a request is still open returns that request as
        incomplete; the caller sees at most one finished request per line.
        """
        if text.startswith(self._begin):
            done = self._close_incomplete(at) if self._open else None
            seq_text = text[len(self._begin) :].strip()
            self._seq = int(seq_text) if seq_text.isdigit() else self._seq + 1
            self._open = True
            self._lines = []
            self._size = 0
            self._cut = 0
            self._at = at
            self.frames += 1
            return done
        if text.startswith(self._end):
            if not self._open:
                self.noise += 1
                return None
            return self._close(text[len(self._end) :], at)
        if not self._open:
            if text.startswith(self._pid):
                pid = text[len(self._pid) :].strip()
                self.pid = int(pid) if pid.isdigit() and 0 < int(pid) < 2**22 else None
            elif text:
                self.noise += 1
            return None
        if len(self._lines) >= MAX_BODY_LINES or self._size >= MAX_BODY:
            self._cut += len(text) + 1
            return None
        room = MAX_BODY - self._size
        if len(text) > room:
            self._cut += len(text) - room
            text = text[:room]
        self._lines.append(text)
        self._size += len(text) + 1
        return None

    def finish(self, at: float) -> RawAnswer | None:
        """The stream ended: the open request (if any) as incomplete."""
        return self._close_incomplete(at) if self._open else None

    @property
    def open(self) -> bool:
        return self._open

    def _body(self) -> str:
        """The body exactly: the end frame's leading newline closed the body's last line."""
        return "\n".join(self._lines)

    def _close(self, rest: str, at: float) -> RawAnswer:
        self._open = False
        fields = rest.split(" ", 3)
        code = _int(fields[0]) if fields else None
        seconds = _float(fields[1]) if len(fields) > 1 else None
        exit_code = _int(fields[2]) if len(fields) > 2 else None
        message = fields[3].strip() if len(fields) > 3 else ""
        body = self._body()
        found = _curl_error(body) if exit_code != 0 else None
        if found is not None:
            number, text, body = found
            if exit_code is None:
                exit_code = number
            message = message or text
        return RawAnswer(
            seq=self._seq,
            at=at,
            body=body,
            code=code or 0,
            seconds=seconds or 0.0,
            exit_code=exit_code,
            message=message,
            truncated=self._cut,
        )

    def _close_incomplete(self, at: float) -> RawAnswer:
        self._open = False
        body = self._body().strip("\n")
        return RawAnswer(
            seq=self._seq,
            at=at,
            body=body,
            code=0,
            seconds=max(0.0, at - self._at),
            exit_code=None,
            message=body.splitlines()[-1] if body else "no answer marker (the request was cut short)",
            complete=False,
            truncated=self._cut,
        )


def _curl_error(body: str) -> tuple[int, str, str] | None:
    """curl's own ``curl: (N) message`` line at the end of the merged output, split off the body."""
    if "curl: (" not in body:
        return None
    lines = body.split("\n")
    for index in range(len(lines) - 1, -1, -1):
        match = CURL_ERROR.fullmatch(lines[index])
        if match:
            rest = lines[:index] + lines[index + 1 :]
            return int(match.group(1)), match.group(2), "\n".join(rest)
    return None


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None
