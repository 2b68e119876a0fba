"""A closed stdout (``baton plans list >&-``) is one error line and exit 1, as a full disk is.

Started with descriptor 1 closed, Python's ``sys.stdout`` is None: ``print_json`` and rich
ended in an AttributeError traceback. A stdout closed in the process (an embedding's) raised
"ValueError: I/O operation on closed file". Both take the full disk's path now.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from baton.cli.main import main

MESSAGE = "error: cannot write standard output: it is closed; what was written is incomplete\n"
# Each way a command writes: print_json, rich, an export through stdout's bytes, typer.echo.
COMMANDS = [["plans", "list", "--json"], ["plans", "list"], ["audit", "export"],
            ["audit", "verify"], ["--version"], ["tools", "list"]]


@pytest.fixture
def workspace(cli, plan_id, data_dir) -> Path:
    """A directory whose settings and database hold one plan and its ledger events."""
    return data_dir


def _closed_stdout(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``baton ARGS >&-``."""
    return subprocess.run(["sh", "-c", 'exec "$@" >&-', "sh", sys.executable, "-m", "baton",
                           *args], cwd=cwd, stderr=subprocess.PIPE, text=True, timeout=120)


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_a_closed_stdout_is_one_error_line(workspace, args):
    done = _closed_stdout(args, workspace)
    assert done.returncode == 1, done.stderr
    assert done.stderr == MESSAGE


def test_a_command_that_fails_before_writing_says_its_own_error(workspace):
    done = _closed_stdout(["plans", "show", "nope", "--json"], workspace)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr and "cannot write standard output" not in done.stderr


@pytest.mark.parametrize("args", COMMANDS[:4], ids=" ".join)
def test_in_process_a_none_stdout_is_reported_and_put_back(workspace, args, capsys,
                                                           monkeypatch):
    capsys.readouterr()
    monkeypatch.setattr(sys, "stdout", None)
    assert main(args) == 1
    assert sys.stdout is None
    assert capsys.readouterr().err == MESSAGE


@pytest.mark.parametrize("args", COMMANDS[:4], ids=" ".join)
def test_in_process_a_closed_stdout_is_reported_and_put_back(workspace, args, capsys,
                                                             monkeypatch):
    closed = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    closed.close()
    capsys.readouterr()
    monkeypatch.setattr(sys, "stdout", closed)
    assert main(args) == 1
    assert sys.stdout is closed
    assert capsys.readouterr().err == MESSAGE

