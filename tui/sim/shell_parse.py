"""Parse the POSIX-sh subset the simulated busybox ``sh`` runs into a small syntax tree.

Operators drive ``kubectl exec`` with one-liners (``while true; do curl ...; sleep 1; done``), so
the grammar covers what such scripts use — words with quotes and expansions, ``;`` ``&&`` ``||``
``|`` ``&``, redirections and here-documents, ``if``/``while``/``until``/``for``/``case``, ``{ }``,
``( )`` and functions — and reports errors in busybox ash's words (``syntax error: unexpected
"done"``) so a typo looks the same as against a real curl image. No Python is evaluated, and
nesting and input sizes are bounded because the input comes from whoever can reach the API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_SOURCE = 256 * 1024
"""Longest script accepted (bytes of text); real ARG_MAX is larger, but nobody types more."""
MAX_DEPTH = 64
"""Deepest nesting of compound commands and substitutions before giving up."""

RESERVED = frozenset(
    {
        "if",
        "then",
        "else",
        "elif",
        "fi",
        "do",
        "done",
        "case",
        "esac",
        "while",
        "until",
        "for",
        "in",
        "{",
        "}",
        "!",
    }
)
_CLOSERS = frozenset({"then", "else", "elif", "fi", "do", "done", "esac", "}"})
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = (
    "<<-", "&&", "||", ";;", "<<", ">>", "<&", ">&", "<>", ">|", "&>",
    ";", "&", "|", "(", ")", "<", ">",
)  # fmt: skip
_REDIRECTS = frozenset({"<", ">", ">>", ">|", "<>", "<&", ">&", "&>", "<<", "<<-"})
_META = " \t\n;&|()<>"
_SPECIAL_PARAMS = "@*#?$!-0"
_C_ESCAPES = {
    "n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "e": "\x1b", "f": "\f", "v": "\v",
    "\\": "\\", "'": "'", '"': '"',
}  # fmt: skip


class ShellSyntaxError(Exception):
    """A script the shell refuses to run; ``message`` is busybox ash's text after ``syntax error: ``.

    ``incomplete`` marks errors caused by input ending too early (an open quote, a missing
    ``done``): an interactive shell waits for more lines instead of reporting them.
    """

    def __init__(self, message: str, *, incomplete: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.incomplete = incomplete


# ---------------------------------------------------------------------------------------------
# Words


@dataclass(slots=True)
class Lit:
    """Literal text; ``quoted`` text is exempt from field splitting and tilde expansion."""

    text: str
    quoted: bool = False


@dataclass(slots=True)
class Param:
    """``$name`` / ``${name op arg}``; ``op`` is '' or one of ``:- - := = :+ + :? ? # ## % %% len``."""

    name: str
    quoted: bool = False
    op: str = ""
    arg: Word | None = None


@dataclass(slots=True)
class CmdSub:
    """``$(...)`` or backquotes: the body's output, trailing newlines removed."""

    body: Node
    quoted: bool = False


@dataclass(slots=True)
class Arith:
    """``$((...))``: the expression text is expanded first, then evaluated as integers."""

    expr: Word
    quoted: bool = False


Part = Lit | Param | CmdSub | Arith


@dataclass(slots=True)
class Word:
    parts: list[Part]
    raw: str = ""

    def plain(self) -> str | None:
        """The word's text when it is one unquoted literal (how reserved words are recognised)."""
        if len(self.parts) == 1 and isinstance(self.parts[0], Lit) and not self.parts[0].quoted:
            return self.parts[0].text
        return None

    def has_quotes(self) -> bool:
        return any(getattr(p, "quoted", False) for p in self.parts)


# ---------------------------------------------------------------------------------------------
# Commands


@dataclass(slots=True)
class Redir:
    """``[fd]op target``; ``heredoc`` holds the body of ``<<``."""

    fd: int
    op: str
    target: Word | None = None
    heredoc: Word | None = None


@dataclass(slots=True)
class SimpleCommand:
    assigns: list[tuple[str, Word]]
    words: list[Word]
    redirs: list[Redir]
    line: int = 1


@dataclass(slots=True)
class Pipeline:
    commands: list[Node]
    negate: bool = False


@dataclass(slots=True)
class AndOr:
    first: Node
    rest: list[tuple[str, Node]]


@dataclass(slots=True)
class ListNode:
    items: list[tuple[Node, bool]]
    """(command, runs in the background)."""


@dataclass(slots=True)
class BraceGroup:
    body: Node
    redirs: list[Redir] = field(default_factory=list)


@dataclass(slots=True)
class Subshell:
    body: Node
    redirs: list[Redir] = field(default_factory=list)


@dataclass(slots=True)
class If:
    clauses: list[tuple[Node, Node]]
    else_body: Node | None = None
    redirs: list[Redir] = field(default_factory=list)


@dataclass(slots=True)
class While:
    cond: Node
    body: Node
    until: bool = False
    redirs: list[Redir] = field(default_factory=list)


@dataclass(slots=True)
class For:
    var: str
    words: list[Word] | None
    """``None``: iterate over ``"$@"``."""
    body: Node
    redirs: list[Redir] = field(default_factory=list)


@dataclass(slots=True)
class Case:
    word: Word
    items: list[tuple[list[Word], Node | None]]
    redirs: list[Redir] = field(default_factory=list)


@dataclass(slots=True)
class FuncDef:
    name: str
    body: Node


Node = SimpleCommand | Pipeline | AndOr | ListNode | BraceGroup | Subshell | If | While | For | Case | FuncDef


# ---------------------------------------------------------------------------------------------
# Lexer


@dataclass(slots=True)
class Token:
    kind: str
    """'word', 'op', 'io_number', 'newline' or 'eof'."""
    value: str
    word: Word | None = None
    line: int = 1

    def reserved(self) -> str | None:
        """The reserved word this token spells, if it can be one (unquoted, literal)."""
        if self.kind == "word" and self.word is not None:
            text = self.word.plain()
            if text in RESERVED:
                return text
        return None

    def describe(self) -> str:
        """How ash names a token in ``unexpected X``."""
        if self.kind == "eof":
            return "end of file"
        if self.kind == "newline":
            return "newline"
        if (self.kind == "op" and self.value in _REDIRECTS) or self.kind == "io_number":
            return "redirection"
        if self.kind == "word" and self.reserved() is None:
            return "word"
        return f'"{self.value}"'


@dataclass(slots=True)
class _PendingHeredoc:
    redir: Redir
    delimiter: str
    strip_tabs: bool
    expand: bool


class Lexer:
    """Turns source text into tokens on demand (the parser asks for one token at a time).

    Here-document bodies are read when the newline after their ``<<`` operator is reached,
    which is why the parser registers them (:meth:`add_heredoc`) as soon as it sees one.
    """

    def __init__(
        self, src: str, pos: int = 0, line: int = 1, depth: int = 0, *, partial: bool = False
    ) -> None:
        if len(src) > MAX_SOURCE:
            raise ShellSyntaxError("script too long")
        self.src = src
        self.pos = pos
        self.line = line
        self.depth = depth
        self.partial = partial
        """More input may follow (a shell reading stdin): a here-document without its end
        delimiter is incomplete rather than ended by the end of input."""
        self._heredocs: list[_PendingHeredoc] = []

    # -- tokens --------------------------------------------------------------------------------

    def next_token(self) -> Token:
        src = self.src
        while True:
            while self.pos < len(src) and src[self.pos] in " \t":
                self.pos += 1
            if src.startswith("\\\n", self.pos):
                self.pos += 2
                self.line += 1
                continue
            if self.pos < len(src) and src[self.pos] == "#":
                while self.pos < len(src) and src[self.pos] != "\n":
                    self.pos += 1
            break
        if self.pos >= len(src):
            if self._heredocs:
                self._read_heredocs()
            return Token("eof", "", line=self.line)
        ch = src[self.pos]
        line = self.line
        if ch == "\n":
            self.pos += 1
            self.line += 1
            if self._heredocs:
                self._read_heredocs()
            return Token("newline", "\n", line=line)
        for op in _OPERATORS:
            if src.startswith(op, self.pos):
                self.pos += len(op)
                return Token("op", op, line=line)
        if ch.isdigit():
            end = self.pos
            while end < len(src) and src[end].isdigit():
                end += 1
            if end < len(src) and src[end] in "<>" and end - self.pos < 3:
                value = src[self.pos : end]
                self.pos = end
                return Token("io_number", value, line=line)
        start = self.pos
        parts = self.scan_parts(mode="word")
        return Token("word", src[start : self.pos], Word(parts, src[start : self.pos]), line=line)

    def add_heredoc(self, redir: Redir, delimiter: Word) -> None:
        text = "".join(p.text for p in delimiter.parts if isinstance(p, Lit))
        self._heredocs.append(
            _PendingHeredoc(redir, text, redir.op == "<<-", expand=not delimiter.has_quotes())
        )

    def _read_heredocs(self) -> None:
        pending, self._heredocs = self._heredocs, []
        for doc in pending:
            lines: list[str] = []
            while self.pos < len(self.src):
                end = self.src.find("\n", self.pos)
                if end < 0:
                    end = len(self.src)
                raw = self.src[self.pos : end]
                self.pos = min(end + 1, len(self.src))
                self.line += 1
                text = raw.lstrip("\t") if doc.strip_tabs else raw
                if text == doc.delimiter:
                    break
                lines.append(text + "\n")
            else:
                if self.partial:
                    raise ShellSyntaxError(
                        f'unexpected end of file (expecting "{doc.delimiter}")', incomplete=True
                    )
            body = "".join(lines)
            if doc.expand:
                sub = Lexer(body, depth=self.depth + 1)
                doc.redir.heredoc = Word(sub.scan_parts(mode="heredoc"), body)
            else:
                doc.redir.heredoc = Word([Lit(body, quoted=True)], body)

    # -- words ---------------------------------------------------------------------------------

    def scan_parts(self, mode: str) -> list[Part]:
        """Read word parts from ``pos`` until the mode's end.

        Modes: ``word`` (stops at blanks and operators), ``dquote`` (stops at ``"``), ``brace``
        (the argument of ``${x:-arg}``, stops at ``}``), ``heredoc`` (whole input, double-quote
        rules).
        """
        src = self.src
        parts: list[Part] = []
        buf: list[str] = []
        quoted_ctx = mode in ("dquote", "heredoc")

        def flush(quoted: bool) -> None:
            if buf:
                text = "".join(buf)
                buf.clear()
                if parts and isinstance(parts[-1], Lit) and parts[-1].quoted == quoted:
                    parts[-1].text += text
                else:
                    parts.append(Lit(text, quoted))

        while self.pos < len(src):
            ch = src[self.pos]
            if mode == "word" and ch in _META:
                break
            if mode == "dquote" and ch == '"':
                break
            if mode == "brace" and ch == "}":
                break
            if ch == "\\":
                nxt = src[self.pos + 1] if self.pos + 1 < len(src) else ""
                if nxt == "\n":
                    self.pos += 2
                    self.line += 1
                    continue
                if (quoted_ctx and nxt not in ("$", "`", '"', "\\")) or (mode == "heredoc" and nxt == '"'):
                    buf.append("\\")
                    self.pos += 1
                    continue
                if not nxt:
                    buf.append("\\")
                    self.pos += 1
                    continue
                flush(quoted_ctx)
                buf.append(nxt)
                flush(True)
                self.pos += 2
                continue
            if ch == "'" and not quoted_ctx:
                end = src.find("'", self.pos + 1)
                if end < 0:
                    raise ShellSyntaxError("unterminated quoted string", incomplete=True)
                flush(False)
                text = src[self.pos + 1 : end]
                self.line += text.count("\n")
                buf.append(text)
                flush(True)
                if not text and not (parts and isinstance(parts[-1], Lit) and parts[-1].quoted):
                    parts.append(Lit("", True))
                self.pos = end + 1
                continue
            if ch == '"' and not quoted_ctx:
                flush(False)
                self.pos += 1
                inner = self.scan_parts(mode="dquote")
                if self.pos >= len(src):
                    raise ShellSyntaxError("unterminated quoted string", incomplete=True)
                self.pos += 1
                parts.extend(inner if inner else [Lit("", True)])
                continue
            if ch == "$" and not quoted_ctx and src.startswith("'", self.pos + 1):
                flush(False)
                buf.append(self._dollar_single_quote())
                flush(True)
                continue
            if ch == "$":
                part = self._dollar(quoted_ctx)
                if part is None:
                    buf.append("$")
                    continue
                flush(quoted_ctx)
                parts.append(part)
                continue
            if ch == "`":
                flush(quoted_ctx)
                parts.append(self._backquote(quoted_ctx))
                continue
            if ch == "\n":
                self.line += 1
            buf.append(ch)
            self.pos += 1
        flush(quoted_ctx)
        return parts

    def _dollar_single_quote(self) -> str:
        """``$'a\\tb'`` (bash quoting that busybox ash also knows): C escapes, quoted."""
        src = self.src
        pos = self.pos + 2
        out: list[str] = []
        while pos < len(src) and src[pos] != "'":
            ch = src[pos]
            if ch == "\\" and pos + 1 < len(src):
                nxt = src[pos + 1]
                if nxt in _C_ESCAPES:
                    out.append(_C_ESCAPES[nxt])
                    pos += 2
                    continue
                m = re.match(r"x([0-9a-fA-F]{1,2})|([0-7]{1,3})", src[pos + 1 : pos + 4])
                if m:
                    out.append(chr(int(m.group(1), 16) if m.group(1) else int(m.group(2), 8)))
                    pos += 1 + m.end()
                    continue
                out.append("\\" + nxt)
                pos += 2
                continue
            out.append(ch)
            pos += 1
        if pos >= len(src):
            raise ShellSyntaxError("unterminated quoted string", incomplete=True)
        self.pos = pos + 1
        return "".join(out)

    def _dollar(self, quoted: bool) -> Part | None:
        src = self.src
        start = self.pos
        nxt = src[start + 1] if start + 1 < len(src) else ""
        if src.startswith("$((", start):
            end = self._arith_end(start + 3)
            if end is not None:
                inner = src[start + 3 : end]
                self.pos = end + 2
                sub = Lexer(inner, depth=self.depth + 1)
                return Arith(Word(sub.scan_parts(mode="heredoc"), inner), quoted)
        if nxt == "(":
            return CmdSub(self._subparse(start + 2), quoted)
        if nxt == "{":
            return self._brace_param(quoted)
        if nxt and (nxt.isalpha() or nxt == "_"):
            m = _NAME.match(src, start + 1)
            assert m is not None
            self.pos = m.end()
            return Param(m.group(), quoted)
        if nxt.isdigit() or (nxt and nxt in _SPECIAL_PARAMS):
            self.pos = start + 2
            return Param(nxt, quoted)
        self.pos = start + 1
        return None

    def _arith_end(self, pos: int) -> int | None:
        depth = 0
        src = self.src
        while pos < len(src):
            ch = src[pos]
            if ch == "(":
                depth += 1
            elif ch == ")":
                if depth == 0:
                    return pos if src.startswith("))", pos) else None
                depth -= 1
            pos += 1
        raise ShellSyntaxError('unexpected end of file (expecting ")")', incomplete=True)

    def _subparse(self, pos: int) -> Node:
        if self.depth >= MAX_DEPTH:
            raise ShellSyntaxError("nesting too deep")
        lexer = Lexer(self.src, pos, self.line, self.depth + 1)
        parser = Parser(lexer)
        body = parser.parse_list()
        tok = parser.advance()
        if tok.kind != "op" or tok.value != ")":
            raise parser.unexpected(tok, ")")
        self.pos = lexer.pos
        self.line = lexer.line
        return body

    def _brace_param(self, quoted: bool) -> Param:
        src = self.src
        pos = self.pos + 2
        length = False
        if src.startswith("#", pos) and pos + 1 < len(src) and src[pos + 1] not in "}:-=+?":
            length = True
            pos += 1
        m = _NAME.match(src, pos)
        if m:
            name = m.group()
            pos = m.end()
        elif pos < len(src) and src[pos].isdigit():
            end = pos
            while end < len(src) and src[end].isdigit():
                end += 1
            name = src[pos:end]
            pos = end
        elif pos < len(src) and src[pos] in _SPECIAL_PARAMS:
            name = src[pos]
            pos += 1
        else:
            if pos >= len(src):
                raise ShellSyntaxError("missing '}'", incomplete=True)
            raise ShellSyntaxError("bad substitution")
        if length:
            if not src.startswith("}", pos):
                raise ShellSyntaxError("bad substitution")
            self.pos = pos + 1
            return Param(name, quoted, "len")
        if src.startswith("}", pos):
            self.pos = pos + 1
            return Param(name, quoted)
        for op in (":-", ":=", ":+", ":?", "##", "%%", "-", "=", "+", "?", "#", "%"):
            if src.startswith(op, pos):
                self.pos = pos + len(op)
                arg_parts = self.scan_parts(mode="brace")
                if self.pos >= len(src):
                    raise ShellSyntaxError("missing '}'", incomplete=True)
                self.pos += 1
                if quoted:
                    arg_parts = [_requote(p) for p in arg_parts]
                return Param(name, quoted, op, Word(arg_parts))
        if pos >= len(src):
            raise ShellSyntaxError("missing '}'", incomplete=True)
        raise ShellSyntaxError("bad substitution")

    def _backquote(self, quoted: bool) -> CmdSub:
        src = self.src
        pos = self.pos + 1
        buf: list[str] = []
        while pos < len(src) and src[pos] != "`":
            if src[pos] == "\\" and pos + 1 < len(src) and src[pos + 1] in "$`\\":
                buf.append(src[pos + 1])
                pos += 2
                continue
            buf.append(src[pos])
            pos += 1
        if pos >= len(src):
            raise ShellSyntaxError("unterminated quoted string", incomplete=True)
        self.pos = pos + 1
        if self.depth >= MAX_DEPTH:
            raise ShellSyntaxError("nesting too deep")
        return CmdSub(parse("".join(buf), depth=self.depth + 1), quoted)


def _requote(part: Part) -> Part:
    """Inside ``"${x:-a b}"`` the argument is as quoted as its surroundings."""
    if isinstance(part, Lit):
        return Lit(part.text, True)
    if isinstance(part, (Param, CmdSub, Arith)):
        part.quoted = True
    return part


# ---------------------------------------------------------------------------------------------
# Parser


class Parser:
    """Recursive descent over :class:`Lexer` tokens with one token of lookahead."""

    def __init__(self, lexer: Lexer) -> None:
        self.lexer = lexer
        self._ahead: Token | None = None
        self._depth = lexer.depth

    def peek(self) -> Token:
        if self._ahead is None:
            self._ahead = self.lexer.next_token()
        return self._ahead

    def advance(self) -> Token:
        tok = self.peek()
        self._ahead = None
        return tok

    def unexpected(self, tok: Token, expecting: str | None = None) -> ShellSyntaxError:
        message = f"unexpected {tok.describe()}"
        if expecting is not None:
            message += f' (expecting "{expecting}")'
        return ShellSyntaxError(message, incomplete=tok.kind == "eof")

    def _skip_newlines(self) -> None:
        while self.peek().kind == "newline":
            self.advance()

    def _is_op(self, tok: Token, *values: str) -> bool:
        return tok.kind == "op" and tok.value in values

    # -- entry points --------------------------------------------------------------------------

    def parse_next(self) -> Node | None:
        """The next top-level command line (up to a newline), ``None`` at end of input.

        Running each line as soon as it is parsed is what lets ``echo a`` run before a syntax
        error on a later line, exactly as ash does.
        """
        self._skip_newlines()
        tok = self.peek()
        if tok.kind == "eof":
            return None
        items: list[tuple[Node, bool]] = []
        while True:
            tok = self.peek()
            if tok.kind in ("eof", "newline"):
                break
            node = self.parse_and_or()
            sep = self.peek()
            if self._is_op(sep, ";", "&"):
                self.advance()
                items.append((node, sep.value == "&"))
                continue
            items.append((node, False))
            sep = self.peek()
            if sep.kind not in ("eof", "newline"):
                raise self.unexpected(sep)
            break
        if self.peek().kind == "newline":
            self.advance()
        return ListNode(items)

    def parse_list(self) -> ListNode:
        """Commands until a closing word, ``)``, ``;;`` or end of input (the caller checks which)."""
        items: list[tuple[Node, bool]] = []
        self._skip_newlines()
        while True:
            tok = self.peek()
            if tok.kind == "eof" or self._is_op(tok, ")", ";;") or tok.reserved() in _CLOSERS:
                break
            node = self.parse_and_or()
            sep = self.peek()
            if self._is_op(sep, ";", "&"):
                self.advance()
                items.append((node, sep.value == "&"))
                self._skip_newlines()
                continue
            if sep.kind == "newline":
                items.append((node, False))
                self._skip_newlines()
                continue
            items.append((node, False))
            break
        return ListNode(items)

    def _body(self, closer: str) -> ListNode:
        """A non-empty list that must end with ``closer`` (consumed)."""
        body = self.parse_list()
        tok = self.advance()
        if not body.items:
            # ash refuses empty bodies and names whatever came instead of a command.
            raise self.unexpected(tok, closer if tok.kind == "eof" else None)
        if tok.reserved() != closer and not self._is_op(tok, closer):
            raise self.unexpected(tok, closer)
        return body

    # -- grammar -------------------------------------------------------------------------------

    def parse_and_or(self) -> Node:
        first = self.parse_pipeline()
        rest: list[tuple[str, Node]] = []
        while self._is_op(self.peek(), "&&", "||"):
            op = self.advance().value
            self._skip_newlines()
            rest.append((op, self.parse_pipeline()))
        return AndOr(first, rest) if rest else first

    def parse_pipeline(self) -> Node:
        negate = False
        if self.peek().reserved() == "!":
            self.advance()
            negate = True
        commands = [self.parse_command()]
        while self._is_op(self.peek(), "|"):
            self.advance()
            self._skip_newlines()
            commands.append(self.parse_command())
        if len(commands) == 1 and not negate:
            return commands[0]
        return Pipeline(commands, negate)

    def parse_command(self) -> Node:
        tok = self.peek()
        word = tok.reserved()
        if word is not None:
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise ShellSyntaxError("nesting too deep")
            try:
                if word == "if":
                    node: Node = self._parse_if()
                elif word in ("while", "until"):
                    node = self._parse_while(word == "until")
                elif word == "for":
                    node = self._parse_for()
                elif word == "case":
                    node = self._parse_case()
                elif word == "{":
                    self.advance()
                    node = BraceGroup(self._body("}"))
                else:
                    raise self.unexpected(tok)
            finally:
                self._depth -= 1
            self._trailing_redirects(node)
            return node
        if self._is_op(tok, "("):
            self.advance()
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise ShellSyntaxError("nesting too deep")
            try:
                node = Subshell(self._body(")"))
            finally:
                self._depth -= 1
            self._trailing_redirects(node)
            return node
        return self._parse_simple()

    def _trailing_redirects(self, node: Node) -> None:
        redirs = getattr(node, "redirs", None)
        while True:
            tok = self.peek()
            if tok.kind == "io_number" or (tok.kind == "op" and tok.value in _REDIRECTS):
                assert redirs is not None
                redirs.append(self._parse_redirect())
            else:
                return

    def _parse_redirect(self) -> Redir:
        tok = self.advance()
        fd: int | None = None
        if tok.kind == "io_number":
            fd = int(tok.value)
            tok = self.advance()
        op = tok.value
        if fd is None:
            fd = 0 if op.startswith("<") else 1
        target = self.advance()
        if target.kind != "word" or target.word is None:
            raise self.unexpected(target)
        redir = Redir(fd, op, target.word)
        if op in ("<<", "<<-"):
            self.lexer.add_heredoc(redir, target.word)
        return redir

    def _parse_simple(self) -> SimpleCommand:
        assigns: list[tuple[str, Word]] = []
        words: list[Word] = []
        redirs: list[Redir] = []
        line = self.peek().line
        while True:
            tok = self.peek()
            if tok.kind == "io_number" or (tok.kind == "op" and tok.value in _REDIRECTS):
                redirs.append(self._parse_redirect())
                continue
            if tok.kind != "word" or tok.word is None:
                break
            if not words:
                assignment = _split_assignment(tok.word)
                if assignment is not None:
                    self.advance()
                    assigns.append(assignment)
                    continue
            self.advance()
            words.append(tok.word)
            if len(words) == 1 and not assigns and self._is_op(self.peek(), "("):
                return self._parse_function(tok)  # type: ignore[return-value]
        if not (assigns or words or redirs):
            raise self.unexpected(self.peek())
        return SimpleCommand(assigns, words, redirs, line)

    def _parse_function(self, name_tok: Token) -> FuncDef:
        name = name_tok.word.plain() if name_tok.word else None
        paren = self.advance()
        close = self.advance()
        if not self._is_op(close, ")") or not name or not _NAME.fullmatch(name):
            raise self.unexpected(paren)
        self._skip_newlines()
        body = self.parse_command()
        if isinstance(body, SimpleCommand):
            raise self.unexpected(Token("word", "", line=body.line))
        return FuncDef(name, body)

    def _expect_word(self, word: str) -> None:
        tok = self.advance()
        if tok.reserved() != word:
            raise self.unexpected(tok, word)

    def _parse_if(self) -> If:
        self.advance()
        clauses: list[tuple[Node, Node]] = []
        cond = self._body("then")
        body = self.parse_list()
        else_body: Node | None = None
        while True:
            tok = self.advance()
            if not body.items:
                raise self.unexpected(tok, "fi" if tok.kind == "eof" else None)
            kind = tok.reserved()
            if kind == "elif":
                clauses.append((cond, body))
                cond = self._body("then")
                body = self.parse_list()
                continue
            clauses.append((cond, body))
            if kind == "else":
                else_body = self._body("fi")
                break
            if kind == "fi":
                break
            raise self.unexpected(tok, "fi")
        return If(clauses, else_body)

    def _parse_while(self, until: bool) -> While:
        self.advance()
        cond = self._body("do")
        body = self._body("done")
        return While(cond, body, until)

    def _parse_for(self) -> For:
        self.advance()
        tok = self.advance()
        name = tok.word.plain() if tok.kind == "word" and tok.word else None
        if not name or not _NAME.fullmatch(name):
            raise ShellSyntaxError("bad for loop variable")
        words: list[Word] | None = None
        self._skip_newlines()
        tok = self.peek()
        if tok.reserved() == "in":
            self.advance()
            words = []
            while True:
                tok = self.peek()
                if tok.kind == "word" and tok.word is not None:
                    self.advance()
                    words.append(tok.word)
                    continue
                break
            if self._is_op(tok, ";") or tok.kind == "newline":
                self.advance()
            elif tok.kind == "eof":
                raise self.unexpected(tok, "do")
            else:
                raise self.unexpected(tok)
        elif self._is_op(tok, ";"):
            self.advance()
        self._skip_newlines()
        self._expect_word("do")
        body = self._body("done")
        return For(name, words, body)

    def _parse_case(self) -> Case:
        self.advance()
        tok = self.advance()
        if tok.kind != "word" or tok.word is None:
            raise self.unexpected(tok)
        subject = tok.word
        self._skip_newlines()
        self._expect_word("in")
        items: list[tuple[list[Word], Node | None]] = []
        while True:
            self._skip_newlines()
            tok = self.peek()
            if tok.reserved() == "esac":
                self.advance()
                break
            if self._is_op(tok, "("):
                self.advance()
            patterns: list[Word] = []
            while True:
                tok = self.advance()
                if tok.kind != "word" or tok.word is None:
                    raise self.unexpected(tok, "esac" if tok.kind == "eof" else None)
                patterns.append(tok.word)
                tok = self.advance()
                if self._is_op(tok, "|"):
                    continue
                if self._is_op(tok, ")"):
                    break
                raise self.unexpected(tok, ")" if tok.kind == "eof" else None)
            body = self.parse_list()
            items.append((patterns, body if body.items else None))
            tok = self.advance()
            if self._is_op(tok, ";;"):
                continue
            if tok.reserved() == "esac":
                break
            raise self.unexpected(tok, "esac" if tok.kind == "eof" else None)
        return Case(subject, items)


def _split_assignment(word: Word) -> tuple[str, Word] | None:
    """``NAME=value`` when the word starts with an unquoted valid name followed by ``=``."""
    first = word.parts[0] if word.parts else None
    if not isinstance(first, Lit) or first.quoted or "=" not in first.text:
        return None
    name, _, rest = first.text.partition("=")
    if not _NAME.fullmatch(name):
        return None
    parts: list[Part] = [Lit(rest)] if rest else []
    parts.extend(word.parts[1:])
    return name, Word(parts, word.raw[len(name) + 1 :])


def parse(src: str, *, depth: int = 0, partial: bool = False) -> ListNode:
    """The whole script as one list (used for substitutions, ``eval`` and stdin scripts)."""
    lexer = Lexer(src, depth=depth, partial=partial)
    parser = Parser(lexer)
    items: list[tuple[Node, bool]] = []
    while True:
        node = parser.parse_next()
        if node is None:
            break
        assert isinstance(node, ListNode)
        items.extend(node.items)
    return ListNode(items)


def is_name(text: str) -> bool:
    """A valid shell variable name."""
    return bool(_NAME.fullmatch(text))
