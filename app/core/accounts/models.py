"""Products, customer accounts and holds."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db import UtcDateTime, new_id, utcnow


class Product(SQLModel, table=True):
    __tablename__ = "products"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "code", name="uq_products_code"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True)
    code: str = Field(max_length=20)
    name: str = Field(max_length=100)
    account_type: str = Field(max_length=20)
    control_gl_account_id: uuid.UUID = Field(foreign_key="gl_accounts.id")
    currencies: list[str] = Field(sa_type=sa.JSON)
    daily_withdrawal_limit: int | None = Field(default=None, sa_type=sa.BigInteger)


class Account(SQLModel, table=True):
    """A customer account: a sub-ledger of its product's control GL account."""

    __tablename__ = "accounts"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "account_number", name="uq_accounts_number"),
        sa.Index("ix_accounts_tenant_created", "tenant_id", "created_at", "id"),
        sa.Index("ix_accounts_customer", "customer_id"),
        # GET /accounts?q=: alias by substring, number by prefix (migration core_0007).
        sa.Index(
            "ix_accounts_alias_trgm",
            "alias",
            postgresql_using="gin",
            postgresql_ops={"alias": "gin_trgm_ops"},
        ),
        sa.Index(
            "ix_accounts_number_prefix",
            "tenant_id",
            "account_number",
            postgresql_ops={"account_number": "varchar_pattern_ops"},
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id")
    account_number: str = Field(max_length=10)
    customer_id: uuid.UUID = Field(foreign_key="customers.id")
    product_code: str = Field(max_length=20)
    account_type: str = Field(max_length=20)
    currency: str = Field(max_length=3)
    branch_code: str = Field(max_length=10)
    alias: str | None = Field(default=None, max_length=100)
    status: str = Field(default="ACTIVE", max_length=10)
    control_gl_account_id: uuid.UUID = Field(foreign_key="gl_accounts.id")
    ledger_balance: int = Field(default=0, sa_type=sa.BigInteger)
    hold_amount: int = Field(default=0, sa_type=sa.BigInteger)
    overdraft_limit: int = Field(default=0, sa_type=sa.BigInteger)
    daily_withdrawal_limit: int | None = Field(default=None, sa_type=sa.BigInteger)
    status_reason: str | None = Field(default=None, max_length=500)
    opened_by: uuid.UUID | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class Hold(SQLModel, table=True):
    __tablename__ = "holds"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID
    account_id: uuid.UUID = Field(foreign_key="accounts.id", index=True)
    amount: int = Field(sa_type=sa.BigInteger)
    reason: str = Field(max_length=500)
    status: str = Field(default="ACTIVE", max_length=10)  # ACTIVE RELEASED CONSUMED EXPIRED
    expires_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    transaction_id: uuid.UUID | None = None
    created_by: uuid.UUID | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    released_by: uuid.UUID | None = None
    released_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
