"""upgrade() says which database could not be opened, from which setting, and why; a database
a newer Baton wrote is refused, nothing written, rather than "Can't locate revision"."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from executor.store.db import StoreError, make_engine
from executor.store.migrate import UnknownSchemaError, database_location, head_revision, upgrade
from tests.support.gate_services import database_url

ORIGIN = "database_url in /srv/baton.toml"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def test_a_directory_as_the_database_is_named_with_its_setting_and_cause(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}")
    with pytest.raises(StoreError) as raised:
        upgrade(engine, origin=ORIGIN)
    engine.dispose()
    assert raised.value.message == (f"cannot open the database {tmp_path} (from {ORIGIN}): "
                                    "unable to open database file (it is a directory)")


def test_without_an_origin_the_file_and_cause_are_still_named(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}")
    with pytest.raises(StoreError) as raised:
        upgrade(engine)
    engine.dispose()
    assert raised.value.message == (f"cannot open the database {tmp_path}: "
                                    "unable to open database file (it is a directory)")


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_database_from_a_newer_baton_is_refused_and_left_as_it_was(backend, tmp_path):
    with database_url(backend, tmp_path) as url:
        engine = make_engine(url)
        upgrade(engine)
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
            before = conn.execute(text("SELECT count(*) FROM ledger")).scalar_one()
        try:
            with pytest.raises(UnknownSchemaError) as raised:
                upgrade(engine, origin=ORIGIN)
            with engine.connect() as conn:
                at = conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
                assert at.all() == ["9999_future"]
                assert conn.execute(text("SELECT count(*) FROM ledger")).scalar_one() == before
        finally:
            engine.dispose()
    message = raised.value.message
    assert message.startswith("the database ")
    assert message.endswith(
        f"(from {ORIGIN}) was written by a newer Baton (schema revision 9999_future; this Baton "
        f"knows up to {head_revision()}): upgrade Baton; nothing was written"), message
    assert "Can't locate" not in message


def test_an_unknown_revision_without_baton_tables_is_not_called_a_newer_baton(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
        conn.execute(text("INSERT INTO alembic_version VALUES ('ab12cd34')"))
    with pytest.raises(UnknownSchemaError) as raised:
        upgrade(engine, origin=ORIGIN)
    with engine.connect() as conn:
        assert "ledger" not in {r[0] for r in conn.execute(text(
            "SELECT name FROM sqlite_master WHERE type = 'table'"))}
    engine.dispose()
    assert raised.value.message == (
        f"the database {tmp_path / 'other.db'} (from {ORIGIN}) is at schema revision ab12cd34, "
        "which this Baton does not know, and has no Baton tables (another application's?): "
        "fix the setting; nothing was written")


def test_a_database_is_named_by_its_file_or_its_url_without_password_or_query(tmp_path):
    # Readers and writers name a database by this one rule (reading.py uses it too).
    file = make_engine(f"sqlite:///{tmp_path / 'baton.db'}")
    server = create_engine("postgresql+psycopg://baton:s3cret@db.example:5432/baton"
                           "?password=other&sslmode=require")
    try:
        assert database_location(file) == str(tmp_path / "baton.db")
        assert database_location(server) == "postgresql+psycopg://baton:***@db.example:5432/baton"
    finally:
        file.dispose()
        server.dispose()
