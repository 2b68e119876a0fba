"""ledger: index (subject, seq) in place of (subject) alone

A subject's events are read in seq order, READ_BATCH_ROWS at a time, each batch
``WHERE subject = :s AND seq > :after ORDER BY seq LIMIT n`` (``baton audit show
--subject``, the export): with subject alone every batch read the subject's rows
again and sorted them, quadratic in a subject's events; with (subject, seq) each
batch starts where the last one ended, in index order. The composite index serves
every lookup by subject the old one did (the newest events of a subject too), so
it replaces it: still one secondary index on the ledger written per event.

Create and drop index need no table rebuild on SQLite (no batch mode).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | Sequence[str] | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "ix_ledger_subject"
NEW = "ix_ledger_subject_seq"


def upgrade() -> None:
    """Apply this revision."""
    # Checked first: a database made by create_all from newer models (stamped at the
    # baseline) already has the composite index and not the old one.
    indexes = {i["name"] for i in sa.inspect(op.get_bind()).get_indexes("ledger")}
    if NEW not in indexes:
        op.create_index(NEW, "ledger", ["subject", "seq"], unique=False)
    if OLD in indexes:
        op.drop_index(OLD, table_name="ledger")


def downgrade() -> None:
    """Revert this revision."""
    op.create_index(OLD, "ledger", ["subject"], unique=False)
    op.drop_index(NEW, table_name="ledger")
