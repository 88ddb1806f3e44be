"""Session lifetimes: an absolute end fixed at sign-in, a sliding expiry moved by refresh

Revision ID: core_0008
Revises: core_0007
Create Date: 2026-12-07

Security review (issue 10), finding 1. ``auth_sessions.expires_at`` was set at sign-in
and never moved, while refresh ignored it; revocation picked only sessions whose
``expires_at`` was still ahead, so a session refreshed past its first week survived
"revoke sessions". From here ``expires_at`` is the sliding expiry (each refresh moves it)
and ``absolute_expires_at`` the end no refresh moves.

Existing rows: the absolute end is sign-in + 24 h (the default of
``SESSION_ABSOLUTE_TTL_SECONDS``; a migration cannot read the deployment's settings), so
sessions older than a day end at the upgrade and their staff sign in again. The sliding
expiry takes the latest unspent refresh token's expiry where that is later, capped at the
absolute end, so a revocation run after the upgrade finds every session still able to
refresh.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "core_0008"
down_revision: str | None = "core_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_ABSOLUTE_SECONDS = 86400

LATEST_REFRESH = """
UPDATE auth_sessions SET expires_at = (
    SELECT MAX(r.expires_at) FROM refresh_tokens r
    WHERE r.session_id = auth_sessions.id AND r.spent_at IS NULL
)
WHERE EXISTS (
    SELECT 1 FROM refresh_tokens r
    WHERE r.session_id = auth_sessions.id AND r.spent_at IS NULL
      AND r.expires_at > auth_sessions.expires_at
)
"""


def upgrade() -> None:
    with op.batch_alter_table("auth_sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("absolute_expires_at", app.db.UtcDateTime(timezone=True), nullable=True)
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "UPDATE auth_sessions SET absolute_expires_at = "
            f"created_at + interval '{DEFAULT_ABSOLUTE_SECONDS} seconds'"
        )
    else:
        # SQLite keeps UTC timestamps as text; datetime() reads and writes that form.
        op.execute(
            "UPDATE auth_sessions SET absolute_expires_at = "
            f"datetime(created_at, '+{DEFAULT_ABSOLUTE_SECONDS} seconds')"
        )
    op.execute(LATEST_REFRESH)
    op.execute(
        "UPDATE auth_sessions SET expires_at = absolute_expires_at "
        "WHERE expires_at > absolute_expires_at"
    )
    with op.batch_alter_table("auth_sessions", schema=None) as batch_op:
        batch_op.alter_column(
            "absolute_expires_at",
            existing_type=app.db.UtcDateTime(timezone=True),
            nullable=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("auth_sessions", schema=None) as batch_op:
        batch_op.drop_column("absolute_expires_at")
