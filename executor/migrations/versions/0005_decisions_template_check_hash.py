"""decisions: add template_check_hash (what a template-made version's decision rested on)

Nullable and left empty on the decisions already stored: a template-made version decided
before this revision has no check on record, so its decision is taken again before its
next approval or run (it fails closed), and that decision records the check.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 00:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | Sequence[str] | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    # A database made by create_all from newer models already has the column
    # (it is stamped at the baseline): adding it again would fail.
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("decisions")}
    if "template_check_hash" in columns:
        return
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('template_check_hash', sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_column('template_check_hash')
