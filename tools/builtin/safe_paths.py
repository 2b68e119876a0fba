"""Race-free path walking inside a workspace directory (POSIX).

Checking a resolved path and then opening it by name leaves a window in which
a component can be swapped for a symlink (TOCTOU). Here every component is
opened relative to the file descriptor of its parent with ``O_NOFOLLOW``, so
the kernel never follows a symlink on our behalf: a symlink is read with
``readlink`` and its target walked again from a directory we already hold,
and a target that would climb above the workspace root is refused.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath
from typing import Self

from ..errors import ToolInputError
from .path_text import shown

MAX_SYMLINKS = 40  # the same budget as Linux's own path resolution
_WALK_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
# O_NONBLOCK: opening a FIFO planted in the workspace must not hang the tool.
_FINAL_FLAGS = _WALK_FLAGS | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)


def relative_parts(path: str) -> tuple[str, ...]:
    """The components of a workspace-relative ``path``; ``ToolInputError`` for '..' or absolute.

    Here and below a path is as ``os`` functions take it (a name that is not UTF-8 holds
    surrogates); messages show it as :func:`.path_text.shown` writes it.
    """
    if not path or "\x00" in path:
        raise ToolInputError(f"path {shown(path)!r} is empty or malformed", code="path_refused")
    pure = PurePosixPath(path)
    if pure.is_absolute() or pure.anchor:
        raise ToolInputError(f"path {shown(path)!r} is absolute; give a path inside the "
                             "workspace", code="path_refused")
    if ".." in pure.parts:
        raise ToolInputError(f"path {shown(path)!r} uses '..'; paths must stay inside the "
                             "workspace", code="path_refused")
    return pure.parts


def escape_error(path: str) -> ToolInputError:
    """The refusal for a path whose symlinks lead outside the workspace."""
    return ToolInputError(f"path {shown(path)!r} leads outside the workspace through a symlink",
                          code="path_refused")


def not_found_error(path: str, verb: str) -> ToolInputError:
    """The refusal for a path that does not name anything in the workspace."""
    return ToolInputError(f"cannot {verb} {shown(path)!r}: not found in the workspace",
                          code="file_not_found")


@dataclass
class Opened:
    """A walk's outcome: the final component opened (``fd``, None if missing) under ``parent_fd``.

    ``parent_fd`` and ``name`` are None when the path is the root itself; ``parts`` is the
    canonical path relative to the root. Both descriptors are owned: call :meth:`close`.
    """

    parent_fd: int | None
    name: str | None
    fd: int | None
    parts: tuple[str, ...]

    @property
    def relative(self) -> str:
        """The canonical path relative to the workspace, '.' for the root itself."""
        return "/".join(self.parts) or "."

    def close(self) -> None:
        """Close the descriptors this result owns."""
        for fd in (self.fd, self.parent_fd):
            if fd is not None:
                os.close(fd)
        self.fd = self.parent_fd = None


class Workspace:
    """An open handle on the workspace root; every walk starts from its descriptor."""

    def __init__(self, root: Path, *, create: bool = False) -> None:
        """Open ``root`` (the configured workspace is trusted, so it may itself be a symlink)."""
        if os.open not in os.supports_dir_fd or not hasattr(os, "O_NOFOLLOW"):
            raise ToolInputError("workspace files need a POSIX system with dir_fd and O_NOFOLLOW",
                                 code="unsupported_platform")
        if create:
            root.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
        # Absolute symlink targets count as inside when they start with one of these.
        self.prefixes = (PurePosixPath(os.path.realpath(root)), PurePosixPath(os.path.abspath(root)))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)

    def walk(self, path: str, *, create_dirs: bool = False, verb: str = "open") -> Opened:
        """Open ``path`` component by component without letting the kernel follow a symlink.

        Symlinks that stay inside are followed by hand; an escape raises ``ToolInputError``.
        A missing final component gives ``Opened.fd is None``; a missing directory on the
        way is created when ``create_dirs``, otherwise it is ``file_not_found``.
        """
        pending = deque(relative_parts(path))
        stack: list[tuple[str, int]] = []  # (name, fd) of each directory entered below the root
        hops = 0
        try:
            while pending:
                part = pending.popleft()
                if part in ("", "."):
                    continue
                if part == "..":  # only ever from a symlink's target
                    if not stack:
                        raise escape_error(path)
                    os.close(stack.pop()[1])
                    continue
                here = stack[-1][1] if stack else self.fd
                final = not pending
                try:
                    fd = os.open(part, _FINAL_FLAGS if final else _WALK_FLAGS | os.O_DIRECTORY,
                                 dir_fd=here)
                except FileNotFoundError:
                    if final:
                        return Opened(os.dup(here), part, None, _names(stack, part))
                    if not create_dirs:
                        raise not_found_error(path, verb) from None
                    hops = _count_hop(hops, path)
                    _mkdir(part, here)
                    pending.appendleft(part)  # opened on the next turn, O_NOFOLLOW again
                    continue
                except OSError as exc:
                    target = _link_target(part, here)
                    if target is None:
                        if exc.errno == errno.ENOTDIR:
                            raise not_found_error(path, verb) from None
                        raise
                    hops = _count_hop(hops, path)
                    self._follow(path, target, pending, stack)
                    continue
                if final:
                    return Opened(os.dup(here), part, fd, _names(stack, part))
                stack.append((part, fd))
            top = stack[-1][1] if stack else self.fd
            return Opened(None, None, os.dup(top), _names(stack, None))
        finally:
            for _, fd in stack:
                os.close(fd)

    def _follow(self, path: str, target: str, pending: deque[str],
                stack: list[tuple[str, int]]) -> None:
        """Queue a symlink's target in place of the link; absolute targets restart at the root."""
        parts = target.split("/")
        pure = PurePosixPath(target)
        if pure.is_absolute():
            inside = next((p for p in self.prefixes if pure.is_relative_to(p)), None)
            if inside is None:
                raise escape_error(path)
            while stack:
                os.close(stack.pop()[1])
            parts = list(pure.relative_to(inside).parts)
        pending.extendleft(reversed(parts))


def _names(stack: list[tuple[str, int]], last: str | None) -> tuple[str, ...]:
    names = tuple(name for name, _ in stack)
    return names + (last,) if last is not None else names


def _count_hop(hops: int, path: str) -> int:
    if hops >= MAX_SYMLINKS:
        raise ToolInputError(f"path {shown(path)!r} has too many levels of symlinks (or keeps "
                             "changing)", code="path_refused")
    return hops + 1


def _mkdir(name: str, dir_fd: int) -> None:
    try:
        os.mkdir(name, dir_fd=dir_fd)
    except FileExistsError:
        pass  # made by someone else meanwhile; the O_NOFOLLOW open decides what it is


def _link_target(name: str, dir_fd: int) -> str | None:
    """The target of symlink ``name`` in ``dir_fd``, or None if it is not a symlink."""
    try:
        return os.readlink(name, dir_fd=dir_fd)
    except OSError:
        return None


def replace_atomically(dir_fd: int, name: str, data: bytes) -> None:
    """Write ``data`` to a fresh temp file in ``dir_fd`` and rename it over ``name``."""
    for _ in range(16):
        tmp = f".baton-{secrets.token_hex(8)}.tmp"
        try:
            # O_EXCL|O_NOFOLLOW: a planted name (symlink or not) is never written through.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _WALK_FLAGS, 0o600,
                         dir_fd=dir_fd)
            break
        except FileExistsError:
            continue
    else:
        raise ToolInputError(f"could not create a temporary file beside {shown(name)!r}",
                             code="file_exists")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        # rename replaces a symlink at ``name`` itself; it never writes through one.
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        try:
            os.unlink(tmp, dir_fd=dir_fd)
        except FileNotFoundError:
            pass
        raise


class TooManyEntries(Exception):
    """More entries matched than the caller's limit."""


@dataclass(frozen=True)
class Found:
    """One entry met by :func:`scan`, relative to the directory scanned."""

    names: tuple[str, ...]
    size: int
    is_dir: bool


def scan(ws: Workspace, dir_fd: int, base: tuple[str, ...], pattern: tuple[str, ...],
         limit: int) -> list[Found]:
    """Entries below ``dir_fd`` whose relative path matches the glob segments ``pattern``.

    Directories are descended with ``O_NOFOLLOW``, so a symlinked directory is never
    entered; a symlink is listed only if it resolves inside the workspace.
    """
    depth = None if "**" in pattern else len(pattern)
    found: list[Found] = []
    for names, entry in _entries(dir_fd, (), depth):
        item = _describe(ws, base + names, entry)
        if item is None or not _match(names, pattern, item.is_dir):
            continue
        if len(found) >= limit:
            raise TooManyEntries
        found.append(Found(names, item.size, item.is_dir))
    return found


def _entries(dir_fd: int, names: tuple[str, ...],
             depth: int | None) -> Iterator[tuple[tuple[str, ...], os.DirEntry[str]]]:
    """Every entry below ``dir_fd`` down to ``depth`` levels, never through a symlink."""
    if depth == 0:
        return
    with os.scandir(dir_fd) as listing:  # scandir works on a dup of the descriptor
        children = list(listing)
    for entry in children:
        yield names + (entry.name,), entry
        if entry.is_dir(follow_symlinks=False):
            try:
                sub = os.open(entry.name, _WALK_FLAGS | os.O_DIRECTORY, dir_fd=dir_fd)
            except OSError:
                continue  # replaced by a symlink or removed meanwhile: not ours to enter
            try:
                yield from _entries(sub, names + (entry.name,), None if depth is None else depth - 1)
            finally:
                os.close(sub)


def _describe(ws: Workspace, parts: tuple[str, ...], entry: os.DirEntry[str]) -> Found | None:
    """Size and kind of ``entry``; a symlink through the safe walk, None if it escapes."""
    if not entry.is_symlink():
        info = entry.stat(follow_symlinks=False)
        is_dir = stat.S_ISDIR(info.st_mode)
        return Found(parts, 0 if is_dir else info.st_size, is_dir)
    try:
        opened = ws.walk("/".join(parts))
    except ToolInputError:
        return None  # leads outside (or loops): not the workspace's to show
    try:
        if opened.fd is None:
            return None  # dangling
        info = os.fstat(opened.fd)
    finally:
        opened.close()
    is_dir = stat.S_ISDIR(info.st_mode)
    return Found(parts, 0 if is_dir else info.st_size, is_dir)


def _match(names: tuple[str, ...], pattern: tuple[str, ...], is_dir: bool) -> bool:
    """Glob match by path segment; '**' spans any number of directories (pathlib's rules)."""
    if pattern and pattern[-1] == "**" and not is_dir:
        return False  # like pathlib, a trailing '**' selects directories only
    return _match_segments(names, pattern)


def _match_segments(names: tuple[str, ...], pattern: tuple[str, ...]) -> bool:
    if not pattern:
        return not names
    if pattern[0] == "**":
        return any(_match_segments(names[i:], pattern[1:]) for i in range(len(names) + 1))
    return bool(names) and fnmatchcase(names[0], pattern[0]) \
        and _match_segments(names[1:], pattern[1:])
