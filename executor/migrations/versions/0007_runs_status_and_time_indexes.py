"""runs: index (status, created_at) in place of (status) alone, and created_at

``baton runs list`` (newest first, optionally ``--status``) and the API's run list
are then read in index order and the read stops at the limit; before, every run
(or every run in that status) was read and sorted first. The composite index serves
every lookup by status the old one did (a worker's claim of the oldest queued run
too), so it replaces it; the one index added is written once per run, never per step.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 04:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | Sequence[str] | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUS = "ix_runs_status"
STATUS_TIME = "ix_runs_status_created_at"
TIME = "ix_runs_created_at"


def upgrade() -> None:
    """Apply this revision."""
    # Checked first: a database made by create_all from newer models (stamped at the
    # baseline) already has the new indexes and not the old one.
    indexes = {i["name"] for i in sa.inspect(op.get_bind()).get_indexes("runs")}
    if STATUS_TIME not in indexes:
        op.create_index(STATUS_TIME, "runs", ["status", "created_at"], unique=False)
    if TIME not in indexes:
        op.create_index(TIME, "runs", ["created_at"], unique=False)
    if OLD_STATUS in indexes:
        op.drop_index(OLD_STATUS, table_name="runs")


def downgrade() -> None:
    """Revert this revision."""
    op.create_index(OLD_STATUS, "runs", ["status"], unique=False)
    op.drop_index(TIME, table_name="runs")
    op.drop_index(STATUS_TIME, table_name="runs")
