"""Directories that cannot be read, for real (``chmod``) or in-process (a refused listing).

The tests run as root, whose CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH read past any file
mode: a ``chmod 000`` binds only in a process without them, which ``setpriv`` starts.
"""

from __future__ import annotations

import errno
import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

_CAPS = "-dac_override,-dac_read_search,-fowner"
ROOT = Path(__file__).resolve().parents[2]


@functools.cache
def _mode_binding_prefix() -> tuple[str, ...] | None:
    """The command prefix under which file modes bind; None when there is none here."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    prefix = (setpriv, f"--bounding-set={_CAPS}", f"--inh-caps={_CAPS}")
    probe = subprocess.run([*prefix, "true"], capture_output=True, check=False)
    return prefix if probe.returncode == 0 else None


def run_where_modes_bind(*argv: str, cwd: Path | None = None,
                         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``argv`` run as a process that file modes bind (skips the test where none can be)."""
    prefix = _mode_binding_prefix()
    if prefix is None:
        pytest.skip("running as root without setpriv: a chmod would not bind")
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([*prefix, *argv], cwd=cwd, env=environment, capture_output=True,
                          text=True, timeout=120, check=False)


def python_where_modes_bind(code: str, *, args: Sequence[str] = (), cwd: Path | None = None,
                            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -c code *args`` run as a process that file modes bind."""
    return run_where_modes_bind(sys.executable, "-c", code, *args, cwd=cwd, env=env)


@contextmanager
def mode(path: Path, bits: int) -> Iterator[Path]:
    """``path`` with mode ``bits`` for the block, its own mode back afterwards."""
    before = path.stat().st_mode & 0o7777
    path.chmod(bits)
    try:
        yield path
    finally:
        path.chmod(before)


def refuse_listing(monkeypatch: pytest.MonkeyPatch, directory: Path) -> None:
    """``os.scandir(directory)`` fails as it does on a directory without read permission."""
    real = os.scandir

    def scandir(path: object = ".") -> object:
        if os.fspath(path) == os.fspath(directory):  # type: ignore[arg-type]
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(directory))
        return real(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)


def refuse_stat(monkeypatch: pytest.MonkeyPatch, directory: Path) -> None:
    """``os.stat(directory)`` fails as it does under a parent that cannot be searched."""
    real = os.stat

    def stat(path: object, *args: object, **kwargs: object) -> os.stat_result:
        if os.fspath(path) == os.fspath(directory):  # type: ignore[arg-type]
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(directory))
        return real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "stat", stat)
