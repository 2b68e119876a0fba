"""decisions: add input_hash (the policy input a decision rests on)

SHA-256 of the canonical JSON of the policy input the decision was taken on, built as of
its time. Nullable and left empty on the decisions already stored: a version decided before
this revision has no input on record, so its decision is taken again before its next
approval or run (it fails closed), and that decision records the hash.

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
    if "input_hash" in columns:
        return
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('input_hash', sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    # A database upgraded through this revision's first version (which added the column as
    # template_check_hash) has that one until revision 0010 replaces it.
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("decisions")}
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        for name in ('input_hash', 'template_check_hash'):
            if name in columns:
                batch_op.drop_column(name)
