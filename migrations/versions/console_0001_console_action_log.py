"""console action log

Revision ID: console_0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db

revision: str = "console_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("console",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('console_action_log',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('at', app.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('user_email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('tenant', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('target', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('request_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('idempotency_key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('error_code', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
    sa.Column('ip', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('user_agent', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('console_action_log', schema=None) as batch_op:
        batch_op.create_index('ix_console_action_log_request_id', ['request_id'], unique=False)
        batch_op.create_index('ix_console_action_log_tenant_at', ['tenant', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('console_action_log', schema=None) as batch_op:
        batch_op.drop_index('ix_console_action_log_tenant_at')
        batch_op.drop_index('ix_console_action_log_request_id')

    op.drop_table('console_action_log')
