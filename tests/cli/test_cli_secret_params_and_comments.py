"""`baton plan`, `baton revise`, `baton approve --comment` and `baton reject --reason` keep a
configured secret's value typed into the goal, the feedback, the comment or the reason out of
the store and out of everything they and `baton plans show` print."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from baton.services import Services
from baton.settings import load_settings
from executor.store.schema import ApprovalRow, PlanVersionRow
from tools.redaction import REDACTED

SECRET = "crm-SuperSecret-0042"


@pytest.fixture
def configured(cli, data_dir):
    """The cli fixture's users with SECRET configured as CRM_TOKEN, and a.csv to copy."""
    config = (data_dir / "baton.toml").read_text()
    (data_dir / "baton.toml").write_text(config + f'\n[secrets]\nCRM_TOKEN = "{SECRET}"\n')
    return cli


def stored_text(data_dir) -> str:
    """Every stored version and approval row, as one text to search."""
    services = Services(load_settings(data_dir / "baton.toml"))
    try:
        with Session(services.engine) as session:
            rows = [*session.exec(select(PlanVersionRow)).all(),
                    *session.exec(select(ApprovalRow)).all()]
        return json.dumps([row.model_dump(mode="json") for row in rows])
    finally:
        services.engine.dispose()


def _printed(result) -> str:
    return result.stdout + result.stderr


def test_plan_and_revise_keep_the_secret_out_of_the_template_params(configured, data_dir):
    cli = configured
    planned = cli("--as", "alice", "plan", f"Copy {SECRET}.csv to x.csv")
    assert planned.returncode == 1 and "configured_secret" in planned.stderr
    assert SECRET not in _printed(planned)
    plan_id = json.loads(cli("--as", "dave", "plans", "list", "--json").stdout)[0]["plan_id"]
    shown = cli("--as", "dave", "plans", "show", plan_id, "--json")
    assert SECRET not in _printed(shown)
    assert json.loads(shown.stdout)["origin"]["params"]["source"] == f"{REDACTED}.csv"
    tree = cli("--as", "dave", "plans", "show", plan_id)
    assert SECRET not in _printed(tree) and f"source='{REDACTED}.csv'" in tree.stdout

    valid = json.loads(cli("--as", "alice", "plan", "Copy a.csv to x.csv", "--json").stdout)
    revised = cli("--as", "alice", "revise", valid["plan_id"], f"Copy {SECRET}.csv to y.csv")
    assert revised.returncode == 1 and SECRET not in _printed(revised)
    assert "v1 stays the latest version" in revised.stderr  # a refused revision stores none
    events = json.loads(cli("--as", "dave", "audit", "show", "--json", "--subject",
                            valid["plan_id"]).stdout)
    (failed,) = [e["payload"] for e in events if e["kind"] == "validation"
                 and not e["payload"]["ok"]]
    assert failed["origin"]["params"]["source"] == f"{REDACTED}.csv"
    assert SECRET not in json.dumps(events)
    assert SECRET not in stored_text(data_dir) and REDACTED in stored_text(data_dir)


def test_approve_and_reject_keep_the_secret_out_of_the_comment_and_the_reason(configured,
                                                                               data_dir):
    cli = configured
    plans = [json.loads(cli("--as", "alice", "plan", "--file", "write.json", "--json").stdout)
             for _ in range(2)]
    approved = cli("--as", "bob", "approve", plans[0]["plan_id"], "--comment",
                   f"fine, {SECRET}", "--json")
    assert approved.returncode == 0, approved.stderr
    assert SECRET not in _printed(approved)
    assert json.loads(approved.stdout)["valid_approvals"][0]["comment"] == f"fine, {REDACTED}"
    rejected = cli("--as", "bob", "reject", plans[1]["plan_id"], "--reason", f"not {SECRET}")
    assert rejected.returncode == 0, rejected.stderr
    assert SECRET not in _printed(rejected) and f"not {REDACTED}" in rejected.stdout
    assert SECRET not in stored_text(data_dir)


def test_a_planning_error_quoting_the_goal_is_printed_masked(configured):
    failed = configured("--as", "alice", "plan", f"Copy /{SECRET}.csv to x.csv")
    assert failed.returncode == 1 and "no template matches" in failed.stderr
    assert SECRET not in _printed(failed) and f"/{REDACTED}.csv" in failed.stderr
