"""Report answers (api.md, "Reports"): every figure a decimal string in one currency."""

from app.core.contract.shapes import Day, Id, Model, Money


class TrialBalanceLine(Model):
    gl_account_id: Id
    code: str
    name: str
    category: str
    debit: Money
    credit: Money


class TrialBalance(Model):
    as_of: Day
    branch_code: str | None
    currency: str
    lines: list[TrialBalanceLine]
    total_debit: Money
    total_credit: Money
    balanced: bool
    currencies: list[str]  # every currency with a balance (the one shown included)
    from_snapshot_of: Id | None  # the closed period whose snapshot the sums start from


class ReportLine(Model):
    gl_account_id: Id
    code: str
    name: str
    balance: Money  # in the account's normal direction


class ReportSection(Model):
    lines: list[ReportLine]
    total: Money


class BalanceSheet(Model):
    as_of: Day
    branch_code: str | None
    currency: str
    assets: ReportSection
    liabilities: ReportSection
    equity: ReportSection
    current_year_earnings: Money
    total_assets: Money
    total_liabilities: Money
    total_equity: Money  # equity plus the current year's earnings
    total_liabilities_and_equity: Money
    balanced: bool


class IncomeMonth(Model):
    month: str  # YYYY-MM
    label: str  # "Jan 2026"
    revenue: Money
    expenses: Money
    net: Money


class IncomeStatement(Model, rename={"from_": "from"}):
    from_: Day
    to: Day
    branch_code: str | None
    currency: str
    revenue: ReportSection
    expenses: ReportSection
    total_revenue: Money
    total_expenses: Money
    net_income: Money
    months: list[IncomeMonth]


class CashCount(Model):
    count: int
    amount: Money


class TellerCash(Model):
    user_id: Id
    email: str
    name: str | None  # None when the staff member is gone
    branch_code: str
    currency: str
    deposits: CashCount
    withdrawals: CashCount
    transaction_count: int
    net_cash: Money


class CashTotal(Model):
    currency: str
    deposits: CashCount
    withdrawals: CashCount
    transaction_count: int
    net_cash: Money


class TellerSummary(Model):
    date: Day
    branch_code: str | None
    user_id: Id | None
    tellers: list[TellerCash]
    totals: list[CashTotal]
