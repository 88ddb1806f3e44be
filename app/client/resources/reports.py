"""The reports (``/reports/trial-balance``, ``balance-sheet``, ``income-statement``,
``teller-summary``)."""

import datetime
from datetime import date

import msgspec

from .._parse import Money
from ._base import Resource

__all__ = [
    "BalanceSheet",
    "CashFigure",
    "IncomeMonth",
    "IncomeStatement",
    "ReportLine",
    "ReportSection",
    "TellerSummary",
    "TellerSummaryRow",
    "TellerSummaryTotal",
    "TrialBalance",
    "TrialBalanceLine",
]


class TrialBalanceLine(Resource, kw_only=True, frozen=True):
    """A leaf GL account's balance, on its debit or its credit side."""

    gl_account_id: str
    code: str
    name: str
    category: str | None = None
    debit: Money
    credit: Money


class TrialBalance(Resource, kw_only=True, frozen=True):
    """Every leaf GL account with a balance on ``as_of`` in one currency; totals equal."""

    as_of: date
    branch_code: str | None = None
    currency: str
    lines: list[TrialBalanceLine] = []
    total_debit: Money
    total_credit: Money
    balanced: bool
    currencies: list[str] = []
    from_snapshot_of: str | None = None


class ReportLine(Resource, kw_only=True, frozen=True):
    """A GL account's balance in a section of a statement."""

    gl_account_id: str
    code: str
    name: str
    balance: Money


class ReportSection(Resource, kw_only=True, frozen=True):
    """A section (assets, revenue, …) and its total."""

    lines: list[ReportLine] = []
    total: Money


class BalanceSheet(Resource, kw_only=True, frozen=True):
    """Assets = liabilities + equity (with this year's earnings not yet closed)."""

    as_of: date
    branch_code: str | None = None
    currency: str
    assets: ReportSection
    liabilities: ReportSection
    equity: ReportSection
    current_year_earnings: Money
    total_assets: Money
    total_liabilities: Money
    total_equity: Money
    total_liabilities_and_equity: Money
    balanced: bool


class IncomeMonth(Resource, kw_only=True, frozen=True):
    """One month of the income trend (``month`` is ``YYYY-MM``)."""

    month: str
    label: str
    revenue: Money
    expenses: Money
    net: Money


class IncomeStatement(Resource, kw_only=True, frozen=True):
    """Revenue, expenses and net income over [``from``, ``to``] (``from_`` in Python)."""

    from_: date = msgspec.field(name="from")
    to: date
    branch_code: str | None = None
    currency: str
    revenue: ReportSection
    expenses: ReportSection
    total_revenue: Money
    total_expenses: Money
    net_income: Money
    months: list[IncomeMonth] = []


class CashFigure(Resource, kw_only=True, frozen=True):
    """A count of cash movements and their amount."""

    count: int
    amount: Money


class TellerSummaryRow(Resource, kw_only=True, frozen=True):
    """One teller's cash in one currency on the day."""

    user_id: str
    email: str | None = None
    name: str | None = None
    branch_code: str | None = None
    currency: str
    deposits: CashFigure
    withdrawals: CashFigure
    transaction_count: int
    net_cash: Money


class TellerSummaryTotal(Resource, kw_only=True, frozen=True):
    """Every teller's cash in one currency."""

    currency: str
    deposits: CashFigure
    withdrawals: CashFigure
    transaction_count: int
    net_cash: Money


class TellerSummary(Resource, kw_only=True, frozen=True):
    """``GET /reports/teller-summary``: deposits, withdrawals and net cash per teller."""

    date: datetime.date  # the module's name: the field shadows the type
    branch_code: str | None = None
    user_id: str | None = None
    tellers: list[TellerSummaryRow] = []
    totals: list[TellerSummaryTotal] = []
