"""Teller transactions and transfers (``/transactions``, ``/views/transactions``)."""

from datetime import date

from .._parse import Money, Timestamp
from ._base import Resource

__all__ = ["Transaction", "TransactionView"]


class Transaction(Resource, kw_only=True, frozen=True):
    """A deposit, withdrawal or transfer: what the cash and transfer writes answer.

    ``balance_after`` and ``journal_id`` are ``None`` while ``PENDING_APPROVAL`` (no money
    has moved yet).
    """

    plural = "transactions"

    id: str
    transaction_ref: str
    type: str
    status: str
    amount: Money
    currency: str
    account_id: str
    counterparty_account_id: str | None = None
    narration: str | None = None
    depositor_name: str | None = None
    balance_after: Money | None = None
    journal_id: str | None = None
    branch_code: str | None = None
    business_date: date | None = None
    created_at: Timestamp
    created_by: str
    created_by_email: str | None = None
    approved_by: str | None = None
    approved_at: Timestamp | None = None
    rejected_by: str | None = None
    rejected_at: Timestamp | None = None
    rejection_reason: str | None = None


class TransactionView(Transaction, kw_only=True, frozen=True):
    """A transaction with its accounts' numbers and holders (``/views/transactions``)."""

    account_number: str | None = None
    customer_name: str | None = None
    counterparty_account_number: str | None = None
    counterparty_customer_name: str | None = None
