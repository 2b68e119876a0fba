"""A configured secret's value written into a plan never reaches the store, a reader or the model.

The version is stored INVALID with the value masked and a problem naming where it was and
which secret it is; the goal and feedback are stored masked. Shorter values than a secret
could be told apart from ordinary words are left alone.
"""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from baton.services import Services
from baton.settings import Settings, User
from baton.usecases.plans import plan_from_document, show_plan
from executor.store.schema import PlanRow, PlanVersionRow
from planner.problems import InvalidPlanError, ProblemCode
from planner.versions import VersionStatus
from tests.support.policy_tools import policy_registry
from tools.redaction import REDACTED

TOKEN = "tok-live-5f1e2d3c4b"
ALICE = User(id="alice", roles=("analyst",))


@pytest.fixture
def services(tmp_path):
    settings = Settings(data_dir=tmp_path / ".baton", users={"alice": ALICE},
                        secrets={"CRM_TOKEN": TOKEN, "PIN": "1234"})
    built = Services(settings, registry=policy_registry(tmp_path / "ws"))
    yield built
    built.engine.dispose()


def _stored_text(services) -> str:
    with Session(services.engine) as s:
        rows = s.exec(select(PlanVersionRow.plan_json)).all() + s.exec(select(PlanRow.goal)).all()
    return json.dumps(rows)


def _posting(header: str, goal: str = "post the report") -> dict:
    return {"goal": goal, "steps": [{"id": "send", "tool": "http.request", "args": {
        "method": "POST", "url": "https://api.internal.example/in",
        "headers": {"Authorization": header}, "body": "hello"}}]}


def test_a_plan_holding_a_configured_secret_is_stored_invalid_with_it_masked(services):
    with pytest.raises(InvalidPlanError) as caught:
        plan_from_document(services, _posting(f"Bearer {TOKEN}"), ALICE)
    (problem,) = caught.value.problems
    assert problem.code is ProblemCode.CONFIGURED_SECRET and problem.step == "send"
    assert problem.path == "$.steps[0].args.headers.Authorization"
    assert "configured secret CRM_TOKEN" in problem.message and "${secret:CRM_TOKEN}" in problem.message
    stored = caught.value.stored
    assert stored.status is VersionStatus.INVALID
    shown = show_plan(services, stored.plan_id)
    assert TOKEN not in json.dumps(shown.model_dump(mode="json"))
    assert f"Bearer {REDACTED}" in _stored_text(services)
    assert TOKEN not in _stored_text(services)
    assert TOKEN not in json.dumps([e.payload for e in services.ledger.events()])


def test_a_goal_holding_a_configured_secret_is_stored_masked(services):
    with pytest.raises(InvalidPlanError) as caught:
        plan_from_document(services, _posting("Bearer ${secret:CRM_TOKEN}",
                                              goal=f"post with {TOKEN}"), ALICE)
    assert [p.path for p in caught.value.problems] == ["$.goal"]
    assert TOKEN not in _stored_text(services)
    assert show_plan(services, caught.value.stored.plan_id).goal == f"post with {REDACTED}"


def test_a_secret_too_short_to_tell_from_words_leaves_the_plan_alone(services):
    stored = plan_from_document(services, _posting("Bearer ${secret:CRM_TOKEN}",
                                                   goal="post room 1234's report"), ALICE)
    assert stored.status is not VersionStatus.INVALID
    assert "1234" in show_plan(services, stored.plan_id).goal


def _nothing_shows(services, caught) -> None:
    raised = json.dumps([p.model_dump(mode="json") for p in caught.value.problems])
    shown = json.dumps(show_plan(services, caught.value.stored.plan_id).model_dump(mode="json"))
    with Session(services.engine) as s:
        stored = json.dumps([r.model_dump(mode="json") for r in s.exec(select(PlanVersionRow))])
    assert TOKEN not in raised + shown + stored + str(caught.value)


def test_a_secret_used_as_a_key_is_not_quoted_by_the_path_of_what_lies_under_it(services):
    with pytest.raises(InvalidPlanError) as caught:
        plan_from_document(services, _posting("x") | {"steps": [{"id": "send", "tool": "http.request",
                           "args": {"method": "POST", "url": "https://api.internal.example/in",
                                    "headers": {TOKEN: f"Bearer {TOKEN}"}}}]}, ALICE)
    assert {p.path for p in caught.value.problems} == {
        "$.steps[0].args.headers (key)", f"$.steps[0].args.headers.{REDACTED}"}
    _nothing_shows(services, caught)


def test_a_validation_problem_quoting_a_secret_is_stored_and_raised_masked(services):
    with pytest.raises(InvalidPlanError) as caught:
        plan_from_document(services, {"goal": "post", "steps": [
            {"id": "send", "tool": f"x{TOKEN}", "args": {}}]}, ALICE)
    assert any(f"x{REDACTED}" in p.message for p in caught.value.problems)
    _nothing_shows(services, caught)


@pytest.mark.parametrize("written", [
    TOKEN.replace("-", "\\u002D"),  # .NET's System.Text.Json
    TOKEN.replace("-", "\\u002d"),
    TOKEN.replace("-", "&#45;"),  # an HTML page's
    TOKEN.replace("-", "%2D"),
])
def test_a_plan_holding_a_configured_secret_escaped_character_by_character_is_refused(
        services, written):
    # Whoever reads the plan unescaped (a tool's JSON body, a browser) reads the secret.
    with pytest.raises(InvalidPlanError) as caught:
        plan_from_document(services, _posting(f"Bearer {written}"), ALICE)
    (problem,) = caught.value.problems
    assert problem.code is ProblemCode.CONFIGURED_SECRET
    assert "configured secret CRM_TOKEN" in problem.message
    assert written not in _stored_text(services).replace("\\\\", "\\")
