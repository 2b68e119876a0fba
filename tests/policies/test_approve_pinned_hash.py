"""An approval or a rejection pinned to the plan hash the approver reviewed, on SQLite and
PostgreSQL.

Without a pin, "approve the plan" approves whatever version is latest when the approval
lands: a revision made while the approver was reading gets an approval nobody gave it (or a
rejection, ending a version nobody judged).
"""

from __future__ import annotations

import pytest

from baton.usecases.deciding import vet_version
from baton.usecases.gates import gate_state
from planner.versions import VersionStatus
from policies.approval import ApprovalRefused, GateStatus, RefusalCode
from tests.support.gate_actions import GATE_ACTIONS
from tests.support.gate_services import BACKENDS, BOB, WRITE_PLAN, gate_services, store_version
from tools import BatonError

REVISED = {**WRITE_PLAN, "goal": "copy the export", "steps": [
    WRITE_PLAN["steps"][0], {**WRITE_PLAN["steps"][1],
                             "args": {"path": "public/leak.csv", "text": {"ref": "load.text"}}}]}


@pytest.fixture(params=BACKENDS)
def services(request, tmp_path):
    with gate_services(request.param, tmp_path) as services:
        yield services


@pytest.fixture(params=GATE_ACTIONS)
def act(request):
    """Approve, then reject: each pins the version reviewed the same way."""
    return request.param


@pytest.fixture
def revised(services):
    """v1 (what bob reviewed) and v2 (a revision he never saw), both decided."""
    v1 = store_version(services, WRITE_PLAN)
    vet_version(services, v1)
    v2 = store_version(services, REVISED, plan_id=v1.plan_id)
    vet_version(services, v2)
    return v1, v2


def test_an_answer_to_the_hash_reviewed_is_refused_after_a_revision(services, revised, act):
    v1, v2 = revised
    with pytest.raises(ApprovalRefused) as info:
        act.call(services, v1.plan_id, BOB, plan_hash=v1.plan_hash)
    assert info.value.refusal is RefusalCode.VERSION_CHANGED
    assert info.value.code == "version_changed"
    message = info.value.message
    assert f"v1 (sha256:{v1.plan_hash[:16]}" in message
    assert f"v2 (sha256:{v2.plan_hash[:16]}" in message and f"nothing was {act.done}" in message
    assert services.approval_store.records(v1.plan_id, 2) == []
    assert services.plan_store.get(v1.plan_id).status is VersionStatus.PENDING_APPROVAL


def test_a_hash_pin_and_a_version_must_name_the_same_version(services, revised, act):
    v1, v2 = revised
    with pytest.raises(ApprovalRefused) as info:
        act.call(services, v1.plan_id, BOB, version=2, plan_hash=v1.plan_hash[:12])
    assert info.value.refusal is RefusalCode.VERSION_CHANGED


@pytest.mark.parametrize("shown", [
    lambda h: h, lambda h: h[:12], lambda h: "sha256:" + h[:16], lambda h: h[:20].upper()])
def test_the_current_hash_or_a_prefix_of_it_is_answered(services, revised, shown, act):
    _, v2 = revised
    state = act.call(services, v2.plan_id, BOB, plan_hash=shown(v2.plan_hash))
    assert state.status is act.status
    assert (act.record(state).version, act.record(state).plan_hash) == (2, v2.plan_hash)


def test_a_hash_no_version_has_is_refused_naming_the_current_one(services, revised, act):
    _, v2 = revised
    with pytest.raises(ApprovalRefused, match="no version of the plan has that hash") as info:
        act.call(services, v2.plan_id, BOB, plan_hash="0" * 64)
    assert f"v2 (sha256:{v2.plan_hash[:16]}" in info.value.message
    assert gate_state(services, v2.plan_id).status is GateStatus.PENDING


@pytest.mark.parametrize("bad", ["abc123", "g" * 16, "sha256:", "", " " * 3, "0" * 65])
def test_a_hash_that_is_not_a_12_to_64_hex_prefix_is_refused(services, revised, bad, act):
    _, v2 = revised
    with pytest.raises(BatonError) as info:
        act.call(services, v2.plan_id, BOB, plan_hash=bad)
    assert info.value.code == "invalid_plan_hash"
    assert services.approval_store.records(v2.plan_id, 2) == []
