"""Where ``baton audit export --out`` may write, and writing there only once the export is whole.

Opening the target for writing empties it before the ledger is read: an ``--out`` naming the
database wiped it, and an export that failed half-way cut a previous good one short. The
export goes to a temporary file beside the target, which replaces it only on success (or, where
no file may be created beside it, or the target may be written but not replaced, as another
user's file in a sticky directory, is copied over it then). SIGTERM and SIGHUP end the export
as Ctrl-C does, the temporary file removed. A descriptor (``/dev/stdout``, ``/dev/fd/N``) is
written as it is: it cannot be replaced, and what it is open on is the caller's.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import stat
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

import typer

# The files SQLite keeps beside a database: its write-ahead log, shared memory, rollback journal.
_SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")

# A process's open descriptor, as /dev/stdout, /dev/fd/N and /proc/self/fd/N resolve to.
_DESCRIPTOR_LINK = re.compile(r"/proc/(\d+)(?:/task/\d+)?/fd/(\d+)")
_MAX_LINKS = 40  # as the kernel's limit: a loop of links names no descriptor


def _open_descriptors() -> frozenset[int]:
    try:
        listed = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:  # no /proc: no descriptor path to name either
        return frozenset()
    return frozenset(fd for fd in listed if _is_open(fd))  # not the listing's own, closed now


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


# The descriptors the process was given (the shell's 0, 1, 2 and `3>file` redirections), taken
# when the CLI is imported, before Baton opens its database: only those may be an export's --out.
_GIVEN_DESCRIPTORS = _open_descriptors()

# What ends a command as Ctrl-C does, the staged export removed on the way out.
_ENDING_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP")
                        if hasattr(signal, name))


class EndedBySignal(BaseException):
    """SIGTERM or SIGHUP came during the export: a BaseException, as Ctrl-C's
    KeyboardInterrupt, so that no ``except Exception`` stops it short of the cleanup."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def out_path(text: str) -> Path:
    """``--out``'s text as a path: one naming a directory (``DIR/``, ``DIR/.``) is refused.

    The parser of ``--out``: typer's own ``Path`` drops a trailing slash, so ``--out
    file.txt/`` would overwrite file.txt and ``--out new/`` create a file ``new``.
    """
    separators = os.sep + (os.altsep or "")
    if text.rstrip(separators) != text or os.path.basename(text) in (".", ".."):
        raise typer.BadParameter(f"{text!r} names a directory; give the file to write the "
                                 "export to (e.g. DIR/audit.jsonl)")
    return Path(text)


def out_problem(out: Path, data_dir: Path, database: str | None) -> str | None:
    """Why the export must not be written to ``out``; None if it may.

    ``database`` is the SQLite file's path (None: PostgreSQL). Links are followed: what
    counts is the file that would be written.
    """
    descriptor = _named_descriptor(out)
    if descriptor is not None and descriptor[0] == os.getpid() \
            and descriptor[1] not in _GIVEN_DESCRIPTORS:
        return (f"--out {out} names descriptor {descriptor[1]}, which baton was not given (a "
                "shell redirection such as `3>FILE` gives one); its own descriptors, such as "
                "its database connection, are never written")
    target = Path(os.path.realpath(out))
    if database is not None:
        real = os.path.realpath(database)
        if str(target) in {real + suffix for suffix in _SQLITE_COMPANIONS} or _same_file(target, real):
            return f"--out {out} is the Baton database {database}; writing there would destroy the ledger"
    home = Path(os.path.realpath(data_dir))
    if target == home or target.is_relative_to(home):
        return (f"--out {out} lies under data_dir {data_dir} (the database, artifacts and "
                f"workspace); write the export elsewhere")
    return None


@contextmanager
def replaced_on_success(out: Path) -> Iterator[TextIO]:
    """A text file to write the export into; it becomes ``out`` only if the block succeeds.

    Through a link the file it names is replaced, the link kept. A descriptor (``/dev/stdout``)
    and a target that is not a regular file (a pipe) are written directly: they cannot be
    replaced. SIGTERM or SIGHUP while the export is staged raise :class:`EndedBySignal`.
    """
    descriptor = _named_descriptor(out)
    if descriptor is not None:
        with _descriptor_opened(out, *descriptor) as handle:
            yield handle
        return
    target = Path(os.path.realpath(out))
    if target.exists() and not target.is_file():
        with open(target, "w", encoding="utf-8") as handle:
            yield handle
        return
    mode = _mode_for(target)
    with _ended_by_signals():
        try:
            fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                             suffix=".tmp")
        except PermissionError:
            if not target.is_file():
                raise
            # One who may write the file but not create files beside it (an auditor's export
            # file in a shared directory) gets it rewritten in place, still only once whole.
            with _copied_on_success(target) as handle:
                yield handle
            return
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                yield handle
            os.chmod(temporary, mode)
            _replace(Path(temporary), target)
        finally:
            Path(temporary).unlink(missing_ok=True)  # gone already once it replaced the target


def _named_descriptor(out: Path) -> tuple[int, int] | None:
    """The process id and descriptor ``out`` names through its links (``/dev/stdout`` is
    this process's 1), or None: judged as named, not by the file the descriptor is open on."""
    path = os.path.abspath(out)
    for _ in range(_MAX_LINKS):
        # Its directory resolved: /dev/fd/1 and /proc/self/fd/1 lie in /proc/PID/fd.
        path = os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))
        found = _DESCRIPTOR_LINK.fullmatch(path)
        if found:
            return int(found[1]), int(found[2])
        try:
            path = os.path.join(os.path.dirname(path), os.readlink(path))
        except OSError:  # not a link, or missing: a file
            return None
    return None


@contextmanager
def _descriptor_opened(out: Path, pid: int, fd: int) -> Iterator[TextIO]:
    """The descriptor to write, never emptied: ``--out /dev/stdout >> app.log`` appends.

    This process's own is written through a copy of it, at its offset, as the shell opened
    it (opening /proc/self/fd/1 anew would truncate app.log, or find no pipe to open);
    another's is opened in append mode.
    """
    if pid != os.getpid():
        with open(out, "a", encoding="utf-8") as handle:
            yield handle
        return
    stream = {1: sys.stdout, 2: sys.stderr}.get(fd)
    if stream is not None:
        stream.flush()  # what was written to it before goes first
    with os.fdopen(os.dup(fd), "w", encoding="utf-8", newline="\n") as handle:
        yield handle


@contextmanager
def _ended_by_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP raise :class:`EndedBySignal` in the block, then are as they were.

    One ignored (``nohup``) or handled already (by a program embedding the CLI) is left so;
    outside the main thread, where Python runs handlers, nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    ending = [s for s in _ENDING_SIGNALS if signal.getsignal(s) is signal.SIG_DFL]

    def end(signum: int, _frame: object) -> None:
        for each in ending:  # a second signal cannot cut the cleanup short
            signal.signal(each, signal.SIG_IGN)
        raise EndedBySignal(signum)

    previous = {s: signal.signal(s, end) for s in ending}
    try:
        yield
    finally:
        for each, handler in previous.items():
            signal.signal(each, handler)


def _replace(temporary: Path, target: Path) -> None:
    """``temporary`` (the whole export) becomes ``target``: renamed over it, else copied."""
    try:
        os.replace(temporary, target)
    except PermissionError:
        if not target.is_file():
            raise
        # In a sticky directory (/tmp, mode 1777) a file may be created beside another
        # user's file, and that file written, but not replaced: rewrite it in place.
        with open(temporary, encoding="utf-8") as staged:
            _copy_over(staged, target)


@contextmanager
def _copied_on_success(target: Path) -> Iterator[TextIO]:
    """A text file in the system's temporary directory whose content is copied over
    ``target`` (kept, with its owner and mode) only if the block succeeds."""
    with tempfile.TemporaryFile("w+", encoding="utf-8") as staged:
        yield staged
        staged.seek(0)
        _copy_over(staged, target)


def _copy_over(staged: TextIO, target: Path) -> None:
    with _signals_held(), open(target, "w", encoding="utf-8") as handle:
        shutil.copyfileobj(staged, handle)


@contextmanager
def _signals_held() -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP wait for the block's end: a target emptied to be rewritten
    in place is not left cut short."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    held = {signal.SIGINT, *_ENDING_SIGNALS}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)  # one that came acts now


def _mode_for(target: Path) -> int:
    """The mode ``open(target, "w")`` would have left: the file's own, else 0o666 less the umask."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _same_file(target: Path, database: str) -> bool:
    try:
        return os.path.samefile(target, database)  # a hard link to it too
    except OSError:  # either is missing: not the same file
        return False
