"""A file's stat marks: how the template library and the settings file are judged unchanged.

It lives beside the base utilities (``tools`` is imported by every command already), so the
settings reader can use it without importing the planner.

A stat alone cannot tell two edits apart that keep the size within one tick of the file
system's clock: where timestamps are whole seconds (ext4 with 128-byte inodes, some network
and FAT file systems), a token revoked a moment after it was added kept working, the second
edit never read. As git does for its "racily clean" index entries, a mark taken while the
file's modification or change time is not safely older than the moment it is taken
(:data:`RACY_WINDOW_NS`) also holds a digest of the file's contents: an edit within the
same tick changes that. Once the file is older than that, the stat alone tells (one stat per
use, no read); the first mark without the digest differs from the last with it, so the file
is read once more then.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import stat as kinds
from pathlib import Path
from time import time_ns

# One file as its stat shows it: name, inode, size, modification and change times, and
# whether the stat alone is to be trusted ("") or else the digest of its contents. The change
# time moves on every write and cannot be set back (``os.utime`` sets the other two), so an
# edit that keeps the size and restores the modification time is still seen.
FileMark = tuple[str, int, int, int, int, str]
_ABSENT = (-1, -1, -1, -1)  # the stat fields of a file that is not there

RACY_WINDOW_NS = 3_000_000_000
"""How much older than the moment a mark is taken a file's times must be for its stat alone
to tell it unchanged: past the coarsest timestamps in use (FAT's 2 seconds), with room for
a file system's clock a moment behind this process's."""

DIGESTED_MAX_BYTES = 16 * 1024 * 1024
"""The largest file whose contents a racy mark digests (far past a settings file's 4 MiB):
a larger one's racy mark equals no other, so it is read again at each use until it is old
enough."""

_unique = itertools.count()  # for racy marks that equal no other


def file_mark(path: Path) -> FileMark:
    """What the file at ``path`` looks like now (its stat, and its contents' digest while its
    times are too recent for the stat to tell, :data:`RACY_WINDOW_NS`); a file that is not
    there has a mark of its own. OSError when it cannot be looked at: the caller decides
    what that means (the library's load fails; the settings file is read, to say why)."""
    taken_ns = time_ns()  # before the stat: a write after the stat is after this moment too
    try:
        found = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):  # also removed since it was listed
        return (path.name, *_ABSENT, "")
    stat_fields = (found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns)
    return (path.name, *stat_fields, _contents_mark(path, found, taken_ns))


def is_absent(mark: FileMark) -> bool:
    """Whether ``mark`` is that of a file that was not there."""
    return mark[1:5] == _ABSENT


def _contents_mark(path: Path, found: os.stat_result, taken_ns: int) -> str:
    """"" when the stat ``found`` alone tells the file unchanged; else its contents' digest,
    or (a file too large, or that cannot be read) a text no other mark holds."""
    newest_ns = max(found.st_mtime_ns, found.st_ctime_ns)
    if newest_ns < taken_ns - RACY_WINDOW_NS or not kinds.S_ISREG(found.st_mode):
        return ""  # a device or a pipe is never read here: its reader refuses it
    if found.st_size > DIGESTED_MAX_BYTES:
        return f"racy {next(_unique)}"
    digest = hashlib.blake2b(digest_size=16)
    read = 0
    try:
        # Not blocking: a pipe moved into its place since the stat must not hang the caller.
        with open(os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)), "rb") as file:
            if not kinds.S_ISREG(os.fstat(file.fileno()).st_mode):
                return f"racy {next(_unique)}"
            while chunk := file.read(1 << 16):
                digest.update(chunk)
                read += len(chunk)
                if read > DIGESTED_MAX_BYTES:  # grown since the stat
                    return f"racy {next(_unique)}"
    except OSError:  # e.g. not readable by this process: its reader says why
        return f"racy {next(_unique)}"
    return digest.hexdigest()
