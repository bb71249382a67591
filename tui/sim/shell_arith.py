"""``$((...))`` for the simulated shell: 64-bit integer arithmetic as busybox ash does it.

Scripts count loop iterations (``i=$((i+1))``) and compare (``$((i < 5))``); a tiny Pratt parser
covers C's integer operators, assignments and ``?:`` without ever calling Python's ``eval``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

_TOKEN = re.compile(
    r"\s*(?:(?P<num>0[xX][0-9a-fA-F]+|\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|"
    r"(?P<op><<=|>>=|\+\+|--|\*\*|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%&|^]=|[-+*/%<>=!~&|^?:(),]))"
)
_MASK = (1 << 64) - 1
MAX_EXPR = 4096


class ArithError(Exception):
    """Reported as ``sh: <message>`` by the shell (status 2)."""


def _wrap(value: int) -> int:
    value &= _MASK
    return value - (1 << 64) if value >= 1 << 63 else value


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str
    text: str


@functools.lru_cache(maxsize=256)
def _tokenize(expr: str) -> tuple[_Tok, ...]:
    """Tokens of an expression (cached: loops evaluate the same ``i+1`` over and over)."""
    tokens: list[_Tok] = []
    pos = 0
    expr = expr.rstrip()
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m or m.end() == pos:
            raise ArithError("arithmetic syntax error")
        pos = m.end()
        kind = m.lastgroup or "op"
        tokens.append(_Tok(kind, m.group(kind)))
    return tuple(tokens)


_BINARY = {
    "||": 1, "&&": 2, "|": 3, "^": 4, "&": 5, "==": 6, "!=": 6,
    "<": 7, "<=": 7, ">": 7, ">=": 7, "<<": 8, ">>": 8, "+": 9, "-": 9,
    "*": 10, "/": 10, "%": 10, "**": 11,
}  # fmt: skip
_ASSIGN = {"=", "+=", "-=", "*=", "/=", "%=", "<<=", ">>=", "&=", "^=", "|="}


class _Eval:
    """Evaluates while parsing; ``live`` is false in the branch ``&&``/``||``/``?:`` skip."""

    def __init__(self, tokens: tuple[_Tok, ...], get: Callable[[str], str], put: Callable[[str, str], None]):
        self.tokens = tokens
        self.i = 0
        self.get = get
        self.put = put
        self.depth = 0

    def peek(self) -> _Tok | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise ArithError("arithmetic syntax error")
        self.i += 1
        return tok

    def var(self, name: str) -> int:
        text = self.get(name).strip()
        if not text:
            return 0
        try:
            return _wrap(int(text, 0) if not re.fullmatch(r"0\d+", text) else int(text, 8))
        except ValueError:
            raise ArithError("arithmetic syntax error") from None

    def expr(self, live: bool) -> int:
        value = self.assign(live)
        while (tok := self.peek()) is not None and tok.text == ",":
            self.take()
            value = self.assign(live)
        return value

    def assign(self, live: bool) -> int:
        tok = self.peek()
        nxt = self.tokens[self.i + 1] if self.i + 1 < len(self.tokens) else None
        if tok is not None and tok.kind == "name" and nxt is not None and nxt.text in _ASSIGN:
            self.i += 2
            rhs = self.assign(live)
            if not live:
                return 0
            if nxt.text != "=":
                rhs = self.binary(nxt.text[:-1], self.var(tok.text), rhs)
            self.put(tok.text, str(rhs))
            return rhs
        return self.ternary(live)

    def ternary(self, live: bool) -> int:
        cond = self.binop(1, live)
        tok = self.peek()
        if tok is None or tok.text != "?":
            return cond
        self.take()
        yes = self.assign(live and cond != 0)
        if self.take().text != ":":
            raise ArithError("arithmetic syntax error")
        no = self.assign(live and cond == 0)
        return yes if cond else no

    def binop(self, min_prec: int, live: bool) -> int:
        left = self.unary(live)
        while True:
            tok = self.peek()
            if tok is None or tok.kind != "op" or tok.text not in _BINARY:
                return left
            prec = _BINARY[tok.text]
            if prec < min_prec:
                return left
            self.take()
            if tok.text == "&&":
                right = self.binop(prec + 1, live and left != 0)
                left = int(left != 0 and right != 0)
            elif tok.text == "||":
                right = self.binop(prec + 1, live and left == 0)
                left = int(left != 0 or right != 0)
            else:
                right = self.binop(prec if tok.text == "**" else prec + 1, live)
                left = self.binary(tok.text, left, right) if live else 0

    def binary(self, op: str, a: int, b: int) -> int:
        if op in ("/", "%"):
            if b == 0:
                raise ArithError("divide by zero")
            quotient = abs(a) // abs(b) * (1 if (a >= 0) == (b >= 0) else -1)
            return _wrap(quotient if op == "/" else a - quotient * b)
        if op == "**":
            if b < 0:
                raise ArithError("exponent less than 0")
            return _wrap(pow(a, min(b, 256), 1 << 64))
        if op in ("<<", ">>"):
            b &= 63
            return _wrap(a << b) if op == "<<" else a >> b
        result = {
            "+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b,
            "&": lambda: a & b, "|": lambda: a | b, "^": lambda: a ^ b,
            "==": lambda: int(a == b), "!=": lambda: int(a != b), "<": lambda: int(a < b),
            "<=": lambda: int(a <= b), ">": lambda: int(a > b), ">=": lambda: int(a >= b),
        }[op]()  # fmt: skip
        return _wrap(result)

    def unary(self, live: bool) -> int:
        self.depth += 1
        if self.depth > 200:
            raise ArithError("arithmetic syntax error")
        try:
            tok = self.take()
            if tok.kind == "op" and tok.text in ("-", "+", "!", "~"):
                value = self.unary(live)
                return {"-": -value, "+": value, "!": int(value == 0), "~": ~value}[tok.text]
            if tok.kind == "op" and tok.text in ("++", "--"):
                name = self.take()
                if name.kind != "name":
                    raise ArithError("arithmetic syntax error")
                value = _wrap(self.var(name.text) + (1 if tok.text == "++" else -1))
                if live:
                    self.put(name.text, str(value))
                return value
            if tok.text == "(":
                value = self.expr(live)
                if self.take().text != ")":
                    raise ArithError("arithmetic syntax error")
                return value
            if tok.kind == "num":
                text = tok.text
                base = 16 if text[:2].lower() == "0x" else 8 if len(text) > 1 and text[0] == "0" else 10
                try:
                    return _wrap(int(text, base))
                except ValueError:
                    raise ArithError("arithmetic syntax error") from None
            if tok.kind == "name":
                nxt = self.peek()
                value = self.var(tok.text)
                if nxt is not None and nxt.text in ("++", "--"):
                    self.take()
                    if live:
                        self.put(tok.text, str(_wrap(value + (1 if nxt.text == "++" else -1))))
                return value
            raise ArithError("arithmetic syntax error")
        finally:
            self.depth -= 1


def evaluate(expr: str, get: Callable[[str], str], put: Callable[[str, str], None]) -> int:
    """Value of ``expr``; names read through ``get`` and assigned through ``put``."""
    if len(expr) > MAX_EXPR:
        raise ArithError("arithmetic syntax error")
    tokens = _tokenize(expr)
    if not tokens:
        return 0
    ev = _Eval(tokens, get, put)
    value = ev.expr(True)
    if ev.peek() is not None:
        raise ArithError("arithmetic syntax error")
    return value
