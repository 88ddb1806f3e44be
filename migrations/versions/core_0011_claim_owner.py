"""The database session holding an idempotency claim

Revision ID: core_0011
Revises: core_0010
Create Date: 2026-12-07

Issue 13 (faults): a core process killed mid-request left its claim "in progress" for
the whole lock timeout (60 s), and every retry with the same key got
``409 IDEMPOTENCY_IN_PROGRESS`` until then. ``claimed_by`` names the PostgreSQL session
that holds the claim (pid and start time); when it has ended, a retry retakes the claim
at once. Nullable: older claims and SQLite fall back to the lock timeout.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "core_0011"
down_revision: str | None = "core_0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_records") as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idempotency_records") as batch_op:
        batch_op.drop_column("claimed_by")
