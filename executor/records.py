"""What the run store hands out: frozen records of runs, steps and attempts, and their status sets."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field

from .scheduling import StepStatus


class RunStatus(str, enum.Enum):
    """Where a run stands."""

    QUEUED = "queued"        # created, waiting for an owner (a worker or `baton run`)
    RUNNING = "running"      # owned and executing (or its owner died: see the lease)
    SUCCEEDED = "succeeded"  # every step succeeded
    FAILED = "failed"        # a step failed for good; resumable after the cause is fixed
    CANCELLED = "cancelled"  # stopped on request; final

    @property
    def finished(self) -> bool:
        """Whether the run has ended (successfully or not)."""
        return self in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)


class AttemptStatus(str, enum.Enum):
    """Where one attempt stands."""

    STARTED = "started"          # journalled before the tool was called; no result yet
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # its owner died before recording a result; re-attempted


class AttemptRecord(BaseModel):
    """One attempt of one step."""

    model_config = ConfigDict(frozen=True)

    attempt: int = Field(description="Attempt number within the step, from 1.")
    status: AttemptStatus = Field(description="Outcome of the attempt.")
    error: str | None = Field(default=None, description="Why it failed, if it did.")
    retryable: bool | None = Field(default=None, description="Whether the failure was transient.")
    started_at: datetime = Field(description="When it was journalled (UTC).")
    ended_at: datetime | None = Field(default=None, description="When its result was recorded.")


class StepRecord(BaseModel):
    """The state of one step in one run."""

    model_config = ConfigDict(frozen=True)

    step_id: str = Field(description="Step id from the plan.")
    tool: str = Field(description="Tool the step calls.")
    position: int = Field(description="Position in the plan, from 0.")
    status: StepStatus = Field(description="Where the step stands.")
    attempts: int = Field(description="Attempts made so far.")
    idempotency_key: str = Field(description="Key sent with every attempt of this step.")
    output: Any = Field(default=None, description="The output when stored inline.")
    output_uri: str | None = Field(default=None, description="Artifact URI of a large output.")
    output_sha256: str | None = Field(default=None, description="SHA-256 of an artifact output.")
    error: str | None = Field(default=None, description="Why the step failed, if it did.")
    started_at: datetime | None = Field(default=None, description="First attempt started.")
    ended_at: datetime | None = Field(default=None, description="Result recorded.")
    attempt_log: tuple[AttemptRecord, ...] = Field(default=(), description="Every attempt, in order.")


class RunRecord(BaseModel):
    """One run of an approved plan version."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="Run id, e.g. 'r-1a2b3c4d5e6f'.")
    plan_id: str = Field(description="The plan it runs.")
    version: int = Field(description="The plan version it runs.")
    plan_hash: str = Field(description="Hash of the approved plan version.")
    status: RunStatus = Field(description="Where the run stands.")
    requested_by: str = Field(description="Who started it.")
    owner: str | None = Field(default=None, description="'host:pid:token' of the process running it.")
    lease_expires_at: datetime | None = Field(default=None, description="When the owner's lease ends.")
    concurrency: int = Field(description="Steps allowed to run at once.")
    cancel_requested: bool = Field(default=False, description="A cancel was requested.")
    error: str | None = Field(default=None, description="Why the run failed, if it did.")
    created_at: datetime = Field(description="When it was created.")
    started_at: datetime | None = Field(default=None, description="When it first started.")
    ended_at: datetime | None = Field(default=None, description="When it ended.")
    steps: tuple[StepRecord, ...] = Field(default=(), description="Steps in plan order (detail only).")

    @computed_field(description="Run id under the name plan records use for theirs ('plan_id').")
    @property
    def run_id(self) -> str:
        """The run id (same as ``id``, which stays for existing scripts)."""
        return self.id
