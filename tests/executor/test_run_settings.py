"""Runs started through the application take their defaults from settings."""

from __future__ import annotations

import pytest

from baton.services import Services
from baton.settings import Settings
from baton.usecases.runs import start_run
from tests.support.approved_plans import ALICE, BOB, approved_copy_plan
from tests.support.policy_tools import policy_registry


@pytest.fixture
def services(tmp_path):
    settings = Settings.model_validate({
        "data_dir": tmp_path / ".baton", "executor": {"concurrency": 1},
        "users": {u.id: u.model_dump() for u in (ALICE, BOB)}})
    return Services(settings, registry=policy_registry(tmp_path / "ws"))


def test_a_run_takes_the_configured_concurrency_unless_one_is_given(services):
    plan_id = approved_copy_plan(services)
    assert start_run(services, plan_id, ALICE, detach=True).concurrency == 1
    assert start_run(services, plan_id, ALICE, detach=True, concurrency=3).concurrency == 3
