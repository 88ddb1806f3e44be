"""audit seals, append-only trigger, webhook subscriptions and deliveries

Revision ID: core_0005
Revises: core_0004
Create Date: 2026-12-01

Reserved for the audit and webhooks work (issue 6): filled in by that work (a no-op until then), so that parallel work on
journals, periods and audit keeps one linear chain per branch.
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401
from alembic import op  # noqa: F401

import app.db  # noqa: F401

revision: str = "core_0005"
down_revision: str | None = "core_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
