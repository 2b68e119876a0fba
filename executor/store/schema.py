"""Every table Baton keeps. One schema, one migration chain (``executor/migrations``).

Rows are storage shapes, not contracts: repositories turn them into the
frozen models the rest of the code passes around.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
    false,
)
from sqlmodel import Field, SQLModel


class PlanRow(SQLModel, table=True):
    """A plan: the goal an analyst asked for, and who asked."""

    __tablename__ = "plans"

    id: str = Field(primary_key=True, max_length=40)
    goal: str = Field(sa_column=Column(Text, nullable=False))
    requester: str = Field(max_length=200)
    created_at: datetime
    latest_version: int = 1


class PlanVersionRow(SQLModel, table=True):
    """One version of a plan, its validation result and its status."""

    __tablename__ = "plan_versions"
    __table_args__ = (UniqueConstraint("plan_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: str = Field(foreign_key="plans.id", index=True, max_length=40)
    version: int
    plan_json: str = Field(sa_column=Column(Text, nullable=False))
    plan_hash: str = Field(max_length=64)
    status: str = Field(max_length=32, index=True)
    planner: str = Field(max_length=32)
    origin_json: str | None = Field(default=None, sa_column=Column(Text))
    problems_json: str | None = Field(default=None, sa_column=Column(Text))
    feedback: str | None = Field(default=None, sa_column=Column(Text))
    created_by: str = Field(max_length=200)
    created_at: datetime


class DecisionRow(SQLModel, table=True):
    """A policy decision on one plan version."""

    __tablename__ = "decisions"

    id: int | None = Field(default=None, primary_key=True)
    plan_id: str = Field(index=True, max_length=40)
    version: int
    plan_hash: str = Field(max_length=64)
    decision_json: str = Field(sa_column=Column(Text, nullable=False))
    engine: str = Field(max_length=32)
    bundle_hash: str = Field(max_length=64)
    # SHA-256 of the policy input the decision rests on, built as of decided_at (roles,
    # tools' specs, template check); None on decisions stored before it was recorded.
    input_hash: str | None = Field(default=None, max_length=64)
    decided_at: datetime


class ApprovalRow(SQLModel, table=True):
    """An approval or a rejection, bound to (plan id, version, plan hash)."""

    __tablename__ = "approvals"

    id: int | None = Field(default=None, primary_key=True)
    plan_id: str = Field(index=True, max_length=40)
    version: int
    plan_hash: str = Field(max_length=64)
    actor: str = Field(max_length=200)
    kind: str = Field(max_length=16)  # approve | reject
    comment: str | None = Field(default=None, sa_column=Column(Text))
    decided_at: datetime
    expires_at: datetime | None = None


class RunRow(SQLModel, table=True):
    """One execution of an approved plan version."""

    __tablename__ = "runs"
    # Runs are read newest first (RunStore.list), all of them, a plan's or those in one
    # status: each index yields them in that order, so the read stops at the limit
    # (revisions 0006 and 0007); the composite ones serve plan_id or status alone too.
    # Whether a version ran to success (what waits for approval leaves those out) is one
    # probe of (plan_id, version, status) (revision 0009), not a read of a plan's runs.
    __table_args__ = (Index("ix_runs_plan_id_created_at", "plan_id", "created_at"),
                      Index("ix_runs_status_created_at", "status", "created_at"),
                      Index("ix_runs_created_at", "created_at"),
                      Index("ix_runs_plan_id_version_status", "plan_id", "version", "status"))

    id: str = Field(primary_key=True, max_length=40)
    plan_id: str = Field(max_length=40)
    version: int
    plan_hash: str = Field(max_length=64)
    status: str = Field(max_length=16)
    requested_by: str = Field(max_length=200)
    owner: str | None = Field(default=None, max_length=200)
    lease_expires_at: datetime | None = None
    concurrency: int = 4
    error: str | None = Field(default=None, sa_column=Column(Text))
    # Set by `baton cancel`; the owner polls it and stops starting steps.
    cancel_requested: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    created_at: datetime
    started_at: datetime | None = None
    ended_at: datetime | None = None


class StepRunRow(SQLModel, table=True):
    """The state of one step in one run; its output inline or as an artifact URI."""

    __tablename__ = "run_steps"
    __table_args__ = (UniqueConstraint("run_id", "step_id"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(foreign_key="runs.id", index=True, max_length=40)
    step_id: str = Field(max_length=40)
    tool: str = Field(max_length=200)
    position: int
    status: str = Field(max_length=16)
    attempts: int = 0
    idempotency_key: str = Field(max_length=128)
    output_json: str | None = Field(default=None, sa_column=Column(Text))
    output_uri: str | None = Field(default=None, max_length=300)
    output_sha256: str | None = Field(default=None, max_length=64)
    error: str | None = Field(default=None, sa_column=Column(Text))
    # The step's attempts as a JSON list (executor/store/attempt_log.py): journalled by
    # the same UPDATE that moves the step, so an attempt costs no row of its own.
    attempt_log: str | None = Field(default=None, sa_column=Column(Text))
    next_attempt_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None


class LedgerRow(SQLModel, table=True):
    """One event of the hash-chained, append-only audit log."""

    __tablename__ = "ledger"
    # A subject's events are read in seq order, READ_BATCH_ROWS at a time, each batch after
    # the last seq read (`baton audit show --subject`, export): (subject, seq) starts each
    # batch where the last one ended, and serves lookups by subject alone (revision 0011).
    __table_args__ = (Index("ix_ledger_subject_seq", "subject", "seq"),)

    # On SQLite an INTEGER primary key is the rowid itself (BIGINT would add a separate
    # unique index, one more b-tree written per event); PostgreSQL keeps BIGINT.
    seq: int = Field(sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                      autoincrement=False))
    at: datetime
    kind: str = Field(max_length=40)
    subject: str = Field(max_length=80)
    actor: str = Field(max_length=200)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class ArtifactRow(SQLModel, table=True):
    """A step output over the inline threshold, stored once under its SHA-256 (revision 0008).

    Kept in the database so that every worker, on any machine, reads what another stored:
    run steps and the ledger name it only by ``artifact://sha256/<sha256>``.
    """

    __tablename__ = "artifacts"

    sha256: str = Field(primary_key=True, max_length=64)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    size: int
    created_at: datetime
