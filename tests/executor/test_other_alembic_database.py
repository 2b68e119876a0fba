"""Another application's database whose alembic revision id is one of Baton's ("0003") is
refused as not Baton's, by readers and writers, and nothing is written into it.

Its revision id alone made it look like a Baton database at revision 0003: the upgrade then
failed in 0004 with a message that was only a table name ("run_steps").
"""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from executor.store.db import make_engine
from executor.store.migrate import (NotABatonDatabaseError, database_location, head_revision,
                                    upgrade)
from executor.store.reading import open_for_reading

ORIGIN = "data_dir in /srv/baton.toml"


def _another_applications(url: str, revision: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(20))"))
        conn.execute(text("INSERT INTO users (id, name) VALUES (1, 'ada')"))
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
        conn.execute(text("INSERT INTO alembic_version VALUES (:r)"), {"r": revision})
    engine.dispose()


def _as_it_was(url: str, revision: str) -> None:
    engine = make_engine(url)
    try:
        assert set(inspect(engine).get_table_names()) == {"users", "alembic_version"}
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).all() == [
                (revision,)]
            assert conn.execute(text("SELECT id, name FROM users")).all() == [(1, "ada")]
    finally:
        engine.dispose()


# Head too: an up-to-date database is let through without the upgrade's lock, and that quick
# look took another application's database stamped with Baton's head id for Baton's own.
@pytest.mark.parametrize("revision", ["0003", head_revision()])
@pytest.mark.parametrize("reads_only", [True, False], ids=["reader", "writer"])
def test_a_database_at_a_baton_revision_id_without_baton_tables_is_refused(db_url, reads_only,
                                                                          revision):
    _another_applications(db_url, revision)
    engine = make_engine(db_url)
    where = database_location(engine)  # the file, or the URL without password nor query

    with pytest.raises(NotABatonDatabaseError) as refused:
        try:
            open_for_reading(db_url, ORIGIN) if reads_only else upgrade(engine, origin=ORIGIN)
        finally:
            engine.dispose()

    # Not "or record something first": recording would be refused the same way.
    assert refused.value.message == (
        f"no Baton database at {where} (from {ORIGIN}): it has no Baton tables, and "
        f"its alembic_version ({revision}) is another application's revision; nothing was "
        "written: fix the setting")
    _as_it_was(db_url, revision)
