"""The general ledger: GL accounts, journals and their postings."""

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db import UtcDateTime, new_id, utcnow

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class GLAccount(SQLModel, table=True):
    __tablename__ = "gl_accounts"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "code", name="uq_gl_accounts_code"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True)
    code: str = Field(max_length=30)
    name: str = Field(max_length=200)
    category: str = Field(max_length=10)  # ASSET LIABILITY EQUITY REVENUE EXPENSE
    parent_id: uuid.UUID | None = Field(default=None, foreign_key="gl_accounts.id")
    is_header: bool = False
    allow_manual_entries: bool = True
    currency_code: str = Field(max_length=3)
    # What the system uses it for: teller_cash, clearing, control, retained_earnings, general.
    role: str = Field(default="general", max_length=20)
    branch_code: str | None = Field(default=None, max_length=10)
    is_active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class Journal(SQLModel, table=True):
    __tablename__ = "journals"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "journal_number", name="uq_journals_number"),
        sa.Index("ix_journals_tenant_status_created", "tenant_id", "status", "created_at"),
        sa.Index("ix_journals_tenant_created", "tenant_id", "created_at", "id"),
        # GET /journals?created_by= (a maker's own drafts) and the reversal link.
        sa.Index("ix_journals_tenant_creator_created", "tenant_id", "created_by", "created_at"),
        # Only mirrors have the link (core_0010): nothing to add for every other journal.
        sa.Index(
            "ix_journals_reverses",
            "reverses_journal_id",
            postgresql_where=sa.text("reverses_journal_id IS NOT NULL"),
            sqlite_where=sa.text("reverses_journal_id IS NOT NULL"),
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id")
    journal_number: str = Field(max_length=32)
    journal_type: str = Field(max_length=12)
    status: str = Field(max_length=12)  # PENDING APPROVED POSTED REJECTED REVERSED
    description: str = Field(max_length=500)
    transaction_date: date
    effective_date: date
    fiscal_period_id: uuid.UUID | None = Field(default=None, foreign_key="fiscal_periods.id")
    source_reference: str | None = Field(default=None, max_length=100)
    branch_code: str | None = Field(default=None, max_length=10)
    created_by: uuid.UUID
    created_by_email: str = Field(max_length=254)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    approved_by: uuid.UUID | None = None
    approved_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    posted_by: uuid.UUID | None = None
    posted_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    rejected_by: uuid.UUID | None = None
    rejected_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    rejection_reason: str | None = Field(default=None, max_length=500)
    reversed_by: uuid.UUID | None = None
    reversed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    reversal_reason: str | None = Field(default=None, max_length=500)
    reversal_journal_id: uuid.UUID | None = None
    reverses_journal_id: uuid.UUID | None = None


class JournalLine(SQLModel, table=True):
    """A line of a journal as drafted (before posting, nothing moves)."""

    __tablename__ = "journal_lines"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    journal_id: uuid.UUID = Field(foreign_key="journals.id", index=True)
    line_no: int
    gl_account_id: uuid.UUID = Field(foreign_key="gl_accounts.id")
    account_id: uuid.UUID | None = Field(default=None, foreign_key="accounts.id")
    side: str = Field(max_length=1)  # D or C
    amount: int = Field(sa_type=sa.BigInteger)
    currency: str = Field(max_length=3)
    description: str | None = Field(default=None, max_length=500)


class Posting(SQLModel, table=True):
    """One posted line: money moved. Customer-account postings carry the running balance."""

    __tablename__ = "postings"
    __table_args__ = (
        sa.Index("ix_postings_account_seq", "account_id", "id"),
        sa.Index("ix_postings_gl_seq", "gl_account_id", "id"),
        sa.Index("ix_postings_journal", "journal_id"),
    )

    id: int | None = Field(
        default=None, sa_column=sa.Column(BIGINT, primary_key=True, autoincrement=True)
    )
    tenant_id: uuid.UUID
    journal_id: uuid.UUID = Field(foreign_key="journals.id")
    gl_account_id: uuid.UUID = Field(foreign_key="gl_accounts.id")
    account_id: uuid.UUID | None = Field(default=None, foreign_key="accounts.id")
    branch_code: str | None = Field(default=None, max_length=10)
    side: str = Field(max_length=1)
    amount: int = Field(sa_type=sa.BigInteger)
    currency: str = Field(max_length=3)
    balance_after: int | None = Field(default=None, sa_type=sa.BigInteger)
    effective_date: date
    description: str | None = Field(default=None, max_length=500)
    posted_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class NumberSequence(SQLModel, table=True):
    """Per-tenant counters (account, customer and journal numbers)."""

    __tablename__ = "number_sequences"

    tenant_id: uuid.UUID = Field(primary_key=True)
    name: str = Field(primary_key=True, max_length=30)
    next_value: int = Field(default=1, sa_type=sa.BigInteger)


class GLRollup(SQLModel, table=True):
    """Σ debits − Σ credits of a tenant's postings up to its roll-up mark, per day.

    One row per (GL account, currency, branch, effective date); kept by the worker's
    ``gl.roll_up`` job (``app.core.ledger.rollups``) and never touched by the posting
    path, so no posting waits on it. A GL balance is these rows plus the postings above
    the mark. ``branch_code`` is ``""`` for postings of no branch (a key column cannot
    be NULL).
    """

    __tablename__ = "gl_rollups"
    __table_args__ = (
        # One account's balance (the GL account page, a deactivation check).
        sa.Index("ix_gl_rollups_tenant_gl", "tenant_id", "gl_account_id", "effective_date"),
    )

    # Key order: a report "as of" a date reads one tenant's rows up to that date.
    tenant_id: uuid.UUID = Field(primary_key=True)
    effective_date: date = Field(primary_key=True)
    gl_account_id: uuid.UUID = Field(primary_key=True, foreign_key="gl_accounts.id")
    currency: str = Field(primary_key=True, max_length=3)
    branch_code: str = Field(primary_key=True, max_length=10)
    net_debit: int = Field(sa_type=sa.BigInteger)
    posting_count: int = Field(sa_type=sa.BigInteger)


class GLRollupMark(SQLModel, table=True):
    """How far a tenant's postings are rolled up: every posting with ``id <= through_id``."""

    __tablename__ = "gl_rollup_marks"

    tenant_id: uuid.UUID = Field(primary_key=True, foreign_key="tenants.id")
    through_id: int = Field(default=0, sa_type=sa.BigInteger)
    rolled_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
