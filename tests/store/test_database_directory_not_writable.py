"""A database file that can be written in a directory that cannot: SQLite says "attempt to
write a readonly database" (a database in WAL mode needs its -wal and -shm files made beside
it), and the message says the directory is the cause, not the file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from executor.store.db import make_engine
from executor.store.migrate import upgrade

ROOT = Path(__file__).resolve().parents[2]
NOBODY = 65534
ORIGIN = "data_dir in /srv/baton.toml"
# What a command does first: open the database, upgrading it if one is due.
OPEN = ("import sys\nfrom executor.store.db import StoreError, make_engine\n"
        "from executor.store.migrate import upgrade\n"
        "try:\n    upgrade(make_engine('sqlite:///' + sys.argv[1]), origin=sys.argv[2])\n"
        "except StoreError as exc:\n    print(exc.message)\n")


def _as_someone_who_cannot_write(directory: Path, database: Path) -> list[str]:
    """A command prefix under which ``database`` can be written and ``directory`` cannot: the
    directory's mode alone, or (root writes whatever the mode) the user nobody, owning the
    file and not the directory."""
    if os.geteuid() != 0:
        directory.chmod(0o555)
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("root writes into any directory, and setpriv is not here to be nobody")
    os.chown(database, NOBODY, NOBODY)
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


def test_a_writable_database_in_a_directory_that_is_not_is_named_with_its_directory():
    # Not pytest's tmp_path: root's is private to root, and nobody must reach the file.
    top = Path(tempfile.mkdtemp(prefix="baton-ro-dir-"))
    try:
        top.chmod(0o755)
        directory = top / ".baton"
        database = directory / "baton.db"
        engine = make_engine(f"sqlite:///{database}")
        upgrade(engine)  # at head, in WAL mode; -wal and -shm go when the engine closes
        engine.dispose()
        assert sorted(p.name for p in directory.iterdir()) == ["baton.db"]
        prefix = _as_someone_who_cannot_write(directory, database)

        done = subprocess.run([*prefix, sys.executable, "-c", OPEN, str(database), ORIGIN],
                              cwd=ROOT, capture_output=True, text=True, timeout=60,
                              env=dict(os.environ, PYTHONPATH=str(ROOT), HOME=str(top),
                                       PYTHONDONTWRITEBYTECODE="1"))

        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == (
            f"cannot open the database {database} (from {ORIGIN}): attempt to write a readonly "
            f"database (its directory {directory} is not writable)")
    finally:
        (top / ".baton").chmod(0o755)
        shutil.rmtree(top)
