"""``stale_decision``: why a shown decision will be taken again, read without deciding, on
SQLite and PostgreSQL.

What shows a version's decision (``baton plans show``, the API's plan, the web plan page)
says whether it still stands: the settings or policies may have changed under it, and it is
then taken again (perhaps as a deny) the moment someone approves or runs it. The reason is
the one ``decide_again`` records, and reading it asks the policy engine nothing and writes
nothing.
"""

from __future__ import annotations

import pytest

from baton.usecases.approving import approve, reject
from baton.usecases.deciding import stale_decision, vet_version
from baton.usecases.gates import NotApprovedError, require_approved
from planner.versions import VersionStatus
from tests.support.gate_services import ALICE, BOB, USERS, WRITE_PLAN, store_version

from tests.policies.test_decision_rests_on_its_template_check import _edit, _standard_change
from tests.policies.test_decision_taken_again import (
    ANOTHER_ALLOWLIST,
    NO_WRITES_FOR_ANALYSTS,
    _approved,
)

WITHOUT_ALICES_ROLE = {u.id: u for u in USERS} | {ALICE.id: ALICE.model_copy(update={"roles": ()})}


def _pending(services) -> str:
    version = store_version(services, WRITE_PLAN)
    vet_version(services, version)
    return version.plan_id


def _engine_refuses(monkeypatch, services) -> None:
    """Any question to the policy engine fails the test."""
    def asked(_input):  # noqa: ANN001, ANN202
        raise AssertionError("the policy engine was asked")

    monkeypatch.setattr(services.policy_engine, "decide", asked)


def _written(services, plan_id: str) -> tuple[int, object, VersionStatus]:
    """What a read must leave as it was: the ledger's length, the decision, the status."""
    return (len(services.ledger.events()),
            services.approval_store.latest_decision(plan_id, 1),
            services.plan_store.get(plan_id).status)


def test_an_unchanged_setup_leaves_the_decision_standing(opened, monkeypatch):
    then = opened()
    pending, approved = _pending(then), _approved(then)
    now = opened()
    _engine_refuses(monkeypatch, now)
    assert stale_decision(now, pending) is None
    assert stale_decision(now, approved) is None


def test_a_requester_who_lost_their_role_makes_the_decision_stale_without_writing(
        opened, monkeypatch):
    plan_id = _pending(opened())
    now = opened(users=WITHOUT_ALICES_ROLE)
    _engine_refuses(monkeypatch, now)
    before = _written(now, plan_id)
    why = stale_decision(now, plan_id, 1)
    assert why is not None and "changed since it was decided" in why and "roles" in why
    assert _written(now, plan_id) == before


def test_the_reason_shown_is_the_one_the_run_gives(opened):
    plan_id = _approved(opened())
    now = opened(policy_data=NO_WRITES_FOR_ANALYSTS)
    why = stale_decision(now, plan_id)
    assert why is not None and why.startswith(f"the policies changed since plan {plan_id} v1")
    with pytest.raises(NotApprovedError) as info:
        require_approved(now, plan_id)
    assert why in info.value.message
    assert stale_decision(now, plan_id) is None  # denied now: closed


@pytest.mark.parametrize("close", ["reject", "revise"])
def test_a_closed_version_shows_nothing(opened, close):
    then = opened()
    plan_id = _pending(then)
    if close == "reject":
        reject(then, plan_id, BOB, reason="not this way")
    else:
        vet_version(then, store_version(then, WRITE_PLAN, plan_id=plan_id))
    now = opened(users=WITHOUT_ALICES_ROLE)
    assert now.plan_store.get(plan_id, 1).status in {VersionStatus.REJECTED,
                                                     VersionStatus.SUPERSEDED}
    assert stale_decision(now, plan_id, 1) is None


def test_an_undecided_version_shows_nothing(opened):
    version = store_version(opened(), WRITE_PLAN)
    assert stale_decision(opened(users=WITHOUT_ALICES_ROLE), version.plan_id) is None


def test_an_approval_takes_the_decision_again_and_it_stands_after(opened):
    plan_id = _pending(opened())
    now = opened(policy_data=ANOTHER_ALLOWLIST)
    assert stale_decision(now, plan_id) is not None
    approve(now, plan_id, BOB)
    assert stale_decision(now, plan_id) is None


def test_a_reason_quoting_a_value_configured_as_secret_since_shows_it_masked(opened, tmp_path):
    templates, plan_id = _standard_change(opened, tmp_path)
    _edit(templates, lambda t: t["params"][0].update(enum=["ledger.csv"]))
    plain = stale_decision(opened(templates_dir=templates), plan_id)
    assert plain is not None and "'payroll.csv' is not one of" in plain
    now = opened(templates_dir=templates, secrets={"PAYROLL_FILE": "payroll.csv"})
    masked = stale_decision(now, plan_id)
    assert masked is not None and "is not one of" in masked and "payroll.csv" not in masked
