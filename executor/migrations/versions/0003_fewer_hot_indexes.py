"""attempts: drop the run_id index (the unique index covers it); ledger.seq: the rowid on SQLite

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 19:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | Sequence[str] | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    # Checked first: a database made by create_all from newer models already matches.
    # (Since 0004 such a database has no attempts table at all.)
    has_attempts = "attempts" in inspector.get_table_names()
    if has_attempts and "ix_attempts_run_id" in {i["name"] for i in inspector.get_indexes("attempts")}:
        op.drop_index("ix_attempts_run_id", table_name="attempts")
    if bind.dialect.name != "sqlite":
        return
    seq = next(c for c in inspector.get_columns("ledger") if c["name"] == "seq")
    if isinstance(seq["type"], sa.Integer) and not isinstance(seq["type"], sa.BigInteger):
        return
    # The table is rebuilt and its rows copied (batch mode): no event is lost, hashes unchanged.
    with op.batch_alter_table("ledger", recreate="always") as batch_op:
        batch_op.alter_column("seq", existing_type=sa.BigInteger(), type_=sa.Integer(),
                              existing_nullable=False, autoincrement=False)


def downgrade() -> None:
    """Revert this revision."""
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("ledger", recreate="always") as batch_op:
            batch_op.alter_column("seq", existing_type=sa.Integer(), type_=sa.BigInteger(),
                                  existing_nullable=False, autoincrement=False)
    op.create_index("ix_attempts_run_id", "attempts", ["run_id"], unique=False)
