"""``plan_from_document``: a plan submitted as data or text is stored like a plan file."""

from __future__ import annotations

import pytest

from planner.base import PlannerKind
from planner.problems import InvalidPlanError, ProblemCode
from planner.versions import VersionStatus

from .live import ROLES

DOC = {"goal": "read the sales", "steps": [{"id": "load", "tool": "files.read",
                                             "args": {"path": "sales.csv"}}]}
YAML_DOC = "goal: read the sales\nsteps:\n  - id: load\n    tool: files.read\n    args: {path: sales.csv}\n"


@pytest.fixture
def alice(services):
    return services.settings.user_named("alice")


def test_a_mapping_document_is_stored_as_a_validated_file_plan(services, alice):
    from baton.usecases.plans import plan_from_document

    stored = plan_from_document(services, DOC, alice)
    assert stored.status is not VersionStatus.INVALID and stored.planner is PlannerKind.FILE
    assert stored.goal == "read the sales" and stored.plan.steps[0].tool == "files.read"


def test_yaml_text_is_parsed_by_its_filename(services, alice):
    from baton.usecases.plans import plan_from_document

    stored = plan_from_document(services, YAML_DOC.encode(), alice, filename="p.yaml")
    assert stored.plan.steps[0].args == {"path": "sales.csv"}


def test_unparseable_text_is_stored_invalid_with_a_malformed_problem(services, alice):
    from baton.usecases.plans import plan_from_document

    with pytest.raises(InvalidPlanError) as caught:
        plan_from_document(services, '{"goal": "x", "steps": [', alice, filename="bad.json")
    stored = caught.value.stored
    assert stored.status is VersionStatus.INVALID
    assert stored.goal == "plan document bad.json"
    assert [p.code for p in stored.problems] == [ProblemCode.MALFORMED_DOCUMENT]


def test_an_undeclared_requester_is_refused(services):
    from baton.settings import UnknownUserError, User
    from baton.usecases.plans import plan_from_document

    assert "mallory" not in ROLES
    with pytest.raises(UnknownUserError):
        plan_from_document(services, DOC, User(id="mallory", roles=("analyst",)))


def _raw_document(args_json: str) -> bytes:
    """A request body holding a one-step plan whose args are given as raw JSON text."""
    return ('{"document": {"goal": "post it", "steps": [{"id": "post", "tool": "http.request", '
            '"args": ' + args_json + '}]}}').encode()


def _deep_args(levels: int) -> str:
    return '{"method": "POST", "url": "https://hooks.example.com/x", "json": ' + (
        '{"k": ' * levels) + '1' + '}' * levels + '}'


UNFIT_ARGS = {
    "nested 300 deep": (_deep_args(300), "nested more than 64 levels deep"),
    "lone surrogate": ('{"method": "GET", "url": "https://hooks.example.com/\\ud800"}', "lone surrogate"),
    "NaN": ('{"method": "POST", "url": "https://hooks.example.com/x", "json": {"v": NaN}}',
            "not a JSON number"),
}


@pytest.mark.parametrize("route", ["/plans/document", "/policy/decision"])
@pytest.mark.parametrize("case", list(UNFIT_ARGS))
def test_arguments_no_plan_can_hold_are_a_422_naming_the_argument_not_a_500(client_for, route, case):
    args_json, fragment = UNFIT_ARGS[case]
    response = client_for("alice").post(route, content=_raw_document(args_json),
                                        headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_plan" and fragment in error["message"]
    assert "$.steps[0].args" in error["message"]


def test_an_invalid_document_with_text_no_plan_can_hold_is_recorded_with_the_text_escaped(services, alice):
    from baton.usecases.plans import plan_from_document

    document = {"goal": "read \ud800", "steps": [{"id": "l\udfff", "tool": "files.read",
                                                   "args": {"path": "a\ud800", "n": float("nan")}}]}
    with pytest.raises(InvalidPlanError) as caught:
        plan_from_document(services, document, alice)
    stored = services.plan_store.get(caught.value.stored.plan_id)
    assert stored.status is VersionStatus.INVALID and stored.goal == "read \\ud800"
    assert stored.document["steps"][0]["args"] == {"path": "a\\ud800", "n": "nan"}
    assert all(p.step is None for p in stored.problems)
