"""A reader pointed at a database that is not Baton's refuses it and writes nothing into it.

An empty (0-byte) SQLite file, another application's database or an empty PostgreSQL
schema used to be given Baton's tables by ``baton audit verify``, which then said "ledger
intact: 0 events". A Baton database at an older revision is still upgraded.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, text

from executor.ledger import Ledger
from executor.store.db import make_engine
from executor.store.migrate import (UnknownSchemaError, alembic_config, current_revision,
                                    head_revision, upgrade)
from executor.store.reading import NotABatonDatabaseError, open_for_reading
from tests.support.cli_in_process import in_process_baton

ORIGIN = "database_url, set by BATON_DATABASE_URL"


def _fingerprint(directory: Path) -> dict[str, str]:
    """Every file in ``directory`` and a hash of its bytes."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in directory.iterdir()}


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    names = set(inspect(engine).get_table_names())
    engine.dispose()
    return names


def _foreign_sqlite(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO customers (name) VALUES ('ada')")
    conn.close()


def _assert_refused(raised: pytest.ExceptionInfo[NotABatonDatabaseError], where: str,
                    why: str) -> None:
    message = raised.value.message
    assert message.startswith(f"no Baton database at {where} (from {ORIGIN}): "), message
    assert why in message and "nothing was written" in message


def test_an_empty_sqlite_file_is_refused_and_left_empty(tmp_path):
    path = tmp_path / "baton.db"
    path.touch()
    with pytest.raises(NotABatonDatabaseError) as raised:
        open_for_reading(f"sqlite:///{path}", ORIGIN)
    _assert_refused(raised, str(path), "no Baton tables")
    assert _fingerprint(tmp_path) == {"baton.db": hashlib.sha256(b"").hexdigest()}


def test_another_applications_sqlite_database_is_refused_and_left_as_it_was(tmp_path):
    path = tmp_path / "app.db"
    _foreign_sqlite(path)
    before = _fingerprint(tmp_path)
    with pytest.raises(NotABatonDatabaseError) as raised:
        open_for_reading(f"sqlite:///{path}", ORIGIN)
    _assert_refused(raised, str(path), "no Baton tables")
    assert _fingerprint(tmp_path) == before  # not even switched to WAL mode
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.close()


def test_a_database_at_a_revision_baton_does_not_know_is_refused_naming_it(tmp_path):
    path = tmp_path / "app.db"
    _foreign_sqlite(path)
    with sqlite3.connect(path) as conn:  # another application that uses alembic too
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES ('3f9a0c2b1e77')")
    conn.close()
    with pytest.raises(NotABatonDatabaseError) as raised:
        open_for_reading(f"sqlite:///{path}", ORIGIN)
    _assert_refused(raised, str(path), "revision 3f9a0c2b1e77")


def test_a_database_from_a_newer_baton_is_refused_as_upgrade_refuses_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'baton.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    engine.dispose()
    with pytest.raises(UnknownSchemaError) as raised:
        open_for_reading(url, ORIGIN)
    assert "was written by a newer Baton (schema revision 9999_future" in raised.value.message


def test_a_baton_database_at_an_older_revision_is_still_upgraded(db_url):
    engine = make_engine(db_url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0003")
    Ledger(engine).append("goal", "p1", "alice", {"goal": "count"})
    engine.dispose()

    reading = open_for_reading(db_url, ORIGIN)
    assert current_revision(reading) == head_revision()
    assert Ledger(reading).verify().events == 1
    reading.dispose()


def test_a_baton_database_from_before_migrations_is_still_upgraded(db_url):
    engine = make_engine(db_url)
    upgrade(engine)
    Ledger(engine).append("goal", "p1", "alice", {"goal": "count"})
    with engine.begin() as conn:  # as the first releases' create_all left it: no version table
        conn.execute(text("DROP TABLE alembic_version"))
    engine.dispose()

    reading = open_for_reading(db_url, ORIGIN)
    assert current_revision(reading) == head_revision()
    assert Ledger(reading).verify().events == 1
    reading.dispose()


@pytest.mark.postgres
def test_an_empty_postgresql_schema_is_refused_naming_it_without_its_password(db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    with_password = db_url.replace("postgres@", "postgres:s3cret-pw@")  # trust: not checked
    with pytest.raises(NotABatonDatabaseError) as raised:
        open_for_reading(with_password, ORIGIN)
    message = raised.value.message
    assert message.startswith("no Baton database at postgresql+psycopg://postgres:***@"
                              f"127.0.0.1:5432/test (from {ORIGIN}): it has no Baton tables")
    assert "s3cret-pw" not in message
    assert _tables(db_url) == set()


def test_cli_readers_refuse_an_empty_database_file_with_one_error_line(data_dir, capsys):
    path = data_dir / "baton.db"
    path.touch()
    with in_process_baton(capsys) as baton:
        for command_args in (("audit", "verify"), ("audit", "show"), ("runs", "list")):
            done = baton(*command_args, env={"BATON_DATABASE_URL": f"sqlite:///{path}"})
            assert done.returncode == 1, (command_args, done.stdout, done.stderr)
            assert done.stdout == ""
            lines = done.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith(f"error: no Baton database at {path}")
    assert path.stat().st_size == 0
