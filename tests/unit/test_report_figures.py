"""Narrow unit tests of the console's report shaping: per-currency trial balances, totals
taken from the core, CSV cells a spreadsheet will not run, and bar-chart geometry."""

from decimal import Decimal
from typing import Any

import msgspec
import pytest

from app.client import BalanceSheet, IncomeStatement, PeriodSnapshot, TellerSummary, TrialBalance
from app.client.resources._base import decoder_for
from app.console.charts import Group, Series, bar_chart
from app.console.periods.checklist import blockers_from_details
from app.console.reports.figures import (
    snapshot_trial_balance,
    to_decimal,
    trial_balance,
    trial_balance_csv,
)
from app.console.reports.statements import balance_sheet, income_statement, trend_chart
from app.console.reports.tellers import (
    TellerBlock,
    teller_summary,
    teller_summary_csv,
    tellers_chart,
)


def typed(model: type[Any], body: dict[str, Any]) -> Any:
    """``body`` read as the client reads the core's answer."""
    return decoder_for(model).decode(msgspec.json.encode(body))


def _line(code: str, name: str, debit: str, credit: str, **more: str) -> dict[str, str]:
    return {"gl_account_id": f"gl-{code}", "code": code, "name": name, "debit": debit,
            "credit": credit, **more}  # fmt: skip


SNAPSHOT = {
    "as_of": "2020-01-31",
    "lines": [
        _line("2101", "Savings", "0.00", "5.00", currency="NGN", category="LIABILITY"),
        _line("1101-001", "Cash", "5.00", "0.00", currency="NGN", category="ASSET"),
        _line("2104", "Dom", "0.00", "7.50", currency="USD", category="LIABILITY"),
        _line("1101-001", "Cash", "7.50", "0.00", currency="USD", category="ASSET"),
    ],
    "totals": [
        {"currency": "USD", "total_debit": "7.50", "total_credit": "7.50"},
        {"currency": "NGN", "total_debit": "5.00", "total_credit": "5.00"},
    ],
}


def test_a_snapshot_becomes_one_block_per_currency_base_first():
    report = snapshot_trial_balance(typed(PeriodSnapshot, SNAPSHOT), "NGN")
    assert [b.currency for b in report.blocks] == ["NGN", "USD"]
    assert [line.code for line in report.blocks[0].lines] == ["1101-001", "2101"]
    assert report.blocks[1].total_debit_text == "7.50"
    assert report.balanced


def test_totals_are_the_cores_and_a_difference_shows():
    body = {"as_of": "2020-01-31", "currency": "NGN", "lines": [_line("1", "A", "10.00", "0.00")]}
    totals = {"total_debit": "10.00", "total_credit": "9.99", "balanced": False}
    report = trial_balance(typed(TrialBalance, {**body, **totals}))
    assert report.blocks[0].total_credit == Decimal("9.99")
    assert not report.balanced


def test_csv_rows_keep_the_cores_strings_and_defuse_formulas():
    body = {
        "as_of": "2020-01-31",
        "currency": "NGN",
        "lines": [_line("=1+2", "@SUM(A1)", "1.00", "0.00")],
        "total_debit": "1.00",
        "total_credit": "0.00",
        "balanced": False,
    }
    lines = list(trial_balance_csv(trial_balance(typed(TrialBalance, body))))
    assert lines[1] == "'=1+2,'@SUM(A1),1.00,0.00,NGN\r\n"
    assert lines[-1] == ",Total,1.00,0.00,NGN\r\n"


def test_money_is_never_a_float():
    with pytest.raises(TypeError):
        to_decimal(1.5)


def test_balance_sheet_equity_includes_the_years_earnings():
    sheet = balance_sheet(
        typed(
            BalanceSheet,
            {
                "as_of": "2020-01-31",
                "currency": "NGN",
                "assets": {
                    "lines": [
                        {"gl_account_id": "g", "code": "1400", "name": "R", "balance": "600.00"}
                    ],
                    "total": "600.00",
                },
                "liabilities": {"lines": [], "total": "0.00"},
                "equity": {"lines": [], "total": "0.00"},
                "current_year_earnings": "600.00",
                "total_assets": "600.00",
                "total_liabilities": "0.00",
                "total_equity": "600.00",
                "total_liabilities_and_equity": "600.00",
                "balanced": True,
            },
        )
    )
    assert sheet.equity.total == Decimal("600.00")
    assert sheet.equity.lines[-1].name == "Current year earnings (not yet closed)"
    assert sheet.balanced


def test_income_statement_trend_and_chart():
    month = {"revenue": "0.00", "expenses": "0.00", "net": "0.00"}
    statement = income_statement(
        typed(
            IncomeStatement,
            {
                "from": "2020-01-01",
                "to": "2020-02-29",
                "currency": "NGN",
                "revenue": {"lines": [], "total": "1000.00"},
                "expenses": {"lines": [], "total": "400.00"},
                "total_revenue": "1000.00",
                "total_expenses": "400.00",
                "net_income": "600.00",
                "months": [
                    {
                        **month,
                        "month": "2020-01",
                        "label": "Jan 2020",
                        "revenue": "1000.00",
                        "net": "1000.00",
                    },
                    {
                        **month,
                        "month": "2020-02",
                        "label": "Feb 2020",
                        "expenses": "400.00",
                        "net": "-400.00",
                    },
                ],
            },
        )
    )
    assert [m.label for m in statement.trend] == ["Jan", "Feb"]
    chart = trend_chart(statement)
    assert chart is not None
    revenue_bars = [b for b in chart.bars if b.css == "revenue"]
    assert revenue_bars[0].height > 0 and revenue_bars[1].height == 0
    # A loss is drawn below the zero line.
    assert chart.points[1].y > chart.zero_y > chart.points[0].y
    assert "Best month January 2020" in chart.description


def test_bar_heights_are_proportional_and_empty_is_none():
    series = [Series("a", "A", "deposits")]
    chart = bar_chart(
        [Group("1", {"a": Decimal("100")}), Group("2", {"a": Decimal("50")})], series, "NGN"
    )
    assert chart is not None
    first, second = chart.bars
    assert first.height == pytest.approx(second.height * 2, rel=0.02)
    assert bar_chart([], series, "NGN") is None


def test_teller_summary_per_currency_and_csv():
    summary = teller_summary(
        typed(
            TellerSummary,
            {
                "date": "2026-12-01",
                "tellers": [
                    {
                        "user_id": "u1",
                        "email": "t@x",
                        "name": "T",
                        "branch_code": "001",
                        "currency": "USD",
                        "deposits": {"count": 1, "amount": "5.00"},
                        "withdrawals": {"count": 0, "amount": "0.00"},
                        "transaction_count": 1,
                        "net_cash": "5.00",
                    },
                    {
                        "user_id": "u1",
                        "email": "t@x",
                        "name": "T",
                        "branch_code": "001",
                        "currency": "NGN",
                        "deposits": {"count": 2, "amount": "1500.00"},
                        "withdrawals": {"count": 1, "amount": "200.00"},
                        "transaction_count": 3,
                        "net_cash": "1300.00",
                    },
                ],
            },
        ),
        "NGN",
    )
    assert [b.currency for b in summary.blocks] == ["NGN", "USD"]
    assert summary.base.deposit_count == 2 and summary.base.net_cash == Decimal("1300.00")
    assert summary.tellers == [("u1", "T (t@x)")]
    rows = list(teller_summary_csv(summary))
    assert rows[1] == "T,t@x,001,1500.00,2,200.00,1,1300.00,NGN\r\n"
    assert rows[2] == "Total,,,1500.00,2,200.00,1,1300.00,NGN\r\n"
    # The chart: a pair of bars per teller, deposits taller than withdrawals, both titled.
    chart = tellers_chart(summary.base, "Tue 1 Dec 2026")
    assert chart is not None
    deposits, withdrawals = chart.bars
    assert deposits.css == "deposits" and withdrawals.css == "withdrawals"
    assert deposits.height == pytest.approx(withdrawals.height * 7.5, rel=0.05)
    assert deposits.title == "T (001) · Deposits: ₦1,500.00"
    assert [t.label for t in chart.x_ticks] == ["T"]
    assert "most handled by T" in chart.description
    assert tellers_chart(TellerBlock("NGN"), "Tue 1 Dec 2026") is None


def test_the_cores_close_blockers_link_where_they_are_handled():
    # PERIOD_CLOSE_BLOCKED's items (codes.md): the kind in ``field``, the ID in ``value``.
    blockers = blockers_from_details(
        [
            {
                "field": "journal",
                "code": "journal_pending",
                "value": "j-1",
                "reference": "JV1",
                "status": "PENDING",
                "reason": "journal pending, not posted",
            },
            {
                "field": "teller_transaction",
                "code": "teller_transaction_pending",
                "value": "t-1",
                "reference": "TX1",
                "status": "PENDING_APPROVAL",
                "reason": "x",
            },
            {
                "field": "earlier_period",
                "code": "earlier_period_open",
                "value": "p-1",
                "reference": "January 2020",
                "status": "open",
                "reason": "still open",
            },
        ]
    )
    assert [(b.kind, b.title, b.url) for b in blockers] == [
        ("journal", "Journal JV1", "/journals/j-1"),
        ("transaction", "Transaction TX1", "/approvals/transactions/t-1"),
        ("period", "January 2020", "/periods/p-1"),
    ]
    assert blockers[0].detail == "waiting for approval"
