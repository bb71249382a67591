"""The busybox applets of a simulated curl image (everything but ``sh`` itself and ``curl``).

Each is an ``async def cmd(proc, argv) -> int`` (:data:`tui.sim.shell.Command`). They cover
what operators pipe curl loops through — ``echo``, ``printf``, ``sleep``, ``date``, ``seq``,
``head``/``tail``/``grep``/``wc``/``sort``/``uniq``/``cut``/``tr``/``cat``/``tee`` — and write
output as soon as they have it so pipelines stream. Messages follow busybox's wording.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui.sim.shell import Command, Proc

BUSYBOX_BANNER = "BusyBox v1.37.0 (2024-12-13 18:11:42 UTC) multi-call binary."
MAX_SLEEP = 10 * 365 * 86400.0
"""``sleep inf`` and friends: long enough that only the client ends it."""


async def _lines(proc: Proc, files: list[str], *, name: str) -> AsyncIterator[bytes]:
    """Lines of the files (``-`` or none: stdin), as they become available."""
    sources = files or ["-"]
    for source in sources:
        if source == "-":
            while (line := await proc.stdin.readline()) is not None:
                yield line
            continue
        data = proc.read_file(source)
        if data is None:
            await proc.fail(f"can't open '{source}': No such file or directory")
            continue
        for line in data.splitlines(keepends=True):
            yield line


async def _read_inputs(proc: Proc, files: list[str]) -> tuple[bytes, int]:
    """All input concatenated, and 1 if a file was missing."""
    chunks: list[bytes] = []
    status = 0
    for source in files or ["-"]:
        if source == "-":
            chunks.append(await proc.stdin.read_all())
            continue
        data = proc.read_file(source)
        if data is None:
            await proc.fail(f"can't open '{source}': No such file or directory")
            status = 1
            continue
        chunks.append(data)
    return b"".join(chunks), status


# ---------------------------------------------------------------------------------------------
# echo / printf

_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "e": "\x1b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
}


def _unescape(text: str, *, echo: bool) -> tuple[str, bool]:
    """Backslash escapes of ``echo -e`` / ``printf``; the flag says ``\\c`` stopped output."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch != "\\" or i + 1 >= len(text):
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt == "c":
            return "".join(out), True
        elif nxt == "x":
            m = re.match(r"[0-9a-fA-F]{1,2}", text[i + 2 :])
            if m:
                out.append(chr(int(m.group(), 16)))
                i += 2 + m.end()
            else:
                out.append("\\x")
                i += 2
        elif nxt.isdigit() and nxt in "01234567":
            digits = text[i + 1 : i + 5] if echo and nxt == "0" else text[i + 1 : i + 4]
            m = re.match(r"[0-7]{1,4}" if echo and nxt == "0" else r"[0-7]{1,3}", digits)
            assert m is not None
            out.append(chr(int(m.group(), 8) & 0xFF))
            i += 1 + m.end()
        elif nxt == '"' and not echo:
            out.append('"')
            i += 2
        else:
            out.append("\\" + nxt)
            i += 2
    return "".join(out), False


async def echo(proc: Proc, argv: list[str]) -> int:
    args = argv[1:]
    newline = True
    escapes = False
    while args and re.fullmatch(r"-[neE]+", args[0]):
        for flag in args.pop(0)[1:]:
            if flag == "n":
                newline = False
            elif flag == "e":
                escapes = True
            else:
                escapes = False
    text = " ".join(args)
    if escapes:
        text, stop = _unescape(text, echo=True)
        if stop:
            newline = False
    await proc.write(text.encode("utf-8", "surrogateescape") + (b"\n" if newline else b""))
    return 0


_CONVERSION = re.compile(r"%([-+ #0]*)(\*|\d+)?(?:\.(\*|\d+))?([sbcdiouxXeEfFgG%])")


def _printf_int(text: str) -> int:
    text = text.strip()
    if not text:
        return 0
    if text[0] in "'\"" and len(text) > 1:
        return ord(text[1])
    try:
        return int(text, 0) if re.fullmatch(r"[-+]?0[xX][0-9a-fA-F]+", text) else int(text, 10)
    except ValueError:
        if re.fullmatch(r"[-+]?0[0-7]+", text):
            return int(text, 8)
        raise


async def printf(proc: Proc, argv: list[str]) -> int:
    if len(argv) < 2:
        await proc.ewrite(f"{BUSYBOX_BANNER}\n\nUsage: printf FORMAT [ARG]...\n")
        return 1
    fmt = argv[1]
    args = argv[2:]
    status = 0
    out: list[str] = []
    index = 0
    while True:
        consumed_before = index
        pos = 0
        for m in _CONVERSION.finditer(fmt):
            literal, stop = _unescape(fmt[pos : m.start()], echo=False)
            out.append(literal)
            if stop:
                await proc.write("".join(out).encode("utf-8", "surrogateescape"))
                return status
            pos = m.end()
            flags, width, precision, conv = m.groups()
            if conv == "%":
                out.append("%")
                continue
            if width == "*":
                width = args[index] if index < len(args) else "0"
                index += 1
            if precision == "*":
                precision = args[index] if index < len(args) else "0"
                index += 1
            arg = args[index] if index < len(args) else None
            index += 1
            spec = f"%{flags}{width or ''}{'.' + precision if precision is not None else ''}"
            try:
                if conv in "sb":
                    value = arg or ""
                    if conv == "b":
                        value, stop = _unescape(value, echo=True)
                    out.append((spec + "s") % value)
                    if conv == "b" and stop:
                        await proc.write("".join(out).encode("utf-8", "surrogateescape"))
                        return status
                elif conv == "c":
                    out.append((spec + "s") % (arg or "")[:1])
                elif conv in "diouxX":
                    try:
                        number = _printf_int(arg or "0")
                    except ValueError:
                        await proc.fail(f"invalid number '{arg}'")
                        status = 1
                        number = 0
                    out.append((spec + ("d" if conv in "iu" else conv)) % number)
                else:
                    try:
                        number_f = float(arg or "0")
                    except ValueError:
                        await proc.fail(f"invalid number '{arg}'")
                        status = 1
                        number_f = 0.0
                    out.append((spec + conv) % number_f)
            except (ValueError, TypeError, OverflowError):
                out.append("")
        literal, stop = _unescape(fmt[pos:], echo=False)
        out.append(literal)
        if stop or index >= len(args) or index == consumed_before:
            break
    await proc.write("".join(out).encode("utf-8", "surrogateescape"))
    return status


# ---------------------------------------------------------------------------------------------
# time

_SLEEP_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str) -> float | None:
    """busybox ``sleep``/``timeout`` durations: ``0.5``, ``10s``, ``2m``, ``365d``, ``inf``."""
    m = re.fullmatch(r"(\d+(?:\.\d*)?|\.\d+|inf|infinity)([smhd]?)", text.strip().lower())
    if not m:
        return None
    value = float(m.group(1))
    if math.isinf(value):
        return MAX_SLEEP
    return min(value * _SLEEP_UNITS[m.group(2)], MAX_SLEEP)


async def sleep(proc: Proc, argv: list[str]) -> int:
    if len(argv) < 2:
        await proc.ewrite(
            f"{BUSYBOX_BANNER}\n\nUsage: sleep [N]...\n\n"
            "Pause for a time equal to the total of the args given, where each arg can\n"
            "have an optional suffix of (s)econds, (m)inutes, (h)ours, or (d)ays\n"
        )
        return 1
    total = 0.0
    for arg in argv[1:]:
        seconds = parse_duration(arg)
        if seconds is None:
            return await proc.fail(f"invalid number '{arg}'")
        total += seconds
    await proc.sleep(min(total, MAX_SLEEP))
    return 0


def strftime(fmt: str, now_ns: int, *, utc_name: str = "UTC") -> str:
    """``date +FORMAT`` with the conversions busybox/musl know, always in UTC (pods run in UTC)."""
    seconds, nanos = divmod(now_ns, 1_000_000_000)
    dt = datetime.fromtimestamp(seconds, tz=UTC)
    out: list[str] = []
    i = 0
    while i < len(fmt):
        ch = fmt[i]
        if ch != "%" or i + 1 >= len(fmt):
            out.append(ch)
            i += 1
            continue
        code = fmt[i + 1]
        i += 2
        if code == "N":
            out.append(f"{nanos:09d}")
        elif code == "s":
            out.append(str(seconds))
        elif code == "e":
            out.append(f"{dt.day:2d}")
        elif code == "k":
            out.append(f"{dt.hour:2d}")
        elif code == "l":
            out.append(f"{(dt.hour % 12) or 12:2d}")
        elif code == "P":
            out.append("am" if dt.hour < 12 else "pm")
        elif code == "Z":
            out.append(utc_name)
        elif code == "z":
            out.append("+0000")
        elif code == "n":
            out.append("\n")
        elif code == "t":
            out.append("\t")
        elif code == "%":
            out.append("%")
        elif code in "aAbBcdDFgGhHIjmMprRSTuUVwWxXyY":
            out.append(dt.strftime("%" + code))
        else:
            out.append("%" + code)
    return "".join(out)


async def date(proc: Proc, argv: list[str]) -> int:
    fmt = "%a %b %e %H:%M:%S %Z %Y"
    now_ns = time.time_ns()
    args = argv[1:]
    while args:
        arg = args.pop(0)
        if arg.startswith("+"):
            fmt = arg[1:]
        elif arg in ("-u", "--utc"):
            continue
        elif arg == "-R":
            fmt = "%a, %d %b %Y %H:%M:%S +0000"
        elif arg.startswith("-I"):
            fmt = {"": "%Y-%m-%d", "seconds": "%Y-%m-%dT%H:%M:%S+00:00"}.get(arg[2:].lstrip("="), "%Y-%m-%d")
        elif arg in ("-d", "--date") and args:
            spec = args.pop(0)
            if not re.fullmatch(r"@-?\d+", spec):
                return await proc.fail(f"invalid date '{spec}'")
            now_ns = int(spec[1:]) * 1_000_000_000
        else:
            return await proc.fail(f"invalid date '{arg}'")
    await proc.write((strftime(fmt, now_ns) + "\n").encode())
    return 0


# ---------------------------------------------------------------------------------------------
# identity


async def hostname(proc: Proc, argv: list[str]) -> int:
    flag = argv[1] if len(argv) > 1 else ""
    if flag == "-i":
        ip = proc.pod.get("status", {}).get("podIP", "") if proc.pod else ""
        await proc.write(f"{ip}\n")
    elif flag == "-d":
        await proc.write("\n")
    else:
        await proc.write(f"{proc.hostname}\n")
    return 0


async def whoami(proc: Proc, argv: list[str]) -> int:
    await proc.write("curl_user\n")
    return 0


async def id_(proc: Proc, argv: list[str]) -> int:
    await proc.write("uid=100(curl_user) gid=101(curl_group) groups=101(curl_group)\n")
    return 0


async def uname(proc: Proc, argv: list[str]) -> int:
    flags = "".join(a[1:] for a in argv[1:] if a.startswith("-")) or "s"
    fields = {"s": "Linux", "n": proc.hostname, "r": "6.8.0-sim", "v": "#1 SMP", "m": "x86_64", "o": "Linux"}
    order = "snrvmo" if "a" in flags else "".join(c for c in "snrvmo" if c in flags)
    await proc.write(" ".join(fields[c] for c in order) + "\n")
    return 0


async def env(proc: Proc, argv: list[str]) -> int:
    args = argv[1:]
    environment = dict(proc.env)
    while args:
        if args[0] in ("-i", "-"):
            environment = {}
            args.pop(0)
        elif args[0] == "-u" and len(args) > 1:
            environment.pop(args[1], None)
            args = args[2:]
        elif "=" in args[0] and not args[0].startswith("="):
            key, _, value = args.pop(0).partition("=")
            environment[key] = value
        else:
            break
    if not args:
        await proc.write("".join(f"{k}={v}\n" for k, v in environment.items()))
        return 0
    shell = proc.shell
    if shell.lookup(args[0]) is None:
        return await proc.fail(f"can't execute '{args[0]}': No such file or directory", 127)
    saved_vars, saved_exported = shell.vars, shell.exported
    shell.vars = {**{k: v for k, v in shell.vars.items() if k not in shell.exported}, **environment}
    shell.exported = set(environment)
    try:
        return await shell.run_command(args, proc.fds, [])
    finally:
        shell.vars, shell.exported = saved_vars, saved_exported


async def printenv(proc: Proc, argv: list[str]) -> int:
    if len(argv) == 1:
        return await env(proc, ["env"])
    status = 0
    for name in argv[1:]:
        if name in proc.env:
            await proc.write(proc.env[name] + "\n")
        else:
            status = 1
    return status


async def true(proc: Proc, argv: list[str]) -> int:
    return 0


async def false(proc: Proc, argv: list[str]) -> int:
    return 1


async def pwd(proc: Proc, argv: list[str]) -> int:
    await proc.write(proc.cwd + "\n")
    return 0


# ---------------------------------------------------------------------------------------------
# text


async def cat(proc: Proc, argv: list[str]) -> int:
    status = 0
    files = [a for a in argv[1:] if not (a.startswith("-") and a != "-")]
    for source in files or ["-"]:
        if source == "-":
            while (chunk := await proc.stdin.read()) is not None:
                await proc.write(chunk)
            continue
        data = proc.read_file(source)
        if data is None:
            status = await proc.fail(f"can't open '{source}': No such file or directory")
            continue
        await proc.write(data)
    return status


def _count_option(args: list[str], letter: str, default: str) -> tuple[str, list[str]]:
    """``-n N``, ``-nN``, ``-N`` (old style) → (value, remaining args)."""
    value = default
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == f"-{letter}" and i + 1 < len(args):
            value = args[i + 1]
            i += 2
            continue
        if arg.startswith(f"-{letter}") and len(arg) > 2:
            value = arg[2:]
        elif re.fullmatch(r"-\d+", arg):
            value = arg[1:]
        else:
            rest.append(arg)
        i += 1
    return value, rest


async def head(proc: Proc, argv: list[str]) -> int:
    byte_count, args = _count_option(argv[1:], "c", "")
    count, files = _count_option(args, "n", "10")
    files = [f for f in files if f not in ("-q", "-v")]
    if byte_count:
        if not byte_count.isdigit():
            return await proc.fail(f"invalid number '{byte_count}'")
        left = int(byte_count)
        data, status = await _read_inputs(proc, files) if files else (b"", 0)
        if files:
            await proc.write(data[:left])
            return status
        while left > 0 and (chunk := await proc.stdin.read()) is not None:
            await proc.write(chunk[:left])
            left -= len(chunk)
        return 0
    if not count.isdigit():
        return await proc.fail(f"invalid number '{count}'")
    left = int(count)
    if left == 0:
        return 0
    async for line in _lines(proc, files, name="head"):
        await proc.write(line)
        left -= 1
        if left <= 0:
            break
    return 0


async def tail(proc: Proc, argv: list[str]) -> int:
    count, files = _count_option(argv[1:], "n", "10")
    files = [f for f in files if f not in ("-q", "-v", "-f", "-F")]
    from_start = count.startswith("+")
    digits = count.lstrip("+")
    if not digits.isdigit():
        return await proc.fail(f"invalid number '{count}'")
    data, status = await _read_inputs(proc, files)
    lines = data.splitlines(keepends=True)
    number = int(digits)
    chosen = lines[max(number - 1, 0) :] if from_start else (lines[-number:] if number else [])
    await proc.write(b"".join(chosen))
    return status


def _bre_to_python(pattern: str) -> str:
    """Basic regular expressions (grep's default) to Python's syntax."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            out.append(nxt if nxt in "(){}|+?" else "\\" + nxt)
            i += 2
            continue
        out.append("\\" + ch if ch in "(){}|+?" else ch)
        i += 1
    return "".join(out)


async def grep(proc: Proc, argv: list[str]) -> int:
    args = argv[1:]
    flags: set[str] = set()
    patterns: list[str] = []
    files: list[str] = []
    while args:
        arg = args.pop(0)
        if arg == "--":
            files.extend(args)
            break
        if arg == "-e" and args:
            patterns.append(args.pop(0))
        elif arg.startswith("-") and len(arg) > 1:
            for letter in arg[1:]:
                if letter not in "ivcqnoEFwxshHlr":
                    return await proc.fail(f"unrecognized option: {letter}", 2)
                flags.add(letter)
        elif not patterns and not files and "pattern_given" not in flags:
            patterns.append(arg)
            flags.add("pattern_given")
        else:
            files.append(arg)
    if not patterns:
        await proc.ewrite(
            f"{BUSYBOX_BANNER}\n\nUsage: grep [-HhnlLoqvsrRiwFE] [-m N] [-A|B|C N] "
            "{ PATTERN | -e PATTERN... | -f FILE... } [FILE]...\n"
        )
        return 2
    compiled: list[re.Pattern[str]] = []
    for pattern in patterns:
        source = re.escape(pattern) if "F" in flags else pattern if "E" in flags else _bre_to_python(pattern)
        if "w" in flags:
            source = rf"\b(?:{source})\b"
        if "x" in flags:
            source = rf"^(?:{source})$"
        try:
            compiled.append(re.compile(source, re.IGNORECASE if "i" in flags else 0))
        except re.error:
            return await proc.fail(f"bad regex '{pattern}'", 2)
    matched = 0
    number = 0
    async for raw in _lines(proc, files, name="grep"):
        number += 1
        line = raw.decode(errors="replace").rstrip("\n")
        hits = [m for rx in compiled for m in rx.finditer(line)]
        if bool(hits) == ("v" in flags):
            continue
        matched += 1
        if "q" in flags:
            return 0
        if "c" in flags or "l" in flags:
            continue
        prefix = f"{number}:" if "n" in flags else ""
        if "o" in flags and "v" not in flags:
            for m in sorted(hits, key=lambda m: m.start()):
                if m.group():
                    await proc.write(f"{prefix}{m.group()}\n".encode())
        else:
            await proc.write(f"{prefix}{line}\n".encode())
    if "c" in flags:
        await proc.write(f"{matched}\n".encode())
    return 0 if matched else 1


async def wc(proc: Proc, argv: list[str]) -> int:
    letters = "".join(a[1:] for a in argv[1:] if a.startswith("-") and len(a) > 1)
    files = [a for a in argv[1:] if not (a.startswith("-") and len(a) > 1)]
    data, status = await _read_inputs(proc, files)
    counts = {
        "l": data.count(b"\n"),
        "w": len(data.split()),
        "c": len(data),
        "m": len(data.decode(errors="replace")),
    }
    chosen = [c for c in "lwcm" if c in letters] or ["l", "w", "c"]
    if len(chosen) == 1 and not files:
        await proc.write(f"{counts[chosen[0]]}\n".encode())
    else:
        cells = " ".join(f"{counts[c]:7d}" for c in chosen)
        suffix = f" {files[0]}" if len(files) == 1 else ""
        await proc.write(f"{cells}{suffix}\n".encode())
    return status


async def sort(proc: Proc, argv: list[str]) -> int:
    letters = "".join(a[1:] for a in argv[1:] if a.startswith("-") and len(a) > 1)
    files = [a for a in argv[1:] if not (a.startswith("-") and len(a) > 1)]
    data, status = await _read_inputs(proc, files)
    lines = data.decode(errors="replace").splitlines()
    if "n" in letters:

        def key(line: str) -> tuple[float, str]:
            m = re.match(r"\s*(-?\d+(?:\.\d+)?)", line)
            return (float(m.group(1)) if m else 0.0, line)

        lines.sort(key=key, reverse="r" in letters)
    else:
        lines.sort(key=str.lower if "f" in letters else None, reverse="r" in letters)
    if "u" in letters:
        lines = list(dict.fromkeys(lines))
    await proc.write("".join(line + "\n" for line in lines).encode())
    return status


async def uniq(proc: Proc, argv: list[str]) -> int:
    letters = "".join(a[1:] for a in argv[1:] if a.startswith("-") and len(a) > 1)
    files = [a for a in argv[1:] if not (a.startswith("-") and len(a) > 1)][:1]
    groups: list[tuple[str, int]] = []
    async for raw in _lines(proc, files, name="uniq"):
        line = raw.decode(errors="replace").rstrip("\n")
        if groups and groups[-1][0] == line:
            groups[-1] = (line, groups[-1][1] + 1)
        else:
            groups.append((line, 1))
    for line, count in groups:
        if ("d" in letters and count < 2) or ("u" in letters and count > 1):
            continue
        await proc.write((f"{count:7d} {line}\n" if "c" in letters else f"{line}\n").encode())
    return 0


def _ranges(spec: str) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for piece in spec.split(","):
        start, dash, end = piece.partition("-")
        lo = int(start) if start else 1
        hi = int(end) if end else (lo if not dash else 1 << 30)
        out.append((lo, hi))
    return out


async def cut(proc: Proc, argv: list[str]) -> int:
    args = argv[1:]
    delimiter = "\t"
    fields = chars = ""
    files: list[str] = []
    while args:
        arg = args.pop(0)
        if arg.startswith("-d"):
            delimiter = arg[2:] or (args.pop(0) if args else "\t")
        elif arg.startswith("-f"):
            fields = arg[2:] or (args.pop(0) if args else "")
        elif arg.startswith(("-c", "-b")):
            chars = arg[2:] or (args.pop(0) if args else "")
        else:
            files.append(arg)
    try:
        ranges = _ranges(fields or chars)
    except ValueError:
        return await proc.fail("invalid byte, character or field list")
    if not (fields or chars):
        return await proc.fail("expected a list of bytes, characters, or fields")
    async for raw in _lines(proc, files, name="cut"):
        line = raw.decode(errors="replace").rstrip("\n")
        if fields:
            if delimiter not in line:
                await proc.write(line + "\n")
                continue
            parts = line.split(delimiter[:1])
            picked = [p for i, p in enumerate(parts, 1) if any(lo <= i <= hi for lo, hi in ranges)]
            await proc.write(delimiter[:1].join(picked) + "\n")
        else:
            picked = "".join(c for i, c in enumerate(line, 1) if any(lo <= i <= hi for lo, hi in ranges))
            await proc.write(picked + "\n")
    return 0


def _tr_set(spec: str) -> str:
    spec, _ = _unescape(spec, echo=False)
    classes = {
        "[:lower:]": "abcdefghijklmnopqrstuvwxyz",
        "[:upper:]": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "[:digit:]": "0123456789",
        "[:space:]": " \t\n\r\f\v",
        "[:blank:]": " \t",
    }
    for name, chars in classes.items():
        spec = spec.replace(name, chars)
    out: list[str] = []
    i = 0
    while i < len(spec):
        if i + 2 < len(spec) and spec[i + 1] == "-":
            lo, hi = ord(spec[i]), ord(spec[i + 2])
            out.extend(chr(c) for c in range(lo, min(hi, lo + 4096) + 1))
            i += 3
        else:
            out.append(spec[i])
            i += 1
    return "".join(out)


async def tr(proc: Proc, argv: list[str]) -> int:
    args = argv[1:]
    delete = squeeze = False
    while args and args[0].startswith("-") and len(args[0]) > 1:
        for letter in args.pop(0)[1:]:
            delete = delete or letter == "d"
            squeeze = squeeze or letter == "s"
    if not args:
        return await proc.fail("missing operand")
    source = _tr_set(args[0])
    target = _tr_set(args[1]) if len(args) > 1 else ""
    if target:
        target = target + target[-1] * max(0, len(source) - len(target))
    table = (
        str.maketrans(source, target[: len(source)])
        if target and not delete
        else {ord(c): None for c in source}
    )
    while (chunk := await proc.stdin.read()) is not None:
        text = chunk.decode(errors="replace")
        text = text.translate(table) if (delete or target) else text
        if squeeze:
            squeezed = target or source
            text = re.sub(
                "|".join(f"(?:{re.escape(c)})+" for c in set(squeezed)), lambda m: m.group()[0], text
            )
        await proc.write(text.encode())
    return 0


async def tee(proc: Proc, argv: list[str]) -> int:
    append = "-a" in argv[1:]
    files = [proc.path(a) for a in argv[1:] if a != "-a"]
    for path in files:
        if not append and path != "/dev/null":
            proc.fs.write(path, b"")
    while (chunk := await proc.stdin.read()) is not None:
        for path in files:
            if path != "/dev/null":
                proc.fs.write(path, chunk, append=True)
        await proc.write(chunk)
    return 0


async def seq(proc: Proc, argv: list[str]) -> int:
    args = argv[1:]
    separator = "\n"
    width = False
    while args and re.fullmatch(r"-[sw]|-s.+", args[0]):
        arg = args.pop(0)
        if arg == "-w":
            width = True
        elif arg == "-s":
            separator = args.pop(0) if args else "\n"
        else:
            separator = arg[2:]
    if not 1 <= len(args) <= 3:
        await proc.ewrite(f"{BUSYBOX_BANNER}\n\nUsage: seq [-w] [-s SEP] [FIRST [INC]] LAST\n")
        return 1
    try:
        numbers = [float(a) for a in args]
    except ValueError:
        bad = next(a for a in args if not re.fullmatch(r"-?\d+(\.\d*)?", a))
        return await proc.fail(f"invalid number '{bad}'")
    first, step, last = (
        (1.0, 1.0, numbers[0])
        if len(numbers) == 1
        else ((numbers[0], 1.0, numbers[1]) if len(numbers) == 2 else tuple(numbers))
    )
    if step == 0:
        return 0
    integral = all(re.fullmatch(r"-?\d+", a) for a in args)
    digits = len(str(int(max(abs(first), abs(last))))) if width and integral else 0
    count = 0
    value = first
    batch: list[str] = []
    while (step > 0 and value <= last) or (step < 0 and value >= last):
        text = str(int(value)).zfill(digits) if integral else f"{value:g}"
        batch.append(text)
        count += 1
        value = first + step * count
        if len(batch) >= 512:
            await proc.write(separator.join(batch).encode() + separator.encode())
            batch.clear()
            await proc.checkpoint()
    if batch:
        await proc.write(separator.join(batch).encode() + b"\n")
    return 0


async def yes(proc: Proc, argv: list[str]) -> int:
    line = (" ".join(argv[1:]) or "y") + "\n"
    block = (line * max(1, 4096 // len(line))).encode()
    while True:
        await proc.write(block)
        await proc.checkpoint()


# ---------------------------------------------------------------------------------------------
# files


async def ls(proc: Proc, argv: list[str]) -> int:
    targets = [a for a in argv[1:] if not a.startswith("-")] or [proc.cwd]
    long = any("l" in a for a in argv[1:] if a.startswith("-"))
    status = 0
    for target in targets:
        path = proc.path(target)
        fs = proc.fs
        if path in fs.files:
            names = [target]
        elif path in fs.dirs:
            prefix = path.rstrip("/") + "/"
            names = sorted(
                {
                    p[len(prefix) :].split("/", 1)[0]
                    for p in (*fs.files, *fs.dirs)
                    if p.startswith(prefix) and p != path
                }
            )
        else:
            status = await proc.fail(f"{target}: No such file or directory")
            continue
        for name in names:
            if long:
                full = path if path in fs.files else path.rstrip("/") + "/" + name
                size = len(fs.files.get(full, b""))
                kind = "d" if full in fs.dirs else "-"
                await proc.write(f"{kind}rw-r--r--    1 curl_use curl_gro {size:>8} {name}\n".encode())
            else:
                await proc.write(f"{name}\n".encode())
    return status


async def mkdir(proc: Proc, argv: list[str]) -> int:
    parents = "-p" in argv[1:]
    status = 0
    for target in (a for a in argv[1:] if not a.startswith("-")):
        path = proc.path(target)
        if path in proc.fs.dirs and not parents:
            status = await proc.fail(f"can't create directory '{target}': File exists")
            continue
        if not parents and not proc.fs.parent_exists(path):
            status = await proc.fail(f"can't create directory '{target}': No such file or directory")
            continue
        while path not in proc.fs.dirs:
            proc.fs.dirs.add(path)
            path = path.rsplit("/", 1)[0] or "/"
    return status


async def rm(proc: Proc, argv: list[str]) -> int:
    force = any("f" in a for a in argv[1:] if a.startswith("-"))
    status = 0
    for target in (a for a in argv[1:] if not a.startswith("-")):
        path = proc.path(target)
        if proc.fs.files.pop(path, None) is None and not force:
            status = await proc.fail(f"can't remove '{target}': No such file or directory")
    return status


async def touch(proc: Proc, argv: list[str]) -> int:
    for target in (a for a in argv[1:] if not a.startswith("-")):
        path = proc.path(target)
        if path not in proc.fs.files:
            if not proc.fs.parent_exists(path):
                return await proc.fail(f"{target}: No such file or directory")
            proc.fs.write(path, b"")
    return 0


async def basename(proc: Proc, argv: list[str]) -> int:
    if len(argv) < 2:
        return await proc.fail("missing operand")
    name = argv[1].rstrip("/").rsplit("/", 1)[-1] or "/"
    if len(argv) > 2 and name.endswith(argv[2]) and name != argv[2]:
        name = name[: -len(argv[2])]
    await proc.write(name + "\n")
    return 0


async def dirname(proc: Proc, argv: list[str]) -> int:
    if len(argv) < 2:
        return await proc.fail("missing operand")
    path = argv[1].rstrip("/")
    await proc.write((path.rsplit("/", 1)[0] if "/" in path else ".") + "\n" if path else "/\n")
    return 0


# ---------------------------------------------------------------------------------------------
# test / [


class _TestError(Exception):
    pass


def _test_int(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise _TestError(f"invalid number '{text}'") from None


_BINARY_TESTS = {"=", "==", "!=", "-eq", "-ne", "-lt", "-le", "-gt", "-ge", "<", ">"}
_UNARY_TESTS = {
    "-n",
    "-z",
    "-e",
    "-f",
    "-d",
    "-s",
    "-r",
    "-w",
    "-x",
    "-L",
    "-h",
    "-t",
    "-b",
    "-c",
    "-p",
    "-S",
}


class _TestEval:
    """POSIX ``test`` with ``!``, ``-a``, ``-o`` and parentheses."""

    def __init__(self, proc: Proc, args: list[str]) -> None:
        self.proc = proc
        self.args = args
        self.i = 0

    def done(self) -> bool:
        return self.i >= len(self.args)

    def take(self) -> str:
        if self.done():
            raise _TestError("argument expected")
        self.i += 1
        return self.args[self.i - 1]

    def expr(self) -> bool:
        value = self.and_expr()
        while not self.done() and self.args[self.i] == "-o":
            self.i += 1
            right = self.and_expr()
            value = value or right
        return value

    def and_expr(self) -> bool:
        value = self.not_expr()
        while not self.done() and self.args[self.i] == "-a":
            self.i += 1
            right = self.not_expr()
            value = value and right
        return value

    def not_expr(self) -> bool:
        if not self.done() and self.args[self.i] == "!" and self.i + 1 < len(self.args):
            self.i += 1
            return not self.not_expr()
        return self.primary()

    def primary(self) -> bool:
        remaining = len(self.args) - self.i
        if remaining >= 3 and self.args[self.i + 1] in _BINARY_TESTS:
            left, op, right = self.take(), self.take(), self.take()
            return self.binary(left, op, right)
        first = self.take()
        if first == "(":
            value = self.expr()
            if self.take() != ")":
                raise _TestError("')' expected")
            return value
        if first in _UNARY_TESTS and not self.done():
            return self.unary(first, self.take())
        return first != ""

    def binary(self, left: str, op: str, right: str) -> bool:
        if op in ("=", "=="):
            return left == right
        if op == "!=":
            return left != right
        if op == "<":
            return left < right
        if op == ">":
            return left > right
        a, b = _test_int(left), _test_int(right)
        return {"-eq": a == b, "-ne": a != b, "-lt": a < b, "-le": a <= b, "-gt": a > b, "-ge": a >= b}[op]

    def unary(self, op: str, arg: str) -> bool:
        if op == "-n":
            return arg != ""
        if op == "-z":
            return arg == ""
        if op == "-t":
            return False
        path = self.proc.path(arg)
        fs = self.proc.fs
        if op == "-d":
            return path in fs.dirs
        if op == "-s":
            return bool(fs.files.get(path))
        if op in ("-f", "-r", "-w"):
            return path in fs.files or (op != "-f" and path in fs.dirs)
        if op == "-e":
            return path in fs.files or path in fs.dirs or path in ("/dev/null", "/dev/stdout", "/dev/stderr")
        if op == "-x":
            return self.proc.shell.lookup(path) is not None or path in fs.dirs
        return False


async def test(proc: Proc, argv: list[str]) -> int:
    args = argv[1:]
    if argv[0] == "[":
        if not args or args[-1] != "]":
            return await proc.fail("missing ]", 2)
        args = args[:-1]
    if not args:
        return 1
    try:
        evaluator = _TestEval(proc, args)
        value = evaluator.expr()
        if not evaluator.done():
            raise _TestError(f"{args[evaluator.i]}: unknown operand")
    except _TestError as exc:
        return await proc.fail(str(exc), 2)
    return 0 if value else 1


# ---------------------------------------------------------------------------------------------
# process helpers


async def timeout(proc: Proc, argv: list[str]) -> int:
    args = argv[1:]
    while args and args[0].startswith("-") and args[0] not in ("-",):
        opt = args.pop(0)
        if opt in ("-s", "-k") and args:
            args.pop(0)
    if len(args) < 2:
        await proc.ewrite(f"{BUSYBOX_BANNER}\n\nUsage: timeout [-s SIG] [-k KILL_SECS] SECS PROG ARGS\n")
        return 1
    seconds = parse_duration(args[0])
    if seconds is None:
        return await proc.fail(f"invalid number '{args[0]}'")
    command = args[1:]
    if proc.shell.lookup(command[0]) is None:
        return await proc.fail(f"can't execute '{command[0]}': No such file or directory", 127)
    try:
        async with asyncio.timeout(seconds):
            return await proc.shell.run_command(command, proc.fds, [])
    except TimeoutError:
        return 143


async def nslookup(proc: Proc, argv: list[str]) -> int:
    names = [a for a in argv[1:] if not a.startswith("-")]
    if not names:
        await proc.ewrite(
            f"{BUSYBOX_BANNER}\n\nUsage: nslookup [-type=QUERY_TYPE] [-debug] HOST [DNS_SERVER]\n"
        )
        return 1
    host = names[0]
    server = "10.96.0.10"
    await proc.write(f"Server:\t\t{server}\nAddress:\t{server}:53\n\n".encode())
    network = proc.network
    ip = await proc.wait(network.resolve(host)) if network is not None else None
    if ip is None:
        await proc.write(f"** server can't find {host}: NXDOMAIN\n\n".encode())
        return 1
    await proc.write(f"Name:\t{host}\nAddress: {ip}\n\n".encode())
    return 0


COMMANDS: dict[str, Command] = {
    "echo": echo,
    "printf": printf,
    "sleep": sleep,
    "date": date,
    "hostname": hostname,
    "whoami": whoami,
    "id": id_,
    "uname": uname,
    "env": env,
    "printenv": printenv,
    "true": true,
    "false": false,
    "pwd": pwd,
    "cat": cat,
    "head": head,
    "tail": tail,
    "grep": grep,
    "wc": wc,
    "sort": sort,
    "uniq": uniq,
    "cut": cut,
    "tr": tr,
    "tee": tee,
    "seq": seq,
    "yes": yes,
    "ls": ls,
    "mkdir": mkdir,
    "rm": rm,
    "touch": touch,
    "basename": basename,
    "dirname": dirname,
    "test": test,
    "[": test,
    "timeout": timeout,
    "nslookup": nslookup,
}
"""Applets by name; :func:`tui.sim.shell.default_commands` adds ``curl`` and ``sh``."""

__all__ = ["COMMANDS", "parse_duration", "strftime"]
