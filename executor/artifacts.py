"""Content-addressed artifacts: large step outputs stored once by SHA-256 under the data directory.

An output whose canonical JSON is larger than the threshold is written to
``<root>/<first two hex digits>/<sha256>`` and referred to as
``artifact://sha256/<hash>``; the run store and the ledger keep only that URI
and the hash, never the bytes. ``executor.artifact_rows`` keeps them as database
rows instead, under the same URIs, for workers that share no disk. Either store, given
the engine, reads an artifact from both places: ``[executor] artifact_store`` decides
only where new ones are written, so changing it leaves every stored output readable.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planner.json_values import encodes_as_utf8
from planner.plan import canonical_json
from tools import BatonError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

URI_PREFIX = "artifact://sha256/"


class ArtifactError(BatonError):
    """An artifact is missing, unreadable, unwritable or does not match its hash."""

    code = "artifact_error"


class UnencodableOutputError(ArtifactError):
    """An output holds text that UTF-8 cannot encode (a lone surrogate): it cannot be stored."""

    code = "tool_output_not_utf8"


@dataclass(frozen=True)
class StoredOutput:
    """How one output is kept: inline JSON, or an artifact URI with its hash and size."""

    inline_json: str | None
    uri: str | None = None
    sha256: str | None = None
    size: int = 0


class ArtifactStore:
    """Writes artifacts as files under ``root``; reads files, then (given ``engine``) rows."""

    def __init__(self, root: Path, *, threshold_bytes: int, engine: Engine | None = None) -> None:
        self.root = Path(root)
        self.threshold_bytes = threshold_bytes
        self.engine = engine

    def keep(self, output: Any) -> StoredOutput:
        """Inline when small, otherwise stored as an artifact (``UnencodableOutputError``: a
        lone surrogate in ``output``, which neither the run store nor the ledger can hold)."""
        text = canonical_json(output)
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise UnencodableOutputError(_unencodable(output, exc)) from None
        if len(data) <= self.threshold_bytes:
            return StoredOutput(inline_json=text, size=len(data))
        digest = self.put(data)
        return StoredOutput(inline_json=None, uri=URI_PREFIX + digest, sha256=digest, size=len(data))

    def put(self, data: bytes) -> str:
        """Store ``data`` (once) and return its SHA-256 hex digest (``ArtifactError`` if it can't).

        A file already under that name is kept only when it holds exactly ``data``; one
        damaged since (truncated, zero-filled after a crash, altered) is written anew.
        """
        digest = hashlib.sha256(data).hexdigest()
        path = self.path_of(digest)
        if _holds(path, data):
            return digest
        try:
            self._write(path, data)
        except OSError as exc:  # a full disk, a read-only or missing directory...
            raise ArtifactError(f"artifact {URI_PREFIX}{digest} cannot be written under "
                                f"{self.root}: {exc}") from exc
        return digest

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename so that a crash never leaves a half-written artifact
        # under its final name; fsync so the file outlives the commit naming it.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def path_of(self, digest: str) -> Path:
        """Where the artifact with ``digest`` lives."""
        return self.root / checked_digest(digest)[:2] / digest

    def read_bytes(self, uri: str) -> bytes:
        """The bytes behind ``uri``, checked against its hash: looked for first where this
        store writes, then in the other place (written there before the setting changed)."""
        digest = digest_of(uri)
        for read in self._places():
            data = read(uri, digest)
            if data is not None:
                return data
        raise ArtifactError(self._missing(uri, digest))

    def _places(self) -> tuple[Callable[[str, str], bytes | None], ...]:
        """The readers to try in order, each giving None when its place lacks the artifact."""
        return self._read_file, self._read_row

    def _read_file(self, uri: str, digest: str) -> bytes | None:
        try:
            data = _read_regular(self.path_of(digest))
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ArtifactError(f"artifact {uri} cannot be read: {exc}") from exc
        if hashlib.sha256(data).hexdigest() != digest:
            raise ArtifactError(f"artifact {uri} does not match its hash (the file was altered)")
        return data

    def _read_row(self, uri: str, digest: str) -> bytes | None:
        if self.engine is None:
            return None
        from .artifact_rows import read_row  # that module builds on this one

        return read_row(self.engine, uri, digest)

    def _missing(self, uri: str, digest: str) -> str:
        file = f"file at {self.path_of(digest)}"
        if self.engine is None:
            return f"artifact {uri} is missing: there is no {file}"
        return (f"artifact {uri} is missing: it is not in the database's artifacts table, "
                f"nor a {file}")

    def load(self, uri: str) -> Any:
        """The JSON value behind ``uri``."""
        return json.loads(self.read_bytes(uri))


def digest_of(uri: str) -> str:
    """The SHA-256 hex digest an artifact URI names (``ArtifactError`` if it names none)."""
    if not uri.startswith(URI_PREFIX):
        raise ArtifactError(f"not an artifact URI: {uri!r}")
    return checked_digest(uri[len(URI_PREFIX):])


def checked_digest(digest: str) -> str:
    """``digest``, if it is a SHA-256 hex digest (lower case); else an ``ArtifactError``."""
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ArtifactError(f"not a SHA-256 hex digest: {digest!r}")
    return digest


def _unencodable(output: Any, exc: UnicodeEncodeError) -> str:
    """Where ``output`` holds text UTF-8 cannot encode, and which character, for the step's error
    (itself storable: the path is escaped). Only an output that failed to encode comes here."""
    path = _first_unencodable(output) or "(the whole output)"
    char = exc.object[exc.start]
    message = (f"output field {path} holds text that cannot be stored as UTF-8: a lone "
               f"surrogate ({char!r}), which is not valid Unicode; the tool must escape or "
               "replace it")
    return message.encode("utf-8", "backslashreplace").decode("utf-8")


_BAD_KEY = object()  # stands for a key UTF-8 cannot encode, in the walk below


def _first_unencodable(value: Any) -> str | None:
    """The path (``files[1].name``) of the first key or text in ``value`` UTF-8 cannot encode.

    Walked with a stack, not recursion: a deeply nested output must not crash the search.
    """
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        here, item = stack.pop()
        if item is _BAD_KEY or (isinstance(item, str) and not encodes_as_utf8(item)):
            return here
        if isinstance(item, dict):
            stack.extend(reversed([(f"{here}.{key}" if here else str(key),
                                    child if encodes_as_utf8(str(key)) else _BAD_KEY)
                                   for key, child in item.items()]))
        elif isinstance(item, list | tuple):
            stack.extend(reversed([(f"{here}[{i}]", child) for i, child in enumerate(item)]))
    return None



def _read_regular(path: Path) -> bytes:
    """The bytes of the regular file at ``path``; an ``OSError`` naming what it is otherwise.

    A FIFO put there was waited on for ever (on the event loop: the worker stopped renewing
    its lease, and the next one to claim the run hung too), and a link to a device read
    without end. Opened without blocking and looked at once open; no more than its size and
    one byte is read (the hash check refuses a file that changed meanwhile).
    """
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        info = os.fstat(descriptor)
    except BaseException:
        os.close(descriptor)
        raise
    if not stat.S_ISREG(info.st_mode):  # before open(), which has its own words for a directory
        os.close(descriptor)
        raise OSError(f"{path} is {_kind(info.st_mode)}, not a regular file")
    with open(descriptor, "rb") as file:
        return file.read(info.st_size + 1)


def _kind(mode: int) -> str:
    """What a file that is not a regular one is, in words."""
    for test, kind in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):
        if test(mode):
            return kind
    return "something else"


def _holds(path: Path, data: bytes) -> bool:
    """Whether the file at ``path`` holds exactly ``data``.

    The size first (one stat); then the bytes themselves: a crash can leave a file of the
    right size full of zeros. Reading back costs less than the write and fsync it saves,
    and only outputs over the inline threshold that were stored before come here.
    """
    try:
        if path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except OSError:  # missing or unreadable: written anew
        return False
