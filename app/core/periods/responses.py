"""Fiscal period answers (api.md, "Fiscal periods")."""

from typing import Any

import msgspec

from app.core.contract.shapes import Cursor, Day, Id, Instant, Model, Money


class FiscalPeriod(Model):
    id: Id
    fiscal_year: int
    period_number: int
    period_name: str
    start_date: Day
    end_date: Day
    status: str
    closed_by: Id | None
    closed_by_email: str | None
    closed_at: Instant | None
    locked_at: Instant | None
    created_at: Instant
    # One period's read and its close: the trial balance kept at the close (null while open).
    trial_balance_snapshot: dict[str, Any] | msgspec.UnsetType | None = msgspec.UNSET


class FiscalPeriodPage(Model):
    fiscal_periods: list[FiscalPeriod]
    has_more: bool
    next_cursor: Cursor | None


class FiscalYear(Model):
    fiscal_year: int
    fiscal_periods: list[FiscalPeriod]


class CloseBlocker(Model):
    kind: str  # earlier_period | journal | teller_transaction
    id: Id
    reference: str | None
    status: str
    description: str | None
    amount: Money | None
    currency: str | None
    date: Day | None


class CloseBlockers(Model):
    period_id: Id
    can_close: bool
    blocker_count: int
    close_blockers: list[CloseBlocker]


class NetIncome(Model):
    currency: str
    amount: Money  # revenue less expenses (negative: a loss)


class ClosedYear(Model):
    fiscal_year: int
    status: str  # locked
    closing_journal_id: Id | None  # null when the year had no income or expense to close
    closing_journal_number: str | None
    net_income: list[NetIncome]
    fiscal_periods: list[FiscalPeriod]
