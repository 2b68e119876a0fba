"""A NUL character (\\0) anywhere in a plan is a problem naming where, like a lone surrogate.

PostgreSQL cannot store one in text: a plan holding it used to fail only when stored,
as a misleading "the database failed … retry once it is back".
"""

from __future__ import annotations

import json

import pytest

from planner import Plan, ProblemCode
from tests.executor.conftest import db_url  # noqa: F401 - fixture: SQLite, then PostgreSQL
from tests.planner.test_validation import check, plan, step

C = ProblemCode


def nul_problems(report):
    return [p for p in report.problems if "NUL character" in p.message]


def test_a_nul_in_the_goal_is_a_problem_naming_the_goal():
    report = check(plan(step("a"), goal="read\x00 it"))
    [problem] = nul_problems(report)
    assert problem.code is C.WRONG_SHAPE and problem.path == "$.goal" and problem.step is None
    assert report.plan is None


@pytest.mark.parametrize("args, path", [
    ({"url": "u\x00"}, "$.steps[0].args.url"),
    ({"url": "u", "json": {"t": ["x", "a\x00b"]}}, "$.steps[0].args.json.t[1]"),
    ({"url": "u", "json": {"bad\x00key": 1}}, "$.steps[0].args.json['bad\\x00key']"),
])
def test_a_nul_in_an_argument_is_a_problem_naming_step_and_argument(args, path):
    report = check(plan(step("a", "http.post", args=args)))
    [problem] = nul_problems(report)
    assert problem.code is C.INVALID_ARGS and problem.step == "a" and problem.path == path
    assert report.plan is None


@pytest.mark.parametrize("field, value, path", [
    ("why", "because\x00", "$.steps[0].why"),
    ("tool", "files.read\x00", "$.steps[0].tool"),
    ("depends_on", ["b\x00"], "$.steps[0].depends_on[0]"),
])
def test_a_nul_elsewhere_in_a_step_is_a_problem_naming_the_field(field, value, path):
    doc = plan(step("a"))
    doc["steps"][0][field] = value
    report = check(doc)
    assert any(p.path == path and p.code is C.WRONG_SHAPE for p in nul_problems(report)), \
        report.problems
    assert report.plan is None


def test_a_nul_in_a_step_id_is_a_problem_that_does_not_repeat_the_id():
    report = check(plan(step("a\x00")))
    [problem] = nul_problems(report)
    assert problem.path == "$.steps[0].id" and problem.step is None
    assert report.plan is None
    # Every problem's text can be stored: none repeats the raw character.
    assert not any("\x00" in p.message or "\x00" in p.path for p in report.problems)


def test_a_plan_object_holding_a_nul_is_refused_too():
    parsed = Plan.model_validate(plan(step("a", "http.post", args={"url": "u\x00"})))
    [problem] = nul_problems(check(parsed))
    assert problem.path == "$.steps[0].args.url"


def test_text_that_merely_mentions_a_backslash_zero_is_accepted():
    assert check(plan(step("a", "http.post", args={"url": "u", "json": {"t": "\\0 and %00"}}))).ok


@pytest.fixture
def stored_services(db_url, tmp_path):
    from baton.services import Services
    from tests.api.live import make_settings

    services = Services(make_settings(tmp_path, database_url=db_url))
    yield services
    if "engine" in services.__dict__:
        services.engine.dispose()


def test_a_plan_file_with_a_nul_is_recorded_invalid_on_either_database(stored_services):
    from baton.usecases.plans import plan_from_document
    from planner.problems import InvalidPlanError

    alice = stored_services.settings.users["alice"]
    with pytest.raises(InvalidPlanError, match=r"\$\.goal") as caught:
        plan_from_document(stored_services, {"goal": "read\x00 it", "steps": [
            {"id": "load", "tool": "files.read", "args": {"path": "a\x00.csv"}}]}, alice)
    from sqlmodel import Session, select

    from executor.store.schema import PlanVersionRow

    stored = stored_services.plan_store.get(caught.value.stored.plan_id)
    assert stored.goal == "read\\x00 it"
    with Session(stored_services.engine) as s:
        (plan_json,) = s.exec(select(PlanVersionRow.plan_json)).all()
    assert json.loads(plan_json)["steps"][0]["args"]["path"] == "a\\x00.csv"
