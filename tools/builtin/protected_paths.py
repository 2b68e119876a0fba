"""Baton's own state (data directory, database, settings file...) kept out of ``files.*``
reach when the workspace contains it (``workspace = "."`` beside ``data_dir = ".baton"``).

Confining a call to the workspace is not enough then: a plan could read the web key or write
over the database. Each component a walk reaches is checked twice: by its path, the
symlinks followed (so a state file not made yet cannot be planted), and by its identity
(device and inode), which a case-insensitive file system's ``.BATON`` or a hard link cannot
disguise.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import ToolInputError
from .path_text import shown


@dataclass(frozen=True)
class Protected:
    """A path of Baton's own state that ``files.*`` never reach, and what it is in words."""

    path: Path
    what: str  # e.g. "Baton's data directory (data_dir)"


class Guard:
    """The protected paths as seen from one workspace root: refuses a component among them."""

    def __init__(self, protected: Sequence[Protected], root: str) -> None:
        """``root`` is the workspace's real path. A protected directory holding the workspace
        (the default ``<data_dir>/workspace``) protects nothing the workspace can reach."""
        inside = _folded(PurePosixPath(root))
        self._root = PurePosixPath(root)
        self._entries: list[tuple[PurePosixPath, tuple[int, int] | None, Protected]] = []
        for item in protected:
            real = _folded(PurePosixPath(os.path.realpath(item.path)))
            if not inside.is_relative_to(real):
                self._entries.append((real, _identity(item.path), item))

    def check(self, path: str, parts: Sequence[str], *, final: bool,
              found: int | os.DirEntry[str] | None = None) -> None:
        """Refuse ``path`` if the component it reaches at ``parts`` below the root (its last
        when ``final``) is, or is inside, Baton's state; ``found`` is that component opened
        (a descriptor or a directory entry), None when it does not exist (yet)."""
        if not self._entries:
            return
        where = _folded(self._root.joinpath(*parts))
        for real, _, item in self._entries:
            if where.is_relative_to(real):
                raise protected_error(path, item, exactly=final and where == real)
        if found is None:
            return
        identity = _identity_of(found)
        for _, known, item in self._entries:
            if identity == known:
                raise protected_error(path, item, exactly=final)


def protected_error(path: str, item: Protected, *, exactly: bool) -> ToolInputError:
    """The refusal of ``path``, naming what of Baton's state it is or is inside."""
    relation = "is" if exactly else "is inside"
    return ToolInputError(f"path {shown(path)!r} {relation} {item.what}: the files tools never "
                          "read or write Baton's own state; choose a workspace that does not "
                          "contain it", code="path_refused")


def _folded(path: PurePosixPath) -> PurePosixPath:
    """``path`` compared without case or Unicode form: on a file system that ignores them, the
    data directory made later under another spelling is the same one. Refusing more on one
    that does not is the safe side."""
    return PurePosixPath(unicodedata.normalize("NFC", str(path)).casefold())


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return None  # not made yet: its path alone protects it
    return info.st_dev, info.st_ino


def _identity_of(found: int | os.DirEntry[str]) -> tuple[int, int]:
    info = os.fstat(found) if isinstance(found, int) else found.stat(follow_symlinks=False)
    return info.st_dev, info.st_ino
