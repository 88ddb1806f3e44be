"""Search indexes: holder names, phones and aliases by substring, numbers by prefix

Revision ID: core_0007
Revises: core_0006
Create Date: 2026-12-01

``GET /accounts?q=`` (the teller's "Account" box) matches an account number by prefix,
an alias, holder name or phone by substring. At 1,000,000 accounts a term that few rows
match scanned every account (~5 s, ``bench/scale.py``). On PostgreSQL these are trigram
GIN indexes (the ``pg_trgm`` extension, trusted: the database owner may create it) and a
``varchar_pattern_ops`` B-tree (the database's collation is not ``C``, so the unique
index on the number cannot serve ``LIKE 'x%'``); SQLite gets plain indexes on the same
columns, which keeps the models and both schemas equal for ``alembic check``.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "core_0007"
down_revision: str | None = "core_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customers_search_trgm",
            ["search_name"],
            unique=False,
            postgresql_using="gin",
            postgresql_ops={"search_name": "gin_trgm_ops"},
        )
        batch_op.create_index(
            "ix_customers_phone_trgm",
            ["phone"],
            unique=False,
            postgresql_using="gin",
            postgresql_ops={"phone": "gin_trgm_ops"},
        )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_accounts_alias_trgm",
            ["alias"],
            unique=False,
            postgresql_using="gin",
            postgresql_ops={"alias": "gin_trgm_ops"},
        )
        batch_op.create_index(
            "ix_accounts_number_prefix",
            ["tenant_id", "account_number"],
            unique=False,
            postgresql_ops={"account_number": "varchar_pattern_ops"},
        )


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index("ix_accounts_number_prefix")
        batch_op.drop_index("ix_accounts_alias_trgm")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index("ix_customers_phone_trgm")
        batch_op.drop_index("ix_customers_search_trgm")
    # pg_trgm stays: other objects may use it, and it holds no data.
