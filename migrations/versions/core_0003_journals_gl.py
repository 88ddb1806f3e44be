"""journals and GL accounts

Revision ID: core_0003
Revises: core_0002
Create Date: 2026-12-01

Reserved for the journals work (issue 4): filled in by that work (a no-op until then), so that parallel work on
journals, periods and audit keeps one linear chain per branch.
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
    pass


def downgrade() -> None:
    pass
