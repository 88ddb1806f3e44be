"""journals and GL accounts

Revision ID: core_0003
Revises: core_0002
Create Date: 2026-12-01

Issue 4 (manual journals and GL accounts): indexes for the journal list filtered by
maker, the reversal link, and the transaction behind a system journal.
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401
from alembic import op  # noqa: F401

import app.db  # noqa: F401

revision: str = "core_0003"
down_revision: str | None = "core_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("journals", schema=None) as batch_op:
        batch_op.create_index(
            "ix_journals_tenant_creator_created",
            ["tenant_id", "created_by", "created_at"],
            unique=False,
        )
        batch_op.create_index("ix_journals_reverses", ["reverses_journal_id"], unique=False)
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.create_index("ix_transactions_journal", ["journal_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.drop_index("ix_transactions_journal")
    with op.batch_alter_table("journals", schema=None) as batch_op:
        batch_op.drop_index("ix_journals_reverses")
        batch_op.drop_index("ix_journals_tenant_creator_created")
