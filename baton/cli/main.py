"""The root ``baton`` command: global options, command registration and error handling."""

from __future__ import annotations

import errno
import importlib
import os
import sys
import threading
from typing import Annotated, Any

import typer

from tools import BatonError

from .. import __version__
from ..settings import ConfigError, UnknownUserError
from ..usecases.errors import UsageError
from ..usecases.permissions import ActionNotAllowedError
from .common import EXIT_FAILED, EXIT_USAGE, CliState, print_error
from .text_arguments import TextCheckedGroup

HELP = """Baton: goals become typed plans of tool calls, vetted by policy and people,
run by a durable executor, every step recorded in a tamper-evident ledger.

Start with `baton demo`. Typical flow: `baton plan "GOAL"` (analyst) →
`baton approve PLAN_ID` (approver) → `baton run PLAN_ID` → `baton audit verify`.
"""

app = typer.Typer(
    name="baton",
    cls=TextCheckedGroup,  # undecodable or NUL text in any argument: a usage error, not a crash
    help=HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

# Each module adds its commands to ``app`` when imported. Keep them light at
# import time: heavy libraries are imported inside the commands.
COMMAND_MODULES = [
    "baton.cli.tools_cmd",
    "baton.cli.validate_cmd",
    "baton.cli.serve_cmd",
    "baton.cli.demo_cmd",
    "baton.cli.token_cmd",
    "baton.cli.audit_cmd",
    "baton.cli.plan_cmd",
    "baton.cli.vetting_cmd",
    "baton.cli.run_cmd",
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"baton {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    as_user: Annotated[
        str | None, typer.Option("--as", help="Act as this user (default: $BATON_USER).")
    ] = None,
    config: Annotated[
        str | None, typer.Option("--config", help="Settings file (default: $BATON_CONFIG or ./baton.toml).")
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Global options."""
    ctx.obj = CliState(config_path=config, acting_user=as_user,
                       policy_in_process=ctx.invoked_subcommand not in _JUDGING_AT_LENGTH)
    _invoked.command = ctx.invoked_subcommand  # named before this callback runs, as parsed
    # Logs go to stderr so that stdout stays clean for --json; serve/worker log more, as JSON.
    ctx.obj.use_logging("warning")
    if ctx.invoked_subcommand in _WRITING_TOOLS:
        _mask_streams_when_run(ctx.command.get_command(ctx, ctx.invoked_subcommand))


# Commands in which tool code runs, and may write to the standard streams itself.
_WRITING_TOOLS = frozenset({"run", "resume", "worker", "serve", "demo"})


def _mask_streams_when_run(command: Any) -> None:
    """Mask what tool code writes to stdout or stderr itself (kept off stdout) once
    ``command`` runs: not before its arguments are parsed, for click writes its ``--help``
    and usage errors itself, and they are the command's output. ``command`` is this call's
    own (typer builds the commands for each call), so the hook set on it goes with the call."""
    invoke = type(command).invoke

    def masked_invoke(sub_ctx: Any) -> Any:
        from ..masked_streams import mask_standard_streams

        sub_ctx.call_on_close(mask_standard_streams(keep=_process_is_baton()))
        return invoke(command, sub_ctx)

    command.invoke = masked_invoke


def _process_is_baton() -> bool:
    """Whether this process is the ``baton`` command itself: ``python -m baton`` or the
    console script (named ``baton``: its launcher strips ``.exe`` and ``-script.pyw`` from
    ``sys.argv[0]``). A program that imports :func:`main` and calls it is not: it gets its
    streams back."""
    program = sys.modules.get("__main__")
    if getattr(program, "main", None) is not main:
        return False
    if getattr(getattr(program, "__spec__", None), "name", None) == "baton.__main__":
        return True
    name = os.path.basename(sys.argv[0] if sys.argv else "").lower()
    return name.removesuffix(".exe").removesuffix("-script.py") == "baton"


# Commands that may judge thousands of calls (a run's runtime checks, a server's decisions):
# they judge in evaluator processes, replaced before they grow (policies.isolated_rego).
_JUDGING_AT_LENGTH = frozenset({"serve", "worker", "run", "resume"})

for _module in COMMAND_MODULES:
    importlib.import_module(_module)

# `baton --help` lists commands by what a person is doing, in the order of the flow.
HELP_PANELS: dict[str, tuple[str, ...]] = {
    "Start here": ("demo",),
    "Plan (analysts)": ("plan", "revise", "plans", "templates", "validate"),
    "Vet (approvers)": ("approve", "reject", "policy"),
    "Run": ("run", "runs", "resume", "cancel", "worker"),
    "Audit": ("audit",),
    "Set up and serve": ("tools", "schema", "serve", "token"),
}
def _arrange_help() -> None:
    rank = {name: i for i, name in enumerate(n for ns in HELP_PANELS.values() for n in ns)}
    panel_of = {name: panel for panel, names in HELP_PANELS.items() for name in names}
    for info in [*app.registered_commands, *app.registered_groups]:
        name = info.name or getattr(info.callback, "__name__", "")
        info.rich_help_panel = panel_of.get(name, "Other")
    app.registered_commands.sort(key=lambda c: rank.get(c.name or "", len(rank)))
    app.registered_groups.sort(key=lambda g: rank.get(g.name or "", len(rank)))


_arrange_help()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``baton`` console script; returns the exit code.

    Output that cannot be written (a full disk behind ``> FILE``, a stdout closed with ``>&-``)
    is one error line on stderr and exit 1, whenever the write fails: in a command, or in the
    flush at its end. Whichever way a command that runs tools ends, threads its tools left
    running do not keep the process from exiting with its code (:mod:`baton.cli.process_exit`).
    """
    if _invoked.threads_before is None:  # the first call: whatever runs now is not Baton's
        _invoked.threads_before = frozenset(threading.enumerate())
    _invoked.command = None
    code = EXIT_FAILED  # what Python exits with when an exception escapes
    try:
        code = _main(argv)
        return code
    except KeyboardInterrupt:
        code = 130  # as a shell reports a command ended by SIGINT
        raise
    finally:
        _exit_promptly(code)


TOOL_COMMANDS = frozenset({"run", "resume", "worker", "serve"})
"""The commands that run tools, whose threads may outlive the command: the only ones after
which the exit is watched (:mod:`baton.cli.process_exit`)."""


class _Invocation:
    """What :func:`main` knows of its call: the command the arguments named (set by the root
    callback once they are parsed; None when none ran: a usage error, ``--help``), and the
    threads that ran when ``main`` was first called in this process (a program's own)."""

    command: str | None = None
    threads_before: frozenset[threading.Thread] | None = None


_invoked = _Invocation()


def _exit_promptly(code: int) -> None:
    """Have the process exit with ``code`` after a grace, even if threads a tool started (or
    an abandoned call holds) still run: after a run, a resume, a worker or a server, whether
    its result was printed or it ended on an error (its stdout unwritable, its run taken
    over). After any other command no tool ran, and the exit is left as Python's own."""
    if _invoked.command in TOOL_COMMANDS and threading.active_count() > 1:
        from .process_exit import command_done  # imports the executor

        command_done(code, program_threads=_invoked.threads_before or frozenset())


def _main(argv: list[str] | None) -> int:
    """:func:`main`, less the exit's watchdog."""
    original_stderr = sys.stderr
    # Started with stderr closed (``2>&-``) Python gives None, and configuring the logs
    # failed every command: what cannot go to stderr is skipped, the command is not.
    stderr = _SkippingStream(original_stderr)
    sys.stderr = stderr  # type: ignore[assignment]
    try:
        return _main_writing(argv)
    finally:
        if sys.stderr is stderr:
            sys.stderr = original_stderr


def _main_writing(argv: list[str] | None) -> int:
    """:func:`main`, less the exit's watchdog and stderr's guard: stdout's failures reported."""
    original = sys.stdout
    # Started with stdout closed, Python gives None: written to as a closed stream, so that
    # the first write fails as a full disk's does (rich and print_json raised AttributeError).
    stdout = _WatchedStream(_ClosedStream() if original is None else original)
    sys.stdout = stdout  # type: ignore[assignment]
    try:
        code = _run(argv)
        sys.stdout.flush()  # buffered output fails here, reported, not at exit
        return code
    except OSError as exc:
        if not stdout.raised(exc):
            raise
        return _stdout_failed(exc, stdout.stream)
    finally:
        if sys.stdout is stdout:  # typer may have wrapped it after a broken pipe: keep that
            sys.stdout = original


def _run(argv: list[str] | None) -> int:
    """Run the command; a known error is one line on stderr and its exit code."""
    try:
        app(args=argv, prog_name="baton", standalone_mode=True)
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int) or exc.code is None else EXIT_FAILED
    except (ConfigError, UnknownUserError, ActionNotAllowedError, UsageError) as exc:
        print_error(exc.message)
        return EXIT_USAGE
    except BatonError as exc:
        from executor.store.migrate import schema_mismatch

        # A StoreError raised from a column or table the database lacks: no retry will help.
        print_error(schema_mismatch(exc) or exc.message, lines=True)  # problems, one a line
        return EXIT_FAILED
    except Exception as exc:
        from executor.store.db import database_failure, is_database_error
        from executor.store.migrate import schema_mismatch

        if not is_database_error(exc):
            raise
        mismatch = schema_mismatch(exc)
        if mismatch is not None:  # not a database that is down: no retry, no resume
            print_error(mismatch)
            return EXIT_FAILED
        print_error(f"the database failed: {database_failure(exc)} (nothing recorded before "
                    "this was lost; retry, or `baton resume` a run, once it is back)")
        return EXIT_FAILED
    return 0


class _WatchedStream:
    """A stream (stdout, or its byte buffer) that keeps each OSError its writes raised.

    So that an OSError reaching ``main`` is known to be stdout's, not a file's or a socket's,
    whichever way it was written: rich, ``print_json`` or an export through the byte buffer.
    Everything else is the stream's own.
    """

    def __init__(self, stream: Any, failures: list[OSError] | None = None) -> None:
        self.stream = stream
        self._failures = [] if failures is None else failures

    def write(self, data: Any) -> int:
        """Write ``data``, keeping the OSError it raises (a closed stream's too)."""
        try:
            return self.stream.write(data)
        except OSError as exc:
            self._failures.append(exc)
            raise
        except ValueError as exc:
            raise self._closed(exc) from exc

    def flush(self) -> None:
        """Flush, keeping the OSError it raises (a closed stream's too)."""
        try:
            self.stream.flush()
        except OSError as exc:
            self._failures.append(exc)
            raise
        except ValueError as exc:
            raise self._closed(exc) from exc

    def _closed(self, exc: ValueError) -> Exception:
        """A closed file's ValueError ("I/O operation on closed file") as the OSError of a
        stream that is closed, kept; any other ValueError as it is."""
        if not getattr(self.stream, "closed", False):
            return exc
        failure = _closed_error()
        self._failures.append(failure)
        return failure

    @property
    def buffer(self) -> _WatchedStream:
        """The byte buffer, watched too (AttributeError when the stream has none)."""
        return _WatchedStream(self.stream.buffer, self._failures)

    def raised(self, exc: BaseException) -> bool:
        """Whether ``exc`` was raised writing to this stream (or its buffer)."""
        return any(exc is failure for failure in self._failures)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


class _SkippingStream:
    """stderr, where what cannot be written is skipped: a warning or an error line is lost,
    never the command or its exit code (stderr closed with ``2>&-``, or a full disk).

    Started with stderr closed, the stream is None: nothing is written, and it is no
    terminal. Everything else is the stream's own.
    """

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def write(self, data: Any) -> int:
        """Write ``data``; when it cannot be written, skip it."""
        if self.stream is not None:
            try:
                return self.stream.write(data)
            except (OSError, ValueError):  # a full disk, a closed pipe, a closed file
                pass
        return len(data)

    def flush(self) -> None:
        """Flush; when that fails, what was left is dropped (written nowhere)."""
        if self.stream is not None:
            try:
                self.stream.flush()
            except (OSError, ValueError):
                pass

    def isatty(self) -> bool:
        """Whether stderr is a terminal: never when it is closed."""
        if self.stream is None:
            return False
        try:
            return self.stream.isatty()
        except (OSError, ValueError):
            return False

    @property
    def encoding(self) -> str:
        """The stream's encoding (UTF-8 when there is no stream)."""
        return getattr(self.stream, "encoding", None) or "utf-8"

    def __getattr__(self, name: str) -> Any:
        if self.stream is None:
            raise AttributeError(name)
        return getattr(self.stream, name)


def _closed_error() -> OSError:
    return OSError(errno.EBADF, "it is closed")


class _ClosedStream:
    """stdout when the process started with it closed: every write fails (EBADF)."""

    encoding = "utf-8"
    errors = "strict"
    closed = True

    def write(self, data: Any) -> int:
        """Fail, as writing to a closed descriptor does."""
        raise _closed_error()

    def flush(self) -> None:
        """Nothing is buffered: nothing to fail."""

    def isatty(self) -> bool:
        """Not a terminal."""
        return False

    def fileno(self) -> int:
        """There is no descriptor."""
        raise _closed_error()


def _stdout_failed(exc: OSError, stream: Any) -> int:
    """Report stdout's failure (a broken pipe silently, as typer does) and exit 1.

    stdout's descriptor then writes to /dev/null: what is still buffered for it is dropped at
    exit, not reported again by Python as an ignored exception (exit 120).
    """
    if exc.errno != errno.EPIPE:
        print_error(f"cannot write standard output: {exc.strerror or exc}; what was written "
                    "is incomplete")
    try:
        descriptor = stream.fileno()
    except (AttributeError, OSError, ValueError):  # not a file (a test's): nothing to flush
        return EXIT_FAILED
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, descriptor)
    finally:
        os.close(devnull)
    return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
