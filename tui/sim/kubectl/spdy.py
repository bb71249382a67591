"""SPDY/3.1 framing, as far as kubectl's exec uses it (the server side of moby/spdystream).

Every frame has an 8-byte header. A control frame starts with the control bit, version 3 and
its type; a data frame with its stream id; both then carry flags (8 bits) and the payload length
(24 bits). kubectl's client opens one stream per exec channel with SYN_STREAM (its headers name
the channel), waits for SYN_REPLY, and ends streams with a data frame flagged FIN (or
RST_STREAM); PING is echoed; GOAWAY ends the connection. spdystream keeps no flow-control
windows, so WINDOW_UPDATE and SETTINGS are read and ignored.

Header blocks (SYN_STREAM, SYN_REPLY, HEADERS) are a count and length-prefixed names and
values (several values joined by NUL), zlib-compressed with the SPDY/3 dictionary: one
compression context per direction for the whole connection, each block ending in a sync flush.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = 1, 2, 3, 4, 6, 7, 8, 9
DATA = 0
"""Not a control frame type: :attr:`Frame.type` of a data frame."""
FLAG_FIN = 0x01
PROTOCOL_ERROR, INVALID_STREAM, REFUSED_STREAM, CANCEL = 1, 2, 3, 5
"""RST_STREAM status codes."""
MAX_FRAME = 1 << 20
"""Longest frame accepted from a client (kubectl writes stdin in frames of at most 32 KiB): a
longer one ends the connection instead of being buffered."""
MAX_HEADER_BLOCK = 64 * 1024
"""Longest decompressed header block accepted (a stream's headers are a few dozen bytes)."""

_WORDS = (
    "options", "head", "post", "put", "delete", "trace", "accept", "accept-charset",
    "accept-encoding", "accept-language", "accept-ranges", "age", "allow", "authorization",
    "cache-control", "connection", "content-base", "content-encoding", "content-language",
    "content-length", "content-location", "content-md5", "content-range", "content-type", "date",
    "etag", "expect", "expires", "from", "host", "if-match", "if-modified-since", "if-none-match",
    "if-range", "if-unmodified-since", "last-modified", "location", "max-forwards", "pragma",
    "proxy-authenticate", "proxy-authorization", "range", "referer", "retry-after", "server", "te",
    "trailer", "transfer-encoding", "upgrade", "user-agent", "vary", "via", "warning",
    "www-authenticate", "method", "get", "status", "200 OK", "version", "HTTP/1.1", "url", "public",
    "set-cookie", "keep-alive", "origin",
)  # fmt: skip
_TAIL = (
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 "
    "Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service "
    "UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, "
    "Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,application/xml,"
    "application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age=gzip,deflate,sdch"
    "charset=utf-8charset=iso-8859-1,utf-,*,enq=0."
)
DICTIONARY = b"".join(struct.pack(">I", len(w)) + w.encode() for w in _WORDS) + _TAIL.encode()
"""The SPDY/3 header compression dictionary (draft-mbelshe-httpbis-spdy-00 §2.6.10.1): the
words length-prefixed, then the status lines, dates and media types run together. Its zlib
dictionary id (Adler-32) is 0xE3C6A7C2."""


class SpdyError(Exception):
    """The peer broke the framing: the connection cannot go on."""


@dataclass
class Frame:
    """One frame; only the fields its type carries are set."""

    type: int
    """A control frame type, or :data:`DATA`."""
    flags: int = 0
    stream_id: int = 0
    headers: dict[str, list[str]] = field(default_factory=dict)
    """SYN_STREAM, SYN_REPLY and HEADERS (names lower case, as on the wire)."""
    data: bytes = b""
    """A data frame's payload."""
    value: int = 0
    """RST_STREAM's and GOAWAY's status, PING's id, WINDOW_UPDATE's delta."""

    @property
    def fin(self) -> bool:
        return bool(self.flags & FLAG_FIN)


class FrameReader:
    """Frames from the bytes a client sends, fed in pieces as they arrive."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._inflate = zlib.decompressobj(zdict=DICTIONARY)

    def feed(self, data: bytes) -> list[Frame]:
        """The frames ``data`` completes (raises :class:`SpdyError` on broken framing)."""
        self._buffer += data
        frames = []
        while len(self._buffer) >= 8:
            first, flags_length = struct.unpack_from(">II", self._buffer)
            length = flags_length & 0xFFFFFF
            if length > MAX_FRAME:
                raise SpdyError(f"frame of {length} bytes")
            if len(self._buffer) < 8 + length:
                break
            payload = bytes(self._buffer[8 : 8 + length])
            del self._buffer[: 8 + length]
            flags = flags_length >> 24
            if first & 0x80000000:
                version, kind = (first >> 16) & 0x7FFF, first & 0xFFFF
                if version != VERSION:
                    raise SpdyError(f"SPDY version {version}")
                frame = self._control(kind, flags, payload)
                if frame is not None:
                    frames.append(frame)
            else:
                frames.append(Frame(DATA, flags, first & 0x7FFFFFFF, data=payload))
        return frames

    def _control(self, kind: int, flags: int, payload: bytes) -> Frame | None:
        try:
            if kind == SYN_STREAM:
                (stream_id,) = struct.unpack_from(">I", payload)
                return Frame(kind, flags, stream_id & 0x7FFFFFFF, headers=self._headers(payload[10:]))
            if kind in (SYN_REPLY, HEADERS):
                (stream_id,) = struct.unpack_from(">I", payload)
                return Frame(kind, flags, stream_id & 0x7FFFFFFF, headers=self._headers(payload[4:]))
            if kind in (RST_STREAM, WINDOW_UPDATE):
                stream_id, value = struct.unpack_from(">II", payload)
                return Frame(kind, flags, stream_id & 0x7FFFFFFF, value=value)
            if kind == GOAWAY:
                last, status = struct.unpack_from(">II", payload)
                return Frame(kind, flags, last & 0x7FFFFFFF, value=status)
            if kind == PING:
                return Frame(kind, flags, value=struct.unpack_from(">I", payload)[0])
        except struct.error as exc:
            raise SpdyError(f"control frame {kind} too short") from exc
        return None  # SETTINGS and unknown types (SPDY says: ignore them)

    def _headers(self, compressed: bytes) -> dict[str, list[str]]:
        try:
            block = self._inflate.decompress(compressed, MAX_HEADER_BLOCK)
        except zlib.error as exc:
            raise SpdyError(f"header block: {exc}") from exc
        if self._inflate.unconsumed_tail:
            raise SpdyError("header block too large")
        return decode_header_block(block)


def decode_header_block(block: bytes) -> dict[str, list[str]]:
    try:
        (count,) = struct.unpack_from(">I", block)
        pos, headers = 4, {}
        for _ in range(count):
            (size,) = struct.unpack_from(">I", block, pos)
            name = block[pos + 4 : pos + 4 + size].decode("utf-8", "replace").lower()
            pos += 4 + size
            (size,) = struct.unpack_from(">I", block, pos)
            value = block[pos + 4 : pos + 4 + size].decode("utf-8", "replace")
            pos += 4 + size
            if pos > len(block):
                raise SpdyError("header block cut short")
            headers.setdefault(name, []).extend(value.split("\x00"))
    except struct.error as exc:
        raise SpdyError("header block cut short") from exc
    return headers


class FrameWriter:
    """Frames a server sends; holds the connection's header compression context, so frames
    with headers must be written in the order they were made."""

    def __init__(self) -> None:
        self._deflate = zlib.compressobj(zlib.Z_BEST_COMPRESSION, zdict=DICTIONARY)

    def syn_reply(
        self, stream_id: int, headers: dict[str, list[str]] | None = None, fin: bool = False
    ) -> bytes:
        block = encode_header_block(headers or {})
        compressed = self._deflate.compress(block) + self._deflate.flush(zlib.Z_SYNC_FLUSH)
        payload = struct.pack(">I", stream_id) + compressed
        return _control(SYN_REPLY, FLAG_FIN if fin else 0, payload)

    @staticmethod
    def data(stream_id: int, data: bytes, fin: bool = False) -> bytes:
        return struct.pack(">II", stream_id, (FLAG_FIN if fin else 0) << 24 | len(data)) + data

    @staticmethod
    def rst_stream(stream_id: int, status: int) -> bytes:
        return _control(RST_STREAM, 0, struct.pack(">II", stream_id, status))

    @staticmethod
    def ping(ping_id: int) -> bytes:
        return _control(PING, 0, struct.pack(">I", ping_id))

    @staticmethod
    def goaway(last_stream_id: int, status: int = 0) -> bytes:
        return _control(GOAWAY, 0, struct.pack(">II", last_stream_id, status))


def encode_header_block(headers: dict[str, list[str]]) -> bytes:
    out = [struct.pack(">I", len(headers))]
    for name, values in headers.items():
        key, value = name.lower().encode(), "\x00".join(values).encode()
        out += [struct.pack(">I", len(key)), key, struct.pack(">I", len(value)), value]
    return b"".join(out)


def _control(kind: int, flags: int, payload: bytes) -> bytes:
    return struct.pack(">HHI", 0x8000 | VERSION, kind, flags << 24 | len(payload)) + payload
