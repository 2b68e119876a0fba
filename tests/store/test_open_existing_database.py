"""make_engine(create=False) and open_for_reading: a SQLite file that is not there is an error,
never a new database; PostgreSQL is unaffected."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from executor.store.db import MissingDatabaseError, StoreError, make_engine
from executor.store.migrate import upgrade
from executor.store.reading import NotABatonDatabaseError, open_for_reading
from tests.support.gate_services import database_url


def test_a_missing_file_is_refused_naming_it_and_nothing_is_created(tmp_path):
    path = tmp_path / "typo" / "baton.db"
    with pytest.raises(MissingDatabaseError) as raised:
        make_engine(f"sqlite:///{path}", create=False)
    assert raised.value.path == str(path)
    assert str(path) in raised.value.message
    assert not (tmp_path / "typo").exists()


def test_a_missing_file_in_an_existing_directory_is_not_created(tmp_path):
    with pytest.raises(MissingDatabaseError):
        make_engine(f"sqlite:///{tmp_path / 'baton.db'}", create=False)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_file_opens_and_upgrades(tmp_path):
    path = tmp_path / "baton.db"
    made = make_engine(f"sqlite:///{path}")
    upgrade(made)
    made.dispose()
    engine = make_engine(f"sqlite:///{path}", create=False)
    upgrade(engine)  # an older schema is still brought up to date by a reader
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM ledger")).scalar_one() == 0
    engine.dispose()


def test_a_file_deleted_after_the_engine_was_made_is_not_created_again(tmp_path):
    # SQLite itself is told not to create the file (mode=rw): the check before is not the only one.
    path = tmp_path / "baton.db"
    make_engine(f"sqlite:///{path}").dispose()
    with make_engine(f"sqlite:///{path}").connect():
        pass
    engine = make_engine(f"sqlite:///{path}", create=False)
    for leftover in tmp_path.iterdir():
        leftover.unlink()
    with pytest.raises(MissingDatabaseError):
        engine.connect()
    assert not path.exists()
    engine.dispose()


def test_a_path_with_uri_characters_opens(tmp_path):
    # The file is opened through a file: URI; '#' and '%' in its name must be quoted, and the
    # reader must open the file the writer made (SQLAlchemy decodes %41 in a URL's path).
    path = tmp_path / "odd #%41 name.db"
    upgrade(make_engine(f"sqlite:///{path}"))
    engine = make_engine(f"sqlite:///{path}", create=False)
    upgrade(engine)
    engine.dispose()
    assert len([p for p in tmp_path.iterdir() if p.suffix == ".db"]) == 1


def test_in_memory_databases_are_unaffected():
    engine = make_engine("sqlite://", create=False)
    upgrade(engine)
    engine.dispose()


def test_open_for_reading_names_the_missing_file_and_where_its_path_came_from(tmp_path):
    path = tmp_path / "typo" / "baton.db"
    with pytest.raises(MissingDatabaseError) as raised:
        open_for_reading(f"sqlite:///{path}", "data_dir in /srv/baton.toml")
    assert str(path) in raised.value.message
    assert "data_dir in /srv/baton.toml" in raised.value.message
    assert not (tmp_path / "typo").exists()


def test_open_for_reading_says_a_corrupt_file_cannot_be_read_not_upgraded(tmp_path):
    path = tmp_path / "baton.db"
    path.write_text("not a database\n" * 100)
    with pytest.raises(StoreError) as raised:
        open_for_reading(f"sqlite:///{path}", "data_dir")
    assert raised.value.message.startswith(f"cannot read the database {path} (from data_dir): ")
    assert "file is not a database" in raised.value.message


@pytest.mark.postgres
def test_an_empty_postgresql_database_is_refused_and_given_no_tables(tmp_path):
    # Only a writer gives a PostgreSQL database Baton's tables: a reader pointed at the wrong
    # (existing) database must not report an intact, empty ledger.
    with database_url("postgres", tmp_path) as url:
        with pytest.raises(NotABatonDatabaseError):
            open_for_reading(url, "database_url")
        engine = make_engine(url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM information_schema.tables "
                                     "WHERE table_schema = current_schema()")).scalar_one() == 0
        engine.dispose()
