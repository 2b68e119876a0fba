"""Plan versions: the stored, numbered states of a plan and their lifecycle."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .base import PlannerKind
from .plan import Plan, TemplateOrigin
from .problems import Problem


class VersionStatus(str, enum.Enum):
    """Where a plan version stands between validation and execution."""

    INVALID = "invalid"                    # failed static validation; kept for the record
    VALIDATED = "validated"                # valid, not yet judged by policy
    DENIED = "denied"                      # policy said no; cannot be approved
    PENDING_APPROVAL = "pending_approval"  # policy asks for approvals not all given yet
    APPROVED = "approved"                  # may run
    REJECTED = "rejected"                  # an approver said no; the version is ended
    SUPERSEDED = "superseded"              # a newer version exists


class StoredVersion(BaseModel):
    """One stored version of a plan, as the rest of Baton reads it."""

    model_config = ConfigDict(frozen=True)

    plan_id: str = Field(description="Plan id, e.g. 'p-3f2a9c1d'.")
    version: int = Field(ge=1, description="Version number, from 1.")
    goal: str = Field(description="The plan's goal as first asked.")
    requester: str = Field(description="Who asked for the plan (cannot approve it).")
    plan: Plan = Field(description="The plan document of this version.")
    plan_hash: str = Field(description="SHA-256 of the canonical plan; approvals bind to it.")
    status: VersionStatus = Field(description="Lifecycle status.")
    planner: PlannerKind = Field(description="Which planner produced it.")
    origin: TemplateOrigin | None = Field(default=None, description="Template it instantiates.")
    problems: tuple[Problem, ...] = Field(default=(), description="Validation problems, if invalid.")
    feedback: str | None = Field(default=None, description="Feedback this version answers.")
    created_by: str = Field(description="Who created this version.")
    created_at: datetime = Field(description="When it was stored (UTC).")
    document: Any = Field(
        default=None, description="The document as submitted, when it was not a well-formed plan."
    )
    error: str | None = Field(
        default=None, description="Why planning failed, when no valid plan came out."
    )
