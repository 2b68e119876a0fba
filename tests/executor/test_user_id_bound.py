"""A user id is at most 200 characters, the width of the columns that record who acted
(``plans.requester``, ``ledger.actor``...): a longer one is a configuration error when the
settings are read, on either database, not a failure of every command that records.
"""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from baton.settings import ConfigError, Settings, load_settings
from baton.settings_users import MAX_USER_ID_CHARS
from tests.cli.conftest import WRITE_PLAN
from tests.support.cli_in_process import in_process_baton

# Not one byte each: PostgreSQL's varchar(200) counts characters, and so does the bound.
LONGEST = "ü" * 150 + "x" * 50
TOO_LONG = "alice-" + "y" * 195


def _settings_file(data_dir, *user_ids: str) -> None:
    users = "".join(f'[users.{json.dumps(uid)}]\nroles = ["analyst"]\n' for uid in user_ids)
    (data_dir / "baton.toml").write_text('workspace = "ws"\n' + users, encoding="utf-8")
    (data_dir / "ws").mkdir(exist_ok=True)
    (data_dir / "ws" / "a.csv").write_text("region,total\nnorth,3\n")
    (data_dir / "write.json").write_text(json.dumps(WRITE_PLAN))


def test_the_bound_is_the_width_of_every_column_that_records_a_user():
    from executor.store.schema import ApprovalRow, LedgerRow, PlanRow, PlanVersionRow, RunRow

    widths = {column.type.length for model, name in [
        (PlanRow, "requester"), (PlanVersionRow, "created_by"), (ApprovalRow, "actor"),
        (RunRow, "requested_by"), (LedgerRow, "actor")]
        for column in [model.__table__.columns[name]]}
    assert widths == {MAX_USER_ID_CHARS} and len(LONGEST) == MAX_USER_ID_CHARS


def test_a_user_id_past_the_bound_is_refused_naming_the_user_cut_and_the_limit(data_dir):
    _settings_file(data_dir, "alice", TOO_LONG)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    said = str(caught.value)
    assert "users.alice-yyy" in said and "200 characters" in said and "201" in said, said
    assert TOO_LONG not in said and "\n" not in said


def test_settings_made_in_code_refuse_a_user_id_past_the_bound_too():
    with pytest.raises(ValidationError, match="200 characters"):
        Settings.model_validate({"users": {TOO_LONG: {"id": TOO_LONG}}})
    assert LONGEST in Settings.model_validate({"users": {LONGEST: {"id": LONGEST}}}).users


def test_a_user_id_past_the_bound_is_a_configuration_error_on_either_database(
        db_url, data_dir, capsys):
    _settings_file(data_dir, "alice", TOO_LONG)
    with in_process_baton(capsys) as baton:
        done = baton("--as", "alice", "plan", "--file", "write.json",
                     env={"BATON_DATABASE_URL": db_url})
    assert done.returncode == 2, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in done.stderr
    assert "users.alice-yyy" in lines[0] and "200 characters" in lines[0], lines[0]


def test_a_user_id_at_the_bound_records_a_plan_on_either_database(db_url, data_dir, capsys):
    from executor.ledger import Ledger
    from executor.store.db import make_engine

    _settings_file(data_dir, LONGEST)
    with in_process_baton(capsys) as baton:
        done = baton("--as", LONGEST, "plan", "--file", "write.json", "--json",
                     env={"BATON_DATABASE_URL": db_url})
    assert done.returncode == 0, done.stderr
    plan_id = json.loads(done.stdout)["plan_id"]
    engine = make_engine(db_url)
    try:
        events = Ledger(engine).events(subject=plan_id)
    finally:
        engine.dispose()
    assert events and LONGEST in {e.actor for e in events}
