"""``files.read`` / ``files.write`` / ``files.list``: confined to one workspace directory.

Every path is relative to the workspace, written as text by the rule of :mod:`.path_text`
(a name that is not UTF-8 is escaped) in what the tools return and what they are given.
``..`` and absolute paths are refused up front; every component is then opened relative
to its parent's descriptor with ``O_NOFOLLOW`` (see :mod:`.safe_paths`), so a symlink that
leads outside, even one swapped in while the tool runs, is refused rather than followed.
Without ``overwrite`` a write publishes by a rename (or link) that never replaces, so a file
another writer makes after the check is refused, not overwritten. Should the workspace hold
Baton's own state (its data directory, database, settings file), every component walked is
checked against it as well (see :mod:`.protected_paths`): refused when named, left out of a
listing.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path, PurePosixPath
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Self

from pydantic import BaseModel, ConfigDict, Field

from ..errors import ToolInputError
from ..retry import NO_RETRY, RetryPolicy
from ..spec import Effect, ToolContext
from .path_text import PATH_ENCODING_DESCRIPTION, PathEncoding, encoding_of, os_path, shown
from .protected_paths import Protected
from .safe_paths import (
    Opened,
    TooManyEntries,
    Workspace,
    create_atomically,
    not_found_error,
    os_errors,
    relative_parts,
    replace_atomically,
    scan,
)

if TYPE_CHECKING:
    from ..registry import ToolRegistry

DEFAULT_MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_LIST_ENTRIES = 10_000
_PUBLISH_TRIES = 16  # a file made and removed again each time ends the loop


class InWorkspace(BaseModel):
    """Where something is in the workspace, as text any plan and output can hold."""

    model_config = ConfigDict(frozen=True)

    path: str = Field(description="Path relative to the workspace; see path_encoding.")
    path_encoding: PathEncoding = Field(description=PATH_ENCODING_DESCRIPTION)

    @classmethod
    def at(cls, name: str, **fields: Any) -> Self:
        """The model for ``name`` (a path as ``os`` functions give it), escaped if need be."""
        text = shown(name)
        return cls(path=text, path_encoding=encoding_of(text), **fields)


class FileContent(InWorkspace):
    """A text file read from the workspace."""

    text: str = Field(description="The file's content, decoded as UTF-8.")
    bytes: int = Field(description="Size in bytes.")
    sha256: str = Field(description="SHA-256 of the content, hex.")


class FileWritten(InWorkspace):
    """A text file written to the workspace."""

    bytes: int = Field(description="Size written, in bytes.")
    sha256: str = Field(description="SHA-256 of the content written, hex.")


class FileEntry(InWorkspace):
    """One entry of a directory listing."""

    size: int = Field(description="Size in bytes (0 for directories).")
    is_dir: bool = Field(description="True for a directory.")


class FileListing(BaseModel):
    """Entries matching a pattern, sorted by path."""

    model_config = ConfigDict(frozen=True)

    entries: list[FileEntry] = Field(description="Matching files and directories, sorted by path.")


def workspace_path(path: str) -> str:
    """``path`` as given to a tool, as ``os`` functions take it; refuses '..' and absolute paths."""
    name = os_path(path)
    relative_parts(name)  # before touching the disk
    return name


def read_text(workspace: Path, path: str, max_bytes: int,
              protected: Sequence[Protected] = ()) -> FileContent:
    """Read a UTF-8 file from the workspace, never one of the ``protected`` paths."""
    name = workspace_path(path)
    with os_errors(name, "read"):
        return _read_text(workspace, path, name, max_bytes, protected)


def _read_text(workspace: Path, path: str, name: str, max_bytes: int,
               protected: Sequence[Protected]) -> FileContent:
    try:
        ws = Workspace(workspace, protected=protected)
    except FileNotFoundError:
        raise not_found_error(name, "read") from None
    with ws:
        opened = ws.walk(name, verb="read")
        try:
            if opened.fd is None:
                raise not_found_error(name, "read")
            info = os.fstat(opened.fd)
            if not stat.S_ISREG(info.st_mode):
                kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
                raise ToolInputError(f"cannot read {path!r}: {kind} in the workspace",
                                     code="file_not_found")
            if info.st_size > max_bytes:
                raise ToolInputError(f"file {path!r} has {info.st_size} bytes, over the limit "
                                     f"of {max_bytes}", code="file_too_large")
            data = _read_fd(opened.fd, max_bytes + 1)
        finally:
            opened.close()
    if len(data) > max_bytes:  # it grew between fstat and read
        raise ToolInputError(f"file {path!r} is over the limit of {max_bytes} bytes",
                             code="file_too_large")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ToolInputError(f"file {path!r} is not UTF-8 text ({exc.reason} at byte {exc.start})",
                             code="file_not_text") from exc
    return FileContent.at(opened.relative, text=text, bytes=len(data),
                          sha256=hashlib.sha256(data).hexdigest())


def write_text(workspace: Path, path: str, text: str, overwrite: bool,
               protected: Sequence[Protected] = ()) -> FileWritten:
    """Write a UTF-8 file atomically, never into the ``protected`` paths; rewriting identical
    content is a no-op success."""
    name = workspace_path(path)
    with os_errors(name, "write"):  # a full disk, a read-only one, a directory not writable
        return _write_text(workspace, path, name, text.encode("utf-8"), overwrite, protected)


def _write_text(workspace: Path, path: str, name: str, data: bytes,
                overwrite: bool, protected: Sequence[Protected]) -> FileWritten:
    with Workspace(workspace, create=True, protected=protected) as ws:
        # Without overwrite, a file that appears between the check and the publish (another
        # step, another worker) makes the publish fail; it is then checked as if found first.
        for _ in range(_PUBLISH_TRIES):
            opened = ws.walk(name, create_dirs=True, verb="write")
            try:
                result = FileWritten.at(opened.relative, bytes=len(data),
                                        sha256=hashlib.sha256(data).hexdigest())
                if opened.fd is not None and _found_the_same(opened, path, data, overwrite):
                    return result
                assert opened.parent_fd is not None and opened.name is not None
                if overwrite:
                    replace_atomically(opened.parent_fd, opened.name, data)
                    return result
                try:
                    create_atomically(opened.parent_fd, opened.name, data)
                except FileExistsError:
                    continue
                return result
            finally:
                opened.close()
    raise ToolInputError(f"cannot write {path!r}: it keeps changing (made and removed again "
                         "while being written)", code="file_exists")


def _found_the_same(opened: Opened, path: str, data: bytes, overwrite: bool) -> bool:
    """True if the file found holds ``data`` already and need not be written again; refuses a
    directory, and other content unless ``overwrite``."""
    assert opened.fd is not None
    info = os.fstat(opened.fd)
    if stat.S_ISDIR(info.st_mode) or opened.name is None:
        raise ToolInputError(f"cannot write {path!r}: it is a directory", code="file_is_dir")
    if overwrite:
        return False
    # A retried attempt finds its own earlier write: same content, same answer.
    if stat.S_ISREG(info.st_mode) and info.st_size == len(data) \
            and _read_fd(opened.fd, len(data) + 1) == data:
        return True
    raise ToolInputError(f"file {path!r} already exists with other content; "
                         "pass overwrite=true to replace it", code="file_exists")


def list_entries(workspace: Path, path: str, pattern: str,
                 protected: Sequence[Protected] = ()) -> FileListing:
    """Entries under ``path`` matching the glob ``pattern``, sorted; links leading out or not
    to be followed, the ``protected`` paths, and entries past ``MAX_DEPTH`` components, left
    out (see :func:`scan`)."""
    glob = os_path(pattern, what="pattern")
    segments = PurePosixPath(glob).parts if glob else ()
    if not segments or PurePosixPath(glob).is_absolute() or ".." in segments:
        raise ToolInputError(f"pattern {pattern!r} must be a relative glob without '..'",
                             code="path_refused")
    name = workspace_path(path)
    with os_errors(name, "list"):
        return _list_entries(workspace, path, name, pattern, segments, protected)


def _list_entries(workspace: Path, path: str, name: str, pattern: str,
                  segments: tuple[str, ...], protected: Sequence[Protected]) -> FileListing:
    try:
        ws = Workspace(workspace, protected=protected)
    except FileNotFoundError:
        if path in ("", "."):
            return FileListing(entries=[])
        raise not_found_error(name, "list") from None
    with ws:
        opened = ws.walk(name, verb="list")
        try:
            if opened.fd is None or not stat.S_ISDIR(os.fstat(opened.fd).st_mode):
                raise ToolInputError(f"cannot list {path!r}: not a directory in the workspace",
                                     code="file_not_found")
            entries = [FileEntry.at("/".join(opened.parts + found.names), size=found.size,
                                    is_dir=found.is_dir)
                       for found in scan(ws, opened.fd, opened.parts, segments, MAX_LIST_ENTRIES)]
        except TooManyEntries:
            raise ToolInputError(f"more than {MAX_LIST_ENTRIES} entries match {pattern!r} under "
                                 f"{path!r}; narrow the pattern", code="too_many_entries") from None
        finally:
            opened.close()
    return FileListing(entries=sorted(entries, key=lambda e: e.path))


def _read_fd(fd: int, limit: int) -> bytes:
    """Up to ``limit`` bytes from the start of ``fd``."""
    chunks: list[bytes] = []
    offset = 0
    while offset < limit:
        chunk = os.pread(fd, min(limit - offset, 1 << 20), offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def register_file_tools(
    registry: ToolRegistry, *, workspace: Path, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    protected: Sequence[Protected] = (),
) -> None:
    """Add ``files.read``, ``files.write`` and ``files.list`` confined to ``workspace`` (or the
    one a call's context names), and kept out of the ``protected`` paths whichever it is."""
    protected = tuple(protected)

    def where(context: ToolContext) -> Path:
        return context.workspace or workspace

    def files_read(path: str, context: ToolContext) -> FileContent:
        """Read a UTF-8 text file from the workspace.

        Args:
            path: File path relative to the workspace, e.g. 'sales.csv', as files.list gives
                it (a backslash starts an escape: write a backslash as two).
        """
        return read_text(where(context), path, max_file_bytes, protected)

    def files_write(path: str, text: str, context: ToolContext, overwrite: bool = False) -> FileWritten:
        """Write a UTF-8 text file into the workspace, creating parent directories.

        Args:
            path: File path relative to the workspace, e.g. 'reports/total.txt' (a backslash
                starts an escape, as in the paths files.list gives: write a backslash as two).
            text: The content to write.
            overwrite: Replace an existing file with different content.
        """
        return write_text(where(context), path, text, overwrite, protected)

    def files_list(context: ToolContext, path: str = ".", pattern: str = "*") -> FileListing:
        """List files and directories in the workspace that match a glob pattern.

        Left out: symlinks that lead outside the workspace or cannot be followed, Baton's
        own state should the workspace hold it, and entries deeper than 255 path components
        (no files tool can reach them).

        Args:
            path: Directory relative to the workspace to list; '.' is the workspace itself.
                Escaped as in the paths listed (a backslash is written as two).
            pattern: Glob pattern, e.g. '*.csv' or '**/*.json' to search subdirectories;
                matched against the paths as listed, escapes included.
        """
        return list_entries(where(context), path, pattern, protected)

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
