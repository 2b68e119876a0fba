"""A configured secret's value typed into a goal a template matches never reaches the store
through the template's parameters (the version's ``origin``), and a version stored before the
secret was configured shows its parameters masked.

Over each store in turn (SQLite, then PostgreSQL).
"""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from baton.services import Services
from baton.usecases.plans import list_plans, plan_goal, plan_versions, revise_plan, show_plan
from executor.store.schema import PlanRow, PlanVersionRow
from planner.base import PlannerKind, PlanningError
from planner.problems import InvalidPlanError, Problem, ProblemCode
from planner.versions import VersionStatus
from tests.api.live import make_settings
from tests.executor.conftest import db_url  # noqa: F401 - fixture: SQLite, then PostgreSQL
from tools.redaction import REDACTED

SECRET = "crm-SuperSecret-0042"
GOAL = f"Copy {SECRET}.csv to x.csv"


@pytest.fixture
def services(tmp_path, db_url):  # noqa: F811 - the fixture imported above
    """Services with SECRET configured as the secret CRM_TOKEN, over a fresh store."""
    built = Services(make_settings(tmp_path, database_url=db_url, secrets={"CRM_TOKEN": SECRET}))
    yield built
    built.engine.dispose()


def stored_rows(services: Services) -> str:
    """Every stored plan and version row, as one text to search."""
    with Session(services.engine) as session:
        rows = [*session.exec(select(PlanRow)).all(), *session.exec(select(PlanVersionRow)).all()]
    return json.dumps([row.model_dump(mode="json") for row in rows])


def test_a_goal_holding_a_secret_stores_the_template_params_masked(services):
    with pytest.raises(InvalidPlanError) as refused:
        plan_goal(services, GOAL, services.settings.users["alice"], planner=PlannerKind.TEMPLATE)
    stored = refused.value.stored
    assert stored.status is VersionStatus.INVALID
    assert ProblemCode.CONFIGURED_SECRET in {p.code for p in stored.problems}
    assert SECRET not in stored_rows(services)
    with Session(services.engine) as session:
        (row,) = session.exec(select(PlanVersionRow)).all()
    assert json.loads(row.origin_json) == {"name": "copy-file", "version": 1, "params": {
        "source": f"{REDACTED}.csv", "target": "x.csv"}}
    raw = services.plan_store.get(stored.plan_id)
    assert raw.origin is not None and raw.origin.params["source"] == f"{REDACTED}.csv"
    assert SECRET not in json.dumps(stored.model_dump(mode="json"))


def test_a_revision_holding_a_secret_records_the_template_params_masked(services):
    alice = services.settings.users["alice"]
    first = plan_goal(services, "Copy sales.csv to x.csv", alice, planner=PlannerKind.TEMPLATE)
    with pytest.raises(InvalidPlanError) as refused:
        revise_plan(services, first.plan_id, GOAL, alice, planner=PlannerKind.TEMPLATE)
    assert "v1 stays the latest version" in refused.value.message  # a refused revision: no v2
    assert services.plan_store.get(first.plan_id).version == 1
    assert SECRET not in stored_rows(services)
    (failed,) = [e.payload for e in services.ledger.events(subject=first.plan_id)
                 if e.kind == "validation" and not e.payload["ok"]]
    assert failed["origin"]["params"]["source"] == f"{REDACTED}.csv"
    assert failed["feedback"] == f"Copy {REDACTED}.csv to x.csv"


def test_template_params_stored_before_the_secret_was_configured_are_shown_masked(
        tmp_path, db_url):  # noqa: F811
    before = Services(make_settings(tmp_path, database_url=db_url))
    after = Services(make_settings(tmp_path, database_url=db_url, secrets={"CRM_TOKEN": SECRET}))
    try:
        stored = plan_goal(before, GOAL, before.settings.users["alice"],
                           planner=PlannerKind.TEMPLATE)
        assert stored.origin.params["source"] == f"{SECRET}.csv"  # stored raw: no secret then
        shown = [show_plan(after, stored.plan_id), *plan_versions(after, stored.plan_id),
                 *list_plans(after)]
        for version in shown:
            assert SECRET not in json.dumps(version.model_dump(mode="json"))
            assert version.origin.params["source"] == f"{REDACTED}.csv"
            assert version.plan_hash == stored.plan_hash
        assert SECRET in stored_rows(after)  # the stored bytes are left as they were
    finally:
        before.engine.dispose()
        after.engine.dispose()


def test_a_planning_error_quoting_the_goal_is_raised_with_the_secret_masked(services):
    alice = services.settings.users["alice"]
    with pytest.raises(PlanningError) as failed:  # the leading '/' is outside source's pattern
        plan_goal(services, f"Copy /{SECRET}.csv to x.csv", alice, planner=PlannerKind.TEMPLATE)
    assert failed.value.code == "no_template_matches"
    assert SECRET not in str(failed.value) and f"'/{REDACTED}.csv'" in failed.value.message
    assert SECRET not in json.dumps([p.model_dump(mode="json") for p in failed.value.problems])
    assert failed.value.stored.error == failed.value.message.rsplit("\n(recorded", 1)[0]
    assert SECRET not in stored_rows(services)


class QuotingPlanner:
    """A planner whose every failure quotes what it was asked, as a model's refusal may."""

    def plan(self, goal, registry):  # noqa: ANN001, ANN201
        raise PlanningError(f"cannot plan {goal!r}", problems=[], code="model_refused")

    def revise(self, previous, feedback, registry, *, rejection=None):  # noqa: ANN001, ANN201
        raise PlanningError(f"cannot revise for {feedback!r}", code="model_refused",
                            problems=[Problem(code=ProblemCode.MALFORMED_ID, path=f"$.{feedback}",
                                              message=f"no {feedback}")])


def test_a_failed_revision_quoting_the_feedback_is_raised_with_the_secret_masked(services):
    alice = services.settings.users["alice"]
    first = plan_goal(services, "Copy sales.csv to x.csv", alice, planner=PlannerKind.TEMPLATE)
    services.__dict__["llm_planner"] = QuotingPlanner()
    with pytest.raises(PlanningError) as failed:
        revise_plan(services, first.plan_id, f"use {SECRET}", alice, planner=PlannerKind.LLM)
    assert SECRET not in str(failed.value) and f"'use {REDACTED}'" in failed.value.message
    assert [(p.path, p.message) for p in failed.value.problems] == [
        (f"$.use {REDACTED}", f"no use {REDACTED}")]
    assert services.plan_store.get(first.plan_id).version == 1  # nothing stored
