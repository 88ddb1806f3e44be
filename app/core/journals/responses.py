"""Journal answers (api.md, "General ledger and journals")."""

import msgspec

from app.core.contract.shapes import Cursor, Day, Id, Instant, Model, Money


class JournalLine(Model):
    line_no: int
    account_id: Id
    account_kind: str  # customer | gl
    account_number: str | None
    account_name: str | None
    gl_account_id: Id
    gl_account_code: str | None
    gl_account_name: str | None
    entry_type: str
    amount: Money
    currency_code: str
    description: str | None
    automatic: bool  # a line the system added (clearing, or any line of a system journal)


class JournalTotal(Model):
    currency_code: str
    debit: Money
    credit: Money


class JournalPeriod(Model):
    id: Id
    fiscal_year: int
    period_number: int
    period_name: str
    status: str


class Journal(Model):
    id: Id
    journal_number: str
    journal_type: str
    status: str
    is_system: bool
    description: str
    transaction_date: Day
    effective_date: Day
    fiscal_period_id: Id | None
    source_reference: str | None
    branch_code: str | None
    created_by: Id
    created_by_email: str
    created_at: Instant
    approved_by: Id | None
    approved_by_email: str | None
    approved_at: Instant | None
    posted_by: Id | None
    posted_by_email: str | None
    posted_at: Instant | None
    rejected_by: Id | None
    rejected_by_email: str | None
    rejected_at: Instant | None
    rejection_reason: str | None
    reversed_by: Id | None
    reversed_by_email: str | None
    reversed_at: Instant | None
    reversal_reason: str | None
    reversal_journal_id: Id | None
    reverses_journal_id: Id | None
    totals: list[JournalTotal]
    # A journal read whole (not ``GET /journals?entries=false``): its period and lines.
    fiscal_period: JournalPeriod | msgspec.UnsetType | None = msgspec.UNSET
    entries: list[JournalLine] | msgspec.UnsetType = msgspec.UNSET


class JournalPage(Model):
    journals: list[Journal]
    has_more: bool
    next_cursor: Cursor | None
