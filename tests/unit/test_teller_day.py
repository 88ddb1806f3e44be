"""The teller's day: a deposit or withdrawal whose journal was reversed leaves the till."""

from decimal import Decimal

from app.console.teller.day import STATUS_LABELS, summarise


def test_reversed_cash_does_not_count_towards_the_till():
    transactions = [
        {"type": "DEPOSIT", "status": "COMPLETED", "amount": "100.00", "currency": "NGN"},
        {"type": "DEPOSIT", "status": "REVERSED", "amount": "40.00", "currency": "NGN"},
        {"type": "WITHDRAWAL", "status": "REVERSED", "amount": "7.00", "currency": "NGN"},
        {"type": "WITHDRAWAL", "status": "COMPLETED", "amount": "30.00", "currency": "NGN"},
    ]
    day = summarise(transactions, "2026-12-01", "Africa/Lagos", "NGN")
    ngn = day.currencies[0]
    assert (ngn.deposits, ngn.deposit_count) == (Decimal("100.00"), 1)
    assert (ngn.withdrawals, ngn.withdrawal_count) == (Decimal("30.00"), 1)
    assert ngn.net_cash == Decimal("70.00")
    assert day.rejected_count == 0
    assert STATUS_LABELS["REVERSED"] == "Reversed"
