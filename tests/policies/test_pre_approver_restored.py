"""A standard change held pending while its pre-approver lost standing is one again once they
have their role back, on SQLite and PostgreSQL.

Demoting the pre-approver takes the plan's decision again (it needs an approval: pending);
giving the role back makes the stored decision stale once more. A run (and a resume, and a
worker's admission: all :func:`require_approved`) takes it again first and runs the standard
change; an approver asked to approve it is told it needs no approval now, as a success. A
version whose decision, taken again, still needs an approval stays refused.
"""

from __future__ import annotations

import pytest

from baton.usecases.approving import approve
from baton.usecases.deciding import decision_for, stale_decision
from baton.usecases.gates import NotApprovedError, require_approved
from executor.ledger import EventKind
from planner.versions import VersionStatus
from policies.engine import ENGINE_ERROR
from policies.approval import ApprovalRefused, GateStatus, RefusalCode
from tests.policies.test_pre_approver_standing import (
    DANA,
    STANDINGS,
    _standard_change,
    _users,
)
from tests.support.gate_services import BOB, CAROL, USERS


NO_APPROVAL_NOW = "the decision was taken again: it needs no approval now"


@pytest.fixture
def opened(opened, tmp_path):
    """``opened(users)``: Services on the test's database and templates directory (dana, an
    admin who pre-approves the template, declared unless other users are given)."""
    return lambda users=None: opened(templates_dir=tmp_path / "templates",
                                     users=users or _users(*USERS, DANA))


def _held_pending(opened, tmp_path) -> str:
    """A standard change refused a run (and so held pending) while dana was demoted."""
    plan_id = _standard_change(opened, tmp_path)
    demoted = opened(STANDINGS["demoted"][0])
    with pytest.raises(NotApprovedError, match="needs 1 more approval"):
        require_approved(demoted, plan_id)
    assert demoted.plan_store.get(plan_id).status is VersionStatus.PENDING_APPROVAL
    return plan_id


def _decisions(services, plan_id) -> list:
    return services.ledger.events(subject=plan_id, kinds=[EventKind.DECISION.value])


def test_a_run_takes_the_decision_again_once_the_pre_approver_has_the_role_back(opened,
                                                                                 tmp_path):
    plan_id = _held_pending(opened, tmp_path)
    restored = opened()
    assert "changed since it was decided" in (stale_decision(restored, plan_id) or "")
    assert require_approved(restored, plan_id).version == 1
    assert restored.plan_store.get(plan_id).status is VersionStatus.APPROVED
    assert decision_for(restored, plan_id).decision.approvals.count == 0
    assert stale_decision(restored, plan_id) is None
    assert len(_decisions(restored, plan_id)) == 3
    require_approved(restored, plan_id)  # the decision stands now: nothing taken again
    assert len(_decisions(restored, plan_id)) == 3


def test_approving_it_then_says_it_needs_no_approval_and_succeeds(opened, tmp_path):
    plan_id = _held_pending(opened, tmp_path)
    restored = opened()
    state = approve(restored, plan_id, CAROL)
    assert state.status is GateStatus.APPROVED and state.missing_count == 0
    assert state.valid_approvals == ()  # nothing was recorded: none was needed
    assert NO_APPROVAL_NOW in state.reasons
    assert restored.plan_store.get(plan_id).status is VersionStatus.APPROVED
    assert restored.approval_store.records(plan_id, 1) == []
    assert restored.ledger.events(subject=plan_id, kinds=[EventKind.APPROVAL.value]) == []
    require_approved(restored, plan_id)
    # The decision stands now: a second approval is the plain refusal of a standard change.
    with pytest.raises(ApprovalRefused) as refused:
        approve(restored, plan_id, BOB)
    assert refused.value.refusal is RefusalCode.NOT_NEEDED


def test_who_asked_for_it_still_cannot_approve_it_even_when_none_is_needed(opened, tmp_path):
    """The re-decision is recorded, but the four-eyes refusals still come first."""
    plan_id = _held_pending(opened, tmp_path)
    restored = opened()
    with pytest.raises(ApprovalRefused) as refused:
        approve(restored, plan_id, restored.settings.user_named("alice"))
    assert refused.value.refusal is RefusalCode.SELF_APPROVAL


def test_a_decision_taken_again_that_still_needs_approval_stays_refused(opened, tmp_path):
    """Another change while pending (dana, demoted, is then removed): taken again, still an
    approval short, still refused."""
    plan_id = _held_pending(opened, tmp_path)
    later = opened(STANDINGS["removed"][0])
    assert stale_decision(later, plan_id) is not None
    with pytest.raises(NotApprovedError, match="changed since it was decided.*"
                       "needs 1 more approval"):
        require_approved(later, plan_id)
    assert later.plan_store.get(plan_id).status is VersionStatus.PENDING_APPROVAL
    assert stale_decision(later, plan_id) is None
    with pytest.raises(NotApprovedError, match="pending_approval, not approved"):
        require_approved(later, plan_id)
    assert approve(later, plan_id, BOB).status is GateStatus.APPROVED
    require_approved(later, plan_id)


def test_a_pending_version_whose_decision_stands_is_refused_without_asking_the_policies(
        opened, tmp_path, monkeypatch):
    plan_id = _held_pending(opened, tmp_path)
    demoted = opened(STANDINGS["demoted"][0])
    monkeypatch.setattr(demoted.policy_engine, "decide",
                        lambda _input: pytest.fail("decided again with nothing changed"))
    with pytest.raises(NotApprovedError, match="pending_approval, not approved"):
        require_approved(demoted, plan_id)


def test_an_engine_failure_on_taking_it_again_refuses_the_run(opened, tmp_path, monkeypatch):
    plan_id = _held_pending(opened, tmp_path)
    restored = opened()
    failed = decision_for(restored, plan_id).decision.model_copy(
        update={"allow": False, "deny": (f"{ENGINE_ERROR}: down",)})
    monkeypatch.setattr(restored.policy_engine, "decide", lambda _input: failed)
    with pytest.raises(NotApprovedError, match="cannot judge it now"):
        require_approved(restored, plan_id)
    assert restored.plan_store.get(plan_id).status is VersionStatus.PENDING_APPROVAL
