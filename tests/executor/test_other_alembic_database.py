"""Another application's database whose alembic revision id is one of Baton's ("0003") is
refused as not Baton's, by readers and writers, and nothing is written into it.

Its revision id alone made it look like a Baton database at revision 0003: the upgrade then
failed in 0004 with a message that was only a table name ("run_steps").
"""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from executor.store.db import make_engine
from executor.store.migrate import NotABatonDatabaseError, database_location, upgrade
from executor.store.reading import open_for_reading

ORIGIN = "data_dir in /srv/baton.toml"


def _another_applications(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(20))"))
        conn.execute(text("INSERT INTO users (id, name) VALUES (1, 'ada')"))
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
        conn.execute(text("INSERT INTO alembic_version VALUES ('0003')"))
    engine.dispose()


def _as_it_was(url: str) -> None:
    engine = make_engine(url)
    try:
        assert set(inspect(engine).get_table_names()) == {"users", "alembic_version"}
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).all() == [
                ("0003",)]
            assert conn.execute(text("SELECT id, name FROM users")).all() == [(1, "ada")]
    finally:
        engine.dispose()


@pytest.mark.parametrize("reads_only", [True, False], ids=["reader", "writer"])
def test_a_database_at_a_baton_revision_id_without_baton_tables_is_refused(db_url, reads_only):
    _another_applications(db_url)
    engine = make_engine(db_url)
    where = database_location(engine)  # the file, or the URL without password nor query

    with pytest.raises(NotABatonDatabaseError) as refused:
        try:
            open_for_reading(db_url, ORIGIN) if reads_only else upgrade(engine, origin=ORIGIN)
        finally:
            engine.dispose()

    then = ", or record something first (baton plan, baton serve)" if reads_only else ""
    assert refused.value.message == (
        f"no Baton database at {where} (from {ORIGIN}): it has no Baton tables, and "
        "its alembic_version (0003) is another application's revision; nothing was written: "
        f"fix the setting{then}")
    _as_it_was(db_url)
