"""Whether a templates directory changed since it was read, without reading its files.

A long-running process (``baton serve``, ``baton worker``) must plan from, and judge
standard changes by, the templates as they are now: a withdrawn pre-approved template
that a server still held in memory kept approving plans with no approver.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .loader import template_paths
from .model import TemplateError

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


def directory_marks(directories: Iterable[Path]) -> tuple[tuple[str, tuple[FileMark, ...]], ...]:
    """What the template files of ``directories`` look like now; equal marks, same library.

    Reads the directory listings and stats the files (microseconds for a few hundred), never
    their contents. A directory that does not exist marks as empty, as the library loads it;
    one that exists but cannot be listed, or a file that cannot be looked at, is the
    TemplateError the library's load would raise: marked as empty or unchanged, it would
    keep planning with templates that are no longer the ones in force.
    """
    marks = []
    for directory in directories:
        files: list[FileMark] = []
        for path in template_paths(directory):
            try:
                files.append(file_mark(path))
            except OSError as exc:
                raise TemplateError(f"{path}: cannot read template: {exc}; fix or remove the "
                                    "file (every template is read to plan)") from exc
        marks.append((str(directory), tuple(files)))
    return tuple(marks)
