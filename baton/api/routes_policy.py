"""Policy route: the decision the policies would take on a plan document, without storing it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from baton.settings import User
from policies.contracts import Decision, Outcome, PolicyContext, Requester

from .auth import require, services_of
from .errors import error_responses, token_route_errors
from .permissions import Action

router = APIRouter(tags=["policy"], responses=token_route_errors())


class DecisionRequest(BaseModel):
    """A plan document to judge, as if the caller asked for it."""

    model_config = ConfigDict(extra="forbid")

    document: dict[str, Any] = Field(description="The plan in its wire format: {goal, steps}.")


class DecisionReport(BaseModel):
    """What the policies say about the document."""

    model_config = ConfigDict(frozen=True)

    outcome: Outcome = Field(description="denied, needs_approval or allowed.")
    decision: Decision = Field(description="The full decision: deny reasons, approvals, risk.")
    plan_hash: str = Field(description="Hash of the judged plan.")


@router.post("/policy/decision", response_model=DecisionReport,
             summary="Judge a plan document", responses=error_responses(400, 413, 422))
def decide_document(body: DecisionRequest, request: Request,
                    user: User = Depends(require(Action.POLICY_DECIDE))) -> DecisionReport:
    """Validate the document, then evaluate the policies over it with the caller as requester.

    Nothing is stored or recorded: this is a dry run of what ``POST /plans/document`` decides,
    refusing what storing refuses (a configured secret's value, ``[REDACTED]`` in an argument).
    """
    from baton.usecases.deciding import shown_decision
    from baton.usecases.plan_checks import check_plan_document
    from planner.problems import InvalidPlanError
    from policies.inputs import build_policy_input

    services = services_of(request)
    plan, problems = check_plan_document(services, body.document)
    if plan is None:
        raise InvalidPlanError(list(problems))
    policy_input = build_policy_input(
        plan, services.registry, requester=Requester(id=user.id, roles=user.roles),
        context=PolicyContext(now=datetime.now(UTC)))
    decision = shown_decision(services, services.policy_engine.decide(policy_input))
    return DecisionReport(outcome=decision.outcome, decision=decision,
                          plan_hash=plan.plan_hash())
