"""A plan stored before its secret was configured is shown masked, and may not run or spread.

Storing refuses a configured secret's value, but a version stored before the secret was
added to ``[secrets]`` still holds it. Every reader is shown it masked as ``[REDACTED]``
while the stored bytes and the hash approvals bind to stay as they were; such a version
may not start a run, and cannot become a template. A new version whose arguments
hold the mark itself (copied from such a view) is stored invalid.
"""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from baton.services import Services
from baton.usecases.approving import approve, reject
from baton.usecases.gates import gate_state
from baton.usecases.plans import (
    diff_with_previous,
    list_plans,
    plan_from_document,
    plan_versions,
    show_plan,
)
from baton.usecases.runs import run_worker, show_run, start_run
from baton.usecases.templates import save_plan_as_template
from executor.records import RunStatus
from executor.store.plans import NewVersion
from executor.store.schema import PlanVersionRow
from planner.base import PlannerKind
from planner.plan import Plan
from planner.problems import InvalidPlanError, ProblemCode
from planner.templates import TemplateError
from planner.versions import VersionStatus
from policies.approval import ApprovalRefused, GateStatus, NotApprovedError
from tests.api.live import make_settings
from tests.executor.conftest import db_url  # noqa: F401 - fixture: SQLite, then PostgreSQL
from tools.redaction import REDACTED

TOKEN = "tok-live-5f1e2d3c4b"
NOTE = {"goal": f"write the note for {TOKEN}", "steps": [
    {"id": "note", "tool": "files.write", "args": {"path": "note.txt", "text": f"token {TOKEN}"},
     "why": f"keep {TOKEN} at hand"}]}


@pytest.fixture
def stored_before(tmp_path, db_url):  # noqa: F811 - the fixture imported above
    """A version holding TOKEN, approved before any secret was configured; then services
    over the same store with TOKEN configured as the secret NOTE_TOKEN."""
    before = Services(make_settings(tmp_path, database_url=db_url))
    stored = plan_from_document(before, NOTE, before.settings.users["alice"])
    approve(before, stored.plan_id, before.settings.users["bob"])
    after = Services(make_settings(tmp_path, database_url=db_url, secrets={"NOTE_TOKEN": TOKEN}))
    yield before, after, before.plan_store.get(stored.plan_id)
    for services in (before, after):
        if "engine" in services.__dict__:
            services.engine.dispose()


def _text(value) -> str:
    return json.dumps(value.model_dump(mode="json") if hasattr(value, "model_dump") else value)


def test_every_read_of_a_plan_stored_before_its_secret_shows_it_masked(stored_before):
    _, after, raw = stored_before
    shown = [show_plan(after, raw.plan_id), show_plan(after, raw.plan_id, 1),
             *plan_versions(after, raw.plan_id), *list_plans(after)]
    for version in shown:
        assert TOKEN not in _text(version)
        assert version.plan_hash == raw.plan_hash and version.status is VersionStatus.APPROVED
    (step,) = shown[0].plan.steps
    assert step.args["text"] == f"token {REDACTED}" and step.why == f"keep {REDACTED} at hand"
    assert shown[0].goal == shown[0].plan.goal == f"write the note for {REDACTED}"


def test_the_masked_view_leaves_the_stored_bytes_and_the_hash_alone(stored_before):
    _, after, raw = stored_before
    show_plan(after, raw.plan_id)
    with Session(after.engine) as session:
        (row,) = session.exec(select(PlanVersionRow)).all()
    assert TOKEN in row.plan_json and row.plan_hash == raw.plan_hash == raw.plan.plan_hash()
    assert after.plan_store.get(raw.plan_id).plan == Plan.model_validate(NOTE)


def test_a_value_masked_where_the_plan_needs_its_text_is_shown_as_a_document(tmp_path):
    step_id = "note_5f1e2d3c4b"  # a step id is a secret's value: masked, the plan is no plan
    named = dict(NOTE, goal="write the note", steps=[dict(NOTE["steps"][0], id=step_id, why=None,
                                                          args={"path": "a", "text": "b"})])
    before = Services(make_settings(tmp_path))
    stored = plan_from_document(before, named, before.settings.users["alice"])
    after = Services(make_settings(tmp_path, secrets={"STEP_NAME": step_id}))
    shown = show_plan(after, stored.plan_id)
    assert step_id not in _text(shown) and shown.plan.steps == ()
    assert shown.document["steps"][0]["id"] == REDACTED and shown.plan_hash == stored.plan_hash
    before.engine.dispose()
    after.engine.dispose()


def test_a_diff_shows_neither_version_s_secret(stored_before):
    before, after, raw = stored_before
    changed = dict(NOTE, steps=[dict(NOTE["steps"][0], args={"path": "b.txt", "text": TOKEN})])
    before.plan_store.add_version(raw.plan_id, NewVersion(
        plan=Plan.model_validate(changed), status=VersionStatus.VALIDATED,
        planner=PlannerKind.FILE, created_by="alice"))
    _, _, diff = diff_with_previous(after, raw.plan_id)
    assert TOKEN not in _text(diff) and REDACTED in diff.text


def test_a_version_holding_a_secret_value_may_not_start_a_run(stored_before):
    before, after, raw = stored_before
    assert gate_state(before, raw.plan_id).status is GateStatus.APPROVED
    gate = gate_state(after, raw.plan_id)
    assert gate.status is GateStatus.DENIED and "NOTE_TOKEN" in gate.reasons[0]
    with pytest.raises(NotApprovedError) as refused:
        start_run(after, raw.plan_id, after.settings.users["alice"])
    message = str(refused.value)
    assert f"plan {raw.plan_id} v1 may not run" in message
    assert "configured secret NOTE_TOKEN" in message
    assert "step note: $.steps[0].args.text" in message and "${secret:NOTE_TOKEN}" in message
    assert TOKEN not in message


def test_a_queued_run_of_such_a_version_fails_at_the_worker_without_calling_a_tool(stored_before):
    before, after, raw = stored_before
    queued = start_run(before, raw.plan_id, before.settings.users["alice"], detach=True)
    run_worker(after, once=True)
    record = show_run(after, queued.id)
    assert record.status is RunStatus.FAILED and "configured secret NOTE_TOKEN" in record.error
    assert TOKEN not in record.error
    assert not (after.settings.resolved_workspace / "note.txt").exists()


def test_a_version_holding_a_secret_value_cannot_become_a_template(stored_before):
    _, after, raw = stored_before
    with pytest.raises(TemplateError) as refused:
        save_plan_as_template(after, raw.plan_id, name="note", params={},
                              actor=after.settings.users["alice"])
    assert "configured secret NOTE_TOKEN" in str(refused.value) and TOKEN not in str(refused.value)


def test_an_argument_holding_the_mask_mark_is_stored_invalid(stored_before):
    _, after, _ = stored_before
    copied = dict(NOTE, goal="write the note", steps=[dict(
        NOTE["steps"][0], args={"path": "note.txt", "text": f"token {REDACTED}"}, why="copy")])
    with pytest.raises(InvalidPlanError) as refused:
        plan_from_document(after, copied, after.settings.users["alice"])
    (problem,) = refused.value.problems
    assert problem.code is ProblemCode.MASKED_VALUE and problem.step == "note"
    assert problem.path == "$.steps[0].args.text" and "${secret:NAME}" in problem.message
    assert refused.value.stored.status is VersionStatus.INVALID


def test_a_version_holding_a_secret_value_cannot_be_approved_but_can_be_rejected(tmp_path, db_url):  # noqa: F811
    before = Services(make_settings(tmp_path, database_url=db_url))
    stored = plan_from_document(before, NOTE, before.settings.users["alice"])
    after = Services(make_settings(tmp_path, database_url=db_url, secrets={"NOTE_TOKEN": TOKEN}))
    try:
        head = after.ledger.head()
        with pytest.raises(ApprovalRefused) as refused:
            approve(after, stored.plan_id, after.settings.users["bob"])
        assert refused.value.code == "held_secret"
        assert "NOTE_TOKEN" in refused.value.message and TOKEN not in refused.value.message
        assert after.ledger.head() == head  # nothing recorded
        assert after.approval_store.records(stored.plan_id, 1) == []
        assert after.plan_store.get(stored.plan_id).status is VersionStatus.PENDING_APPROVAL
        reject(after, stored.plan_id, after.settings.users["bob"], reason="holds a token")
        assert after.plan_store.get(stored.plan_id).status is VersionStatus.REJECTED
    finally:
        for services in (before, after):
            services.engine.dispose()
