"""Teller transactions and transfers (``/transactions``, ``/views/transactions``)."""

from datetime import date
from typing import Any

from .._parse import Money, Timestamp
from ._base import Resource

__all__ = ["BatchItemError", "BatchResult", "BatchResults", "Transaction", "TransactionView"]


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


class BatchItemError(Resource, kw_only=True, frozen=True):
    """Why one item of a batch failed: the error body an item would have had alone."""

    code: str
    message: str
    details: list[dict[str, Any]] = []


class BatchResult(Resource, kw_only=True, frozen=True):
    """One item of ``POST /transfers/batch``: ``COMPLETED`` (with its ``transaction``),
    ``FAILED`` (with its ``error``) or, in a rejected atomic batch, ``NOT_EXECUTED``."""

    index: int
    status: str
    transaction: Transaction | None = None
    error: BatchItemError | None = None


class BatchResults(Resource, kw_only=True, frozen=True):
    """``POST /transfers/batch``: each item's outcome, in the order sent."""

    results: list[BatchResult]
