"""Runs started through the application take their defaults from settings."""

from __future__ import annotations

import pytest

from baton.services import Services
from baton.settings import Settings, User
from baton.usecases.runs import start_run
from baton.usecases.vetting import approve, vet_version
from executor.store.plans import NewVersion
from planner.base import PlannerKind
from planner.plan import Plan
from planner.versions import VersionStatus
from tests.support.policy_tools import policy_registry

ALICE = User(id="alice", roles=("analyst",))
BOB = User(id="bob", roles=("approver",))
WRITE_PLAN = {"goal": "copy the export", "steps": [
    {"id": "load", "tool": "files.read", "args": {"path": "sales.csv"}},
    {"id": "save", "tool": "files.write", "args": {"path": "copy.csv", "text": {"ref": "load.text"}}}]}


@pytest.fixture
def services(tmp_path):
    settings = Settings.model_validate({
        "data_dir": tmp_path / ".baton", "executor": {"concurrency": 1},
        "users": {u.id: u.model_dump() for u in (ALICE, BOB)}})
    return Services(settings, registry=policy_registry(tmp_path / "ws"))


def _approved_plan(services) -> str:
    version = services.plan_store.create_plan(WRITE_PLAN["goal"], "alice", NewVersion(
        plan=Plan.model_validate(WRITE_PLAN), status=VersionStatus.VALIDATED,
        planner=PlannerKind.FILE, created_by="alice"))
    vet_version(services, version)
    approve(services, version.plan_id, BOB)
    return version.plan_id


def test_a_run_takes_the_configured_concurrency_unless_one_is_given(services):
    plan_id = _approved_plan(services)
    assert start_run(services, plan_id, ALICE, detach=True).concurrency == 1
    assert start_run(services, plan_id, ALICE, detach=True, concurrency=3).concurrency == 3
