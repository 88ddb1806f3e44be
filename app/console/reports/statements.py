"""The balance sheet and the income statement (with its monthly trend), read from the core.

The core computes every figure; these classes only shape its answer for the page, the
CSV and the trend chart.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from app.console.charts import BarChart, Group, Series, bar_chart
from app.console.formatting import money, parse_day
from app.console.reports.figures import (
    Section,
    StatementLine,
    amount_field,
    section,
    to_decimal,
)


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


def balance_sheet(body: Mapping[str, Any], currency: str) -> BalanceSheet:
    """``GET /reports/balance-sheet`` as a :class:`BalanceSheet`."""
    assets = section(body, "assets", "Assets", "total_assets")
    liabilities = section(body, "liabilities", "Liabilities", "total_liabilities")
    equity = section(body, "equity", "Equity")
    earnings = body.get("current_year_earnings")
    if earnings is not None and to_decimal(earnings) != 0:
        # Revenue less expenses not yet closed into retained earnings: part of equity
        # until the year closes (the core's total equity includes it).
        equity.lines.append(
            StatementLine(
                code="",
                name="Current year earnings (not yet closed)",
                amount=to_decimal(earnings),
                amount_text=str(earnings),
            )
        )
    if body.get("total_equity") is not None:
        equity.total, equity.total_text = (
            to_decimal(body["total_equity"]),
            str(body["total_equity"]),
        )
    total_assets, total_assets_text = amount_field(body, "total_assets", default=assets.total)
    both, both_text = amount_field(
        body,
        "total_liabilities_and_equity",
        "total_liabilities_equity",
        default=liabilities.total + equity.total,
    )
    return BalanceSheet(
        as_of=str(body.get("as_of") or ""),
        currency=str(body.get("currency") or currency),
        assets=assets,
        liabilities=liabilities,
        equity=equity,
        total_assets=total_assets,
        total_assets_text=total_assets_text,
        total_liabilities_and_equity=both,
        total_liabilities_and_equity_text=both_text,
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


def _month_of(raw: Mapping[str, Any]) -> date | None:
    for name in ("month", "period", "start_date", "from", "date"):
        value = raw.get(name)
        if value:
            text = str(value)
            day = parse_day(text if len(text) > 7 else f"{text[:7]}-01")
            if day is not None:
                return day.replace(day=1)
    return None


def _text(raw: Mapping[str, Any], *names: str) -> tuple[Decimal, str]:
    for name in names:
        if raw.get(name) is not None:
            return to_decimal(raw[name]), str(raw[name])
    return Decimal(0), "0.00"


def trend_months(body: Mapping[str, Any]) -> list[TrendMonth]:
    """The monthly trend the core sends with the income statement, oldest month first."""
    raw_trend = body.get("trend") or body.get("monthly") or body.get("months") or []
    months: list[TrendMonth] = []
    for raw in raw_trend if isinstance(raw_trend, list) else []:
        if not isinstance(raw, Mapping):
            continue
        first = _month_of(raw)
        if first is None:
            continue
        revenue, revenue_text = _text(raw, "revenue", "total_revenue", "income")
        expenses, expenses_text = _text(raw, "expenses", "total_expenses", "expense")
        if any(raw.get(n) is not None for n in ("net", "net_income")):
            net, net_text = _text(raw, "net", "net_income")
        else:
            net = revenue - expenses
            net_text = format(net.quantize(Decimal("0.01")), "f")
        months.append(
            TrendMonth(
                month=f"{first:%Y-%m}",
                label=f"{first:%b}",
                long_label=f"{first:%B %Y}",
                revenue=revenue,
                expenses=expenses,
                net=net,
                revenue_text=revenue_text,
                expenses_text=expenses_text,
                net_text=net_text,
            )
        )
    months.sort(key=lambda m: m.month)
    if len({m.month[:4] for m in months}) > 1:
        months = [
            TrendMonth(**{**m.__dict__, "label": f"{m.label} {m.month[2:4]}"}) for m in months
        ]
    return months


def income_statement(body: Mapping[str, Any], currency: str) -> IncomeStatement:
    """``GET /reports/income-statement`` as an :class:`IncomeStatement`."""
    revenue = section(body, "revenue", "Revenue", "total_revenue")
    expenses = section(body, "expenses", "Expenses", "total_expenses")
    net, net_text = amount_field(
        body, "net_income", "net_profit", "net", default=revenue.total - expenses.total
    )
    return IncomeStatement(
        start=str(body.get("from") or body.get("from_date") or body.get("start_date") or ""),
        end=str(body.get("to") or body.get("to_date") or body.get("end_date") or ""),
        currency=str(body.get("currency") or currency),
        revenue=revenue,
        expenses=expenses,
        net_income=net,
        net_income_text=net_text,
        trend=trend_months(body),
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
