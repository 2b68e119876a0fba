"""A decision rests on its whole policy input, on SQLite and PostgreSQL.

Beside the plan and the bundle, the policies judge the requester's and author's roles (from
settings) and the specs of the tools the plan calls (effects, tags: ``[[tools.http]]``
config can change them). The hash of the input, built as of the decision's time, is stored
with each decision; before an approval and before every run the input is built again as of
that time, and a version whose input hashes otherwise is decided again, for every plan.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from baton.usecases.gates import NotApprovedError, require_approved
from planner.versions import VersionStatus
from tests.support.gate_services import ALICE, USERS
from tests.support.policy_tools import policy_registry
from tools import Effect, ToolRegistry

from tests.policies.test_decision_rests_on_its_template_check import _engine_down
from tests.policies.test_decision_taken_again import _approved, _decision_events


def _with_tool(tmp_path, name: str, **changes) -> ToolRegistry:
    """The policy test registry with tool ``name``'s spec changed."""
    registry = ToolRegistry()
    for spec in policy_registry(tmp_path / "ws"):
        registry.add(replace(spec, **changes) if spec.name == name else spec)
    return registry


def test_a_requester_who_lost_their_role_has_their_approved_plan_decided_again(opened):
    plan_id = _approved(opened())
    users = {u.id: u for u in USERS} | {ALICE.id: ALICE.model_copy(update={"roles": ()})}
    now = opened(users=users)
    with pytest.raises(NotApprovedError, match="on changed since it was decided.*deny"):
        require_approved(now, plan_id)
    assert now.plan_store.get(plan_id).status is VersionStatus.DENIED
    events = _decision_events(now, plan_id)
    assert len(events) == 2 and "roles" in events[-1].payload["decided_again"]
    assert events[-1].payload["previous_input_hash"] == events[0].payload["input_hash"]
    assert events[-1].payload["input_hash"] != events[0].payload["input_hash"]


def test_a_tool_made_destructive_after_approval_asks_for_another_approver(opened, tmp_path):
    plan_id = _approved(opened())
    now = opened(registry=_with_tool(tmp_path, "files.write", tags=("destructive",)))
    with pytest.raises(NotApprovedError, match="specs of the tools.*needs 1 more approval"):
        require_approved(now, plan_id)
    assert now.plan_store.get(plan_id).status is VersionStatus.PENDING_APPROVAL
    assert len(_decision_events(now, plan_id)) == 2


def test_a_tool_whose_effect_changed_is_decided_again_once(opened, tmp_path, monkeypatch):
    plan_id = _approved(opened())
    now = opened(registry=_with_tool(tmp_path, "files.read", effect=Effect.WRITE))
    require_approved(now, plan_id)  # the same verdict, recorded with the new input
    events = _decision_events(now, plan_id)
    assert len(events) == 2 and "specs of the tools" in events[-1].payload["decided_again"]
    _engine_down(monkeypatch, now)
    require_approved(now, plan_id)  # not asked again: the input holds
    assert len(_decision_events(now, plan_id)) == 2


def test_runs_under_unchanged_settings_ask_the_policies_nothing(opened, monkeypatch):
    plan_id = _approved(opened())
    now = opened()
    _engine_down(monkeypatch, now)
    for _ in range(3):
        require_approved(now, plan_id)
    events = _decision_events(now, plan_id)
    assert len(events) == 1 and events[0].payload["input_hash"]
