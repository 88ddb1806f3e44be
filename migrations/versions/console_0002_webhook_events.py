"""received webhook events

Revision ID: console_0002
Revises: console_0001
Create Date: 2026-12-01

The events the core delivers to the console's receiver (``POST /webhooks/cba``); the
unique event ID is the dedup across console processes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db

revision: str = "console_0002"
down_revision: str | None = "console_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('console_webhook_events',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('tenant_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('tenant_code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('received_at', app.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id', name='uq_console_webhook_events_event_id')
    )
    with op.batch_alter_table('console_webhook_events', schema=None) as batch_op:
        batch_op.create_index('ix_console_webhook_events_tenant_received', ['tenant_id', 'received_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('console_webhook_events', schema=None) as batch_op:
        batch_op.drop_index('ix_console_webhook_events_tenant_received')

    op.drop_table('console_webhook_events')
