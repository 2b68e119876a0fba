"""Concurrent ledger appends on PostgreSQL whose default isolation is not READ COMMITTED.

The append takes the ledger's advisory lock, then reads the head. Under REPEATABLE READ or
SERIALIZABLE the transaction's snapshot is taken at the lock's SELECT, before the lock is
granted, so the head read after waiting is stale and two writers pick the same seq. Baton's
engines must run their transactions at READ COMMITTED whatever the server, database, role
or connection says.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import text

from executor.ledger import Ledger
from executor.store.db import make_engine
from executor.store.hot import HotWriter
from executor.store.migrate import upgrade
from tests.executor.conftest import _PG, drop_pg_schema, pg_schema_url

pytestmark = pytest.mark.postgres

WRITERS = 4
APPENDS = 15


@pytest.fixture(params=["repeatable read", "serializable"])
def strict_url(request) -> Iterator[str]:
    """A private schema whose connections default to ``request.param`` isolation."""
    if not _PG:
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is not reachable")
    schema, url = pg_schema_url()
    level = request.param.replace(" ", "%5C%20")  # the space escaped for libpq's options
    try:
        yield f"{url}%20-cdefault_transaction_isolation%3D{level}"
    finally:
        drop_pg_schema(schema)


def _in_threads(work: Callable[[int], None]) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(WRITERS)

    def run(i: int) -> None:
        start.wait()
        try:
            work(i)
        except BaseException as exc:  # collected and asserted on by the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def _assert_all_landed(url: str) -> None:
    engine = make_engine(url)
    result = Ledger(engine).verify()
    engine.dispose()
    assert (result.ok, result.events, result.reason) == (True, WRITERS * APPENDS, None)


def test_the_connection_default_is_really_strict(strict_url):
    # Guards the test itself: the URL's option must reach the server.
    import psycopg

    with psycopg.connect(strict_url.replace("postgresql+psycopg", "postgresql")) as conn:
        shown = conn.execute("SHOW default_transaction_isolation").fetchone()
    assert shown is not None and shown[0] in ("repeatable read", "serializable")


def test_engines_run_transactions_at_read_committed(strict_url):
    engine = make_engine(strict_url)
    with engine.connect() as conn:
        level = conn.execute(text("SHOW transaction_isolation")).scalar_one()
    engine.dispose()
    assert level == "read committed"


def test_concurrent_appends_from_separate_engines_all_land(strict_url):
    upgrade(make_engine(strict_url))

    def append(i: int) -> None:
        engine = make_engine(strict_url)  # one per writer, as separate processes have
        ledger = Ledger(engine)
        for j in range(APPENDS):
            ledger.append("goal", f"p-w{i}", f"w{i}", {"j": j, "text": "é" * (j % 3)})
        engine.dispose()

    assert _in_threads(append) == []
    _assert_all_landed(strict_url)


def test_concurrent_flushes_of_the_raw_hot_path_all_land(strict_url):
    # The run loop's writer uses the pooled connection's psycopg connection directly.
    upgrade(make_engine(strict_url))

    def flush(i: int) -> None:
        engine = make_engine(strict_url)
        with engine.connect() as conn:
            writer = HotWriter(conn.connection.dbapi_connection, "postgresql", Ledger(engine))
            for j in range(APPENDS):
                writer.event("goal", f"p-w{i}", f"w{i}", {"j": j})
                writer.flush()
        engine.dispose()

    assert _in_threads(flush) == []
    _assert_all_landed(strict_url)


def test_concurrent_upgrades_of_a_new_database_both_succeed(strict_url):
    # The upgrade takes its own advisory lock, then reads alembic_version: the same pattern.
    def upgrade_it(_: int) -> None:
        engine = make_engine(strict_url)
        upgrade(engine)
        engine.dispose()

    assert _in_threads(upgrade_it) == []
    engine = make_engine(strict_url)
    assert Ledger(engine).verify().ok
    engine.dispose()
