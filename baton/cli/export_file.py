"""Where ``baton audit export --out`` may write, and writing there only once the export is whole.

Opening the target for writing empties it before the ledger is read: an ``--out`` naming the
database wiped it, and an export that failed half-way cut a previous good one short. The
export goes to a temporary file beside the target, which replaces it only on success (or, where
no file may be created beside it, or the target may be written but not replaced, as another
user's file in a sticky directory, is copied over it then).
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

import typer

# The files SQLite keeps beside a database: its write-ahead log, shared memory, rollback journal.
_SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")


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

    Through a link the file it names is replaced, the link kept. A target that is not a
    regular file (``/dev/stdout``, a pipe) is written directly: it cannot be replaced.
    """
    target = Path(os.path.realpath(out))
    if target.exists() and not target.is_file():
        with open(target, "w", encoding="utf-8") as handle:
            yield handle
        return
    mode = _mode_for(target)
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
    with open(target, "w", encoding="utf-8") as handle:
        shutil.copyfileobj(staged, handle)


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
