"""The balance sheet and the income statement (with its monthly trend), read from the core.

The core computes every figure; these classes only shape its answer for the page, the
CSV and the trend chart.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from app.client import BalanceSheet as BalanceSheetReport
from app.client import IncomeStatement as IncomeStatementReport
from app.console.charts import BarChart, Group, Series, bar_chart
from app.console.formatting import money, parse_day
from app.console.reports.figures import Section, StatementLine, section


@dataclass
class BalanceSheet:
    """Assets, liabilities and equity as of a date."""

    as_of: str
    currency: str
    assets: Section
    liabilities: Section
    equity: Section
    total_assets: Decimal
    total_assets_text: str
    total_liabilities_and_equity: Decimal
    total_liabilities_and_equity_text: str

    @property
    def sections(self) -> list[Section]:
        return [self.assets, self.liabilities, self.equity]

    @property
    def balanced(self) -> bool:
        return self.total_assets == self.total_liabilities_and_equity


def balance_sheet(report: BalanceSheetReport) -> BalanceSheet:
    """``GET /reports/balance-sheet`` as a :class:`BalanceSheet`."""
    equity = section(report.equity, "equity", "Equity")
    if report.current_year_earnings != 0:
        # Revenue less expenses not yet closed into retained earnings: part of equity
        # until the year closes (the core's total equity includes it).
        equity.lines.append(
            StatementLine(
                code="",
                name="Current year earnings (not yet closed)",
                amount=report.current_year_earnings,
                amount_text=str(report.current_year_earnings),
            )
        )
    equity.total, equity.total_text = report.total_equity, str(report.total_equity)
    return BalanceSheet(
        as_of=report.as_of.isoformat(),
        currency=report.currency,
        assets=section(report.assets, "assets", "Assets"),
        liabilities=section(report.liabilities, "liabilities", "Liabilities"),
        equity=equity,
        total_assets=report.total_assets,
        total_assets_text=str(report.total_assets),
        total_liabilities_and_equity=report.total_liabilities_and_equity,
        total_liabilities_and_equity_text=str(report.total_liabilities_and_equity),
    )


@dataclass(frozen=True)
class TrendMonth:
    """One month of the income statement's trend."""

    month: str  # "2026-03"
    label: str  # "Mar"
    long_label: str  # "March 2026"
    revenue: Decimal
    expenses: Decimal
    net: Decimal
    revenue_text: str
    expenses_text: str
    net_text: str


@dataclass
class IncomeStatement:
    """Revenue and expenses over a range, the net income, and the monthly trend."""

    start: str
    end: str
    currency: str
    revenue: Section
    expenses: Section
    net_income: Decimal
    net_income_text: str
    trend: list[TrendMonth] = field(default_factory=list)

    @property
    def sections(self) -> list[Section]:
        return [self.revenue, self.expenses]


def trend_months(report: IncomeStatementReport) -> list[TrendMonth]:
    """The monthly trend the core sends with the income statement, oldest month first."""
    months = [
        TrendMonth(
            month=m.month,
            label=f"{first:%b}",
            long_label=f"{first:%B %Y}",
            revenue=m.revenue,
            expenses=m.expenses,
            net=m.net,
            revenue_text=str(m.revenue),
            expenses_text=str(m.expenses),
            net_text=str(m.net),
        )
        for m in report.months
        if (first := parse_day(f"{m.month}-01")) is not None
    ]
    months.sort(key=lambda m: m.month)
    if len({m.month[:4] for m in months}) > 1:
        months = [
            TrendMonth(**{**m.__dict__, "label": f"{m.label} {m.month[2:4]}"}) for m in months
        ]
    return months


def income_statement(report: IncomeStatementReport) -> IncomeStatement:
    """``GET /reports/income-statement`` as an :class:`IncomeStatement`."""
    return IncomeStatement(
        start=report.from_.isoformat(),
        end=report.to.isoformat(),
        currency=report.currency,
        revenue=section(report.revenue, "revenue", "Revenue"),
        expenses=section(report.expenses, "expenses", "Expenses"),
        net_income=report.net_income,
        net_income_text=str(report.net_income),
        trend=trend_months(report),
    )


REVENUE = Series("revenue", "Revenue", "revenue")
EXPENSES = Series("expenses", "Expenses", "expenses")
NET = Series("net", "Net income", "net")


def trend_chart(statement: IncomeStatement) -> BarChart | None:
    """Revenue and expenses per month as bars, net income as a line across them."""
    months = statement.trend
    if not months:
        return None
    best = max(months, key=lambda m: m.net)
    worst = min(months, key=lambda m: m.net)
    if not any(m.revenue or m.expenses for m in months):
        description = (
            f"No revenue or expenses from {months[0].long_label} to {months[-1].long_label}."
        )
    else:
        description = (
            f"Revenue, expenses and net income per month, {months[0].long_label} to "
            f"{months[-1].long_label}. Best month {best.long_label} "
            f"({money(best.net, statement.currency)} net); weakest {worst.long_label} "
            f"({money(worst.net, statement.currency)} net)."
        )
    return bar_chart(
        [
            Group(
                m.label,
                {"revenue": m.revenue, "expenses": m.expenses, "net": m.net},
                long_label=m.long_label,
            )
            for m in months
        ],
        [REVENUE, EXPENSES],
        statement.currency,
        line=NET,
        description=description,
        width=1180,
        height=280,
    )
