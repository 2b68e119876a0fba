"""Race-free path walking inside a workspace directory (POSIX).

Checking a resolved path and then opening it by name leaves a window in which
a component can be swapped for a symlink (TOCTOU). Here every component is
opened relative to the file descriptor of its parent with ``O_NOFOLLOW``, so
the kernel never follows a symlink on our behalf: a symlink is read with
``readlink`` and its target walked again from a directory we already hold,
and a target that would climb above the workspace root is refused.

A walk holds one descriptor per directory it is in (a symlink's ``..`` steps back to the
one before), and so does a listing, which descends with a stack of them rather than by
recursion: paths are refused, and listings stop, past :data:`MAX_DEPTH` components, which
bounds both.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import secrets
import stat
import sys
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath
from typing import Self

import structlog

from ..errors import ToolError, ToolInputError
from .path_text import shown
from .protected_paths import Guard, Protected

log = structlog.get_logger(__name__)

MAX_SYMLINKS = 40  # the same budget as Linux's own path resolution
MAX_DEPTH = 255
"""The most components a workspace path may have, directories and final name, counted after
symlinks are followed: ``files.*`` refuse a longer path (``path_too_deep``), and a listing
leaves out what lies deeper. Each level holds a descriptor while a call runs."""
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
    if len(pure.parts) > MAX_DEPTH:  # before a write creates the first of its directories
        raise too_deep_error(path, len(pure.parts))
    return pure.parts


def too_deep_error(path: str, depth: int | None = None) -> ToolInputError:
    """The refusal for a path (or a listing) past :data:`MAX_DEPTH` components."""
    count = f" ({depth} components)" if depth is not None else ""
    return ToolInputError(f"path {_shown_deep(tuple(path.split('/')))!r}{count} is deeper than "
                          f"the workspace allows: at most {MAX_DEPTH} components",
                          code="path_too_deep")


def os_error(path: str, verb: str, exc: OSError) -> ToolError:
    """A system call's failure on ``path`` (permission, descriptors, name length...) as a
    final tool error that names the path and the reason, never a raw ``OSError``."""
    if exc.errno == errno.ENXIO:  # what opening a socket gives: said as for a FIFO
        return ToolInputError(f"cannot {verb} {shown(path)!r}: not a regular file in the "
                              "workspace", code="file_not_found")
    reason = exc.strerror or type(exc).__name__
    return ToolError(f"cannot {verb} {shown(path)!r}: {reason}", retryable=False,
                     code="file_os_error")


@contextlib.contextmanager
def os_errors(path: str, verb: str) -> Iterator[None]:
    """Turn an ``OSError`` raised inside into :func:`os_error`."""
    try:
        yield
    except OSError as exc:
        raise os_error(path, verb, exc) from exc


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

    def __init__(self, root: Path, *, create: bool = False,
                 protected: Sequence[Protected] = ()) -> None:
        """Open ``root`` (the configured workspace is trusted, so it may itself be a symlink);
        every walk and listing keeps out of the ``protected`` paths (Baton's own state)."""
        if os.open not in os.supports_dir_fd or not hasattr(os, "O_NOFOLLOW"):
            raise ToolInputError("workspace files need a POSIX system with dir_fd and O_NOFOLLOW",
                                 code="unsupported_platform")
        if create:
            root.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
        # Absolute symlink targets count as inside when they start with one of these.
        self.prefixes = (PurePosixPath(os.path.realpath(root)), PurePosixPath(os.path.abspath(root)))
        self.guard = Guard(protected, str(self.prefixes[0]))

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
        hops = 0  # symlinks followed, and directories that vanished right after being made
        made = None  # (depth, name) of the directory made last, until it is entered
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
                if len(stack) >= MAX_DEPTH:  # a symlink's target made it longer than it looked
                    raise too_deep_error(path)
                here = stack[-1][1] if stack else self.fd
                final = not pending
                # Before anything is opened or made there: a state file not made yet as well.
                self.guard.check(path, _names(stack, part), final=final)
                try:
                    fd = os.open(part, _FINAL_FLAGS if final else _WALK_FLAGS | os.O_DIRECTORY,
                                 dir_fd=here)
                except FileNotFoundError:
                    if final:
                        return Opened(os.dup(here), part, None, _names(stack, part))
                    if not create_dirs:
                        raise not_found_error(path, verb) from None
                    # Making a directory is no symlink hop; one that is gone again at once is
                    # (something keeps removing it): that bounds the loop.
                    if made == (len(stack), part):
                        hops = _count_hop(hops, path)
                    made = (len(stack), part)
                    _mkdir(part, here)
                    pending.appendleft(part)  # opened on the next turn, O_NOFOLLOW again
                    continue
                except OSError as exc:
                    target = _link_target(part, here)
                    if target is None:
                        if exc.errno == errno.ENOTDIR:
                            raise not_found_error(path, verb) from None
                        raise os_error(path, verb, exc) from exc
                    hops = _count_hop(hops, path)
                    self._follow(path, target, pending, stack)
                    continue
                try:  # the same file under another name (case, hard link) is refused too
                    self.guard.check(path, _names(stack, part), final=final, found=fd)
                except ToolInputError:
                    os.close(fd)
                    raise
                if final:
                    return Opened(os.dup(here), part, fd, _names(stack, part))
                stack.append((part, fd))
                made = None
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
    """Write ``data`` to a fresh temp file in ``dir_fd`` and rename it over ``name``.

    A regular file replaced keeps its permission bits (set-id bits aside, which a plain write
    clears too); anything else is replaced by a file with the mode a plain open would give.
    """
    tmp, fd = _temp_file(dir_fd, name, _kept_mode(dir_fd, name))
    try:
        _write_all(fd, data)
        # rename replaces a symlink at ``name`` itself; it never writes through one.
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        _remove_temp(dir_fd, tmp)
        raise


def create_atomically(dir_fd: int, name: str, data: bytes) -> None:
    """Write ``data`` to a fresh temp file in ``dir_fd`` and publish it as ``name`` only if
    nothing is there: ``FileExistsError`` if something is, even if it appeared a moment ago.

    The new file has the mode a plain open would give (0666 less the umask). Checking for
    ``name`` and then renaming would replace what another writer made in between.
    """
    tmp, fd = _temp_file(dir_fd, name, None)
    try:
        _write_all(fd, data)
        if not _rename_noreplace(dir_fd, tmp, name):
            # A hard link is never made over an existing name; the temp name is then dropped.
            os.link(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            os.unlink(tmp, dir_fd=dir_fd)
    except BaseException:
        _remove_temp(dir_fd, tmp)
        raise


def _temp_file(dir_fd: int, name: str, mode: int | None) -> tuple[str, int]:
    """A fresh temp file beside ``name``, open for writing: with ``mode`` if given, otherwise
    with what a plain open gives (0666 less the umask, or a directory's default ACL)."""
    for _ in range(16):
        tmp = f".baton-{secrets.token_hex(8)}.tmp"
        try:
            # O_EXCL|O_NOFOLLOW: a planted name (symlink or not) is never written through.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _WALK_FLAGS,
                         0o666 if mode is None else 0o600, dir_fd=dir_fd)
            break
        except FileExistsError:
            continue
    else:
        raise ToolInputError(f"could not create a temporary file beside {shown(name)!r}",
                             code="file_exists")
    if mode is not None:
        try:
            os.fchmod(fd, mode)  # not through the umask, which would narrow the bits kept
        except BaseException:
            os.close(fd)
            _remove_temp(dir_fd, tmp)
            raise
    return tmp, fd


def _kept_mode(dir_fd: int, name: str) -> int | None:
    """The permission bits of the regular file at ``name``, None if there is none."""
    try:
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    return stat.S_IMODE(info.st_mode) & 0o777 if stat.S_ISREG(info.st_mode) else None


def _write_all(fd: int, data: bytes) -> None:
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _remove_temp(dir_fd: int, tmp: str) -> None:
    try:
        os.unlink(tmp, dir_fd=dir_fd)
    except FileNotFoundError:
        pass


_RENAME_NOREPLACE = 1  # <linux/fs.h>


@functools.cache
def _renameat2() -> Callable[..., int] | None:
    """Linux's ``renameat2`` from the C library, None where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes  # only here: nothing else needs it

    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                         ctypes.c_uint)
    function.restype = ctypes.c_int
    return function


def _rename_noreplace(dir_fd: int, tmp: str, name: str) -> bool:
    """Rename ``tmp`` to ``name`` in ``dir_fd`` unless ``name`` exists (``FileExistsError``);
    False where the system or the file system cannot (NFS), for the caller to link instead."""
    function = _renameat2()
    if function is None:
        return False
    import ctypes

    if function(dir_fd, os.fsencode(tmp), dir_fd, os.fsencode(name), _RENAME_NOREPLACE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), name)  # EEXIST makes a FileExistsError


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
    entered; a symlink is listed only if it resolves inside the workspace (one that dangles,
    leads out, loops or cannot be followed is left out). Only directories the pattern can
    still match below are entered: ``reports/**/*.csv`` never walks ``cache/``. ``base`` is
    where ``dir_fd`` is in the workspace.

    Entries deeper than :data:`MAX_DEPTH` components are left out, not an error: no
    ``files.*`` call can reach them, and one deep tree (a cache, ``node_modules``) must not
    fail every ``**`` listing of the workspace. Each subtree left out is logged.
    """
    pattern = _one_double_star_per_run(pattern)
    found: list[Found] = []
    skipped: list[str] = []
    with contextlib.closing(_entries(ws.guard, dir_fd, base, pattern, skipped)) as entries:
        for names, entry, reached in entries:
            if len(pattern) not in reached:
                continue
            item = _describe(ws, base + names, entry)
            if item is None or (pattern and pattern[-1] == "**" and not item.is_dir):
                continue  # like pathlib, a trailing '**' selects directories only
            if len(found) >= limit:
                raise TooManyEntries
            found.append(Found(names, item.size, item.is_dir))
    if skipped:
        log.warning("files.list left out entries deeper than the workspace allows",
                    max_depth=MAX_DEPTH, subtrees=len(skipped), first=skipped[0])
    return found


def _entries(guard: Guard, dir_fd: int, base: tuple[str, ...], pattern: tuple[str, ...],
             skipped: list[str],
             ) -> Iterator[tuple[tuple[str, ...], os.DirEntry[str], frozenset[int]]]:
    """Every entry below ``dir_fd`` the pattern may reach, with the pattern positions it
    reaches (:func:`_step`), never through a symlink nor into Baton's own state (``guard``);
    a directory whose entries would be deeper than :data:`MAX_DEPTH` is added to
    ``skipped``, not entered.

    Depth first, parents before their entries, with a stack rather than recursion: a tree
    a thousand levels deep raised ``RecursionError``. One descriptor is open per level.
    """
    levels: list[tuple[tuple[str, ...], int | None, frozenset[int],
                       Iterator[os.DirEntry[str]]]] = [
        ((), None, _step(frozenset({0}), None, pattern), _children(dir_fd))]  # None: the caller's
    try:
        while levels:
            names, fd, reached, children = levels[-1]
            entry = next(children, None)
            if entry is None:
                levels.pop()
                if fd is not None:
                    os.close(fd)
                continue
            here = names + (entry.name,)
            below = _step(reached, entry.name, pattern)
            if not below or _guarded(guard, base + here, entry):
                continue  # neither it nor anything under it can match, or may be shown
            yield here, entry, below
            if all(i == len(pattern) for i in below) or not entry.is_dir(follow_symlinks=False):
                continue
            sub = _open_dir(entry.name, dir_fd if fd is None else fd)
            if sub is None:
                continue
            levels.append((here, sub, below, iter(())))  # held here, so closed on error
            inside = _children(sub)
            if len(base) + len(here) >= MAX_DEPTH:
                if next(inside, None) is not None:
                    skipped.append(_shown_deep((*base, *here, "*")))
                inside = iter(())
            levels[-1] = (here, sub, below, inside)
    finally:
        for _, fd, _, _ in levels:
            if fd is not None:
                os.close(fd)


def _guarded(guard: Guard, parts: tuple[str, ...], entry: os.DirEntry[str]) -> bool:
    """Whether ``entry`` is, or is inside, Baton's own state: left out of a listing, unlike a
    path named to a tool, which is refused."""
    try:
        guard.check("/".join(parts), parts, final=True, found=entry)
    except ToolInputError:
        return True
    except OSError:
        return False  # gone meanwhile: what it was is decided as for any other entry
    return False


def _shown_deep(parts: tuple[str, ...]) -> str:
    """A path as messages show it: one of many components by its first three and its last."""
    texts = shown("/".join(parts)).split("/")
    if len(texts) > 4:  # a path that long says nothing more in full
        texts = [*texts[:3], "…", texts[-1]]
    return "/".join(texts)


def _children(dir_fd: int) -> Iterator[os.DirEntry[str]]:
    with os.scandir(dir_fd) as listing:  # scandir works on a dup of the descriptor
        return iter(list(listing))


def _open_dir(name: str, dir_fd: int) -> int | None:
    """Descriptor of directory ``name`` in ``dir_fd``; None if it is no longer one to enter."""
    try:
        return os.open(name, _WALK_FLAGS | os.O_DIRECTORY, dir_fd=dir_fd)
    except OSError as exc:
        # Replaced by a symlink or removed meanwhile, or not readable: not ours to enter. Any
        # other failure (out of descriptors) is the listing's, not a directory left out.
        if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.ENOENT, errno.EACCES, errno.EPERM):
            return None
        raise


# Why a symlink cannot be followed that concerns the link alone (a target name too long, a
# directory on its way unreadable): it is left out as a dangling one is. Anything else (out of
# descriptors) is the listing's failure.
_UNFOLLOWABLE = frozenset({errno.ENAMETOOLONG, errno.EACCES, errno.EPERM, errno.ELOOP,
                           errno.ENOTDIR, errno.ENOENT})


def _describe(ws: Workspace, parts: tuple[str, ...], entry: os.DirEntry[str]) -> Found | None:
    """Size and kind of ``entry``; a symlink through the safe walk, None if it escapes or
    cannot be followed."""
    if not entry.is_symlink():
        info = entry.stat(follow_symlinks=False)
        is_dir = stat.S_ISDIR(info.st_mode)
        return Found(parts, 0 if is_dir else info.st_size, is_dir)
    try:
        opened = ws.walk("/".join(parts))
    except ToolInputError:
        return None  # leads outside (or loops, or too deep): not the workspace's to show
    except ToolError as exc:  # os_error(): the system refused a step of the link's path
        cause = exc.__cause__
        if isinstance(cause, OSError) and cause.errno in _UNFOLLOWABLE:
            return None
        raise
    try:
        if opened.fd is None:
            return None  # dangling
        info = os.fstat(opened.fd)
    finally:
        opened.close()
    is_dir = stat.S_ISDIR(info.st_mode)
    return Found(parts, 0 if is_dir else info.st_size, is_dir)


def _one_double_star_per_run(pattern: tuple[str, ...]) -> tuple[str, ...]:
    """``pattern`` with each run of '**' made one: the same matches, fewer positions to track."""
    return tuple(segment for i, segment in enumerate(pattern)
                 if not (segment == "**" and i and pattern[i - 1] == "**"))


def _step(reached: frozenset[int], name: str | None, pattern: tuple[str, ...]) -> frozenset[int]:
    """The pattern positions reached once ``name`` is matched from the positions ``reached``
    (None: matching starts); position ``i`` means ``pattern[:i]`` matched the path so far.

    A path matches when ``len(pattern)`` is reached; none reached means nothing under it can
    match. '**' spans zero or more names, so a position before one reaches the next as well.
    One pass over the positions (at most one per segment): neither recursion (a pattern of
    a thousand segments) nor the exponential search several '**' make.
    """
    if name is None:
        after = set(reached)
    else:
        after = {i if pattern[i] == "**" else i + 1 for i in reached
                 if i < len(pattern) and (pattern[i] == "**" or fnmatchcase(name, pattern[i]))}
    for i in sorted(after):  # '**' may match no name: the position past it is reached too
        j = i
        while j < len(pattern) and pattern[j] == "**":
            j += 1
            after.add(j)
    return frozenset(after)
