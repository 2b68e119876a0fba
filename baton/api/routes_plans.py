"""Plan routes: goals → plans, hand-written plans, versions, diffs, revision.

Every route calls a use case in ``baton.usecases``; none re-implements one.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from baton.settings import User
from baton.usecases.lapses import APPROVAL_LAPSED_FIELD
from planner.base import MAX_VERSION, PlannerKind
from planner.diff import PlanDiff, diff_plans
from planner.versions import StoredVersion, VersionStatus
from policies.approval import GateState
from policies.contracts import Decision

from .auth import require, services_of
from .errors import error_responses, token_route_errors
from ..limits import COMMENT_MAX_CHARS, FEEDBACK_MAX_CHARS, GOAL_MAX_CHARS, REASON_MAX_CHARS
from .permissions import Action

if TYPE_CHECKING:
    from baton.usecases.plan_listing import ListedPlan

router = APIRouter(tags=["plans"], responses=token_route_errors())

# The most plans one GET /plans answers: a bounded body. No cursor pages past it; `baton
# plans list --limit N` (read straight from the store) lists more.
MAX_LISTED_PLANS = 500

DOCUMENT_HINT = "Validated like any planner's output; an invalid plan is stored INVALID."


class GoalRequest(BaseModel):
    """A goal to plan."""

    model_config = ConfigDict(extra="forbid")

    goal: str = Field(min_length=1, max_length=GOAL_MAX_CHARS,
                      description="The goal in plain language.")
    planner: Literal["llm", "template"] | None = Field(
        default=None, description="Which planner; default: llm when configured, else template.")


class PlanDocumentRequest(BaseModel):
    """A hand-written plan document."""

    model_config = ConfigDict(extra="forbid")

    document: dict[str, Any] = Field(
        description="The plan in its wire format: {goal, steps: [{id, tool, args, ...}]}. "
        + DOCUMENT_HINT)


class FeedbackRequest(BaseModel):
    """What should change in the next version."""

    model_config = ConfigDict(extra="forbid")

    feedback: str = Field(min_length=1, max_length=FEEDBACK_MAX_CHARS,
                          description="Feedback for the planner.")


class PlanSummary(BaseModel):
    """The latest version of one plan, in a list."""

    model_config = ConfigDict(frozen=True)

    plan_id: str = Field(description="Plan id.")
    version: int = Field(description="Latest version number.")
    goal: str = Field(description="The plan's goal.")
    requester: str = Field(description="Who asked for it.")
    status: VersionStatus = Field(description="Status of the latest version.")
    planner: PlannerKind = Field(description="Which planner produced the latest version.")
    created_at: datetime = Field(description="When the latest version was stored.")
    approval_lapsed: str | None = Field(default=None, description=APPROVAL_LAPSED_FIELD)


class VersionSummary(BaseModel):
    """One version in a plan's history."""

    model_config = ConfigDict(frozen=True)

    version: int = Field(description="Version number.")
    status: VersionStatus = Field(description="Lifecycle status.")
    plan_hash: str = Field(description="Hash approvals bind to.")
    created_by: str = Field(description="Who created it.")
    created_at: datetime = Field(description="When it was stored.")
    feedback: str | None = Field(default=None, description="Feedback it answers.")


class PlanDetail(BaseModel):
    """A plan: its latest version in full, its policy decision, gate state and history."""

    model_config = ConfigDict(frozen=True)

    latest: StoredVersion = Field(description="The latest version.")
    decision: Decision | None = Field(description="Policy decision on the latest version.")
    gate: GateState = Field(description="Where the latest version stands at the approval gate.")
    decision_stale: str | None = Field(
        default=None,
        description="Why the decision will be taken again before the latest version is approved "
                    "or run (the policies, or what they judge it on, changed since it was "
                    "taken; it may turn into a deny); null when it stands or the version is "
                    "closed.")
    versions: list[VersionSummary] = Field(description="Every version, oldest first.")


def _plan_hash_field(done: str) -> Any:
    """``plan_hash``: the version the approver reviewed, shared by approve and reject."""
    return Field(
        # Read as `baton approve --hash` reads it (approving.pinned_hash): any case, blanks
        # around it.
        default=None, pattern=r"^\s*(?i:sha256:)?[0-9a-fA-F]{12,64}\s*$",
        description="Hash (or a prefix of at least 12 hex characters) of the version the "
                    f"approver reviewed: when the version {done} has another hash, nothing "
                    f"is {done} (409 version_changed).")


class ApproveRequest(BaseModel):
    """An approval."""

    model_config = ConfigDict(extra="forbid")

    version: StrictInt | None = Field(default=None, ge=1, le=MAX_VERSION,
                                description="Version; default: the latest.")
    plan_hash: str | None = _plan_hash_field("approved")
    comment: str | None = Field(default=None, max_length=COMMENT_MAX_CHARS,
                                description="Optional comment.")


class RejectRequest(BaseModel):
    """A rejection; the reason goes to the requester and the planner."""

    model_config = ConfigDict(extra="forbid")

    version: StrictInt | None = Field(default=None, ge=1, le=MAX_VERSION,
                                description="Version; default: the latest.")
    plan_hash: str | None = _plan_hash_field("rejected")
    reason: str = Field(min_length=1, max_length=REASON_MAX_CHARS,
                        description="Why the plan is rejected.")


def summary(listed: ListedPlan) -> PlanSummary:
    """The list entry of a listed version."""
    stored = listed.version
    return PlanSummary(plan_id=stored.plan_id, version=stored.version, goal=stored.goal,
                       requester=stored.requester, status=stored.status, planner=stored.planner,
                       created_at=stored.created_at, approval_lapsed=listed.approval_lapsed)


def version_summary(stored: StoredVersion) -> VersionSummary:
    """The history entry of a stored version."""
    return VersionSummary(version=stored.version, status=stored.status, plan_hash=stored.plan_hash,
                          created_by=stored.created_by, created_at=stored.created_at,
                          feedback=stored.feedback)


@router.post("/plans", response_model=StoredVersion, status_code=201,
             summary="Plan a goal", responses=error_responses(400, 409, 413, 422, 502))
def create_plan(body: GoalRequest, request: Request,
                user: User = Depends(require(Action.PLAN_CREATE))) -> StoredVersion:
    """Plan the goal and store version 1 (validated and judged by policy)."""
    from baton.usecases.plans import plan_goal

    kind = PlannerKind(body.planner) if body.planner else None
    return plan_goal(services_of(request), body.goal, user, planner=kind)


@router.post("/plans/document", response_model=StoredVersion, status_code=201,
             summary="Submit a hand-written plan", responses=error_responses(400, 409, 413, 422))
def create_plan_from_document(body: PlanDocumentRequest, request: Request,
                              user: User = Depends(require(Action.PLAN_CREATE))) -> StoredVersion:
    """Store a hand-written plan; it is validated and judged like any planner's output."""
    from baton.usecases.plans import plan_from_document

    return plan_from_document(services_of(request), body.document, user)


@router.get("/plans", response_model=list[PlanSummary], summary="List plans")
def list_plans_route(
    request: Request,
    status: VersionStatus | None = Query(
        default=None, description="Only this latest status; pending_approval: the versions "
        "waiting for approval, newest first, approved ones whose approvals lapsed and that "
        "never ran to success included (approval_lapsed says why)."),
    limit: int = Query(default=50, ge=1, le=MAX_LISTED_PLANS, description=(
        f"At most this many plans, newest first (default 50, at most {MAX_LISTED_PLANS}); "
        f"fewer only when fewer match. More than {MAX_LISTED_PLANS}: `baton plans list "
        "--limit N`.")),
    user: User = Depends(require(Action.PLAN_READ)),
) -> list[PlanSummary]:
    """The latest version of each plan, newest first; an approved one whose approvals lapsed
    is marked (``approval_lapsed``): it cannot run until approved again (it waits for approval
    unless it ran to success)."""
    from baton.usecases.plan_listing import listed_plans

    return [summary(listed) for listed in listed_plans(services_of(request), status, limit)]


@router.get("/plans/{plan_id}", response_model=PlanDetail, summary="Show a plan",
            responses=error_responses(404))
def get_plan(plan_id: str, request: Request,
             user: User = Depends(require(Action.PLAN_READ))) -> PlanDetail:
    """The latest version in full and the version history."""
    from baton.usecases.deciding import decision_for, stale_decision
    from baton.usecases.gates import gate_state
    from baton.usecases.plans import plan_versions

    services = services_of(request)
    versions = plan_versions(services, plan_id)
    latest = versions[-1]
    decided = decision_for(services, plan_id, latest.version)
    return PlanDetail(latest=latest, decision=decided.decision if decided else None,
                      gate=gate_state(services, plan_id, latest.version),
                      decision_stale=stale_decision(services, plan_id, latest.version),
                      versions=[version_summary(v) for v in versions])


@router.get("/plans/{plan_id}/versions/{version}", response_model=StoredVersion,
            summary="Show one version of a plan", responses=error_responses(404))
def get_plan_version(plan_id: str, request: Request,
                     version: int = PathParam(ge=1, le=MAX_VERSION, description="Version number."),
                     user: User = Depends(require(Action.PLAN_READ))) -> StoredVersion:
    """One stored version."""
    from baton.usecases.plans import show_plan

    return show_plan(services_of(request), plan_id, version)


@router.get("/plans/{plan_id}/diff", response_model=PlanDiff, summary="Diff two versions",
            responses=error_responses(404, 409))
def diff_versions(
    plan_id: str, request: Request,
    from_version: int | None = Query(default=None, alias="from", ge=1, le=MAX_VERSION,
                                     description="Older version; default: the one before 'to'."),
    to_version: int | None = Query(default=None, alias="to", ge=1, le=MAX_VERSION,
                                   description="Newer version; default: the latest."),
    user: User = Depends(require(Action.PLAN_READ)),
) -> PlanDiff:
    """How version ``to`` differs from version ``from``."""
    from baton.usecases.plans import diff_with_previous, show_plan

    services = services_of(request)
    if from_version is None:
        return diff_with_previous(services, plan_id, to_version)[2]
    old = show_plan(services, plan_id, from_version)
    new = show_plan(services, plan_id, to_version)
    return diff_plans(old.plan, new.plan, a_label=f"{plan_id} v{old.version}",
                      b_label=f"{plan_id} v{new.version}")


@router.post("/plans/{plan_id}/revise", response_model=StoredVersion, status_code=201,
             summary="Ask for a revised version",
             responses=error_responses(400, 404, 409, 413, 422, 502))
def revise(plan_id: str, body: FeedbackRequest, request: Request,
           user: User = Depends(require(Action.PLAN_REVISE))) -> StoredVersion:
    """Send the feedback (and any rejection reason) to the planner; store the next version."""
    from baton.usecases.plans import revise_plan

    return revise_plan(services_of(request), plan_id, body.feedback, user)


@router.post("/plans/{plan_id}/approve", response_model=GateState, summary="Approve a version",
             responses=error_responses(400, 404, 409, 413, 422))
def approve_plan(plan_id: str, request: Request, body: ApproveRequest | None = None,
                 user: User = Depends(require(Action.PLAN_APPROVE))) -> GateState:
    """Approve under the gate's rules (never your own plan; a role the decision asks for)."""
    from baton.usecases.approving import approve

    body = body or ApproveRequest()  # every field is optional, so the body may be left out
    return approve(services_of(request), plan_id, user, version=body.version,
                   plan_hash=body.plan_hash, comment=body.comment)


@router.post("/plans/{plan_id}/reject", response_model=GateState, summary="Reject a version",
             responses=error_responses(400, 404, 409, 413, 422))
def reject_plan(plan_id: str, body: RejectRequest, request: Request,
                user: User = Depends(require(Action.PLAN_REJECT))) -> GateState:
    """Reject with a reason: the version is ended; a revision makes a new one."""
    from baton.usecases.approving import reject

    return reject(services_of(request), plan_id, user, reason=body.reason, version=body.version,
                  plan_hash=body.plan_hash)
