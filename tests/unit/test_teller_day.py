"""The teller's day: a deposit or withdrawal whose journal was reversed leaves the till."""

from decimal import Decimal

import msgspec

from app.client import Transaction
from app.client.resources._base import decoder_for
from app.console.teller.day import STATUS_LABELS, summarise


def _transaction(kind: str, status: str, amount: str) -> Transaction:
    """A transaction as the client reads it from the core."""
    body = {
        "id": f"t-{kind}-{status}-{amount}",
        "transaction_ref": "TX1",
        "type": kind,
        "status": status,
        "amount": amount,
        "currency": "NGN",
        "account_id": "a-1",
        "created_at": "2026-12-01T09:00:00Z",
        "created_by": "u-1",
    }
    return decoder_for(Transaction).decode(msgspec.json.encode(body))


def test_reversed_cash_does_not_count_towards_the_till():
    transactions = [
        _transaction("DEPOSIT", "COMPLETED", "100.00"),
        _transaction("DEPOSIT", "REVERSED", "40.00"),
        _transaction("WITHDRAWAL", "REVERSED", "7.00"),
        _transaction("WITHDRAWAL", "COMPLETED", "30.00"),
    ]
    day = summarise(transactions, "2026-12-01", "Africa/Lagos", "NGN")
    ngn = day.currencies[0]
    assert (ngn.deposits, ngn.deposit_count) == (Decimal("100.00"), 1)
    assert (ngn.withdrawals, ngn.withdrawal_count) == (Decimal("30.00"), 1)
    assert ngn.net_cash == Decimal("70.00")
    assert day.rejected_count == 0
    assert STATUS_LABELS["REVERSED"] == "Reversed"
