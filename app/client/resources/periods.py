"""Fiscal periods and what keeps one from closing (``/fiscal-periods``)."""

import datetime
from datetime import date

from .._parse import Money, Timestamp
from ._base import Resource

__all__ = [
    "CloseBlocker",
    "CloseBlockers",
    "ClosedYear",
    "FiscalPeriod",
    "PeriodSnapshot",
    "SnapshotLine",
    "SnapshotTotal",
]


class SnapshotLine(Resource, kw_only=True, frozen=True):
    """One line of the trial balance a closed period keeps."""

    gl_account_id: str
    code: str
    name: str
    category: str
    currency: str
    debit: Money
    credit: Money


class SnapshotTotal(Resource, kw_only=True, frozen=True):
    """The kept trial balance's totals in one currency."""

    currency: str
    total_debit: Money
    total_credit: Money


class PeriodSnapshot(Resource, kw_only=True, frozen=True):
    """The trial balance taken when the period closed."""

    as_of: date
    taken_at: Timestamp | None = None
    lines: list[SnapshotLine] = []
    totals: list[SnapshotTotal] = []


class FiscalPeriod(Resource, kw_only=True, frozen=True):
    """A period (``open``, ``closed``, ``locked``); a single read adds its snapshot."""

    plural = "fiscal_periods"

    id: str
    fiscal_year: int
    period_number: int
    period_name: str
    start_date: date
    end_date: date
    status: str
    closed_by: str | None = None
    closed_by_email: str | None = None
    closed_at: Timestamp | None = None
    locked_at: Timestamp | None = None
    created_at: Timestamp
    trial_balance_snapshot: PeriodSnapshot | None = None


class CloseBlocker(Resource, kw_only=True, frozen=True):
    """One item the close refuses on: a ``journal``, a ``teller_transaction`` still
    pending, or an ``earlier_period`` still open (``kind``; ``id`` is the item's)."""

    kind: str
    id: str
    reference: str | None = None
    status: str
    description: str | None = None
    amount: Money | None = None
    currency: str | None = None
    date: datetime.date | None = None  # the module's name: the field shadows the type


class CloseBlockers(Resource, kw_only=True, frozen=True):
    """``GET /fiscal-periods/{id}/close-blockers``: the close's own query, read ahead.

    ``blocker_count`` is every blocker; ``close_blockers`` lists the first of them.
    """

    period_id: str
    can_close: bool
    blocker_count: int | None = None
    close_blockers: list[CloseBlocker] = []


class ClosedYear(Resource, kw_only=True, frozen=True):
    """``POST /fiscal-periods/year/{year}/close``: the year locked, and its closing journal
    (``None`` when the year had no income or expense to close)."""

    fiscal_year: int
    status: str
    closing_journal_id: str | None = None
    closing_journal_number: str | None = None
    fiscal_periods: list[FiscalPeriod] = []
