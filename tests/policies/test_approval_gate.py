"""The approval gate's pure rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from policies.approval import (
    ApprovalKind,
    ApprovalRecord,
    ApprovalRefused,
    ApprovalTarget,
    GateStatus,
    RefusalCode,
    check_can_approve,
    check_can_reject,
    evaluate_gate,
)
from policies.contracts import ApprovalsNeeded, Decision

NOW = datetime(2024, 6, 4, 12, 0, tzinfo=UTC)
TTL = timedelta(hours=1)
HASH = "a" * 64
ROLES = {"alice": ("analyst",), "bob": ("approver",), "carol": ("approver",)}


def decision(count: int = 1, allow: bool = True) -> Decision:
    return Decision(allow=allow, deny=() if allow else ("step x: nope",),
                    approvals=ApprovalsNeeded(count=count, roles=("approver",)),
                    engine="embedded", bundle_hash="b" * 64)


def target(**changes) -> ApprovalTarget:
    base = dict(plan_id="p-1", version=1, latest_version=1, plan_hash=HASH, decided_hash=HASH,
                requester="alice")
    return ApprovalTarget(**{**base, **changes})


def record(actor: str, *, at: datetime = NOW, kind=ApprovalKind.APPROVE, plan_hash: str = HASH,
           comment: str | None = None) -> ApprovalRecord:
    return ApprovalRecord(plan_id="p-1", version=1, plan_hash=plan_hash, actor=actor, kind=kind,
                          comment=comment, decided_at=at,
                          expires_at=at + TTL if kind is ApprovalKind.APPROVE else None)


def refused(code: RefusalCode, actor="bob", roles=("approver",), tgt=None, dec=None, approvals=()):
    with pytest.raises(ApprovalRefused) as info:
        check_can_approve(actor, roles, tgt or target(), dec or decision(), list(approvals), NOW, TTL)
    assert info.value.refusal is code
    assert info.value.code == code.value
    return info.value


def test_approver_with_the_role_may_approve():
    check_can_approve("bob", ("approver",), target(), decision(), [], NOW, TTL)


def test_requester_cannot_approve_their_own_plan():
    refused(RefusalCode.SELF_APPROVAL, actor="alice")


def test_approver_needs_a_role_the_decision_asks_for():
    error = refused(RefusalCode.WRONG_ROLE, roles=("analyst",))
    assert "approver" in error.message


def test_one_person_cannot_approve_twice():
    error = refused(RefusalCode.DOUBLE_APPROVAL, dec=decision(count=2), approvals=[record("bob")])
    assert error.message.endswith("another person must approve")


def test_approving_again_a_plan_that_has_its_approvals_says_so():
    error = refused(RefusalCode.DOUBLE_APPROVAL, approvals=[record("bob")])
    assert error.message == ("bob has already approved plan p-1 v1; "
                             "it has all 1 approval(s) it needs")


def test_stale_version_cannot_be_approved():
    refused(RefusalCode.STALE_VERSION, tgt=target(latest_version=2))


def test_plan_edited_after_the_decision_cannot_be_approved():
    refused(RefusalCode.PLAN_CHANGED, tgt=target(plan_hash="c" * 64))


def test_denied_plan_cannot_be_approved():
    refused(RefusalCode.DENIED_PLAN, dec=decision(allow=False))


def test_rejected_version_cannot_be_approved():
    refused(RefusalCode.ENDED_VERSION,
            approvals=[record("carol", kind=ApprovalKind.REJECT, comment="too risky")])


def test_plan_needing_no_approval_is_not_approved_by_hand():
    refused(RefusalCode.NOT_NEEDED, dec=decision(count=0))


def test_plan_without_a_decision_cannot_be_approved():
    with pytest.raises(ApprovalRefused) as info:
        check_can_approve("bob", ("approver",), target(), None, [], NOW, TTL)
    assert info.value.refusal is RefusalCode.NO_DECISION


def test_expired_approval_lets_the_same_person_approve_again():
    old = record("bob", at=NOW - timedelta(hours=2))
    check_can_approve("bob", ("approver",), target(), decision(), [old], NOW, TTL)


def test_gate_is_pending_until_n_distinct_approvers():
    dec = decision(count=2)
    one = evaluate_gate(dec, "alice", [record("bob")], NOW, HASH, TTL, ROLES)
    assert one.status is GateStatus.PENDING and one.missing_count == 1
    same_twice = evaluate_gate(dec, "alice", [record("bob"), record("bob")], NOW, HASH, TTL, ROLES)
    assert same_twice.missing_count == 1
    two = evaluate_gate(dec, "alice", [record("bob"), record("carol")], NOW, HASH, TTL, ROLES)
    assert two.status is GateStatus.APPROVED and len(two.valid_approvals) == 2


def test_expired_approvals_no_longer_count():
    old = record("bob", at=NOW - timedelta(hours=2))
    state = evaluate_gate(decision(), "alice", [old], NOW, HASH, TTL, ROLES)
    assert state.status is GateStatus.PENDING
    assert any("no longer valid" in r for r in state.reasons)


def test_an_author_of_a_revision_cannot_approve():
    error = refused(RefusalCode.SELF_APPROVAL, actor="bob", tgt=target(authors=("bob",)))
    assert "wrote a version" in error.message


def test_approvals_by_authors_never_count():
    state = evaluate_gate(decision(), "alice", [record("bob")], NOW, HASH, TTL, ROLES, authors=("bob",))
    assert state.status is GateStatus.PENDING
    assert "bob wrote a version of the plan" in state.reasons[-1]


def test_approvals_of_another_plan_hash_do_not_count():
    state = evaluate_gate(decision(), "alice", [record("bob", plan_hash="d" * 64)], NOW, HASH, TTL, ROLES)
    assert state.status is GateStatus.PENDING


def test_self_approval_records_never_count():
    state = evaluate_gate(decision(), "alice", [record("alice")], NOW, HASH, TTL, ROLES)
    assert state.status is GateStatus.PENDING


def test_rejection_ends_the_version_with_its_reason():
    records = [record("bob"), record("carol", kind=ApprovalKind.REJECT, comment="wrong host")]
    state = evaluate_gate(decision(count=1), "alice", records, NOW, HASH, TTL, ROLES)
    assert state.status is GateStatus.REJECTED
    assert "wrong host" in state.reasons[0]


def test_denied_decision_keeps_the_gate_denied():
    state = evaluate_gate(decision(allow=False), "alice", [record("bob")], NOW, HASH, TTL, ROLES)
    assert state.status is GateStatus.DENIED and state.reasons == ("step x: nope",)


def test_no_approval_needed_means_approved():
    assert evaluate_gate(decision(count=0), "alice", [], NOW, HASH, TTL, ROLES).status is GateStatus.APPROVED


def test_reject_needs_the_role_unless_it_is_the_requester_withdrawing():
    check_can_reject("alice", (), target(), decision(), [])
    with pytest.raises(ApprovalRefused) as info:
        check_can_reject("eve", ("analyst",), target(), decision(), [])
    assert info.value.refusal is RefusalCode.WRONG_ROLE


def test_approval_by_someone_who_lost_the_role_no_longer_counts():
    demoted = {**ROLES, "bob": ("analyst",)}
    state = evaluate_gate(decision(), "alice", [record("bob")], NOW, HASH, TTL, demoted)
    assert state.status is GateStatus.PENDING and state.valid_approvals == ()
    assert any("bob" in r and "no longer has role approver" in r for r in state.reasons)


def test_approval_by_a_user_removed_from_settings_no_longer_counts():
    removed = {k: v for k, v in ROLES.items() if k != "bob"}
    state = evaluate_gate(decision(), "alice", [record("bob")], NOW, HASH, TTL, removed)
    assert state.status is GateStatus.PENDING
    assert any("bob" in r and "approver" in r for r in state.reasons)


def test_only_approvers_still_holding_the_role_count_toward_the_total():
    demoted = {**ROLES, "bob": ()}
    state = evaluate_gate(decision(count=2), "alice", [record("bob"), record("carol")], NOW, HASH,
                          TTL, demoted)
    assert state.missing_count == 1
    assert [r.actor for r in state.valid_approvals] == ["carol"]


def test_a_lowered_ttl_shortens_approvals_already_given():
    """Given under a 1-hour TTL (stored expiry NOW + 1 h); the TTL is now 10 minutes."""
    given = record("bob")
    shorter = timedelta(minutes=10)
    later = NOW + timedelta(minutes=11)
    state = evaluate_gate(decision(), "alice", [given], later, HASH, shorter, ROLES)
    assert state.status is GateStatus.PENDING
    assert any("no longer valid (expired" in r for r in state.reasons)
    assert evaluate_gate(decision(), "alice", [given], NOW + timedelta(minutes=9), HASH, shorter,
                         ROLES).status is GateStatus.APPROVED
    check_can_approve("bob", ("approver",), target(), decision(), [given], later, shorter)


def test_a_raised_ttl_does_not_lengthen_approvals_already_given():
    given = record("bob")
    state = evaluate_gate(decision(), "alice", [given], NOW + timedelta(hours=2), HASH,
                          timedelta(days=7), ROLES)
    assert state.status is GateStatus.PENDING
