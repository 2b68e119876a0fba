"""``files.read`` / ``files.write`` / ``files.list``: confined to one workspace directory.

Every path is relative to the workspace. ``..``, absolute paths and symlinks
(of the file or of any parent directory) that lead outside are refused before
anything is read or written.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from ..errors import ToolInputError
from ..retry import NO_RETRY, RetryPolicy
from ..spec import Effect, ToolContext

if TYPE_CHECKING:
    from ..registry import ToolRegistry

DEFAULT_MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_LIST_ENTRIES = 10_000


class FileContent(BaseModel):
    """A text file read from the workspace."""

    model_config = ConfigDict(frozen=True)

    path: str = Field(description="Path relative to the workspace.")
    text: str = Field(description="The file's content, decoded as UTF-8.")
    bytes: int = Field(description="Size in bytes.")
    sha256: str = Field(description="SHA-256 of the content, hex.")


class FileWritten(BaseModel):
    """A text file written to the workspace."""

    model_config = ConfigDict(frozen=True)

    path: str = Field(description="Path relative to the workspace.")
    bytes: int = Field(description="Size written, in bytes.")
    sha256: str = Field(description="SHA-256 of the content written, hex.")


class FileEntry(BaseModel):
    """One entry of a directory listing."""

    model_config = ConfigDict(frozen=True)

    path: str = Field(description="Path relative to the workspace.")
    size: int = Field(description="Size in bytes (0 for directories).")
    is_dir: bool = Field(description="True for a directory.")


class FileListing(BaseModel):
    """Entries matching a pattern, sorted by path."""

    model_config = ConfigDict(frozen=True)

    entries: list[FileEntry] = Field(description="Matching files and directories, sorted by path.")


def confine(workspace: Path, path: str) -> Path:
    """The real path of ``path`` inside ``workspace``; ``ToolInputError`` if it would escape."""
    if not path or "\x00" in path:
        raise ToolInputError(f"path {path!r} is empty or malformed", code="path_refused")
    pure = PurePath(path)
    if pure.is_absolute() or pure.anchor:
        raise ToolInputError(f"path {path!r} is absolute; give a path inside the workspace",
                             code="path_refused")
    if ".." in pure.parts:
        raise ToolInputError(f"path {path!r} uses '..'; paths must stay inside the workspace",
                             code="path_refused")
    root = workspace.resolve()
    # resolve() follows every symlink on the way, parents included.
    target = (root / pure).resolve()
    if not target.is_relative_to(root):
        raise ToolInputError(f"path {path!r} leads outside the workspace through a symlink",
                             code="path_refused")
    return target


def _relative(root: Path, target: Path) -> str:
    return target.relative_to(root).as_posix() or "."


def read_text(workspace: Path, path: str, max_bytes: int) -> FileContent:
    """Read a UTF-8 file from the workspace."""
    target = confine(workspace, path)
    if not target.is_file():
        kind = "a directory" if target.is_dir() else "not found"
        raise ToolInputError(f"cannot read {path!r}: {kind} in the workspace", code="file_not_found")
    size = target.stat().st_size
    if size > max_bytes:
        raise ToolInputError(f"file {path!r} has {size} bytes, over the limit of {max_bytes}",
                             code="file_too_large")
    data = target.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ToolInputError(f"file {path!r} is not UTF-8 text ({exc.reason} at byte {exc.start})",
                             code="file_not_text") from exc
    return FileContent(path=_relative(workspace.resolve(), target), text=text, bytes=len(data),
                       sha256=hashlib.sha256(data).hexdigest())


def write_text(workspace: Path, path: str, text: str, overwrite: bool) -> FileWritten:
    """Write a UTF-8 file atomically; rewriting identical content is a no-op success."""
    workspace.mkdir(parents=True, exist_ok=True)
    target = confine(workspace, path)
    data = text.encode("utf-8")
    result = FileWritten(path=_relative(workspace.resolve(), target), bytes=len(data),
                         sha256=hashlib.sha256(data).hexdigest())
    if target.is_dir():
        raise ToolInputError(f"cannot write {path!r}: it is a directory", code="file_is_dir")
    if target.exists() and not overwrite:
        # A retried attempt finds its own earlier write: same content, same answer.
        if target.read_bytes() == data:
            return result
        raise ToolInputError(f"file {path!r} already exists with other content; "
                             "pass overwrite=true to replace it", code="file_exists")
    target.parent.mkdir(parents=True, exist_ok=True)
    confine(workspace, path)  # the directories just created must not have changed the answer
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".baton-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return result


def list_entries(workspace: Path, path: str, pattern: str) -> FileListing:
    """Entries under ``path`` matching the glob ``pattern``, sorted; escaping ones are left out."""
    if not pattern or PurePath(pattern).is_absolute() or ".." in PurePath(pattern).parts:
        raise ToolInputError(f"pattern {pattern!r} must be a relative glob without '..'",
                             code="path_refused")
    root = workspace.resolve()
    if path in ("", ".") and not root.exists():
        return FileListing(entries=[])
    base = confine(workspace, path)
    if not base.is_dir():
        raise ToolInputError(f"cannot list {path!r}: not a directory in the workspace",
                             code="file_not_found")
    entries: list[FileEntry] = []
    for found in base.glob(pattern):
        real = found.resolve()
        if not real.is_relative_to(root):
            continue  # a symlink to the outside is not the workspace's to show
        if len(entries) >= MAX_LIST_ENTRIES:
            raise ToolInputError(f"more than {MAX_LIST_ENTRIES} entries match {pattern!r} under "
                                 f"{path!r}; narrow the pattern", code="too_many_entries")
        is_dir = real.is_dir()
        entries.append(FileEntry(path=_relative(root, found.absolute()), is_dir=is_dir,
                                 size=0 if is_dir else real.stat().st_size))
    return FileListing(entries=sorted(entries, key=lambda e: e.path))


def register_file_tools(
    registry: ToolRegistry, *, workspace: Path, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
) -> None:
    """Add ``files.read``, ``files.write`` and ``files.list`` confined to ``workspace``."""

    def where(context: ToolContext) -> Path:
        return context.workspace or workspace

    def files_read(path: str, context: ToolContext) -> FileContent:
        """Read a UTF-8 text file from the workspace.

        Args:
            path: File path relative to the workspace, e.g. 'sales.csv'.
        """
        return read_text(where(context), path, max_file_bytes)

    def files_write(path: str, text: str, context: ToolContext, overwrite: bool = False) -> FileWritten:
        """Write a UTF-8 text file into the workspace, creating parent directories.

        Args:
            path: File path relative to the workspace, e.g. 'reports/total.txt'.
            text: The content to write.
            overwrite: Replace an existing file with different content.
        """
        return write_text(where(context), path, text, overwrite)

    def files_list(context: ToolContext, path: str = ".", pattern: str = "*") -> FileListing:
        """List files and directories in the workspace that match a glob pattern.

        Args:
            path: Directory relative to the workspace to list; '.' is the workspace itself.
            pattern: Glob pattern, e.g. '*.csv' or '**/*.json' to search subdirectories.
        """
        return list_entries(where(context), path, pattern)

    retry = RetryPolicy(max_attempts=2, initial_backoff_s=0.1, max_backoff_s=1.0)
    registry.register_function(files_read, name="files.read", effect=Effect.READ,
                               idempotent=True, timeout_s=10.0, retry=retry,
                               tags=("files", "workspace"))
    registry.register_function(files_write, name="files.write", effect=Effect.WRITE,
                               idempotent=True, timeout_s=10.0, retry=NO_RETRY,
                               tags=("files", "workspace"))
    registry.register_function(files_list, name="files.list", effect=Effect.READ,
                               idempotent=True, timeout_s=10.0, retry=retry,
                               tags=("files", "workspace"))
