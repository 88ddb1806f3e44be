"""Cash and transfer transactions (each posts a system journal, or waits for approval)."""

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db import UtcDateTime, new_id, utcnow


class Transaction(SQLModel, table=True):
    __tablename__ = "transactions"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "transaction_ref", name="uq_transactions_ref"),
        sa.Index("ix_transactions_tenant_created", "tenant_id", "created_at", "id"),
        sa.Index("ix_transactions_account_created", "account_id", "created_at"),
        # Only the few waiting for approval: a completed transfer (nearly every row) adds
        # no entry here (migration core_0010).
        sa.Index(
            "ix_transactions_tenant_status",
            "tenant_id",
            "status",
            postgresql_where=sa.text("status = 'PENDING_APPROVAL'"),
            sqlite_where=sa.text("status = 'PENDING_APPROVAL'"),
        ),
        sa.Index("ix_transactions_creator_date", "tenant_id", "created_by", "business_date"),
        # The transaction behind a system journal (reversing a journal reverses it).
        sa.Index("ix_transactions_journal", "journal_id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id")
    transaction_ref: str = Field(max_length=32)
    type: str = Field(max_length=24)  # DEPOSIT WITHDRAWAL TRANSFER INTER_BRANCH_TRANSFER
    status: str = Field(max_length=20)  # COMPLETED PENDING_APPROVAL REJECTED
    amount: int = Field(sa_type=sa.BigInteger)
    currency: str = Field(max_length=3)
    account_id: uuid.UUID = Field(foreign_key="accounts.id")
    counterparty_account_id: uuid.UUID | None = Field(default=None, foreign_key="accounts.id")
    narration: str | None = Field(default=None, max_length=500)
    depositor_name: str | None = Field(default=None, max_length=200)
    balance_after: int | None = Field(default=None, sa_type=sa.BigInteger)
    journal_id: uuid.UUID | None = Field(default=None, foreign_key="journals.id")
    hold_id: uuid.UUID | None = None
    branch_code: str = Field(max_length=10)  # where it was taken (the teller's branch)
    business_date: date
    created_by: uuid.UUID
    created_by_email: str = Field(max_length=254)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    approved_by: uuid.UUID | None = None
    approved_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    rejected_by: uuid.UUID | None = None
    rejected_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    rejection_reason: str | None = Field(default=None, max_length=500)
