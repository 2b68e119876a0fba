"""runs: index (plan_id, created_at) in place of (plan_id) alone

A plan's runs, newest first (``RunStore.list(plan_id=...)``: the web plan page,
``baton runs list --plan``), are then read in index order and the read stops at
the limit; with plan_id alone every run of the plan was read and sorted first.
The composite index serves every lookup by plan_id the old one did, so it
replaces it: still one index on runs written per run (never per step).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 02:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | Sequence[str] | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "ix_runs_plan_id"
NEW = "ix_runs_plan_id_created_at"


def upgrade() -> None:
    """Apply this revision."""
    # Checked first: a database made by create_all from newer models (stamped at the
    # baseline) already has the composite index and not the old one.
    indexes = {i["name"] for i in sa.inspect(op.get_bind()).get_indexes("runs")}
    if NEW not in indexes:
        op.create_index(NEW, "runs", ["plan_id", "created_at"], unique=False)
    if OLD in indexes:
        op.drop_index(OLD, table_name="runs")


def downgrade() -> None:
    """Revert this revision."""
    op.create_index(OLD, "runs", ["plan_id"], unique=False)
    op.drop_index(NEW, table_name="runs")
