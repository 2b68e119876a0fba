"""A decision taken under older policies is taken again before an approval and before a run,
on SQLite and PostgreSQL.

The policy bundle (rules and data) can change after a version was decided: a tool revoked
for a role, approvals asked of more people or other roles. A standard change rests on its
template, outside the bundle. Both fail closed: the version is decided again with what is in
force now, the decision recorded, and the gate judges by it. (The template's part:
test_decision_rests_on_its_template_check.py.)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from baton.usecases.approving import approve
from baton.usecases.deciding import vet_version
from baton.usecases.gates import NotApprovedError, gate_state, require_approved
from baton.usecases.runs import run_worker, show_run, start_run
from baton.usecases.policy_input import input_hash, policy_input
from executor.ledger import EventKind
from executor.records import RunStatus
from executor.store.schema import DecisionRow
from planner.versions import VersionStatus
from policies.approval import ApprovalRefused, GateStatus, RefusalCode
from policies.engine import failed_decision
from tests.support.gate_services import (
    ALICE,
    BOB,
    CAROL,
    ROOT,
    WRITE_PLAN,
    store_version,
)

SHIPPED_ROLE_TOOLS = {"approver": ["files.*", "table.*", "json.*", "http.request"], "admin": ["*"]}
NO_WRITES_FOR_ANALYSTS = {"role_tools": {**SHIPPED_ROLE_TOOLS,
                                         "analyst": ["files.read", "table.*", "json.*"]}}
TWO_APPROVERS_FOR_ANY_WRITE = {"approval": {"roles": ["approver", "admin"], "two_person_risk": 20}}
ADMINS_ONLY = {"approval": {"roles": ["admin"], "two_person_risk": 60}}
ANOTHER_ALLOWLIST = {"egress_allowlist": ["api.internal.example"]}


def _approved(services) -> str:
    version = store_version(services, WRITE_PLAN)
    vet_version(services, version)
    approve(services, version.plan_id, BOB)
    require_approved(services, version.plan_id)
    return version.plan_id


def _decision_events(services, plan_id):
    return services.ledger.events(subject=plan_id, kinds=[EventKind.DECISION.value])


def test_an_approved_plan_the_current_policies_deny_does_not_run(opened):
    plan_id = _approved(opened())
    now = opened(policy_data=NO_WRITES_FOR_ANALYSTS)
    with pytest.raises(NotApprovedError) as info:
        require_approved(now, plan_id)
    message = info.value.message
    assert "the policies changed since" in message and "now deny it" in message
    assert "alice (roles: analyst) may not use tool files.write" in message
    assert now.plan_store.get(plan_id).status is VersionStatus.DENIED
    assert gate_state(now, plan_id).status is GateStatus.DENIED
    events = _decision_events(now, plan_id)
    assert len(events) == 2 and events[-1].payload["decided_again"].startswith("the policies changed")
    assert events[-1].payload["bundle_hash"] == now.policy_engine.bundle_hash
    assert events[-1].payload["previous_bundle_hash"] == events[0].payload["bundle_hash"]


def test_a_plan_the_current_policies_deny_cannot_be_approved(opened):
    then = opened()
    version = store_version(then, WRITE_PLAN)
    vet_version(then, version)
    now = opened(policy_data=NO_WRITES_FOR_ANALYSTS)
    with pytest.raises(ApprovalRefused) as info:
        approve(now, version.plan_id, BOB)
    assert info.value.refusal is RefusalCode.DENIED_PLAN
    assert "the policies changed since" in info.value.message
    assert "may not use tool files.write" in info.value.message
    assert now.approval_store.records(version.plan_id, 1) == []
    assert now.plan_store.get(version.plan_id).status is VersionStatus.DENIED


def test_approvals_given_count_only_toward_what_the_current_policies_ask(opened):
    plan_id = _approved(opened())
    now = opened(policy_data=TWO_APPROVERS_FOR_ANY_WRITE)
    with pytest.raises(NotApprovedError, match="the policies changed since.*needs 1 more approval"):
        require_approved(now, plan_id)
    assert now.plan_store.get(plan_id).status is VersionStatus.PENDING_APPROVAL
    assert approve(now, plan_id, CAROL).status is GateStatus.APPROVED
    assert now.plan_store.get(plan_id).status is VersionStatus.APPROVED
    require_approved(now, plan_id)
    assert len(_decision_events(now, plan_id)) == 2  # taken again once, not at every check


def test_an_approval_by_a_role_the_current_policies_no_longer_name_does_not_count(opened):
    plan_id = _approved(opened())
    now = opened(policy_data=ADMINS_ONLY)
    with pytest.raises(NotApprovedError, match="bob no longer has role admin"):
        require_approved(now, plan_id)
    assert approve(now, plan_id, ROOT).status is GateStatus.APPROVED
    require_approved(now, plan_id)


def test_a_bundle_change_that_keeps_the_verdict_lets_the_plan_run(opened):
    plan_id = _approved(opened())
    now = opened(policy_data=ANOTHER_ALLOWLIST)
    require_approved(now, plan_id)
    require_approved(now, plan_id)
    assert now.plan_store.get(plan_id).status is VersionStatus.APPROVED
    assert len(_decision_events(now, plan_id)) == 2


def test_an_engine_failure_when_deciding_again_refuses_now_and_changes_nothing(opened,
                                                                              monkeypatch):
    plan_id = _approved(opened())
    now = opened(policy_data=ANOTHER_ALLOWLIST)
    engine = now.policy_engine
    monkeypatch.setattr(engine, "decide", lambda _input: failed_decision(
        "the OPA server did not answer", engine=engine.name, bundle_hash=engine.bundle_hash))
    with pytest.raises(NotApprovedError, match="cannot judge it now.*did not answer.*"
                                               "try again once the policy engine answers"):
        require_approved(now, plan_id)
    assert now.plan_store.get(plan_id).status is VersionStatus.APPROVED
    assert len(_decision_events(now, plan_id)) == 1
    monkeypatch.undo()
    require_approved(now, plan_id)


def test_a_queued_run_a_worker_picks_up_under_the_new_policies_fails_before_any_step(opened):
    then = opened()
    plan_id = _approved(then)
    queued = start_run(then, plan_id, ALICE, detach=True)
    assert queued.status is RunStatus.QUEUED
    now = opened(policy_data=NO_WRITES_FOR_ANALYSTS)
    assert run_worker(now, once=True) == 1
    ended = show_run(now, queued.run_id)
    assert ended.status is RunStatus.FAILED
    assert "the policies changed since" in (ended.error or "")
    assert all(step.attempts == 0 for step in ended.steps)


BATCH_PLAN = {"goal": "export the sales table", "steps": [
    {"id": "export", "tool": "warehouse.export", "args": {"table": "sales"}}]}
OFF_PEAK = datetime(2024, 6, 4, 22, 0, tzinfo=UTC)  # a Tuesday night
PEAK = datetime(2024, 6, 5, 10, 0, tzinfo=UTC)      # the Wednesday morning after


def test_a_decision_is_taken_again_as_of_its_own_time_not_the_hour_of_the_check(opened):
    """A batch job decided off-peak is not ended because the policies changed by day:
    time-of-day rules judge each call when its step runs, the plan's decision its own time."""
    then = opened()
    version = store_version(then, BATCH_PLAN, requester="root")
    assert vet_version(then, version, now=OFF_PEAK).allow
    with Session(then.engine) as session:  # recorded at the hour it was taken, with its input
        row = session.exec(select(DecisionRow).where(DecisionRow.plan_id == version.plan_id)).one()
        row.decided_at = OFF_PEAK
        row.input_hash = input_hash(policy_input(then, version, OFF_PEAK, None))
        session.add(row)
        session.commit()
    approve(then, version.plan_id, BOB, now=PEAK)
    now = opened(policy_data=ANOTHER_ALLOWLIST)
    require_approved(now, version.plan_id, now=PEAK + timedelta(minutes=5))
    assert now.plan_store.get(version.plan_id).status is VersionStatus.APPROVED
    assert len(_decision_events(now, version.plan_id)) == 2
