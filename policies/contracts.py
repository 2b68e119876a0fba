"""The shapes the policy engine reads and returns: decisions, per-call checks, who asks and when."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Outcome(str, enum.Enum):
    """What a decision means for the plan: refused, waiting for people, or free to run."""

    DENIED = "denied"
    NEEDS_APPROVAL = "needs_approval"
    ALLOWED = "allowed"


class ApprovalsNeeded(BaseModel):
    """How many distinct people must sign off, and which roles count."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    count: int = Field(default=0, ge=0, description="Distinct approvers needed; 0: none.")
    roles: tuple[str, ...] = Field(default=(), description="An approver needs one of these roles.")


class Decision(BaseModel):
    """The policy verdict on one plan version (``data.baton.decision`` plus who judged it)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    allow: bool = Field(description="False when any rule denies; approvals may still be needed.")
    deny: tuple[str, ...] = Field(default=(), description="Plain-language reasons for refusal.")
    approvals: ApprovalsNeeded = Field(
        default_factory=ApprovalsNeeded, description="Sign-off the plan needs before it runs."
    )
    risk: int = Field(default=0, ge=0, le=100, description="Risk score, 0 (none) to 100.")
    notes: tuple[str, ...] = Field(default=(), description="Findings for the approver to read.")
    runtime_checks: tuple[str, ...] = Field(
        default=(), description="Step ids whose values can only be checked when they run."
    )
    engine: str = Field(description="Which engine judged: 'embedded' (regopy) or 'opa'.")
    bundle_hash: str = Field(description="SHA-256 of the policies and data that judged.")

    @property
    def outcome(self) -> Outcome:
        """Denied, needs approval, or allowed outright."""
        if not self.allow:
            return Outcome.DENIED
        if self.approvals.count > 0:
            return Outcome.NEEDS_APPROVAL
        return Outcome.ALLOWED


class Requester(BaseModel):
    """Who asks for the plan, with the roles policies check."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(description="User id.")
    roles: tuple[str, ...] = Field(default=(), description="The user's roles from settings.")


class PolicyContext(BaseModel):
    """When and where the decision is taken."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    now: datetime = Field(description="Time of the decision (timezone-aware).")
    environment: str = Field(default="default", description="Deployment name, e.g. 'prod'.")


class TemplateCheck(BaseModel):
    """What the template planner found about a plan instantiated from a template."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    pre_approved: bool = Field(description="The template is marked as a standard change.")
    approved_by: str | None = Field(
        default=None, description="Who marked the template pre-approved; None: nobody on record "
        "(saved before it was recorded), so no instance is a standard change.")
    within_bounds: bool = Field(description="Every parameter is inside the template's bounds.")
    bound_problems: tuple[str, ...] = Field(default=(), description="Parameters out of bounds.")
    pre_approval_problems: tuple[str, ...] = Field(
        default=(), description="Why the pre-approval no longer counts: whoever gave it is no "
        "longer a declared user, or no longer holds a role that may pre-approve (judged with "
        "the roles settings give them now). Empty: it counts, or there is none.")


class StepCall(BaseModel):
    """One tool call about to happen, with its arguments resolved (the runtime check's subject)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: str = Field(description="Run id.")
    plan_id: str = Field(description="Plan id.")
    step_id: str = Field(description="Step id.")
    tool: str = Field(description="Tool name.")
    effect: str = Field(description="'read' or 'write', decided from the resolved arguments.")
    args: dict[str, Any] = Field(description="Resolved arguments (no references left).")
    tags: tuple[str, ...] = Field(default=(), description="The tool's tags.")
    region: str | None = Field(default=None, description="The tool's region, if any.")
    endpoint_url: str | None = Field(
        default=None, description="The fixed URL a configured HTTP endpoint tool calls; it is the "
        "call's URL for policy, whatever the arguments hold.")
    endpoint_secrets: tuple[str, ...] = Field(
        default=(), description="Secrets such an endpoint tool puts in its own headers: they go to "
        "endpoint_url, so secret_destinations must allow its host for each.")
    requester: Requester = Field(description="Who asked for the plan.")
    source_regions: tuple[str, ...] = Field(
        default=(), description="Regions of the data that flows into this call through references."
    )
    source_tools: tuple[str, ...] = Field(
        default=(), description="Tools whose output flows into this call (their regions count too)."
    )
    source_hosts: tuple[str, ...] = Field(
        default=(), description="Hosts (never whole URLs) the source steps' resolved URLs, or "
        "their endpoint tools' fixed URLs, went to: their regions count too.")


class StepDecision(BaseModel):
    """The runtime verdict on one call (``data.baton.step_decision``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    allow: bool = Field(description="False: the call must not happen.")
    deny: tuple[str, ...] = Field(default=(), description="Plain-language reasons.")
    engine: str = Field(description="Which engine judged.")
    bundle_hash: str = Field(description="SHA-256 of the policies and data that judged.")
