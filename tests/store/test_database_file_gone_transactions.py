"""SQLite: once the file an engine opened is deleted, moved or replaced, every transaction it
begins fails with a StoreError naming the file, instead of writing into a file nobody will find
again and reporting success (the API, the web forms and the CLI open theirs the same way)."""

from __future__ import annotations

import os
import shutil
import sqlite3

import pytest
from sqlalchemy import text
from sqlmodel import Session

from executor.store.db import StoreError, database_errors, make_engine, read_transaction


@pytest.fixture
def path(tmp_path):
    """Where ``engine``'s SQLite file is."""
    return str(tmp_path / "baton.db")


@pytest.fixture
def engine(path):
    """An engine on ``path`` that has written a row: its pooled connection holds the file."""
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
        connection.execute(text("INSERT INTO t VALUES (1)"))
    yield engine
    engine.dispose()


def _move(path):
    for name in (path, f"{path}-wal", f"{path}-shm"):
        if os.path.exists(name):
            os.rename(name, name.replace("baton.db", "moved.db"))


def _delete(path):
    for name in (path, f"{path}-wal", f"{path}-shm"):
        if os.path.exists(name):
            os.remove(name)


def _replace(path):
    shutil.copyfile(path, f"{path}.copy")
    os.replace(f"{path}.copy", path)


def _write(engine):
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO t VALUES (2)"))


def _write_in_session(engine):
    with Session(engine) as session:
        session.execute(text("INSERT INTO t VALUES (2)"))
        session.commit()


def _read(engine):
    with read_transaction(engine) as connection:
        return connection.execute(text("SELECT count(*) FROM t")).scalar()


@pytest.mark.parametrize("how, said", [(_delete, "deleted"), (_move, "deleted"),
                                       (_replace, "replaced")])
@pytest.mark.parametrize("transaction", [_write, _write_in_session, _read])
def test_a_transaction_on_a_file_gone_from_its_path_fails_naming_it(engine, path, how, said,
                                                                    transaction):
    how(path)
    with pytest.raises(StoreError) as caught:
        transaction(engine)
    assert str(caught.value) == f"the database failed: the database file {path} was {said} " \
                                "while in use"
    assert caught.value.code == "store_error"


def test_what_was_being_done_is_named_when_the_caller_says(engine, path):
    _delete(path)
    with pytest.raises(StoreError) as caught, database_errors("approving plan p-1"):
        _write_in_session(engine)
    assert str(caught.value) == (f"the database failed while approving plan p-1: the database "
                                 f"file {path} was deleted while in use")


def test_a_connection_held_on_is_refused_each_time_and_serves_once_the_file_is_back(engine, path):
    with engine.connect() as held, Session(bind=held) as session:  # as a run's pinned session
        _move(path)
        for _ in range(2):  # refused, and left as it was: not in a transaction, nor past the check
            with pytest.raises(StoreError, match="was deleted while in use"):
                held.execute(text("INSERT INTO t VALUES (2)"))
            with pytest.raises(StoreError, match="was deleted while in use"):
                session.execute(text("INSERT INTO t VALUES (2)"))
                session.commit()
            session.rollback()
        moved = path.replace("baton.db", "moved.db")
        with sqlite3.connect(moved) as other:
            assert other.execute("SELECT x FROM t").fetchall() == [(1,)]  # nothing written
        os.rename(moved, path)  # the same file again: nothing to refuse
        session.execute(text("INSERT INTO t VALUES (2)"))
        session.commit()
    assert _read(engine) == 2


def test_a_new_connection_does_not_create_an_empty_file_where_the_deleted_one_was(engine, path):
    _delete(path)
    engine.dispose()  # the pool's connection closed: the next transaction opens a new one
    for transaction in (_write, _read):
        with pytest.raises(StoreError, match=f"the database file {path} was deleted while in use"):
            transaction(engine)
    assert not os.path.exists(path)  # the path is left empty, not given an empty database


def test_a_brand_new_database_file_is_still_created(tmp_path):
    path = tmp_path / "new" / "baton.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
    engine.dispose()
    assert path.is_file()
