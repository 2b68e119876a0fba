"""``baton demo`` checks where it would live before it writes a byte there.

``baton demo --dir DIR`` with a name that is not UTF-8 wrote baton.toml and files/ into DIR,
then refused it (its data_dir, DIR/.baton, holds a SQLite database, named by a URL, which is
text): a usage error and nothing written, as for a directory that is not empty.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from baton.usecases.demo_workspace import (DemoDirectoryError, new_workspace_dir,
                                           prepare_workspace)
from tests.support.cli_in_process import in_process_baton

NOT_UTF8 = os.fsdecode(b"d\xff")  # how Python names a directory whose name is not UTF-8


@pytest.fixture
def baton(data_dir, capsys):
    with in_process_baton(capsys) as run:
        yield run


def _one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


def test_a_new_directory_whose_name_is_not_utf8_is_refused_and_not_created(baton, data_dir):
    line = _one_error_line(baton("demo", "--dir", str(data_dir / NOT_UTF8)))
    assert "d\\xff" in line and "must be valid UTF-8" in line and "data_dir" in line
    assert "nothing was written" in line
    assert os.listdir(data_dir) == []


def test_an_empty_directory_whose_name_is_not_utf8_is_left_empty(baton, data_dir):
    target = data_dir / NOT_UTF8
    target.mkdir()
    _one_error_line(baton("demo", "--dir", str(target)))
    assert os.listdir(target) == []


def test_a_directory_under_a_name_that_is_not_utf8_is_not_created(baton, data_dir):
    _one_error_line(baton("demo", "--dir", str(data_dir / NOT_UTF8 / "demo")))
    assert os.listdir(data_dir) == []


def test_a_temporary_directory_whose_name_is_not_utf8_gets_no_workspace(data_dir, monkeypatch):
    temp = data_dir / NOT_UTF8
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    with pytest.raises(DemoDirectoryError, match="TMPDIR"):
        new_workspace_dir()
    assert os.listdir(temp) == []


def test_the_use_case_checks_before_writing(data_dir):
    with pytest.raises(DemoDirectoryError, match="must be valid UTF-8"):
        prepare_workspace(data_dir / NOT_UTF8)
    assert os.listdir(data_dir) == []


def test_a_temporary_directory_not_utf8_is_one_line_from_the_command(tmp_path):
    temp = Path(os.fsdecode(os.fsencode(tmp_path) + b"/t\xff"))
    temp.mkdir()
    env = {**os.environ, "TMPDIR": os.fsencode(temp)}
    env = {os.fsencode(k) if isinstance(k, str) else k: os.fsencode(v) if isinstance(v, str)
           else v for k, v in env.items()}
    done = subprocess.run([sys.executable, "-m", "baton", "demo"], cwd=tmp_path, env=env,
                          capture_output=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count(b"\n") == 1 and b"TMPDIR" in done.stderr, done.stderr
    assert os.listdir(temp) == []
