"""A command that records names the database it cannot open and why, not "cannot upgrade the
database schema"; a database a newer Baton wrote is refused with nothing written."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from executor.store.migrate import head_revision

ROOT = Path(__file__).resolve().parents[2]


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    """Exit 1 and a single ``error:`` line on stderr, nothing on stdout."""
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert done.stdout == ""
    return lines[0].removeprefix("error: ")


def read_only(directory: Path) -> list[str]:
    """A command prefix under which ``directory`` cannot be written: its mode alone, or (root
    writes whatever the mode) a read-only bind mount of it in a mount namespace of its own."""
    directory.chmod(0o555)
    probe = directory / "probe"
    try:
        probe.touch()
    except PermissionError:
        return []
    probe.unlink()
    if shutil.which("unshare") is None or subprocess.run(["unshare", "--mount", "true"]).returncode:
        pytest.skip("root writes into any directory, and none can be mounted read-only here")
    mount = ('mount --bind -o ro "$1" "$1" 2>/dev/null || { mount --bind "$1" "$1" && '
             'mount -o remount,bind,ro "$1"; } || exit 99; shift; exec "$@"')
    return ["unshare", "--mount", "sh", "-c", mount, "sh", str(directory)]


@pytest.mark.parametrize("in_file", [False, True], ids=["default data_dir", "data_dir in file"])
def test_a_read_only_data_dir_is_named_with_its_setting_and_the_cause(tmp_path, in_file):
    data = tmp_path / ".baton"
    setting = f'data_dir = "{data}"\n' if in_file else ""
    (tmp_path / "baton.toml").write_text(setting + '[users.alice]\nroles = ["analyst"]\n')
    data.mkdir()
    command = [sys.executable, "-m", "baton", "--as", "alice", "plan", "Read notes.txt"]
    done = subprocess.run([*read_only(data), *command], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    if done.returncode == 99:
        pytest.skip(f"root writes into any directory, and it cannot be mounted read-only here: "
                    f"{done.stderr.strip()}")
    origin = (f"data_dir in {tmp_path / 'baton.toml'}" if in_file
              else "the default data_dir, .baton in the working directory")
    assert one_error_line(done) == (
        f"cannot open the database {data / 'baton.db'} (from {origin}): unable to open "
        f"database file (its directory {data} is not writable)")
    assert list(data.iterdir()) == []


def test_a_directory_as_the_database_is_named_with_its_setting(cli, data_dir):
    folder = data_dir / "adir"
    folder.mkdir()
    message = one_error_line(cli("--as", "alice", "plan", "--file", "write.json",
                                 env={"BATON_DATABASE_URL": f"sqlite:///{folder}"}))
    assert message == (f"cannot open the database {folder} (from database_url, set by "
                       "BATON_DATABASE_URL): unable to open database file (it is a directory)")
    assert list(folder.iterdir()) == []


def test_a_database_from_a_newer_baton_is_refused_and_nothing_is_written(cli, data_dir, plan_id):
    db = data_dir / ".baton" / "baton.db"
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_future'")
    with sqlite3.connect(db) as conn:
        before = conn.execute("SELECT count(*) FROM ledger").fetchone()
    message = one_error_line(cli("--as", "alice", "plan", "--file", "write.json"))
    assert message == (
        f"the database {db} (from the default data_dir, .baton in the working directory) was "
        "written by a newer Baton (schema revision 9999_future; this Baton knows up to "
        f"{head_revision()}): upgrade Baton; nothing was written")
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM ledger").fetchone() == before
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [
            ("9999_future",)]


def test_a_data_dir_the_file_sets_to_the_default_value_is_named_as_the_files(data_dir):
    # `data_dir = ".baton"` written in the file is the file's setting, though it is the
    # default's value: the same file read from its directory or with --config says so alike.
    from baton.cli.common import database_origin
    from baton.settings import load_settings

    (data_dir / "baton.toml").write_text('data_dir = ".baton"\n')
    settings = load_settings(Path("baton.toml"), environ={})  # found in the working directory
    assert database_origin(settings, None, environ={}) == (
        f"data_dir in {(data_dir / 'baton.toml').resolve()}")
    (data_dir / "baton.toml").write_text('[users.alice]\nroles = ["analyst"]\n')
    unset = load_settings(Path("baton.toml"), environ={})
    assert database_origin(unset, None, environ={}) == (
        "the default data_dir, .baton in the working directory")
