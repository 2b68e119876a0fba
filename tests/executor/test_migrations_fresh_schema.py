"""A database with no table is made straight at head from the models; the schema it gets is
the one replaying every revision gives (and the fast path is the one taken)."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from executor.ledger import Ledger
from executor.store import migrate
from executor.store.db import make_engine
from executor.store.migrate import alembic_config, current_revision, head_revision, upgrade
from tests.executor.conftest import drop_pg_schema, pg_schema_url


def _by_revisions(engine: Engine) -> None:
    """The schema as every revision, replayed from nothing, makes it."""
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")


def _schema(engine: Engine) -> dict:
    """Everything a table is made of, in a form two databases can be compared by (columns
    by name: a rebuilt table may list them in another order, which no statement relies on)."""
    inspector = inspect(engine)
    tables = {}
    for table in sorted(inspector.get_table_names()):
        columns = {c["name"]: (str(c["type"]), c["nullable"], str(c.get("default")),
                               bool(c.get("autoincrement") is True))
                   for c in inspector.get_columns(table)}
        indexes = sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
                         for i in inspector.get_indexes(table))
        uniques = sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints(table))
        foreign = sorted((tuple(f["constrained_columns"]), f["referred_table"],
                          tuple(f["referred_columns"])) for f in inspector.get_foreign_keys(table))
        checks = sorted(c["sqltext"] for c in inspector.get_check_constraints(table))
        primary = tuple(inspector.get_pk_constraint(table)["constrained_columns"])
        tables[table] = {"columns": columns, "indexes": indexes, "uniques": uniques,
                         "foreign": foreign, "checks": checks, "primary": primary}
    return tables


def _two_databases(db_url: str, tmp_path) -> tuple[str, str, list[str]]:
    """``db_url`` and a second empty database of the same kind (PostgreSQL schemas to drop)."""
    if db_url.startswith("sqlite"):
        return db_url, f"sqlite:///{tmp_path / 'by-revisions.db'}", []
    schema, other = pg_schema_url()
    return db_url, other, [schema]


def test_a_new_database_gets_the_schema_every_revision_replayed_gives(db_url, tmp_path):
    fresh_url, replayed_url, schemas = _two_databases(db_url, tmp_path)
    fresh, replayed = make_engine(fresh_url), make_engine(replayed_url)
    try:
        upgrade(fresh)
        _by_revisions(replayed)
        assert current_revision(fresh) == current_revision(replayed) == head_revision()
        assert _schema(fresh) == _schema(replayed)
    finally:
        fresh.dispose()
        replayed.dispose()
        for schema in schemas:
            drop_pg_schema(schema)


def test_the_revisions_replayed_match_the_models(empty_engine):
    # Fails when someone changes executor/store/schema.py without adding a
    # revision: see executor/migrations/README.md.
    _by_revisions(empty_engine)
    with empty_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                         "compare_server_default": True})
        assert compare_metadata(context, SQLModel.metadata) == []


def test_a_new_database_is_made_from_the_models_without_replaying_revisions(
        empty_engine, monkeypatch):
    replayed = []
    monkeypatch.setattr(command, "upgrade", lambda *args, **kw: replayed.append(args))
    upgrade(empty_engine)
    assert replayed == []
    assert set(SQLModel.metadata.tables) <= set(inspect(empty_engine).get_table_names())
    assert current_revision(empty_engine) == head_revision()
    ledger = Ledger(empty_engine)
    ledger.append("goal", "p1", "alice", {"goal": "count"})
    assert ledger.verify().ok


def test_a_database_at_head_is_not_locked_for_an_upgrade(engine, monkeypatch):
    locked = []
    monkeypatch.setattr(migrate, "_lock", lambda connection: locked.append(connection))
    upgrade(engine)
    assert locked == []


def test_a_database_with_a_table_of_its_own_is_migrated_by_the_revisions(empty_engine):
    # Not empty, not Baton's: the revisions create Baton's tables beside the other one.
    with empty_engine.begin() as conn:
        conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY)"))
    upgrade(empty_engine)
    assert current_revision(empty_engine) == head_revision()
    assert {"notes", "ledger"} <= set(inspect(empty_engine).get_table_names())


def test_a_new_revision_is_drawn_from_the_revisions_replayed_not_the_models(
        tmp_path, monkeypatch):
    # Drawn against a database made from the models, a table added to them would be in both
    # sides of the comparison and the revision written empty.
    import shutil

    from sqlalchemy import Column, Integer, Table

    copy = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, copy,
                    ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", copy)
    table = Table("probe_notes", SQLModel.metadata, Column("id", Integer, primary_key=True))
    try:
        written = migrate.new_revision("probe notes")
    finally:
        SQLModel.metadata.remove(table)
    assert written.parent == copy / "versions"
    assert "op.create_table('probe_notes'" in written.read_text()
