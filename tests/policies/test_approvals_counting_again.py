"""A version whose approvals count again is approved by its gate and runs, on SQLite and
PostgreSQL.

The walkthrough that found it: a plan needs two approvers; bob approves, loses the approver
role (or is removed from the settings), carol approves (the gate stays pending: bob's
approval no longer counts), and bob has the role back. The gate said approved, but the
stored status stayed pending_approval (it turned approved only when a new approval completed
the gate): `baton run` was refused, and bob and carol were both refused as having approved
already. Now the run approves it first (and records why, with the approvals that did it),
an approver asking again is told the gate is complete, and the reverse stays refused.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

import baton.usecases.gates as gates
from baton.usecases.approving import GATE_COMPLETE_NOW, approve
from baton.usecases.deciding import vet_version
from baton.usecases.gates import GATE_ACTOR, NotApprovedError, gate_state, require_approved
from baton.settings import User
from executor.ledger import EventKind
from planner.versions import VersionStatus
from policies.approval import ApprovalRefused, GateStatus, RefusalCode, check_can_approve
from tests.policies.test_gate_races import Meanwhile
from tests.support.gate_services import BOB, CAROL, DAVE, RISKY_PLAN, USERS, store_version

EVERYONE = {u.id: u for u in USERS}
# bob's standing while carol approves: the approver role taken away, or bob removed.
STANDINGS = {
    "demoted": {**EVERYONE, "bob": User(id="bob", roles=("analyst",))},
    "removed": {uid: u for uid, u in EVERYONE.items() if uid != "bob"},
}


@pytest.fixture(params=STANDINGS, ids=list(STANDINGS))
def stuck(request, opened) -> tuple[object, str]:
    """Services with bob's role back, and a plan bob and carol approved, bob without the
    role when carol did: its gate complete again, its stored status still pending."""
    services = opened(users=EVERYONE)
    version = store_version(services, RISKY_PLAN, requester="root")
    assert vet_version(services, version).approvals.count == 2
    approve(services, version.plan_id, BOB)
    without_bob = opened(users=STANDINGS[request.param])
    state = approve(without_bob, version.plan_id, CAROL)
    assert state.status is GateStatus.PENDING and state.missing_count == 1
    restored = opened(users=EVERYONE)
    assert gate_state(restored, version.plan_id).status is GateStatus.APPROVED
    assert _status(restored, version.plan_id) is VersionStatus.PENDING_APPROVAL
    return restored, version.plan_id


def _status(services, plan_id: str) -> VersionStatus:
    return services.plan_store.get(plan_id).status


def _completions(services, plan_id: str) -> list:
    """The ledger's gate_complete events: versions approved without a new approval."""
    return [e for e in services.ledger.events(subject=plan_id, kinds=[EventKind.GATE_COMPLETE.value])
            if e.actor == GATE_ACTOR]


def test_a_run_approves_the_version_whose_approvals_count_again_and_records_why(stuck):
    services, plan_id = stuck
    assert require_approved(services, plan_id).version == 1
    assert _status(services, plan_id) is VersionStatus.APPROVED
    [event] = _completions(services, plan_id)
    assert event.actor == GATE_ACTOR
    assert [a["actor"] for a in event.payload["completed_by"]] == ["bob", "carol"]
    assert event.payload["plan_hash"] == services.plan_store.get(plan_id).plan_hash
    assert "no new approval was given" in event.payload["why"]
    assert services.ledger.verify().ok
    require_approved(services, plan_id)  # approved now: nothing more recorded
    assert len(_completions(services, plan_id)) == 1


@pytest.mark.parametrize("approver", [BOB, CAROL], ids=["bob", "carol"])
def test_an_approver_whose_approval_counts_is_told_the_gate_is_complete(stuck, approver):
    services, plan_id = stuck
    records = len(services.approval_store.records(plan_id, 1))
    state = approve(services, plan_id, approver)
    assert state.status is GateStatus.APPROVED and GATE_COMPLETE_NOW in state.reasons
    assert {r.actor for r in state.valid_approvals} == {"bob", "carol"}
    assert len(services.approval_store.records(plan_id, 1)) == records  # nothing new approved
    assert _status(services, plan_id) is VersionStatus.APPROVED
    [event] = _completions(services, plan_id)
    assert event.payload["asked_by"] == approver.id
    require_approved(services, plan_id)
    # Approved now, as by a new approval: asking again is the plain refusal.
    with pytest.raises(ApprovalRefused, match="it has all 2 approval"):
        approve(services, plan_id, approver)


def test_another_approver_approving_it_is_recorded_as_ever(stuck):
    services, plan_id = stuck
    state = approve(services, plan_id, DAVE)
    assert state.status is GateStatus.APPROVED and GATE_COMPLETE_NOW not in state.reasons
    assert _status(services, plan_id) is VersionStatus.APPROVED
    assert _completions(services, plan_id) == []  # dave's approval event says it


def test_approvals_that_expired_meanwhile_do_not_complete_it(stuck):
    services, plan_id = stuck
    later = services.approval_store.records(plan_id, 1)[0].decided_at + timedelta(hours=2)
    with pytest.raises(NotApprovedError, match="pending_approval, not approved"):
        require_approved(services, plan_id, now=later)
    assert _status(services, plan_id) is VersionStatus.PENDING_APPROVAL
    assert _completions(services, plan_id) == []


def test_a_version_still_short_of_approvals_stays_pending(opened):
    services = opened(users=EVERYONE)
    version = store_version(services, RISKY_PLAN, requester="root")
    vet_version(services, version)
    approve(services, version.plan_id, BOB)
    without_bob = opened(users=STANDINGS["demoted"])
    approve(without_bob, version.plan_id, CAROL)
    with pytest.raises(NotApprovedError, match="pending_approval, not approved"):
        require_approved(without_bob, version.plan_id)
    with pytest.raises(ApprovalRefused, match="another person must approve") as refused:
        approve(without_bob, version.plan_id, CAROL)
    assert refused.value.refusal is RefusalCode.DOUBLE_APPROVAL
    assert _status(without_bob, version.plan_id) is VersionStatus.PENDING_APPROVAL
    assert _completions(without_bob, version.plan_id) == []


def test_an_approved_version_whose_approver_lost_the_role_still_may_not_run(opened):
    services = opened(users=EVERYONE)
    version = store_version(services, RISKY_PLAN, requester="root")
    vet_version(services, version)
    approve(services, version.plan_id, BOB)
    approve(services, version.plan_id, CAROL)
    assert _status(services, version.plan_id) is VersionStatus.APPROVED
    without_bob = opened(users=STANDINGS["demoted"])
    with pytest.raises(NotApprovedError, match="bob lost the role"):
        require_approved(without_bob, version.plan_id)
    assert _status(without_bob, version.plan_id) is VersionStatus.APPROVED
    assert _completions(without_bob, version.plan_id) == []


def test_two_processes_approving_it_at_once_record_it_once(stuck, opened, monkeypatch):
    """The second run's check comes while the first holds the plan's lock, between its look
    at the gate and its write: it waits, then finds the version approved."""
    services, plan_id = stuck
    other = opened(users=EVERYONE)
    meanwhile = Meanwhile(lambda: require_approved(other, plan_id))
    monkeypatch.setattr(gates, "evaluate_gate", meanwhile.wrap(gates.evaluate_gate))
    require_approved(services, plan_id)
    assert meanwhile.finish() == []
    assert _status(services, plan_id) is VersionStatus.APPROVED
    assert len(_completions(services, plan_id)) == 1


def test_a_second_approval_is_refused_counting_only_approvers_who_hold_the_role():
    """The pure rule: the refusal says what the gate says (carol's approval counts no more)."""
    from tests.policies.test_approval_gate import NOW, ROLES, TTL, decision, record, target

    demoted = {**ROLES, "carol": ("analyst",)}
    approvals = [record("bob"), record("carol")]
    for roles, rest in ((ROLES, "it has all 2 approval(s) it needs"),
                        (demoted, "another person must approve")):
        with pytest.raises(ApprovalRefused, match=re.escape(rest)):
            check_can_approve("bob", ("approver",), target(), decision(count=2), approvals, NOW,
                              TTL, current_roles=roles)
