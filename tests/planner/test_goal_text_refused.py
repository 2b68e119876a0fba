"""Goal and feedback text that cannot be stored is refused before any planner is asked.

Undecodable command-line bytes reach Python as lone surrogates ("\\udcff"). Such text cannot
be encoded as UTF-8 (nor a NUL stored in PostgreSQL): it used to reach the model (three
requests) and then crash storing the goal, leaving a traceback and no ledger event. Refused
as a usage error (as an empty goal is): the CLI exits 2 for it.
"""

from __future__ import annotations

import pytest

from baton.usecases import plans
from baton.usecases.errors import UsageError
from tests.executor.conftest import db_url  # noqa: F401 - fixture: SQLite, then PostgreSQL
from tests.planner.test_nul_refused import stored_services  # noqa: F401 - fixture

UNSTORABLE = ["Read sales.csv \udcff\udcfe", "\ud800 sales.csv", "Read sales\x00.csv"]


@pytest.fixture
def no_planner(monkeypatch):
    """Fail the test if a planner is asked for anything."""
    monkeypatch.setattr(plans, "planner_for", lambda *a: pytest.fail("a planner was asked"))


@pytest.mark.parametrize("goal", UNSTORABLE)
def test_an_unstorable_goal_is_refused_up_front_and_nothing_is_recorded(
        stored_services, no_planner, goal):  # noqa: F811 - the fixture imported above
    alice = stored_services.settings.users["alice"]
    with pytest.raises(UsageError, match=r"^the goal .*(lone surrogate|NUL)") as caught:
        plans.plan_goal(stored_services, goal, alice)
    assert caught.value.code == "unstorable_text"
    caught.value.message.encode("utf-8")  # the message itself can be printed and logged
    assert plans.list_plans(stored_services) == []
    assert list(stored_services.ledger.events()) == []


@pytest.mark.parametrize("feedback", UNSTORABLE)
def test_unstorable_feedback_is_refused_up_front_and_nothing_is_recorded(
        stored_services, monkeypatch, feedback):  # noqa: F811 - the fixture imported above
    alice = stored_services.settings.users["alice"]
    stored = plans.plan_from_document(stored_services, {"goal": "Read", "steps": [
        {"id": "load", "tool": "files.read", "args": {"path": "a.csv"}}]}, alice)
    before = list(stored_services.ledger.events())
    monkeypatch.setattr(plans, "planner_for", lambda *a: pytest.fail("a planner was asked"))
    with pytest.raises(UsageError, match=r"^the feedback .*(lone surrogate|NUL)") as caught:
        plans.revise_plan(stored_services, stored.plan_id, feedback, alice)
    assert caught.value.code == "unstorable_text"
    assert list(stored_services.ledger.events()) == before
    assert plans.show_plan(stored_services, stored.plan_id).version == 1
