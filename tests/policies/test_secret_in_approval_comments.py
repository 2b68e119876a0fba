"""A configured secret's value typed into an approval's comment or a rejection's reason never
reaches the store, and one stored before the secret was configured is shown masked wherever
approval records are read back for people (the gate, the history, the reason sent to the
planner).

Over each store in turn (SQLite, then PostgreSQL).
"""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from baton.services import Services
from baton.usecases.approval_records import approval_history
from baton.usecases.approving import approve, reject
from baton.usecases.deciding import decision_for
from baton.usecases.gates import gate_state, gate_states
from baton.usecases.plans import plan_from_document, rejection_reason
from executor.store.schema import ApprovalRow
from policies.approval import GateStatus
from tests.api.live import make_settings
from tests.executor.conftest import db_url  # noqa: F401 - fixture: SQLite, then PostgreSQL
from tools.redaction import REDACTED

SECRET = "crm-SuperSecret-0042"
WRITE = {"goal": "write the note", "steps": [
    {"id": "note", "tool": "files.write", "args": {"path": "note.txt", "text": "hello"}}]}


@pytest.fixture
def stores(tmp_path, db_url):  # noqa: F811 - the fixture imported above
    """Services over one store: without any secret, and with SECRET configured as CRM_TOKEN."""
    before = Services(make_settings(tmp_path, database_url=db_url))
    after = Services(make_settings(tmp_path, database_url=db_url, secrets={"CRM_TOKEN": SECRET}))
    yield before, after
    for services in (before, after):
        if "engine" in services.__dict__:
            services.engine.dispose()


def stored_comments(services: Services) -> list[str | None]:
    """The comment column of every stored approval and rejection."""
    with Session(services.engine) as session:
        return [row.comment for row in session.exec(select(ApprovalRow)).all()]


def _text(value) -> str:
    return json.dumps(value.model_dump(mode="json") if hasattr(value, "model_dump") else value)


def test_an_approval_comment_holding_a_secret_is_stored_masked(stores):
    _, services = stores
    stored = plan_from_document(services, WRITE, services.settings.users["alice"])
    gate = approve(services, stored.plan_id, services.settings.users["bob"],
                   comment=f"checked with {SECRET}")
    assert stored_comments(services) == [f"checked with {REDACTED}"]
    assert gate.status is GateStatus.APPROVED and SECRET not in _text(gate)
    assert gate.valid_approvals[0].comment == f"checked with {REDACTED}"


def test_a_rejection_reason_holding_a_secret_is_stored_masked(stores):
    _, services = stores
    stored = plan_from_document(services, WRITE, services.settings.users["alice"])
    gate = reject(services, stored.plan_id, services.settings.users["bob"],
                  reason=f"do not use {SECRET} here")
    assert stored_comments(services) == [f"do not use {REDACTED} here"]
    assert gate.status is GateStatus.REJECTED and SECRET not in _text(gate)
    assert REDACTED in gate.reasons[0]
    assert rejection_reason(services, stored.plan_id, 1) == f"do not use {REDACTED} here"


def test_comments_stored_before_the_secret_was_configured_are_read_back_masked(stores):
    before, after = stores
    alice, bob = before.settings.users["alice"], before.settings.users["bob"]
    approved = plan_from_document(before, WRITE, alice)
    approve(before, approved.plan_id, bob, comment=f"ok, {SECRET}")
    rejected = plan_from_document(before, WRITE, alice)
    reject(before, rejected.plan_id, bob, reason=f"no: {SECRET}")
    assert sorted(stored_comments(after)) == [f"no: {SECRET}", f"ok, {SECRET}"]  # left as stored

    gates = [gate_state(after, approved.plan_id), gate_state(after, rejected.plan_id),
             *gate_states(after, [after.plan_store.get(approved.plan_id),
                                  after.plan_store.get(rejected.plan_id)],
                          {approved.plan_id: {"alice"}, rejected.plan_id: {"alice"}}).values()]
    history = [*approval_history(after, approved.plan_id),
               *approval_history(after, rejected.plan_id)]
    for shown in (*gates, *history):
        assert SECRET not in _text(shown)
    assert [g.status for g in gates[:2]] == [GateStatus.APPROVED, GateStatus.REJECTED]
    assert gates[0].valid_approvals[0].comment == f"ok, {REDACTED}"
    assert gates[1].reasons == (f"rejected by bob: no: {REDACTED}",)
    assert [r.comment for r in history] == [f"ok, {REDACTED}", f"no: {REDACTED}"]
    assert rejection_reason(after, rejected.plan_id, 1) == f"no: {REDACTED}"


def test_the_approval_history_lists_every_version_s_records_oldest_first(stores):
    _, services = stores
    alice, bob = services.settings.users["alice"], services.settings.users["bob"]
    stored = plan_from_document(services, WRITE, alice)
    reject(services, stored.plan_id, bob, reason="first")
    history = approval_history(services, stored.plan_id)
    assert [(r.version, r.kind.value, r.comment) for r in history] == [(1, "reject", "first")]


def test_a_decision_on_a_version_stored_before_its_secret_is_shown_masked(stores, tmp_path,
                                                                        db_url):  # noqa: F811
    before, _ = stores
    named = dict(WRITE, steps=[dict(WRITE["steps"][0], id="note_supersecret_0042")])
    stored = plan_from_document(before, named, before.settings.users["alice"])
    assert "note_supersecret_0042" in _text(decision_for(before, stored.plan_id))
    # Its policy messages name the step; a step id can hold a value configured later.
    masking = Services(make_settings(tmp_path, database_url=db_url,
                                     secrets={"STEP": "supersecret_0042"}))
    try:
        shown = decision_for(masking, stored.plan_id)
        assert "supersecret_0042" not in _text(shown) and REDACTED in _text(shown)
        assert shown.plan_hash == stored.plan_hash
    finally:
        masking.engine.dispose()
