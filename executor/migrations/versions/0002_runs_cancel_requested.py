"""runs: add cancel_requested

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 18:54:01.153392
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    # A database made by create_all from newer models already has the column
    # (it is stamped at the baseline): adding it again would fail.
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("runs")}
    if "cancel_requested" in columns:
        return
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancel_requested', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_column('cancel_requested')
