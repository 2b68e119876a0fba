"""Output that cannot be written (a full disk behind ``> FILE``) is one error line and exit 1.

``baton audit export > /dev/full`` and ``baton plans list --json > /dev/full`` ended in a
traceback; with stdout buffered, a failure at the final flush was Python's "Exception ignored"
and exit 120. A broken pipe stays silent, exit 1.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from baton.cli.main import main

FULL = Path("/dev/full")
# Each way a command writes: an export through stdout's bytes, print_json, rich.
COMMANDS = [["audit", "export"], ["plans", "list", "--json"], ["audit", "verify"],
            ["audit", "verify", "--json"], ["plans", "list"]]
MESSAGE = ("error: cannot write standard output: No space left on device; what was written is "
           "incomplete\n")


class _FullStream:
    """A text stdout on a full disk: every write fails."""

    encoding = "utf-8"

    def write(self, text: str) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


@pytest.fixture
def workspace(cli, plan_id, data_dir) -> Path:
    """A directory whose settings and database hold one plan and its ledger events."""
    return data_dir


def _baton(args: list[str], cwd: Path, stdout, *, buffered: bool) -> subprocess.CompletedProcess:
    env = {**os.environ}
    env.pop("PYTHONUNBUFFERED", None)
    if not buffered:
        env["PYTHONUNBUFFERED"] = "1"
    return subprocess.run([sys.executable, "-m", "baton", *args], cwd=cwd, env=env,
                          stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=120)


@pytest.mark.skipif(not FULL.exists(), reason="needs /dev/full")
@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize("args", COMMANDS[:3], ids=" ".join)
def test_a_full_disk_behind_stdout_is_one_error_line(workspace, args, buffered):
    with FULL.open("w") as full:
        done = _baton(args, workspace, full, buffered=buffered)
    assert done.returncode == 1, done.stderr
    assert done.stderr == MESSAGE


@pytest.mark.parametrize("args", COMMANDS[:3:2], ids=" ".join)
def test_a_broken_pipe_stays_silent(workspace, args):
    read, write = os.pipe()
    os.close(read)  # nobody reads: every write fails with EPIPE
    try:
        done = _baton(args, workspace, write, buffered=True)
    finally:
        os.close(write)
    assert done.returncode == 1 and done.stderr == ""


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_in_process_a_failing_stdout_is_reported_and_put_back(workspace, args, capsys,
                                                              monkeypatch):
    full = _FullStream()
    monkeypatch.setattr(sys, "stdout", full)
    assert main(args) == 1
    assert sys.stdout is full
    assert capsys.readouterr().err == MESSAGE


def test_an_oserror_that_is_not_stdouts_is_not_reported_as_one(workspace, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError(errno.ENOSPC, "from elsewhere")

    monkeypatch.setattr("baton.usecases.plan_listing.listed_plans", broken)
    with pytest.raises(OSError, match="from elsewhere"):
        main(["plans", "list"])
