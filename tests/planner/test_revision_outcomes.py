"""What a revision leaves behind when it yields no usable version, or when the plan changed
while the planner worked: the latest version stays current, and the ledger keeps the model's
exchanges, the refused plan (masked) and the feedback as a failed revision.

Over SQLite, then PostgreSQL.
"""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from baton.api.errors import status_for
from baton.usecases.approving import approve
from baton.usecases.plans import plan_from_document, revise_plan
from executor.ledger import EventKind
from executor.store.plans import PlanChangedError
from executor.store.schema import PlanVersionRow
from planner.base import ModelExchange, PlannerKind, PlanningTrace, PlanResult
from planner.plan import Plan
from planner.problems import InvalidPlanError, ProblemCode
from planner.versions import VersionStatus
from tests.support.gate_services import ALICE, BACKENDS, BOB, gate_services
from tools.redaction import REDACTED

SECRET = "crm-SuperSecret-98765"
FIRST = {"goal": "write a greeting", "steps": [
    {"id": "save", "tool": "files.write", "args": {"path": "out.txt", "text": "hello"}}]}


def _plan(text: str) -> Plan:
    return Plan.model_validate({**FIRST, "steps": [{**FIRST["steps"][0], "args": {
        "path": "out.txt", "text": text}}]})


class OnePlanPlanner:
    """A planner whose revision writes ``text``; ``meanwhile`` runs while it "asks the model"."""

    def __init__(self, text: str, meanwhile=None) -> None:  # noqa: ANN001
        self.text, self.meanwhile = text, meanwhile

    def revise(self, previous, feedback, registry, *, rejection=None):  # noqa: ANN001, ANN201
        if self.meanwhile is not None:
            self.meanwhile()
        plan = _plan(self.text)
        exchange = ModelExchange(model="scripted", endpoint="http://127.0.0.1:1/v1",
                                 prompt_sha256="0" * 64, response_format="json_schema",
                                 reply=plan.canonical_json(), latency_ms=1.0)
        return PlanResult(plan=plan, planner=PlannerKind.LLM,
                          trace=PlanningTrace(planner=PlannerKind.LLM, exchanges=(exchange,)))


@pytest.fixture(params=BACKENDS)
def services(request, tmp_path):
    with gate_services(request.param, tmp_path, secrets={"CRM_TOKEN": SECRET}) as built:
        yield built


def _approved_first_version(services) -> str:  # noqa: ANN001
    stored = plan_from_document(services, FIRST, ALICE)
    approve(services, stored.plan_id, BOB, version=1)
    assert services.plan_store.get(stored.plan_id).status is VersionStatus.APPROVED
    return stored.plan_id


def _revise_with(services, plan_id: str, planner: OnePlanPlanner, feedback: str):  # noqa: ANN001
    services.__dict__["llm_planner"] = planner
    return revise_plan(services, plan_id, feedback, ALICE, planner=PlannerKind.LLM)


def _payloads(services, plan_id: str, kind: EventKind) -> list[dict]:  # noqa: ANN001
    return [e.payload for e in services.ledger.events(subject=plan_id, kinds=[kind.value])]


@pytest.mark.parametrize(("text", "code"), [
    (f"the token is {SECRET}", ProblemCode.CONFIGURED_SECRET),
    (f"the token is {REDACTED}", ProblemCode.MASKED_VALUE)])
def test_a_refused_revision_leaves_the_approved_version_current_and_is_recorded(
        services, text, code):
    plan_id = _approved_first_version(services)
    with pytest.raises(InvalidPlanError) as refused:
        _revise_with(services, plan_id, OnePlanPlanner(text), "include the token")
    assert code in {p.code for p in refused.value.problems}
    assert "v1 stays the latest version" in refused.value.message
    assert SECRET not in refused.value.message
    assert [(v.version, v.status) for v in services.plan_store.versions(plan_id)] == [
        (1, VersionStatus.APPROVED)]
    (failed,) = [p for p in _payloads(services, plan_id, EventKind.VALIDATION) if not p["ok"]]
    assert failed["version"] is None and failed["revision_of"] == 1
    assert failed["feedback"] == "include the token"
    assert code.value in {p["code"] for p in failed["problems"]}
    assert failed["document"]["steps"][0]["args"]["text"] == f"the token is {REDACTED}"
    exchanges = _payloads(services, plan_id, EventKind.LLM_EXCHANGE)
    assert len(exchanges) == 1 and f"the token is {REDACTED}" in exchanges[0]["reply"]
    assert len(_payloads(services, plan_id, EventKind.PLAN_VERSION)) == 1
    recorded = json.dumps([e.payload for e in services.ledger.events(subject=plan_id)])
    with Session(services.engine) as session:
        rows = json.dumps([r.model_dump(mode="json")
                           for r in session.exec(select(PlanVersionRow)).all()])
    assert SECRET not in recorded and SECRET not in rows


def test_a_revision_stored_after_another_one_is_refused_as_a_conflict(services):
    plan_id = _approved_first_version(services)

    def other_revision() -> None:  # lands while the first one waits for its model
        _revise_with(services, plan_id, OnePlanPlanner("bonjour"), "say bonjour")

    with pytest.raises(PlanChangedError) as conflict:
        _revise_with(services, plan_id, OnePlanPlanner("hello", meanwhile=other_revision),
                     "say hello")
    assert conflict.value.message.startswith(
        f"plan {plan_id} changed while revising: v2 was added; revise again")
    assert status_for(conflict.value.code) == 409
    assert [(v.version, v.plan) for v in services.plan_store.versions(plan_id)] == [
        (1, _plan("hello")), (2, _plan("bonjour"))]  # v1's own text is "hello"
    (stored,) = [p for p in _payloads(services, plan_id, EventKind.PLAN_VERSION)
                 if p["version"] == 2]
    assert stored["revises"] == 1 and stored["feedback"] == "say bonjour"
    (failed,) = [p for p in _payloads(services, plan_id, EventKind.VALIDATION) if not p["ok"]]
    assert failed["revision_of"] == 1 and failed["feedback"] == "say hello"
    assert failed["document"]["steps"][0]["args"]["text"] == "hello"
    assert "v2 was added" in failed["error"]
    assert len(_payloads(services, plan_id, EventKind.LLM_EXCHANGE)) == 2


def test_a_failed_revision_names_the_version_that_is_latest_now(services):
    plan_id = _approved_first_version(services)

    def other_revision() -> None:
        _revise_with(services, plan_id, OnePlanPlanner("bonjour"), "say bonjour")

    with pytest.raises(InvalidPlanError) as refused:
        _revise_with(services, plan_id, OnePlanPlanner(f"{SECRET}", meanwhile=other_revision),
                     "include the token")
    assert "v2 stays the latest version" in refused.value.message
    assert services.plan_store.get(plan_id).version == 2


def test_a_first_version_holding_a_secret_is_still_stored_invalid(services):
    stored = plan_from_document(services, FIRST, ALICE)
    with pytest.raises(InvalidPlanError) as refused:
        plan_from_document(services, {**FIRST, "steps": [{**FIRST["steps"][0], "args": {
            "path": "out.txt", "text": SECRET}}]}, ALICE)
    assert refused.value.stored.version == 1
    assert refused.value.stored.status is VersionStatus.INVALID
    assert refused.value.stored.plan_id != stored.plan_id
