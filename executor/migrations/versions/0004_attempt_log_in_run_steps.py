"""run_steps.attempt_log: each step's attempts move into its row; the attempts table goes

Every attempt row is copied into its step's ``attempt_log`` (JSON, in attempt
order) before the table is dropped, so no attempt is lost; the downgrade
rebuilds the table from the logs.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 21:40:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import groupby

import sqlalchemy as sa
from alembic import op

from executor.store import attempt_log

revision: str = '0004'
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ATTEMPTS = sa.table(
    "attempts", sa.column("id", sa.Integer), sa.column("run_id", sa.String),
    sa.column("step_id", sa.String), sa.column("attempt", sa.Integer), sa.column("status", sa.String),
    sa.column("error", sa.Text), sa.column("retryable", sa.Boolean),
    sa.column("started_at", sa.DateTime), sa.column("ended_at", sa.DateTime))
_STEPS = sa.table("run_steps", sa.column("run_id", sa.String), sa.column("step_id", sa.String),
                  sa.column("attempt_log", sa.Text))


def upgrade() -> None:
    """Apply this revision."""
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    # A database made by create_all from newer models already has the column and no table.
    if "attempt_log" not in {c["name"] for c in inspector.get_columns("run_steps")}:
        with op.batch_alter_table("run_steps") as batch_op:
            batch_op.add_column(sa.Column("attempt_log", sa.Text(), nullable=True))
    if "attempts" not in inspector.get_table_names():
        return
    rows = bind.execute(sa.select(_ATTEMPTS).order_by(
        _ATTEMPTS.c.run_id, _ATTEMPTS.c.step_id, _ATTEMPTS.c.attempt)).mappings().all()
    logs = []
    for (run_id, step_id), attempts in groupby(rows, key=lambda r: (r["run_id"], r["step_id"])):
        log: list[attempt_log.Entry] = []
        for a in attempts:
            entry: attempt_log.Entry = {"attempt": a["attempt"], "status": a["status"],
                                        "started_at": _iso(a["started_at"])}
            if a["ended_at"] is not None:
                entry["ended_at"] = _iso(a["ended_at"])
            if a["error"] is not None:
                entry["error"] = a["error"]
            if a["retryable"] is not None:
                entry["retryable"] = bool(a["retryable"])
            log.append(entry)
        logs.append({"r": run_id, "s": step_id, "log": attempt_log.dumps(log)})
    if logs:  # one executemany, not a round trip per step
        bind.execute(sa.update(_STEPS).where(_STEPS.c.run_id == sa.bindparam("r"),
                                             _STEPS.c.step_id == sa.bindparam("s"))
                     .values(attempt_log=sa.bindparam("log")), logs)
    op.drop_table("attempts")


def downgrade() -> None:
    """Revert this revision."""
    op.create_table(
        "attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("step_id", sa.String(length=40), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("retryable", sa.Boolean(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "step_id", "attempt"),
    )
    bind = op.get_bind()
    steps = bind.execute(sa.select(_STEPS).where(_STEPS.c.attempt_log.is_not(None))).mappings().all()
    for step in steps:
        for entry in attempt_log.parse(step["attempt_log"]):
            bind.execute(sa.insert(_ATTEMPTS).values(
                run_id=step["run_id"], step_id=step["step_id"], attempt=entry["attempt"],
                status=entry["status"], error=entry.get("error"), retryable=entry.get("retryable"),
                started_at=_utc(entry["started_at"]),
                ended_at=_utc(entry["ended_at"]) if "ended_at" in entry else None))
    with op.batch_alter_table("run_steps") as batch_op:
        batch_op.drop_column("attempt_log")


def _iso(value: datetime) -> str:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)
