"""The simulated busybox ``sh`` of a curl image: what ``kubectl exec deploy/curltest -- ...`` runs.

A real ``curlimages/curl`` container is Alpine with busybox (``sh``/``ash``, no ``bash``) and
curl. Operators exec into it to run loops such as
``while true; do curl -sS userlist-svc.song.svc:80/users/1; sleep 1; echo; done``; here those
scripts run in this interpreter — never a host process — against the simulated data plane.

Design points, each for a reason:

* Every write goes straight to the exec stream (:class:`~tui.sim.shell_io.ChannelOutput`), so a
  loop shows each answer as it arrives.
* The interpreter checks between commands whether the client went away and yields to the event
  loop at every command and loop iteration; sleeps and network waits are real awaits, so
  cancelling the exec task stops everything at once. Background jobs are tasks owned by the
  exec and are cancelled with it: nothing outlives the WebSocket.
* A :class:`~tui.sim.shell_io.CpuBudget` throttles and finally kills scripts that only burn
  CPU, nesting and expansion sizes are bounded.
* Messages and exit statuses follow busybox ash (``sh: foo: not found`` / 127,
  ``sh: syntax error: unexpected "done"`` / 2) so transcripts look like the real thing.

Public API: :func:`shell_program` (a :data:`~tui.sim.programs.Program`), :class:`Shell`,
:class:`Proc` and :data:`Command` (the signature of commands in a command table),
:func:`default_commands`. Which pods get this program: curl images, or pods labelled
``meshtui.sim/shell`` (this module registers that matcher with :mod:`tui.sim.programs` when it
is imported; the exec endpoint imports it with the first exec, so the registry never imports
its programs).
"""

from __future__ import annotations

import asyncio
import fnmatch
import posixpath
import random
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from tui.sim.curl import curl_command
from tui.sim.programs import SHELL_LABEL, STDERR, STDOUT, ExecIO, ExecRequest, Program, register_program
from tui.sim.shell_arith import ArithError, evaluate
from tui.sim.shell_commands import COMMANDS
from tui.sim.shell_io import (
    BrokenPipe,
    BudgetExceeded,
    CaptureOutput,
    ChannelOutput,
    CpuBudget,
    ExecClosed,
    FileOutput,
    FileSystem,
    NullOutput,
    Output,
    Pipe,
    PipeWriter,
    Reader,
)
from tui.sim.shell_parse import (
    AndOr,
    Arith,
    BraceGroup,
    Case,
    CmdSub,
    For,
    FuncDef,
    If,
    Lexer,
    ListNode,
    Lit,
    Node,
    Param,
    Parser,
    Pipeline,
    Redir,
    ShellSyntaxError,
    SimpleCommand,
    Subshell,
    While,
    Word,
    is_name,
    parse,
)

if TYPE_CHECKING:
    from tui.sim.curl import Network

Command = Callable[["Proc", list[str]], Awaitable[int]]
"""A command of the table: gets its process view and argv, returns the exit status."""

PATH_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
DEFAULT_PATH = ":".join(PATH_DIRS)
HOME = "/home/curl_user"
MAX_CALL_DEPTH = 50
"""Nested function calls, ``eval`` and commands-running-commands (each costs ~10 Python frames)."""
MAX_WORD = 1024 * 1024
SLEEP_SLICE = 0.25
"""Longest uninterrupted wait in ``sleep`` before checking whether the client went away."""
STATUS_CLOSED = 129
"""Returned when the client went away (as if the exec got SIGHUP); nobody is left to read it."""
STATUS_KILLED = 137
"""Returned when the CPU budget ran out (as if killed)."""

# ---------------------------------------------------------------------------------------------
# Control flow


class ExitShell(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _LoopControl(Exception):
    def __init__(self, levels: int) -> None:
        super().__init__(levels)
        self.levels = levels


class BreakLoop(_LoopControl):
    pass


class ContinueLoop(_LoopControl):
    pass


class ReturnFunction(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class ShellError(Exception):
    """An error that aborts a non-interactive shell (bad substitution, arithmetic, ``${x?}``)."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class _RedirError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# What commands see


@dataclass(slots=True)
class Fds:
    stdin: Reader
    stdout: Output
    stderr: Output


class Proc:
    """One running command's view: streams, environment, and the exec's shared resources."""

    def __init__(self, shell: Shell, fds: Fds, env: dict[str, str], argv0: str) -> None:
        self.shell = shell
        self.fds = fds
        self.env = env
        self.argv0 = argv0

    @property
    def stdin(self) -> Reader:
        return self.fds.stdin

    @property
    def stdout(self) -> Output:
        return self.fds.stdout

    @property
    def stderr(self) -> Output:
        return self.fds.stderr

    @property
    def hostname(self) -> str:
        return self.shell.hostname

    @property
    def network(self) -> Network | None:
        return self.shell.shared.network

    @property
    def fs(self) -> FileSystem:
        return self.shell.shared.fs

    @property
    def pod(self) -> Mapping[str, Any]:
        return self.shell.shared.pod

    @property
    def cwd(self) -> str:
        return self.shell.cwd

    @property
    def stdout_is_tty(self) -> bool:
        return isinstance(self.fds.stdout, ChannelOutput) and self.fds.stdout.tty

    def path(self, name: str) -> str:
        return FileSystem.normalize(name, self.shell.cwd)

    async def write(self, data: bytes | str) -> None:
        await self.fds.stdout.write(data.encode() if isinstance(data, str) else data)

    async def ewrite(self, data: bytes | str) -> None:
        await self.fds.stderr.write(data.encode() if isinstance(data, str) else data)

    async def fail(self, message: str, status: int = 1) -> int:
        """``NAME: message`` on stderr, as busybox applets report errors."""
        await self.ewrite(f"{self.argv0}: {message}\n")
        return status

    async def sleep(self, seconds: float) -> None:
        """A real, cancellable sleep that is not charged to the CPU budget.

        It wakes a few times a second to notice a closed stream, so even a ``sleep 365d`` whose
        task is never cancelled ends soon after the client leaves.
        """
        shared = self.shell.shared
        deadline = asyncio.get_running_loop().time() + max(0.0, seconds)
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return
            await shared.budget.wait(asyncio.sleep(min(remaining, SLEEP_SLICE)))
            if shared.closed():
                raise ExecClosed

    async def wait(self, awaitable: Awaitable[Any]) -> Any:
        """Await something real (the network) without charging it to the CPU budget."""
        return await self.shell.shared.budget.wait(awaitable)

    async def checkpoint(self) -> None:
        """Commands that loop (``seq``, ``yes``) call this between outputs."""
        await self.shell.checkpoint()

    def read_file(self, name: str) -> bytes | None:
        path = self.path(name)
        if path == "/dev/null":
            return b""
        return self.fs.read(path)


# ---------------------------------------------------------------------------------------------
# The interpreter


@dataclass
class _Interrupts:
    """Ctrl-C on a terminal: the foreground command to cancel, or a discarded input line."""

    running: asyncio.Future[Any] | None = None
    idle_interrupt: bool = False


@dataclass
class _Shared:
    """What all subshells of one exec share."""

    hostname: str
    commands: dict[str, Command]
    network: Network | None
    fs: FileSystem
    budget: CpuBudget
    closed: Callable[[], bool]
    pod: Mapping[str, Any]
    tty: bool
    interrupts: _Interrupts | None = None
    jobs: dict[int, asyncio.Task[int]] = field(default_factory=dict)
    job_holds_stream: dict[int, bool] = field(default_factory=dict)
    next_pid: int = 0
    depth: int = 0


class Shell:
    """A busybox-ash-like interpreter bound to one exec.

    ``commands`` maps names to :data:`Command` callables (the "binaries" of the image);
    the shell's own builtins (``exit``, ``export``, ``read``, ``cd`` ...) come first, as in ash.
    """

    def __init__(
        self,
        *,
        hostname: str,
        env: Mapping[str, str] | None = None,
        commands: Mapping[str, Command] | None = None,
        stdout: Output,
        stderr: Output,
        stdin: Reader | None = None,
        network: Network | None = None,
        fs: FileSystem | None = None,
        budget: CpuBudget | None = None,
        closed: Callable[[], bool] | None = None,
        pod: Mapping[str, Any] | None = None,
        tty: bool = False,
        name: str = "sh",
    ) -> None:
        self.shared = _Shared(
            hostname=hostname,
            commands=dict(default_commands() if commands is None else commands),
            network=network,
            fs=fs or FileSystem(),
            budget=budget or CpuBudget(),
            closed=closed or (lambda: False),
            pod=pod or {},
            tty=tty,
            next_pid=random.randint(7, 60),
        )
        self.fds = Fds(stdin or Reader.empty(), stdout, stderr)
        self.vars: dict[str, str] = {
            "PATH": DEFAULT_PATH,
            "HOME": HOME,
            "HOSTNAME": hostname,
            "PWD": HOME,
            "SHLVL": "1",
            "IFS": " \t\n",
            "PS1": "~ $ ",
            "PS2": "> ",
            "OPTIND": "1",
        }
        self.exported: set[str] = {"PATH", "HOME", "HOSTNAME", "PWD", "SHLVL"}
        for key, value in (env or {}).items():
            self.vars[key] = value
            self.exported.add(key)
        self.functions: dict[str, Node] = {}
        self.positional: list[str] = []
        self.arg0 = name
        self.status = 0
        self.cwd = self.vars.get("PWD", HOME)
        self.errexit = False
        self.xtrace = False
        self.nounset = False
        self.pid = self._new_pid()
        self.last_bg: int | None = None
        self.loop_depth = 0
        self.locals: list[dict[str, str | None]] = []
        self._no_errexit = 0
        self._subst_status: int | None = None
        self.interactive = False

    # -- identity and state ----------------------------------------------------------------------

    @property
    def hostname(self) -> str:
        return self.shared.hostname

    def _new_pid(self) -> int:
        self.shared.next_pid += random.randint(1, 5)
        return self.shared.next_pid

    def fork(self) -> Shell:
        """A subshell: same exec resources, a copy of variables and functions."""
        child = object.__new__(Shell)
        child.shared = self.shared
        child.fds = self.fds
        child.vars = dict(self.vars)
        child.exported = set(self.exported)
        child.functions = dict(self.functions)
        child.positional = list(self.positional)
        child.arg0 = self.arg0
        child.status = self.status
        child.cwd = self.cwd
        child.errexit = self.errexit
        child.xtrace = self.xtrace
        child.nounset = self.nounset
        child.pid = self.pid
        child.last_bg = self.last_bg
        child.loop_depth = 0
        child.locals = []
        child._no_errexit = self._no_errexit
        child._subst_status = None
        child.interactive = False
        return child

    def child_shell(self, fds: Fds, env: Mapping[str, str]) -> Shell:
        """A new ``sh`` process started from this one: only exported variables carry over."""
        child = self.fork()
        child.vars = {"IFS": " \t\n", "PS1": "~ $ ", "PS2": "> ", "OPTIND": "1", **env}
        child.exported = set(env)
        child.functions = {}
        child.positional = []
        child.fds = fds
        child.errexit = child.xtrace = child.nounset = False
        child._no_errexit = 0
        child.pid = self._new_pid()
        child.vars["SHLVL"] = str(int(env.get("SHLVL", "1") or "1") + 1)
        return child

    def getvar(self, name: str) -> str:
        return self.vars.get(name, "")

    def setvar(self, name: str, value: str) -> None:
        if len(value) > MAX_WORD:
            raise ShellError("out of memory")
        self.vars[name] = value
        if name == "PWD":
            self.cwd = value

    def exported_env(self) -> dict[str, str]:
        return {k: self.vars[k] for k in self.exported if k in self.vars}

    def options(self) -> str:
        return "".join(f for f, on in (("e", self.errexit), ("u", self.nounset), ("x", self.xtrace)) if on)

    async def report(self, message: str, fds: Fds | None = None) -> None:
        """``sh: message`` on stderr (the prefix is ``$0``, like ash)."""
        await (fds or self.fds).stderr.write(f"{self.arg0}: {message}\n".encode())

    async def checkpoint(self) -> None:
        if self.shared.closed():
            raise ExecClosed
        await self.shared.budget.checkpoint()

    # -- entry points --------------------------------------------------------------------------

    async def run_script(self, source: str, fds: Fds | None = None) -> int:
        """Run a script (``sh -c``): each line runs as soon as it is parsed, like ash.

        Returns the exit status; syntax errors report and return 2.
        """
        fds = fds or self.fds
        parser = Parser(Lexer(source))
        try:
            while True:
                try:
                    node = parser.parse_next()
                except ShellSyntaxError as exc:
                    await self.report(f"syntax error: {exc.message}", fds)
                    return 2
                if node is None:
                    return self.status
                await self.execute(node, fds)
        except ExitShell as exc:
            return exc.status
        except ReturnFunction as exc:
            return exc.status
        except _LoopControl:
            return self.status
        except ShellError as exc:
            await self.report(exc.message, fds)
            return exc.status
        except RecursionError:
            await self.report("nesting too deep", fds)
            return 2

    async def run_argv(self, argv: list[str], fds: Fds | None = None) -> int:
        """Run one command vector without parsing (what the runtime does for ``exec -- curl ...``)."""
        fds = fds or self.fds
        try:
            return await self.run_command(argv, fds, [])
        except ExitShell as exc:
            return exc.status
        except ShellError as exc:
            await self.report(exc.message, fds)
            return exc.status

    async def main(self, argv: list[str], fds: Fds | None = None) -> int:
        """``sh [-eux] [-c SCRIPT [NAME [ARGS...]] | FILE [ARGS...] | -s [ARGS...]]``."""
        fds = fds or self.fds
        self.arg0 = argv[0] if argv else "sh"
        args = list(argv[1:])
        command_mode = stdin_mode = force_interactive = False
        while args and len(args[0]) > 1 and args[0][0] in "-+" and args[0] != "-":
            arg = args.pop(0)
            if arg == "--":
                break
            on = arg[0] == "-"
            for letter in arg[1:]:
                if letter == "c":
                    command_mode = True
                elif letter == "s":
                    stdin_mode = True
                elif letter == "i":
                    force_interactive = True
                elif letter == "e":
                    self.errexit = on
                elif letter == "x":
                    self.xtrace = on
                elif letter == "u":
                    self.nounset = on
                elif letter in "lmvf":
                    pass
                else:
                    await fds.stderr.write(f"{self.arg0}: illegal option -{letter}\n".encode())
                    return 2
        if command_mode:
            if not args:
                await self.report("-c requires an argument", fds)
                return 2
            script = args[0]
            if len(args) > 1:
                self.arg0 = args[1]
                self.positional = args[2:]
            return await self.run_script(script, fds)
        if args and not stdin_mode:
            name = args[0]
            data = self.shared.fs.read(FileSystem.normalize(name, self.cwd))
            if data is None:
                await self.report(f"can't open '{name}': No such file or directory", fds)
                return 2
            self.arg0 = name
            self.positional = args[1:]
            return await self.run_script(data.decode(errors="replace"), fds)
        self.positional = args
        interactive = force_interactive or (
            self.shared.tty and isinstance(fds.stdout, ChannelOutput) and fds.stdin is self.fds.stdin
        )
        return await self.run_stdin(fds, interactive=interactive)

    async def run_stdin(self, fds: Fds, *, interactive: bool) -> int:
        """Read commands from stdin, running each as soon as it is complete (``sh < script``).

        Interactive shells print ``PS1``/``PS2`` and survive errors; ``Ctrl-C`` handling lives
        with the terminal (see :func:`shell_program`).
        """
        self.interactive = interactive
        buf = ""
        while True:
            if interactive:
                await fds.stdout.write(self.vars.get("PS2" if buf else "PS1", "$ ").encode())
            line = await fds.stdin.readline()
            if line is None:
                if buf.strip():
                    try:
                        parse(buf)
                    except ShellSyntaxError as exc:
                        await self.report(f"syntax error: {exc.message}", fds)
                        return 2
                if interactive:
                    await fds.stdout.write(b"\n")
                return self.status
            if _consume_interrupt(self):
                buf = ""
                continue
            buf += line.decode(errors="replace")
            try:
                program = parse(buf, partial=True)
            except ShellSyntaxError as exc:
                if exc.incomplete and len(buf) < 256 * 1024:
                    continue
                buf = ""
                await self.report(f"syntax error: {exc.message}", fds)
                self.status = 2
                if not interactive:
                    return 2
                continue
            buf = ""
            try:
                await self._run_interruptible(program, fds, interactive)
            except ExitShell as exc:
                return exc.status
            except ShellError as exc:
                await self.report(exc.message, fds)
                self.status = exc.status
                if not interactive:
                    return exc.status
            except RecursionError:
                await self.report("nesting too deep", fds)
                self.status = 2
                if not interactive:
                    return 2
            except (_LoopControl, ReturnFunction):
                pass

    async def _run_interruptible(self, program: Node, fds: Fds, interactive: bool) -> None:
        state = self.shared.interrupts
        if not interactive or state is None:
            await self.execute(program, fds)
            return
        task = asyncio.ensure_future(self.execute(program, fds))
        state.running = task
        try:
            await self.shared.budget.wait(asyncio.wait([task]))
        finally:
            state.running = None
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if task.cancelled():
            self.status = 130
            return
        task.result()

    async def close(self) -> None:
        """Stop every background job of the exec (no orphan loops)."""
        jobs = list(self.shared.jobs.values())
        self.shared.jobs.clear()
        for job in jobs:
            job.cancel()
        if jobs:
            await asyncio.gather(*jobs, return_exceptions=True)

    async def wait_jobs_holding_stream(self) -> None:
        """Like a real exec, the stream stays open while background jobs still write to it."""
        while True:
            holding = [
                task
                for pid, task in self.shared.jobs.items()
                if self.shared.job_holds_stream.get(pid) and not task.done()
            ]
            if not holding:
                return
            await self.shared.budget.wait(asyncio.wait(holding))

    # -- execution -----------------------------------------------------------------------------

    async def execute(self, node: Node, fds: Fds) -> int:
        status = await self._dispatch(node, fds)
        self.status = status
        return status

    async def _dispatch(self, node: Node, fds: Fds) -> int:
        if isinstance(node, SimpleCommand):
            status = await self._simple(node, fds)
            self.status = status
            self._maybe_errexit(status)
            return status
        if isinstance(node, ListNode):
            status = self.status
            for item, background in node.items:
                if background:
                    self._background(item, fds)
                    status = 0
                else:
                    status = await self.execute(item, fds)
            return status
        if isinstance(node, AndOr):
            return await self._and_or(node, fds)
        if isinstance(node, Pipeline):
            return await self._pipeline(node, fds)
        if isinstance(node, While):
            return await self._with_redirs(node.redirs, fds, lambda f: self._while(node, f))
        if isinstance(node, For):
            return await self._with_redirs(node.redirs, fds, lambda f: self._for(node, f))
        if isinstance(node, If):
            return await self._with_redirs(node.redirs, fds, lambda f: self._if(node, f))
        if isinstance(node, Case):
            return await self._with_redirs(node.redirs, fds, lambda f: self._case(node, f))
        if isinstance(node, BraceGroup):
            return await self._with_redirs(node.redirs, fds, lambda f: self.execute(node.body, f))
        if isinstance(node, Subshell):
            return await self._with_redirs(node.redirs, fds, lambda f: self._subshell(node.body, f))
        if isinstance(node, FuncDef):
            self.functions[node.name] = node.body
            return 0
        raise ShellError("unsupported command")  # pragma: no cover - the parser makes no others

    def _maybe_errexit(self, status: int) -> None:
        if status != 0 and self.errexit and self._no_errexit == 0:
            raise ExitShell(status)

    async def _condition(self, node: Node, fds: Fds) -> int:
        self._no_errexit += 1
        try:
            return await self.execute(node, fds)
        finally:
            self._no_errexit -= 1

    async def _and_or(self, node: AndOr, fds: Fds) -> int:
        parts: list[tuple[str, Node]] = [("", node.first), *node.rest]
        status = 0
        for index, (op, part) in enumerate(parts):
            if (op == "&&" and status != 0) or (op == "||" and status == 0):
                continue
            if index < len(parts) - 1:
                status = await self._condition(part, fds)
            else:
                status = await self.execute(part, fds)
        return status

    async def _with_redirs(self, redirs: list[Redir], fds: Fds, run: Callable[[Fds], Awaitable[int]]) -> int:
        if redirs:
            try:
                fds = await self._redirect(redirs, fds)
            except _RedirError as exc:
                await self.report(str(exc), fds)
                return 1
        return await run(fds)

    async def _subshell(self, body: Node, fds: Fds) -> int:
        child = self.fork()
        try:
            return await child.execute(body, fds)
        except ExitShell as exc:
            return exc.status
        except (_LoopControl, ReturnFunction):
            return child.status

    def _background(self, node: Node, fds: Fds) -> None:
        child = self.fork()
        child._no_errexit = 0
        bg_fds = Fds(Reader.empty(), fds.stdout, fds.stderr)
        pid = self._new_pid()

        async def run() -> int:
            try:
                return await child.execute(node, bg_fds)
            except ExitShell as exc:
                return exc.status
            except (_LoopControl, ReturnFunction):
                return child.status
            except BrokenPipe:
                return 141
            except ShellError as exc:
                await child.report(exc.message, bg_fds)
                return exc.status

        self.shared.jobs[pid] = asyncio.ensure_future(run())
        self.shared.job_holds_stream[pid] = isinstance(fds.stdout, ChannelOutput) or isinstance(
            fds.stderr, ChannelOutput
        )
        self.last_bg = pid

    async def _pipeline(self, node: Pipeline, fds: Fds) -> int:
        if len(node.commands) == 1:
            if node.negate:
                status = await self._condition(node.commands[0], fds)
                return int(status == 0)
            return await self.execute(node.commands[0], fds)
        pipes = [Pipe() for _ in node.commands[:-1]]
        tasks: list[asyncio.Task[int]] = []
        for index, command in enumerate(node.commands):
            stdin = self._pipe_reader(pipes[index - 1]) if index > 0 else fds.stdin
            stdout: Output = (
                PipeWriter(pipes[index], self.shared.budget) if index < len(pipes) else fds.stdout
            )
            element_fds = Fds(stdin, stdout, fds.stderr)
            read_pipe = pipes[index - 1] if index > 0 else None
            write_pipe = pipes[index] if index < len(pipes) else None
            tasks.append(
                asyncio.ensure_future(self._pipe_element(command, element_fds, read_pipe, write_pipe))
            )
        try:
            done, _ = await self.shared.budget.wait(asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION))
            for task in done:
                if task.exception() is not None:
                    raise cast(BaseException, task.exception())
        finally:
            for task in tasks:
                if not task.done():
                    task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        status = tasks[-1].result()
        if node.negate:
            return int(status == 0)
        self._maybe_errexit(status)
        return status

    def _pipe_reader(self, pipe: Pipe) -> Reader:
        budget = self.shared.budget
        return Reader(lambda: budget.wait(pipe.read()))

    async def _pipe_element(
        self, node: Node, fds: Fds, read_pipe: Pipe | None, write_pipe: Pipe | None
    ) -> int:
        child = self.fork()
        child._no_errexit = 0
        try:
            return await child.execute(node, fds)
        except ExitShell as exc:
            return exc.status
        except (_LoopControl, ReturnFunction):
            return child.status
        except BrokenPipe:
            return 141
        except ShellError as exc:
            await child.report(exc.message, fds)
            return exc.status
        finally:
            if write_pipe is not None:
                write_pipe.close_write()
            if read_pipe is not None:
                read_pipe.close_read()

    async def _while(self, node: While, fds: Fds) -> int:
        status = 0
        self.loop_depth += 1
        try:
            while True:
                await self.checkpoint()
                try:
                    cond = await self._condition(node.cond, fds)
                    if (cond == 0) == node.until:
                        break
                    status = await self.execute(node.body, fds)
                except BreakLoop as exc:
                    if exc.levels > 1:
                        exc.levels -= 1
                        raise
                    status = 0
                    break
                except ContinueLoop as exc:
                    if exc.levels > 1:
                        exc.levels -= 1
                        raise
                    continue
        finally:
            self.loop_depth -= 1
        return status

    async def _for(self, node: For, fds: Fds) -> int:
        if node.words is None:
            values = list(self.positional)
        else:
            values = []
            for word in node.words:
                values.extend(await self.expand(word, fds))
        status = 0
        self.loop_depth += 1
        try:
            for value in values:
                await self.checkpoint()
                self.setvar(node.var, value)
                try:
                    status = await self.execute(node.body, fds)
                except BreakLoop as exc:
                    if exc.levels > 1:
                        exc.levels -= 1
                        raise
                    status = 0
                    break
                except ContinueLoop as exc:
                    if exc.levels > 1:
                        exc.levels -= 1
                        raise
                    continue
        finally:
            self.loop_depth -= 1
        return status

    async def _if(self, node: If, fds: Fds) -> int:
        for cond, body in node.clauses:
            if await self._condition(cond, fds) == 0:
                return await self.execute(body, fds)
        if node.else_body is not None:
            return await self.execute(node.else_body, fds)
        return 0

    async def _case(self, node: Case, fds: Fds) -> int:
        subject = await self.expand_str(node.word, fds)
        for patterns, body in node.items:
            for pattern in patterns:
                if fnmatch.fnmatchcase(subject, await self.expand_pattern(pattern, fds)):
                    return await self.execute(body, fds) if body is not None else 0
        return 0

    async def _simple(self, cmd: SimpleCommand, fds: Fds) -> int:
        await self.checkpoint()
        self._subst_status = None
        argv: list[str] = []
        for word in cmd.words:
            argv.extend(await self.expand(word, fds))
        assigns = [(name, await self.expand_str(value, fds)) for name, value in cmd.assigns]
        if self.xtrace and (argv or assigns):
            trace = [f"{n}={_trace_quote(v)}" for n, v in assigns] + [_trace_quote(a) for a in argv]
            await fds.stderr.write(("+ " + " ".join(trace) + "\n").encode())
        if not argv:
            for name, value in assigns:
                self.setvar(name, value)
            if cmd.redirs:
                try:
                    await self._redirect(cmd.redirs, fds)
                except _RedirError as exc:
                    await self.report(str(exc), fds)
                    return 1
            return self._subst_status or 0
        try:
            cmd_fds = await self._redirect(cmd.redirs, fds) if cmd.redirs else fds
        except _RedirError as exc:
            await self.report(str(exc), fds)
            return 1
        return await self.run_command(argv, cmd_fds, assigns)

    async def run_command(self, argv: list[str], fds: Fds, assigns: list[tuple[str, str]]) -> int:
        """Find and run ``argv[0]``: function, shell builtin, then the command table."""
        name = argv[0]
        if name in self.functions:
            return await self._call_function(name, argv, fds, assigns)
        builtin = _BUILTINS.get(name)
        if builtin is not None:
            saved = {n: self.vars.get(n) for n, _ in assigns}
            for n, v in assigns:
                self.vars[n] = v
            try:
                return await builtin(self, argv, fds)
            finally:
                if name not in _SPECIAL:
                    for n, old in saved.items():
                        if old is None:
                            self.vars.pop(n, None)
                        else:
                            self.vars[n] = old
        command = self.lookup(name)
        if command is None:
            await self.report(f"{name}: not found", fds)
            return 127
        env = self.exported_env()
        env.update(assigns)
        proc = Proc(self, fds, env, posixpath.basename(name))
        self.shared.depth += 1
        if self.shared.depth > MAX_CALL_DEPTH:
            self.shared.depth -= 1
            raise ShellError("nesting too deep")
        try:
            return await command(proc, argv)
        finally:
            self.shared.depth -= 1

    def lookup(self, name: str) -> Command | None:
        """The table entry for a command name or path (``curl``, ``/usr/bin/curl``)."""
        if "/" in name:
            path = FileSystem.normalize(name, self.cwd)
            directory, base = posixpath.split(path)
            if directory in PATH_DIRS:
                return self.shared.commands.get(base)
            return None
        return self.shared.commands.get(name)

    async def _call_function(
        self, name: str, argv: list[str], fds: Fds, assigns: list[tuple[str, str]]
    ) -> int:
        self.shared.depth += 1
        if self.shared.depth > MAX_CALL_DEPTH:
            self.shared.depth -= 1
            raise ShellError(f"{name}: function nesting too deep")
        saved_positional = self.positional
        saved_vars = {n: self.vars.get(n) for n, _ in assigns}
        for n, v in assigns:
            self.vars[n] = v
        self.positional = argv[1:]
        self.locals.append({})
        try:
            return await self.execute(self.functions[name], fds)
        except ReturnFunction as exc:
            return exc.status
        finally:
            frame = self.locals.pop()
            for n, old in {**frame, **saved_vars}.items():
                if old is None:
                    self.vars.pop(n, None)
                else:
                    self.vars[n] = old
            self.positional = saved_positional
            self.shared.depth -= 1

    # -- redirections --------------------------------------------------------------------------

    async def _redirect(self, redirs: list[Redir], fds: Fds) -> Fds:
        table: dict[int, Any] = {0: fds.stdin, 1: fds.stdout, 2: fds.stderr}
        for redir in redirs:
            if redir.op in ("<<", "<<-"):
                body = await self.expand_str(redir.heredoc, fds) if redir.heredoc is not None else ""
                table[redir.fd] = Reader.of(body.encode())
                continue
            assert redir.target is not None
            target = await self.expand_str(redir.target, fds)
            if redir.op in (">&", "<&") and (target.isdigit() or target == "-"):
                if target == "-":
                    table[redir.fd] = Reader.empty() if redir.op == "<&" else NullOutput()
                elif int(target) in table:
                    table[redir.fd] = table[int(target)]
                else:
                    raise _RedirError(f"{target}: Bad file descriptor")
                continue
            if redir.op in (">", ">|", ">>", "&>", ">&"):
                out = self._open_output(target, fds, append=redir.op == ">>")
                if redir.op in ("&>", ">&"):
                    table[1] = table[2] = out
                else:
                    table[redir.fd] = out
                continue
            # < and <>
            table[redir.fd] = self._open_input(target, fds)
        stdin = table[0] if isinstance(table[0], Reader) else Reader.empty()
        stdout = table[1] if not isinstance(table[1], Reader) else NullOutput()
        stderr = table[2] if not isinstance(table[2], Reader) else NullOutput()
        return Fds(stdin, stdout, stderr)

    def _open_output(self, target: str, fds: Fds, *, append: bool) -> Output:
        path = FileSystem.normalize(target, self.cwd) if target else ""
        if path in ("/dev/null", "/dev/zero"):
            return NullOutput()
        if path in ("/dev/stdout", "/dev/tty", "/proc/self/fd/1"):
            return fds.stdout
        if path in ("/dev/stderr", "/proc/self/fd/2"):
            return fds.stderr
        fs = self.shared.fs
        if not target or path in fs.dirs:
            raise _RedirError(f"can't create {target}: Is a directory")
        if path.startswith(("/dev/", "/proc/", "/sys/")):
            raise _RedirError(f"can't create {target}: Permission denied")
        if not fs.parent_exists(path):
            raise _RedirError(f"can't create {target}: nonexistent directory")
        try:
            return FileOutput(fs, path, append=append)
        except OSError as exc:
            raise _RedirError(f"can't create {target}: {exc}") from None

    def _open_input(self, target: str, fds: Fds) -> Reader:
        path = FileSystem.normalize(target, self.cwd)
        if path in ("/dev/null", "/dev/zero"):
            return Reader.empty()
        if path in ("/dev/stdin", "/proc/self/fd/0"):
            return fds.stdin
        data = self.shared.fs.read(path)
        if data is None:
            raise _RedirError(f"can't open '{target}': No such file or directory")
        return Reader.of(data)

    # -- expansion -----------------------------------------------------------------------------

    async def expand(self, word: Word, fds: Fds) -> list[str]:
        """A word after parameter/command/arithmetic expansion, field splitting, quote removal."""
        parts = word.parts
        if (
            len(parts) == 1
            and isinstance(parts[0], Lit)
            and (parts[0].quoted or not parts[0].text.startswith("~"))
        ):
            return [parts[0].text] if parts[0].text or parts[0].quoted else []
        segments = await self._segments(word, fds)
        ifs = self.vars.get("IFS", " \t\n")
        fields: list[str] = []
        current: list[str] = []
        have = False
        for text, kind in segments:
            if kind == _BREAK:
                fields.append("".join(current))
                current = []
                have = False
                continue
            if kind != _SPLIT or not ifs:
                current.append(text)
                have = have or kind == _QUOTED or bool(text)
                continue
            for ch in text:
                if ch in ifs:
                    if have or ch not in " \t\n":
                        fields.append("".join(current))
                        current = []
                    have = False
                else:
                    current.append(ch)
                    have = True
        if have:
            fields.append("".join(current))
        return fields

    async def expand_str(self, word: Word, fds: Fds) -> str:
        """Expansion without field splitting (assignments, redirection targets, ``case``)."""
        segments = await self._segments(word, fds)
        text = "".join(" " if kind == _BREAK else text for text, kind in segments)
        if len(text) > MAX_WORD:
            raise ShellError("out of memory")
        return text

    async def expand_pattern(self, word: Word, fds: Fds) -> str:
        """A glob pattern: quoted characters match literally."""
        segments = await self._segments(word, fds)
        return "".join(_glob_escape(text) if kind == _QUOTED else text for text, kind in segments)

    async def _segments(self, word: Word, fds: Fds) -> list[tuple[str, int]]:
        out: list[tuple[str, int]] = []
        size = 0
        for index, part in enumerate(word.parts):
            if isinstance(part, Lit):
                text = part.text
                if index == 0 and not part.quoted and text.startswith("~"):
                    head, sep, rest = text.partition("/")
                    if head == "~":
                        text = self.vars.get("HOME", HOME) + sep + rest
                out.append((text, _QUOTED if part.quoted else _LITERAL))
            elif isinstance(part, Param):
                if part.name == "@" and part.quoted and not part.op:
                    for i, value in enumerate(self.positional):
                        if i:
                            out.append(("", _BREAK))
                        out.append((value, _QUOTED))
                    if not self.positional and len(word.parts) == 1:
                        return []
                    continue
                value = await self._param(part, fds)
                out.append((value, _QUOTED if part.quoted else _SPLIT))
            elif isinstance(part, CmdSub):
                value = await self.command_substitution(part.body, fds)
                out.append((value, _QUOTED if part.quoted else _SPLIT))
            elif isinstance(part, Arith):
                expr = await self.expand_str(part.expr, fds)
                try:
                    value = str(evaluate(expr, self.getvar, self.setvar))
                except ArithError as exc:
                    raise ShellError(str(exc)) from None
                out.append((value, _QUOTED if part.quoted else _SPLIT))
            size += len(out[-1][0]) if out else 0
            if size > MAX_WORD:
                raise ShellError("out of memory")
        return out

    def param_value(self, name: str) -> str | None:
        """A parameter's value, ``None`` when unset."""
        if name == "?":
            return str(self.status)
        if name == "$":
            return str(self.pid)
        if name == "#":
            return str(len(self.positional))
        if name in ("@", "*"):
            sep = " " if name == "@" else (self.vars.get("IFS", " ")[:1])
            return sep.join(self.positional)
        if name == "0":
            return self.arg0
        if name.isdigit():
            index = int(name)
            return self.positional[index - 1] if 0 < index <= len(self.positional) else None
        if name == "!":
            return str(self.last_bg) if self.last_bg is not None else None
        if name == "-":
            return self.options()
        if name == "RANDOM" and name not in self.vars:
            return str(random.randint(0, 32767))
        if name == "PPID" and name not in self.vars:
            return "0"
        return self.vars.get(name)

    async def _param(self, part: Param, fds: Fds) -> str:
        value = self.param_value(part.name)
        op = part.op
        if op == "":
            if value is None and self.nounset and part.name not in ("@", "*"):
                raise ShellError(f"{part.name}: parameter not set")
            return value or ""
        if op == "len":
            return str(len(value or ""))
        unset = value is None
        empty = unset or value == ""
        missing = empty if op.startswith(":") else unset
        base = op.lstrip(":")
        if base == "-":
            return await self._param_arg(part, fds) if missing else value or ""
        if base == "=":
            if missing:
                if not is_name(part.name):
                    raise ShellError(f"{part.name}: bad variable name")
                value = await self._param_arg(part, fds)
                self.setvar(part.name, value)
            return value or ""
        if base == "+":
            return "" if missing else await self._param_arg(part, fds)
        if base == "?":
            if missing:
                message = await self._param_arg(part, fds) if part.arg and part.arg.parts else ""
                raise ShellError(f"{part.name}: {message or 'parameter not set'}")
            return value or ""
        pattern = await self.expand_pattern(part.arg, fds) if part.arg is not None else ""
        return _strip_pattern(value or "", pattern, op)

    async def _param_arg(self, part: Param, fds: Fds) -> str:
        return await self.expand_str(part.arg, fds) if part.arg is not None else ""

    async def command_substitution(self, body: Node, fds: Fds) -> str:
        child = self.fork()
        child._no_errexit = 0
        capture = CaptureOutput()
        sub_fds = Fds(fds.stdin, capture, fds.stderr)
        try:
            status = await child.execute(body, sub_fds)
        except ExitShell as exc:
            status = exc.status
        except (_LoopControl, ReturnFunction):
            status = child.status
        except BrokenPipe:
            status = 141
        except ShellError as exc:
            await child.report(exc.message, fds)
            status = exc.status
        self._subst_status = status
        return capture.value().decode(errors="replace").rstrip("\n")


_LITERAL, _QUOTED, _SPLIT, _BREAK = 0, 1, 2, 3


def _glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def _strip_pattern(value: str, pattern: str, op: str) -> str:
    """``${x#p}`` ``${x##p}`` ``${x%p}`` ``${x%%p}``."""
    n = len(value)
    if op in ("#", "##"):
        # shortest prefix first for '#', longest for '##'
        ends = range(n + 1) if op == "#" else range(n, -1, -1)
        for end in ends:
            if fnmatch.fnmatchcase(value[:end], pattern):
                return value[end:]
        return value
    starts = range(n, -1, -1) if op == "%" else range(n + 1)
    for start in starts:
        if fnmatch.fnmatchcase(value[start:], pattern):
            return value[:start]
    return value


def _trace_quote(text: str) -> str:
    if text and all(c.isalnum() or c in "-_./:=%+,@" for c in text):
        return text
    return "'" + text.replace("'", "'\"'\"'") + "'"


# ---------------------------------------------------------------------------------------------
# Shell builtins (they change the shell itself, so they live here)

Builtin = Callable[[Shell, list[str], Fds], Awaitable[int]]


async def _write(fds: Fds, text: str) -> None:
    await fds.stdout.write(text.encode())


def _number(shell: Shell, name: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ShellError(f"{name}: Illegal number: {text}") from None


async def _b_exit(shell: Shell, argv: list[str], fds: Fds) -> int:
    raise ExitShell(_number(shell, "exit", argv[1]) & 255 if len(argv) > 1 else shell.status)


async def _b_return(shell: Shell, argv: list[str], fds: Fds) -> int:
    raise ReturnFunction(_number(shell, "return", argv[1]) & 255 if len(argv) > 1 else shell.status)


async def _b_break(shell: Shell, argv: list[str], fds: Fds) -> int:
    levels = _number(shell, argv[0], argv[1]) if len(argv) > 1 else 1
    if levels < 1:
        raise ShellError(f"{argv[0]}: Illegal number: {argv[1]}")
    if shell.loop_depth == 0:
        return 0
    levels = min(levels, shell.loop_depth)
    raise (BreakLoop if argv[0] == "break" else ContinueLoop)(levels)


async def _b_true(shell: Shell, argv: list[str], fds: Fds) -> int:
    return 0


async def _b_false(shell: Shell, argv: list[str], fds: Fds) -> int:
    return 1


async def _b_export(shell: Shell, argv: list[str], fds: Fds) -> int:
    args = [a for a in argv[1:] if a != "-p"]
    if not args:
        for name in sorted(shell.exported):
            if name in shell.vars:
                value = shell.vars[name].replace("'", "'\"'\"'")
                await _write(fds, f"export {name}='{value}'\n")
        return 0
    for arg in args:
        name, eq, value = arg.partition("=")
        if not is_name(name):
            raise ShellError(f"export: {arg}: bad variable name")
        if eq:
            shell.setvar(name, value)
        shell.exported.add(name)
    return 0


async def _b_unset(shell: Shell, argv: list[str], fds: Fds) -> int:
    functions = "-f" in argv[1:]
    for name in argv[1:]:
        if name in ("-f", "-v"):
            continue
        if functions:
            shell.functions.pop(name, None)
        else:
            shell.vars.pop(name, None)
            shell.exported.discard(name)
    return 0


async def _b_local(shell: Shell, argv: list[str], fds: Fds) -> int:
    if not shell.locals:
        raise ShellError("local: not in a function")
    frame = shell.locals[-1]
    for arg in argv[1:]:
        name, eq, value = arg.partition("=")
        if name not in frame:
            frame[name] = shell.vars.get(name)
        if eq:
            shell.setvar(name, value)
    return 0


async def _b_set(shell: Shell, argv: list[str], fds: Fds) -> int:
    args = argv[1:]
    if not args:
        for name in sorted(shell.vars):
            value = shell.vars[name].replace("'", "'\"'\"'")
            await _write(fds, f"{name}='{value}'\n")
        return 0
    while args:
        arg = args[0]
        if arg == "--":
            shell.positional = args[1:]
            return 0
        if arg in ("-o", "+o") and len(args) > 1:
            on = arg == "-o"
            option = args[1]
            if option == "errexit":
                shell.errexit = on
            elif option == "xtrace":
                shell.xtrace = on
            elif option == "nounset":
                shell.nounset = on
            elif option not in ("pipefail", "noglob", "monitor", "vi", "emacs"):
                await shell.report(f"set: illegal option -o {option}", fds)
                return 2
            args = args[2:]
            continue
        if len(arg) > 1 and arg[0] in "-+":
            on = arg[0] == "-"
            for letter in arg[1:]:
                if letter == "e":
                    shell.errexit = on
                elif letter == "x":
                    shell.xtrace = on
                elif letter == "u":
                    shell.nounset = on
                elif letter not in "fmvCabh":
                    await shell.report(f"set: illegal option -{letter}", fds)
                    return 2
            args = args[1:]
            continue
        shell.positional = args
        return 0
    return 0


async def _b_shift(shell: Shell, argv: list[str], fds: Fds) -> int:
    count = _number(shell, "shift", argv[1]) if len(argv) > 1 else 1
    if count > len(shell.positional) or count < 0:
        raise ShellError("shift: can't shift that many")
    shell.positional = shell.positional[count:]
    return 0


async def _b_eval(shell: Shell, argv: list[str], fds: Fds) -> int:
    source = " ".join(argv[1:])
    if not source.strip():
        return 0
    try:
        program = parse(source, depth=shell.shared.depth)
    except ShellSyntaxError as exc:
        raise ShellError(f"syntax error: {exc.message}") from None
    shell.shared.depth += 1
    try:
        if shell.shared.depth > MAX_CALL_DEPTH:
            raise ShellError("eval: nesting too deep")
        return await shell.execute(program, fds)
    finally:
        shell.shared.depth -= 1


async def _b_source(shell: Shell, argv: list[str], fds: Fds) -> int:
    if len(argv) < 2:
        return 0
    data = shell.shared.fs.read(FileSystem.normalize(argv[1], shell.cwd))
    if data is None:
        raise ShellError(f"{argv[0]}: line 1: can't open '{argv[1]}': No such file or directory")
    return await _b_eval(shell, ["eval", data.decode(errors="replace")], fds)


async def _b_read(shell: Shell, argv: list[str], fds: Fds) -> int:
    args = argv[1:]
    raw = False
    prompt = ""
    while args and args[0].startswith("-") and len(args[0]) > 1:
        opt = args.pop(0)
        if opt == "-r":
            raw = True
        elif opt == "-p" and args:
            prompt = args.pop(0)
        elif opt in ("-t", "-n", "-u") and args:
            args.pop(0)
    if prompt:
        await fds.stderr.write(prompt.encode())
    names = args or ["REPLY"]
    line = await shell.shared.budget.wait(fds.stdin.readline())
    if line is None:
        for name in names:
            shell.setvar(name, "")
        return 1
    text = line.decode(errors="replace").rstrip("\n")
    if not raw:
        text = re.sub(r"\\(.)", r"\1", text)
    ifs = shell.vars.get("IFS", " \t\n")
    blanks = "".join(c for c in ifs if c in " \t\n")
    text = text.strip(blanks)
    if len(names) == 1 or not ifs:
        pieces = [text]
    else:
        pieces = re.split(
            f"[{re.escape(ifs)}]+" if blanks else f"[{re.escape(ifs)}]", text, maxsplit=len(names) - 1
        )
    for index, name in enumerate(names):
        shell.setvar(name, pieces[index] if index < len(pieces) else "")
    return 0


async def _b_cd(shell: Shell, argv: list[str], fds: Fds) -> int:
    target = argv[1] if len(argv) > 1 else shell.vars.get("HOME", HOME)
    if target == "-":
        target = shell.vars.get("OLDPWD", shell.cwd)
    path = FileSystem.normalize(target, shell.cwd)
    if path not in shell.shared.fs.dirs:
        await shell.report(f"cd: can't cd to {target}: No such file or directory", fds)
        return 2
    shell.vars["OLDPWD"] = shell.cwd
    shell.setvar("PWD", path)
    return 0


async def _b_pwd(shell: Shell, argv: list[str], fds: Fds) -> int:
    await _write(fds, shell.cwd + "\n")
    return 0


async def _b_exec(shell: Shell, argv: list[str], fds: Fds) -> int:
    if len(argv) < 2:
        return 0
    status = await shell.run_command(argv[1:], fds, [])
    raise ExitShell(status)


async def _b_wait(shell: Shell, argv: list[str], fds: Fds) -> int:
    jobs = shell.shared.jobs
    wanted = [int(a) for a in argv[1:] if a.isdigit()]
    tasks = [jobs[p] for p in wanted if p in jobs] if wanted else list(jobs.values())
    if not tasks:
        return 127 if wanted else 0
    await shell.shared.budget.wait(asyncio.wait(tasks))
    last = tasks[-1]
    return last.result() if not last.cancelled() and last.exception() is None else 127


async def _b_kill(shell: Shell, argv: list[str], fds: Fds) -> int:
    status = 0
    for arg in argv[1:]:
        if arg.startswith("-"):
            continue
        pid = int(arg.lstrip("%")) if arg.lstrip("%").isdigit() else -1
        task = shell.shared.jobs.get(pid)
        if task is None:
            await shell.report(f"kill: can't kill pid {arg}: No such process", fds)
            status = 1
        else:
            task.cancel()
    return status


async def _b_type(shell: Shell, argv: list[str], fds: Fds) -> int:
    status = 0
    verbose_v = argv[0] == "command"
    names = [a for a in argv[1:] if not a.startswith("-")]
    for name in names:
        if name in shell.functions:
            text = name if verbose_v else f"{name} is a function"
        elif name in _BUILTINS or name in _ASH_BUILTIN_APPLETS:
            text = name if verbose_v else f"{name} is a shell builtin"
        elif shell.lookup(name) is not None:
            path = name if "/" in name else _command_path(name)
            text = path if verbose_v else f"{name} is {path}"
        else:
            status = 1
            if verbose_v:
                continue
            text = f"{name}: not found"
        await _write(fds, text + "\n")
    return status


async def _b_command(shell: Shell, argv: list[str], fds: Fds) -> int:
    if len(argv) > 1 and argv[1] in ("-v", "-V"):
        return await _b_type(shell, ["command" if argv[1] == "-v" else "type", *argv[2:]], fds)
    args = [a for a in argv[1:] if a != "-p"]
    if not args:
        return 0
    saved = shell.functions
    shell.functions = {}
    try:
        return await shell.run_command(args, fds, [])
    finally:
        shell.functions = saved


async def _b_let(shell: Shell, argv: list[str], fds: Fds) -> int:
    value = 0
    for expr in argv[1:]:
        try:
            value = evaluate(expr, shell.getvar, shell.setvar)
        except ArithError as exc:
            raise ShellError(str(exc)) from None
    return int(value == 0)


async def _b_ignore(shell: Shell, argv: list[str], fds: Fds) -> int:
    return 0


def _command_path(name: str) -> str:
    return f"/usr/bin/{name}" if name == "curl" else f"/bin/{name}"


_BUILTINS: dict[str, Builtin] = {
    ":": _b_true,
    "true": _b_true,
    "false": _b_false,
    "exit": _b_exit,
    "return": _b_return,
    "break": _b_break,
    "continue": _b_break,
    "export": _b_export,
    "readonly": _b_export,
    "unset": _b_unset,
    "local": _b_local,
    "set": _b_set,
    "shift": _b_shift,
    "eval": _b_eval,
    ".": _b_source,
    "source": _b_source,
    "read": _b_read,
    "cd": _b_cd,
    "pwd": _b_pwd,
    "exec": _b_exec,
    "wait": _b_wait,
    "kill": _b_kill,
    "type": _b_type,
    "command": _b_command,
    "let": _b_let,
    "trap": _b_ignore,
    "umask": _b_ignore,
    "ulimit": _b_ignore,
    "hash": _b_ignore,
}
_SPECIAL = frozenset(
    {
        ":",
        "exit",
        "return",
        "break",
        "continue",
        "export",
        "readonly",
        "unset",
        "set",
        "shift",
        "eval",
        ".",
        "source",
        "exec",
    }
)
_ASH_BUILTIN_APPLETS = frozenset({"echo", "printf", "test", "["})


# ---------------------------------------------------------------------------------------------
# Terminal (kubectl exec -ti): echo, line editing and Ctrl-C


def _consume_interrupt(shell: Shell) -> bool:
    state = shell.shared.interrupts
    if state is not None and state.idle_interrupt:
        state.idle_interrupt = False
        return True
    return False


class _Terminal:
    """The pty's line discipline for ``-ti`` execs: echo typed keys, erase, ^C, ^D, ^U.

    kubectl sends raw keystrokes (Enter is ``\\r``); a real terminal echoes them and hands the
    shell whole lines, and Ctrl-C interrupts the foreground command.
    """

    def __init__(self, io: ExecIO, echo: Callable[[bytes], Awaitable[None]], state: _Interrupts) -> None:
        self.io = io
        self.echo = echo
        self.state = state
        self.line = bytearray()
        self.ready: list[bytes] = []
        self.eof = False
        self.changed = asyncio.Event()

    async def pump(self) -> None:
        while True:
            chunk = await self.io.read_stdin()
            if chunk is None:
                self.eof = True
                self.changed.set()
                return
            echo = bytearray()
            for byte in chunk:
                char = bytes([byte])
                if char in (b"\r", b"\n"):
                    self.line += b"\n"
                    self.ready.append(bytes(self.line))
                    self.line.clear()
                    echo += b"\r\n"
                elif char in (b"\x7f", b"\x08"):
                    if self.line:
                        self.line.pop()
                        echo += b"\b \b"
                elif char == b"\x03":
                    self.line.clear()
                    echo += b"^C\r\n"
                    self._interrupt()
                elif char == b"\x04":
                    if self.line:
                        self.ready.append(bytes(self.line))
                        self.line.clear()
                    else:
                        self.eof = True
                elif char == b"\x15":
                    echo += b"\b \b" * len(self.line)
                    self.line.clear()
                elif byte >= 0x20 or char == b"\t":
                    self.line += char
                    echo += char
            if echo:
                await self.echo(bytes(echo))
            self.changed.set()
            if self.eof:
                return

    def _interrupt(self) -> None:
        running = self.state.running
        if running is not None and not running.done():
            running.cancel()
        else:
            self.state.idle_interrupt = True
            self.ready.append(b"\n")

    async def read(self) -> bytes | None:
        while not self.ready:
            if self.eof:
                return None
            self.changed.clear()
            await self.changed.wait()
        return self.ready.pop(0)


# ---------------------------------------------------------------------------------------------
# The program


def container_env(pod: Mapping[str, Any], container: str) -> dict[str, str]:
    """Literal ``env`` values of the container (``valueFrom`` is not resolved)."""
    for spec in pod.get("spec", {}).get("containers", []) or []:
        if spec.get("name") == container:
            return {
                str(e["name"]): str(e.get("value", ""))
                for e in spec.get("env", []) or []
                if isinstance(e, dict) and e.get("name") and "valueFrom" not in e
            }
    return {}


def default_commands() -> dict[str, Command]:
    """The "binaries" of a curl image: busybox applets plus ``curl``."""
    table: dict[str, Command] = dict(COMMANDS)
    table["curl"] = curl_command
    table["sh"] = _sh_applet
    table["ash"] = _sh_applet
    return table


async def _sh_applet(proc: Proc, argv: list[str]) -> int:
    """A nested ``sh``/``ash``: a new shell process (exported variables only) in the same exec."""
    child = proc.shell.child_shell(proc.fds, proc.env)
    try:
        return await child.main(argv, proc.fds)
    except ExitShell as exc:
        return exc.status


async def _oci_not_found(stderr: Output, name: str) -> int:
    message = (
        "OCI runtime exec failed: exec failed: unable to start container process: "
        f'exec: "{name}": executable file not found in $PATH: unknown\n'
    )
    if "/" in name:
        message = (
            "OCI runtime exec failed: exec failed: unable to start container process: "
            f"exec: {name}: stat {name}: no such file or directory: unknown\n"
        )
    await stderr.write(message.encode())
    return 126


async def shell_program(request: ExecRequest, io: ExecIO) -> int:
    """Run an exec in a curl image: ``sh -c ...``, ``curl ...``, ``sleep 365d``, interactive ``sh``.

    Returns the exit status; :data:`STATUS_CLOSED` when the client went away first. Cancelling
    the task running this coroutine stops the script and every job it started.
    """
    closed = lambda: io.closed  # noqa: E731 - a property read, late-bound

    async def write_out(data: bytes) -> None:
        await io.write(STDOUT, data)

    async def write_err(data: bytes) -> None:
        await io.write(STDOUT if request.tty else STDERR, data)

    budget = CpuBudget()
    if "cpu_budget" in request.extras:
        budget.limit = float(request.extras["cpu_budget"])
    stdout = ChannelOutput(write_out, closed, tty=request.tty, budget=budget)
    stderr = ChannelOutput(write_err, closed, tty=request.tty, budget=budget)
    state = _Interrupts()
    terminal: _Terminal | None = None
    pump: asyncio.Task[None] | None = None
    if request.stdin and request.tty:

        async def echo(data: bytes) -> None:
            if not io.closed:
                await io.write(STDOUT, data)

        terminal = _Terminal(io, echo, state)
        stdin = Reader(lambda: budget.wait(terminal.read()))
    elif request.stdin:
        stdin = Reader(lambda: budget.wait(io.read_stdin()))
    else:
        stdin = Reader.empty()
    env = container_env(request.pod, request.container)
    shell = Shell(
        hostname=request.pod_name,
        env=env,
        commands=request.extras.get("commands"),
        stdout=stdout,
        stderr=stderr,
        stdin=stdin,
        network=request.network,
        budget=budget,
        closed=closed,
        pod=request.pod,
        tty=request.tty,
    )
    shell.shared.interrupts = state
    try:
        if terminal is not None:
            pump = asyncio.ensure_future(terminal.pump())
        shell.shared.budget.start()
        status = await run_container_command(shell, list(request.command))
        await shell.wait_jobs_holding_stream()
        return status
    except ExecClosed:
        return STATUS_CLOSED
    except BudgetExceeded:
        return STATUS_KILLED
    except BrokenPipe:
        return 141
    finally:
        if pump is not None:
            pump.cancel()
            await asyncio.gather(pump, return_exceptions=True)
        await shell.close()
        shell.shared.budget.stop()


async def run_container_command(shell: Shell, argv: list[str]) -> int:
    """What the container runtime does with the exec's command: find the binary, run it."""
    if not argv:
        return await _oci_not_found(shell.fds.stderr, "")
    name = argv[0]
    if posixpath.basename(name) == "busybox" and len(argv) > 1:
        argv = argv[1:]
        name = argv[0]
    command = shell.lookup(name)
    if command is None:
        return await _oci_not_found(shell.fds.stderr, name)
    if posixpath.basename(name) in ("sh", "ash"):
        try:
            return await shell.main(argv)
        except ExitShell as exc:
            return exc.status
    return await shell.run_argv(argv)


def _image_name(image: str) -> str:
    """``docker.io/curlimages/curl:8.5.0`` -> ``curlimages/curl``."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)
    if ":" in last[-1]:
        name = name.rsplit(":", 1)[0]
    for registry in ("docker.io/", "index.docker.io/"):
        if name.startswith(registry):
            name = name[len(registry) :]
    return name.removeprefix("library/")


def _shell_matcher(request: ExecRequest) -> Program | None:
    labels = request.pod.get("metadata", {}).get("labels") or {}
    if _image_name(request.image()) != "curlimages/curl" and labels.get(SHELL_LABEL) != "true":
        return None
    return shell_program


register_program("shell", _shell_matcher)
