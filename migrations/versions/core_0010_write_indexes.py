"""Fewer index entries per money movement; room for in-place updates

Revision ID: core_0010
Revises: core_0009
Create Date: 2026-12-07

Issue 11 (the request path): a transfer wrote about 43 index entries. Dropped as
redundant: ``ix_postings_tenant_date`` (``ix_postings_report_cover`` leads with the same
columns) and ``ix_outbox_events_tenant_id`` (``ix_outbox_events_tenant_created`` leads with
it). Made partial, so the common row adds nothing: ``ix_journals_reverses`` (mirrors
only), ``ix_transactions_tenant_status`` (waiting for approval only),
``ix_outbox_events_dispatched_at`` (not dispatched yet only). On PostgreSQL,
``idempotency_records`` and ``accounts`` leave room on each page (``fillfactor``) so the
claim's completion and a balance update can stay on their page (a HOT update: no new
index entries).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "core_0010"
down_revision: str | None = "core_0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARTIAL = (
    (
        "journals",
        "ix_journals_reverses",
        ["reverses_journal_id"],
        "reverses_journal_id IS NOT NULL",
    ),
    (
        "transactions",
        "ix_transactions_tenant_status",
        ["tenant_id", "status"],
        "status = 'PENDING_APPROVAL'",
    ),
    ("outbox_events", "ix_outbox_events_dispatched_at", ["dispatched_at"], "dispatched_at IS NULL"),
)


def upgrade() -> None:
    with op.batch_alter_table("postings") as batch_op:
        batch_op.drop_index("ix_postings_tenant_date")
    with op.batch_alter_table("outbox_events") as batch_op:
        batch_op.drop_index("ix_outbox_events_tenant_id")
    for table, name, columns, where in PARTIAL:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_index(name)
            batch_op.create_index(
                name,
                columns,
                unique=False,
                postgresql_where=sa.text(where),
                sqlite_where=sa.text(where),
            )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE idempotency_records SET (fillfactor = 50)")
        op.execute("ALTER TABLE accounts SET (fillfactor = 80)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE accounts RESET (fillfactor)")
        op.execute("ALTER TABLE idempotency_records RESET (fillfactor)")
    for table, name, columns, _where in PARTIAL:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_index(name)
            batch_op.create_index(name, columns, unique=False)
    with op.batch_alter_table("outbox_events") as batch_op:
        batch_op.create_index("ix_outbox_events_tenant_id", ["tenant_id"], unique=False)
    with op.batch_alter_table("postings") as batch_op:
        batch_op.create_index(
            "ix_postings_tenant_date", ["tenant_id", "effective_date"], unique=False
        )
