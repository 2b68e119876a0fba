"""artifacts: large step outputs in the database, keyed by their SHA-256

Outputs over ``artifact_threshold_bytes`` were files under each process's
``<data_dir>/artifacts/``: a worker on another machine could not read what one
stored. With ``[executor] artifact_store = "database"`` (the default on
PostgreSQL) they are rows of this table, which every worker reads.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | Sequence[str] | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "artifacts"


def upgrade() -> None:
    """Apply this revision."""
    # A database made by create_all from newer models (stamped at the baseline)
    # already has the table: creating it again would fail.
    if TABLE in sa.inspect(op.get_bind()).get_table_names():
        return
    op.create_table(TABLE,
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sha256')
    )


def downgrade() -> None:
    """Revert this revision."""
    # The artifacts stored as rows go with the table: runs naming them can no longer be
    # resumed past those steps, nor their outputs read.
    op.drop_table(TABLE)
