"""Journals and their lines (``GET /journals``, ``/journals/{id}``)."""

from datetime import date

from .._parse import Money, Timestamp
from ._base import Resource

__all__ = ["Journal", "JournalLine", "JournalPeriod", "JournalTotal"]


class JournalLine(Resource, kw_only=True, frozen=True):
    """One line: a GL account or a customer account (``account_kind``), debit or credit.

    For a customer account, ``gl_account_*`` name its product's control account.
    """

    line_no: int
    account_id: str
    account_kind: str
    account_number: str | None = None
    account_name: str | None = None
    gl_account_id: str | None = None
    gl_account_code: str | None = None
    gl_account_name: str | None = None
    entry_type: str
    amount: Money
    currency_code: str
    description: str | None = None
    automatic: bool = False


class JournalTotal(Resource, kw_only=True, frozen=True):
    """A journal's debits and credits in one currency (equal once balanced)."""

    currency_code: str
    debit: Money
    credit: Money


class JournalPeriod(Resource, kw_only=True, frozen=True):
    """The fiscal period a journal falls in, as the journal names it."""

    id: str
    fiscal_year: int
    period_number: int
    period_name: str
    status: str


class Journal(Resource, kw_only=True, frozen=True):
    """A journal with its ``entries`` and who did what when.

    ``reversal_journal_id`` (on the original) and ``reverses_journal_id`` (on the mirror)
    link a reversal.
    """

    plural = "journals"

    id: str
    journal_number: str
    journal_type: str
    status: str
    is_system: bool = False
    description: str
    transaction_date: date
    effective_date: date
    fiscal_period_id: str | None = None
    fiscal_period: JournalPeriod | None = None
    source_reference: str | None = None
    branch_code: str | None = None
    entries: list[JournalLine] = []
    totals: list[JournalTotal] = []
    created_by: str
    created_by_email: str | None = None
    created_at: Timestamp
    approved_by: str | None = None
    approved_by_email: str | None = None
    approved_at: Timestamp | None = None
    posted_by: str | None = None
    posted_by_email: str | None = None
    posted_at: Timestamp | None = None
    rejected_by: str | None = None
    rejected_by_email: str | None = None
    rejected_at: Timestamp | None = None
    rejection_reason: str | None = None
    reversed_by: str | None = None
    reversed_by_email: str | None = None
    reversed_at: Timestamp | None = None
    reversal_reason: str | None = None
    reversal_journal_id: str | None = None
    reverses_journal_id: str | None = None
