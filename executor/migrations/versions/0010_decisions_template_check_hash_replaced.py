"""decisions: input_hash in place of template_check_hash where the first 0005 added it

Revision 0005 first added ``decisions.template_check_hash`` (the hash of a template-made
version's template check); it was later edited in place to add ``input_hash`` (the hash of
the whole policy input) instead. A database upgraded through the first 0005 (commits 408ce82
to 5e65ed5) is stamped 0005 or later and never ran the second, so it kept the old column and
every read of a decision failed. Here that column gives way to ``input_hash``, every decision
kept. Its values are not carried over: they hash the template check, not the policy input,
so none would ever match and the decision taken again would be said to rest on changed roles
or tools. Empty, the decision is taken again before its next approval or run because none was
on record, as 0005 leaves every decision stored before it (the DECISION events in the ledger
still name each template check hash). Any other database already has ``input_hash`` and is
left as it is.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | Sequence[str] | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "template_check_hash"
NEW = "input_hash"


def upgrade() -> None:
    """Apply this revision."""
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("decisions")}
    if OLD not in columns or NEW in columns:
        return
    # SQLite rebuilds the table and copies its rows (batch mode); PostgreSQL alters it.
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_column(OLD)
        batch_op.add_column(sa.Column(NEW, sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Revert this revision: nothing to do, a database at 0009 has input_hash (what 0005 adds
    now), and 0005's downgrade drops it."""
