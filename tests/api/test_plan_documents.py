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
