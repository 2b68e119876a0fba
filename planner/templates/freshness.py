"""Whether a templates directory changed since it was read, without reading its files.

A long-running process (``baton serve``, ``baton worker``) must plan from, and judge
standard changes by, the templates as they are now: a withdrawn pre-approved template
that a server still held in memory kept approving plans with no approver.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tools.file_marks import FileMark, file_mark

from .loader import template_paths
from .model import TemplateError


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
