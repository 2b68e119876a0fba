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
_BATCH = 1000  # rows read, and steps written, at a time


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
    # Streamed (yield_per) and written in batches: a database with millions of attempts
    # must not be read into memory at once.
    # (On the statement: a connection's execution_options would stream every later one too.)
    rows = bind.execute(sa.select(_ATTEMPTS).order_by(
        _ATTEMPTS.c.run_id, _ATTEMPTS.c.step_id, _ATTEMPTS.c.attempt
    ).execution_options(yield_per=_BATCH)).mappings()
    logs = []
    for (run_id, step_id), attempts in groupby(rows, key=lambda r: (r["run_id"], r["step_id"])):
        log = [_entry(a) for a in attempts]
        logs.append({"r": run_id, "s": step_id, "log": attempt_log.dumps(log)})
        if len(logs) >= _BATCH:
            _write_logs(bind, logs)
    _write_logs(bind, logs)
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
    steps = bind.execute(sa.select(_STEPS).where(_STEPS.c.attempt_log.is_not(None))
                         .execution_options(yield_per=_BATCH)).mappings()
    rows = []
    for step in steps:
        rows.extend({"run_id": step["run_id"], "step_id": step["step_id"], "attempt": entry["attempt"],
                     "status": entry["status"], "error": entry.get("error"),
                     "retryable": entry.get("retryable"), "started_at": _utc(entry["started_at"]),
                     "ended_at": _utc(entry["ended_at"]) if "ended_at" in entry else None}
                    for entry in attempt_log.parse(step["attempt_log"]))
        if len(rows) >= _BATCH:
            bind.execute(sa.insert(_ATTEMPTS), rows)
            rows.clear()
    if rows:
        bind.execute(sa.insert(_ATTEMPTS), rows)
    with op.batch_alter_table("run_steps") as batch_op:
        batch_op.drop_column("attempt_log")


def _entry(row: sa.RowMapping) -> attempt_log.Entry:
    """One attempts-table row as an attempt-log entry."""
    entry: attempt_log.Entry = {"attempt": row["attempt"], "status": row["status"],
                                "started_at": _iso(row["started_at"])}
    if row["ended_at"] is not None:
        entry["ended_at"] = _iso(row["ended_at"])
    if row["error"] is not None:
        entry["error"] = row["error"]
    if row["retryable"] is not None:
        entry["retryable"] = bool(row["retryable"])
    return entry


def _write_logs(bind: sa.Connection, logs: list[dict[str, str]]) -> None:
    """Store a batch of steps' logs (one executemany, not a round trip per step) and empty it."""
    if logs:
        bind.execute(sa.update(_STEPS).where(_STEPS.c.run_id == sa.bindparam("r"),
                                             _STEPS.c.step_id == sa.bindparam("s"))
                     .values(attempt_log=sa.bindparam("log")), logs)
        logs.clear()


def _iso(value: datetime) -> str:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)
