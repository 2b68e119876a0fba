"""A file's stat marks: how the template library and the settings file are judged unchanged.

It lives beside the base utilities (``tools`` is imported by every command already), so the
settings reader can use it without importing the planner.
"""

from __future__ import annotations

from pathlib import Path

# One file as its stat shows it: name, inode, size, modification and change times. The change
# time moves on every write and cannot be set back (``os.utime`` sets the other two), so an
# edit that keeps the size and restores the modification time is still seen.
FileMark = tuple[str, int, int, int, int]
_ABSENT = (-1, -1, -1, -1)  # the stat fields of a file that is not there


def file_mark(path: Path) -> FileMark:
    """What the file at ``path`` looks like now (its stat, never its contents); a file that is
    not there has a mark of its own. OSError when it cannot be looked at: the caller decides
    what that means (the library's load fails; the settings file is read, to say why)."""
    try:
        stat = path.stat()
    except (FileNotFoundError, NotADirectoryError):  # also removed since it was listed
        return (path.name, *_ABSENT)
    return (path.name, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


def is_absent(mark: FileMark) -> bool:
    """Whether ``mark`` is that of a file that was not there."""
    return mark[1:] == _ABSENT
