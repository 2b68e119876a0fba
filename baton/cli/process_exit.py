"""Exiting once a command's work is done, whatever threads its tools left running.

Python joins every non-daemon thread, and every busy ``concurrent.futures`` thread, before a
process exits. A tool that starts such a thread and returns (an async tool's
``threading.Thread(target=poll).start()``, a sync tool's ``daemon=False`` one or its own
executor's), or an async tool whose ``asyncio.to_thread`` call ran past its time limit (the
call is abandoned, its thread is not), would keep ``baton run`` or ``baton worker --once``
alive after the run is recorded and its result printed: for hours, or for ever.

Baton's ``main`` calls :func:`command_done` with the command's exit code as it returns after a
command that runs tools (``run``, ``resume``, ``worker``, ``serve``: ``TOOL_COMMANDS`` in
:mod:`baton.cli.main`), whichever way the command ended: its result printed, an error reported
(output that cannot be written, a run taken over, a database that failed), an exception
raised. Python's exit then goes as ever, but a watchdog gives the threads it waits for
:data:`GRACE_S`: past that, it names them in one warning, flushes what Python would flush after
them (atexit's functions: OpenTelemetry's providers and logging shut down there), and ends the
process with the command's code, whatever of that fails (a stderr that cannot be written).
Threads Baton started itself (``baton-…``) are waited for in full, and an exit whose threads
end in time is Python's own, untouched.

Whose exit is watched, and whose code it is:

- Only a process whose ``__main__`` calls Baton's ``main`` (the console script, ``python -m
  baton``, or a script that imports ``main`` and calls it), and only once a command that runs
  tools has run in it. After any other command (``runs list``, ``plan``, ``--help``) no tool ran:
  the exit is Python's own, whatever threads the process has. A test or an application that
  calls ``main`` from a module of its own is never touched.
- Threads that were running when ``main`` was first called are the program's own (a script
  that embeds Baton): they are waited for in full, as Baton's are, never cut short.
- So such a program keeps its own exit code (``sys.exit(7)`` after ``main``) unless a thread a
  tool started is still running once its own threads have ended and the grace has passed: the
  watchdog cannot read the code the program is exiting with, and ends the process with the
  command's code (of the last command that ran tools).
"""

from __future__ import annotations

import atexit
import collections
import logging
import os
import sys
import threading
from collections.abc import Callable, Collection
from typing import NoReturn

from executor.tool_threads import runs_tool_code

GRACE_S = 1.0
"""How long, from the start of the exit, threads left running are waited for."""

_OWN_PREFIX = "baton-"  # Baton names every thread it starts so
_code: int | None = None
_program_threads: frozenset[threading.Thread] = frozenset()  # running when main was first called
_exiting = threading.Event()  # the interpreter's exit began: Python now joins the threads
_joined = threading.Event()  # it joined them all and goes on with atexit's functions
# Held by the watchdog while it ends the process, and by the first atexit function: either
# Python goes on with its own exit, or the watchdog ends it, never both at once.
_ending = threading.RLock()


def command_done(code: int, *, program_threads: Collection[threading.Thread] = ()) -> None:
    """A command that ran tools ended with ``code``: its process exits with it once ``main``
    returns, even if threads its tools started (or abandoned calls hold) still run.

    Called by ``main`` as it returns or raises. ``program_threads`` ran before ``main`` was
    first called: the program's own, waited for in full. Nothing changes in a process that
    merely calls Baton's ``main`` (a test, an application): its exit is its own.
    """
    global _code, _program_threads
    if not _process_is_baton():
        return
    first = _code is None
    _code = code
    _program_threads = _program_threads | frozenset(program_threads)
    if first:
        _watch_the_exit()


def _process_is_baton() -> bool:
    """Whether this process is a ``baton`` command: its ``__main__`` is the console script or
    ``python -m baton``, both of which call Baton's ``main``."""
    entry = getattr(sys.modules.get("baton.cli.main"), "main", None)
    return entry is not None and getattr(sys.modules.get("__main__"), "main", None) is entry


def _watch_the_exit() -> None:
    # Started now: Python 3.12 refuses to start a thread once its exit has begun.
    threading.Thread(target=_watch, name="baton-exit-watchdog", daemon=True).start()
    # Registered last, run first: before any other atexit function, OpenTelemetry's included.
    atexit.register(_threads_joined)
    # Called as the exit begins, before Python joins any thread (atexit's functions run only
    # after). Private, but concurrent.futures relies on it; without it the grace starts now.
    on_exit: Callable[[Callable[[], None]], None] | None = getattr(threading, "_register_atexit",
                                                                   None)
    if on_exit is None:  # pragma: no cover - CPython 3.9 and later have it
        _exiting.set()
    else:
        on_exit(_exiting.set)


def _threads_joined() -> None:
    with _ending:  # blocks for good once the watchdog has begun to end the process
        _joined.set()


def _watch() -> None:
    _exiting.wait()
    while not _joined.wait(GRACE_S):
        own = _own_threads()
        if own:  # Baton's and the program's work is never cut short: it ends, then a grace
            for thread in own:
                thread.join()
            continue
        with _ending:
            if _joined.is_set():  # it ended meanwhile: Python's own exit goes on
                return
            _end_the_process()


def _end_the_process() -> NoReturn:
    """Warn, flush, and end the process with the command's code, whatever fails before the
    end: a warning that cannot be written (stderr a full disk, a closed pipe) is lost, and
    the process must not be left waiting for the threads, its watchdog gone."""
    try:
        try:
            _warn(_waited_for())
        except BaseException:  # noqa: BLE001, S110 - nowhere left to say it
            pass
        _flush_for_exit()
    finally:
        os._exit(_code or 0)


def _waited_for() -> list[threading.Thread]:
    """The threads Python's exit waits for: non-daemon ones, and ``concurrent.futures``'
    (joined whatever their daemon flag: its record of them is private, read if it is there)."""
    pools = getattr(sys.modules.get("concurrent.futures.thread"), "_threads_queues", None) or {}
    others = (threading.main_thread(), threading.current_thread())
    return [t for t in threading.enumerate()
            if t not in others and t.is_alive() and (not t.daemon or t in pools)]


def _own_threads() -> list[threading.Thread]:
    """Threads the exit waits for in full: those Baton started (not the executor's that run
    tools' code), and the program's own (running before Baton's ``main`` was first called)."""
    return [t for t in _waited_for() if t in _program_threads
            or (t.name.startswith(_OWN_PREFIX) and not runs_tool_code(t))]


def _warn(threads: list[threading.Thread]) -> None:
    """One warning naming ``threads`` (``crm-poller: 2``), most first, for the tool's developer."""
    import structlog

    counts = collections.Counter(_shown_name(t) for t in threads)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))  # ties: by name
    top = ", ".join(f"{name}: {n}" for name, n in ranked[:5])
    if len(counts) > 5:
        top += f" and {len(counts) - 5} more names"
    structlog.get_logger("baton").warning(
        "threads started by tools are still running; exiting without waiting for them (a "
        "tool's thread should be a daemon, or end before the tool returns; an async tool's "
        "asyncio.to_thread call past its time limit holds a baton-async-tool thread)",
        count=len(threads), threads=top, waited_s=GRACE_S)


def _shown_name(thread: threading.Thread) -> str:
    """The executor's threads by their common name (``baton-async-tool``, not ``…_3``)."""
    return thread.name.rsplit("_", 1)[0] if runs_tool_code(thread) else thread.name


def _flush_for_exit() -> None:
    """What Python would flush after joining the threads: atexit's functions (the shutdown of
    OpenTelemetry's providers, which register it there, and logging's), then the streams."""
    run_exit_functions = getattr(atexit, "_run_exitfuncs", None)
    if run_exit_functions is not None:
        run_exit_functions()  # each one's error is printed, as at exit, not raised
    else:  # pragma: no cover - CPython has it
        logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # closed or broken: what it held is lost, as at exit
            pass
