"""A pre-approval counts only while its pre-approver may still pre-approve, on SQLite and
PostgreSQL.

Whoever saved a pre-approved template (``approved_by``) had to hold a role that may
pre-approve (``templates.PRE_APPROVING_ROLES``). Once they lose it, or are no longer a
declared user, the template's instances are no standard change (fail closed, as an approval
stops counting when its approver loses the role): new plans from it need a normal approval,
with the reason in the decision's notes, and plans already decided on the strength of the
pre-approval are decided again before they are approved or run.
"""

from __future__ import annotations

import copy

import pytest
import yaml

from baton.settings import User
from baton.usecases.approving import approve
from baton.usecases.deciding import decision_for, stale_decision
from baton.usecases.gates import NotApprovedError, require_approved
from baton.usecases.plans import plan_goal
from baton.usecases.templates import add_template_file
from executor.ledger import EventKind
from planner.versions import VersionStatus
from policies.approval import GateStatus
from policies.bundle import SHIPPED_FIXTURES
from policies.fixtures_runner import load_fixtures
from tests.support.gate_services import ALICE, BOB, USERS

TEMPLATE = {
    "name": "overwrite-payroll", "description": "Overwrite payroll.csv with a fixed line.",
    "pre_approved": True, "example_goals": ["Overwrite payroll.csv"],
    "patterns": ["overwrite {target}"], "params": [{"name": "target", "enum": ["payroll.csv"]}],
    "plan": {"steps": [{"id": "save", "tool": "files.write", "args": {
        "path": "{{target}}", "text": "changed", "overwrite": True}}]},
}
GOAL = "Overwrite payroll.csv"
DANA = User(id="dana", roles=("admin",))
LAPSED = ("not a standard change: the pre-approval of template overwrite-payroll v1 no longer "
          "counts: {why}; an approver must sign it off")
DEMOTED = "dana no longer has role approver or admin"
REMOVED = "dana is no longer a declared user (pre-approving needs role approver or admin)"


def _users(*users: User) -> dict[str, User]:
    return {u.id: u for u in users}


# dana's standing in settings after the change, and what the decision says of it.
STANDINGS = {
    "demoted": (_users(*USERS, User(id="dana", roles=("analyst",))), DEMOTED),
    "role-less": (_users(*USERS, User(id="dana", roles=())), DEMOTED),
    "removed": (_users(*USERS), REMOVED),
}


@pytest.fixture
def opened(opened, tmp_path):
    """``opened(users)``: Services on the test's database and templates directory with those
    users declared (dana, an admin, unless given): a process started with those settings."""
    return lambda users=None: opened(templates_dir=tmp_path / "templates",
                                     users=users or _users(*USERS, DANA))


def _standard_change(opened, tmp_path) -> str:
    """A plan alice made from a template dana (admin) pre-approved: approved with no approver."""
    services = opened()
    source = tmp_path / "t.yaml"
    source.write_text(yaml.safe_dump(TEMPLATE))
    assert add_template_file(services, source, DANA).approved_by == "dana"
    stored = plan_goal(services, GOAL, ALICE)
    assert stored.status is VersionStatus.APPROVED
    require_approved(services, stored.plan_id)
    return stored.plan_id


def _notes(services, plan_id) -> tuple[str, ...]:
    return decision_for(services, plan_id).decision.notes


@pytest.mark.parametrize("standing", STANDINGS.values(), ids=STANDINGS.keys())
def test_a_new_plan_from_the_template_needs_approval_once_its_pre_approver_lost_standing(
        opened, tmp_path, standing):
    _standard_change(opened, tmp_path)
    users, why = standing
    later = opened(users)
    stored = plan_goal(later, GOAL, ALICE)
    assert stored.status is VersionStatus.PENDING_APPROVAL
    decided = decision_for(later, stored.plan_id).decision
    assert decided.approvals.count == 1
    assert LAPSED.format(why=why) in decided.notes
    assert not any(note.startswith("standard change") for note in decided.notes)
    with pytest.raises(NotApprovedError, match="pending_approval, not approved"):
        require_approved(later, stored.plan_id)
    assert approve(later, stored.plan_id, BOB).status is GateStatus.APPROVED
    require_approved(later, stored.plan_id)


@pytest.mark.parametrize("standing", STANDINGS.values(), ids=STANDINGS.keys())
def test_a_standard_change_is_refused_a_run_once_its_pre_approver_lost_standing(
        opened, tmp_path, standing):
    plan_id = _standard_change(opened, tmp_path)
    users, why = standing
    later = opened(users)
    stale = stale_decision(later, plan_id)
    assert stale is not None and why in stale
    with pytest.raises(NotApprovedError, match="changed since it was decided.*whose "
                       "pre-approval no longer counts.*needs 1 more approval"):
        require_approved(later, plan_id)
    assert later.plan_store.get(plan_id).status is VersionStatus.PENDING_APPROVAL
    assert LAPSED.format(why=why) in _notes(later, plan_id)
    events = later.ledger.events(subject=plan_id, kinds=[EventKind.DECISION.value])
    assert len(events) == 2
    assert events[0].payload["input_hash"] != events[-1].payload["input_hash"]
    assert events[-1].payload["template_check"]["pre_approval_problems"] == [why]
    assert approve(later, plan_id, BOB).status is GateStatus.APPROVED
    require_approved(later, plan_id)
    assert len(later.ledger.events(subject=plan_id, kinds=[EventKind.DECISION.value])) == 2


def test_an_approval_is_refused_nothing_but_counts_once_the_pre_approval_lapsed(opened,
                                                                                tmp_path):
    """Approving decides the version again first: bob's approval is what it now needs."""
    plan_id = _standard_change(opened, tmp_path)
    later = opened(STANDINGS["removed"][0])
    assert approve(later, plan_id, BOB).status is GateStatus.APPROVED
    assert LAPSED.format(why=REMOVED) in _notes(later, plan_id)
    require_approved(later, plan_id)


def test_a_pre_approver_who_keeps_an_approving_role_keeps_the_standard_change(opened, tmp_path,
                                                                              monkeypatch):
    """Losing admin but keeping approver is still standing: nothing is decided again."""
    plan_id = _standard_change(opened, tmp_path)
    later = opened(_users(*USERS, User(id="dana", roles=("approver", "auditor"))))
    monkeypatch.setattr(later.policy_engine, "decide",
                        lambda _input: pytest.fail("decided again with nothing changed"))
    assert stale_decision(later, plan_id) is None
    require_approved(later, plan_id)
    monkeypatch.undo()
    assert plan_goal(later, GOAL, ALICE).status is VersionStatus.APPROVED


def test_a_pre_approver_given_the_role_back_makes_standard_changes_again(opened, tmp_path):
    _standard_change(opened, tmp_path)
    demoted = opened(STANDINGS["demoted"][0])
    assert plan_goal(demoted, GOAL, ALICE).status is VersionStatus.PENDING_APPROVAL
    restored = opened()
    stored = plan_goal(restored, GOAL, ALICE)
    assert stored.status is VersionStatus.APPROVED
    assert any(note.startswith("standard change: made from pre-approved template "
                               "overwrite-payroll v1") for note in _notes(restored, stored.plan_id))


def test_a_template_check_without_the_pre_approvers_standing_makes_no_standard_change(engine):
    """An input made without judging the pre-approver (a caller of an older shape, a custom
    input): the shipped policies fail closed, on either engine."""
    [fixture] = [f for f in load_fixtures(SHIPPED_FIXTURES)
                 if f.name == "pre_approved_template_in_bounds_needs_no_approval"]
    assert engine.decide(fixture.input).approvals.count == 0
    document = copy.deepcopy(fixture.input)
    del document["template"]["pre_approval_problems"]
    decided = engine.decide(document)
    assert decided.allow and decided.approvals.count == 1
    assert ("not a standard change: the pre-approval of template copy_file v1 no longer counts: "
            "nobody judged whether its pre-approver may still pre-approve; an approver must "
            "sign it off") in decided.notes
