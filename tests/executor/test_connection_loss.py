"""Which database failures are a lost or refused connection (the database restarting, a
failover: the same work can succeed once it is back), and which are not."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
from sqlalchemy import exc, text

from executor.store.db import StoreError, database_errors, is_connection_loss, make_engine
from tests.executor.conftest import PG_URL
from tests.executor.runsupport import closed_port


def _raised(engine, sql: str = "SELECT 1") -> StoreError:
    with pytest.raises(StoreError) as caught:
        with database_errors("looking for a run to claim"), engine.connect() as c:
            c.execute(text(sql))
    return caught.value


def test_a_refused_connection_is_a_connection_loss():
    engine = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/test")
    assert is_connection_loss(_raised(engine))


@pytest.mark.parametrize("message", [
    'connection failed: connection to server at "10.0.0.5", port 5432 failed: FATAL:  '
    "the database system is starting up",
    'connection failed: connection to server at "10.0.0.5", port 5432 failed: FATAL:  '
    "the database system is shutting down",
    "consuming input failed: server closed the connection unexpectedly\n\tThis probably means "
    "the server terminated abnormally",
    "consuming input failed: could not receive data from server: Connection reset by peer",
    "the connection is lost",
])
def test_what_libpq_says_of_a_server_going_or_not_there_yet_is_a_connection_loss(message):
    assert is_connection_loss(psycopg.OperationalError(message))


@pytest.mark.parametrize("sqlstate", ["57P01", "57P02", "57P03", "08006", "08003"])
def test_the_servers_shutdown_and_connection_sqlstates_are_a_connection_loss(sqlstate):
    error = psycopg.errors.lookup(sqlstate)("terminating connection")
    try:
        raise StoreError("the database failed while looking for a run to claim") from error
    except StoreError as wrapped:
        assert is_connection_loss(wrapped)


@pytest.mark.parametrize("message", [
    'connection failed: connection to server at "127.0.0.1", port 5432 failed: FATAL:  '
    'database "nosuchdb" does not exist',
    'connection failed: connection to server at "127.0.0.1", port 5432 failed: FATAL:  '
    'password authentication failed for user "baton"',
    "failed to resolve host 'db.example': [Errno -2] Name or service not known",
])
def test_a_connection_refused_for_a_reason_that_will_not_pass_is_not(message):
    assert not is_connection_loss(psycopg.OperationalError(message))


def test_a_server_error_is_judged_by_its_sqlstate_not_its_words():
    # A statement's error may quote anything (a name holding "connection refused").
    error = psycopg.errors.lookup("42P01")('relation "connection refused" does not exist')
    assert not is_connection_loss(error)


@pytest.mark.parametrize("error", [
    sqlite3.OperationalError("unable to open database file"),
    sqlite3.OperationalError("database is locked"),
    sqlite3.OperationalError("disk I/O error"),
    StoreError("the database file /x/baton.db was deleted while in use"),
    exc.ProgrammingError("SELECT 1", {}, sqlite3.ProgrammingError(
        "Cannot operate on a closed database."), connection_invalidated=True),
    ValueError("connection refused"),
])
def test_sqlite_and_anything_else_is_not(error):
    # SQLite is a file on this machine: no server restarts under it. A file that cannot be
    # opened (its directory gone, no permission) or was deleted will not come back by itself.
    assert not is_connection_loss(error)


@pytest.mark.postgres
def test_a_connection_the_server_terminated_is_a_connection_loss():
    try:
        engine = make_engine(PG_URL)
        with engine.connect() as c:
            pid = c.execute(text("SELECT pg_backend_pid()")).scalar()
    except Exception:  # noqa: BLE001
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is not reachable")
    with engine.connect() as victim:
        assert victim.execute(text("SELECT pg_backend_pid()")).scalar() == pid
        with engine.connect() as admin:
            admin.execute(text(f"SELECT pg_terminate_backend({pid})"))
        with pytest.raises(StoreError) as caught:
            with database_errors("looking for a run to claim"):
                victim.execute(text("SELECT 1"))
    assert is_connection_loss(caught.value)
    engine.dispose()


@pytest.mark.postgres
def test_a_missing_table_is_not(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("the PostgreSQL error")
    assert not is_connection_loss(_raised(engine, "SELECT * FROM no_such_table"))
