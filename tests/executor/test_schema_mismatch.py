"""A database whose schema is not the one its revision says is named so, not as a failure to
retry: "the database failed … retry once it is back" sent people waiting for a database that
was up all along (a decisions column missing after an upgrade)."""

from __future__ import annotations

import json
import sqlite3

import psycopg
import pytest
from sqlalchemy import text

from executor.store.db import is_connection_loss, is_schema_mismatch, make_engine
from executor.store.migrate import current_revision, head_revision
from tests.support.cli_in_process import in_process_baton

CONFIG = """
workspace = "ws"

[users.alice]
roles = ["analyst"]
"""
PLAN = {"goal": "read the export",
        "steps": [{"id": "load", "tool": "files.read", "args": {"path": "a.csv"}}]}


def _driver_error(url: str, statement: str) -> BaseException:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (a INTEGER)"))
            conn.execute(text(statement))
    except Exception as exc:  # the error under test
        return exc
    finally:
        engine.dispose()
    raise AssertionError(f"{statement} did not fail")


@pytest.mark.parametrize("statement", ["SELECT b FROM t", "SELECT a FROM missing",
                                       "INSERT INTO t (b) VALUES (1)"])
def test_a_missing_column_or_table_is_a_schema_mismatch_not_a_connection_loss(db_url, statement):
    error = _driver_error(db_url, statement)
    assert is_schema_mismatch(error) and not is_connection_loss(error)


@pytest.mark.parametrize("error", [
    sqlite3.OperationalError("database is locked"),
    sqlite3.OperationalError("unable to open database file"),
    psycopg.errors.lookup("57P01")("terminating connection due to administrator command"),
    psycopg.OperationalError("connection refused"),
])
def test_a_lock_or_a_lost_connection_is_no_schema_mismatch(error):
    assert not is_schema_mismatch(error)


def _workspace(data_dir, db_url: str) -> dict[str, str]:
    """Settings, a workspace and a plan file in ``data_dir``; the environment naming the database."""
    (data_dir / "baton.toml").write_text(CONFIG)
    (data_dir / "ws").mkdir()
    (data_dir / "ws" / "a.csv").write_text("region,total\nnorth,3\n")
    (data_dir / "plan.json").write_text(json.dumps(PLAN))
    return {"BATON_DATABASE_URL": db_url}


def test_a_missing_column_is_reported_as_a_schema_mismatch_naming_the_revision(
        db_url, data_dir, capsys):
    env = _workspace(data_dir, db_url)
    with in_process_baton(capsys) as baton:
        planned = baton("--as", "alice", "plan", "--file", "plan.json", "--json", env=env)
        assert planned.returncode == 0, planned.stderr
        engine = make_engine(db_url)
        with engine.begin() as conn:  # at the head revision, without a column it has
            conn.execute(text("ALTER TABLE decisions DROP COLUMN input_hash"))
        assert current_revision(engine) == head_revision()
        engine.dispose()

        listed = baton("--as", "alice", "plans", "list", env=env)

    assert listed.returncode == 1
    message = " ".join(listed.stderr.split())
    assert message.startswith(f"error: the database's schema does not match this Baton's "
                              f"(schema revision {head_revision()}): "), message
    assert "input_hash" in message and "retrying will not help" in message
    assert "once it is back" not in message and "the database failed" not in message


def test_a_mismatch_under_a_store_error_is_named_as_a_mismatch_by_the_cli_and_the_api(
        db_url, data_dir, capsys):
    # `baton cancel` and POST /runs/{id}/cancel meet it inside the store, which wraps the
    # driver's error in a StoreError ("the database failed while cancelling run …").
    from fastapi.testclient import TestClient

    from baton.api import create_app
    from baton.services import Services
    from tests.api.live import make_settings, token_of

    env = _workspace(data_dir, db_url)
    with in_process_baton(capsys) as baton:
        planned = json.loads(baton("--as", "alice", "plan", "--file", "plan.json", "--json",
                                   env=env).stdout)
        detached = baton("--as", "alice", "run", planned["plan_id"], "--detach", "--json",
                         env=env)
        assert detached.returncode == 0, detached.stderr
        run_id = json.loads(detached.stdout)["id"]
        engine = make_engine(db_url)
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE runs DROP COLUMN cancel_requested"))
        engine.dispose()
        cancelled = baton("--as", "alice", "cancel", run_id, env=env)
    assert cancelled.returncode == 1
    message = " ".join(cancelled.stderr.split())
    assert message.startswith("error: the database's schema does not match this Baton's"), message
    assert "cancel_requested" in message and "the database failed" not in message

    settings = make_settings(data_dir, database_url=db_url)  # users with API tokens
    client = TestClient(create_app(Services(settings), worker_poll_s=None),
                        raise_server_exceptions=False,
                        headers={"Authorization": f"Bearer {token_of('alice')}"})
    response = client.post(f"/api/v1/runs/{run_id}/cancel")
    assert response.status_code == 500, response.text
    assert response.json()["error"]["code"] == "schema_mismatch"
