"""Teller and transfer answers (api.md, "Transactions")."""

import msgspec

from app.core.contract.errors import ErrorDetail
from app.core.contract.shapes import Cursor, Day, Id, Instant, Model, Money


class Transaction(Model):
    id: Id
    transaction_ref: str
    type: str
    status: str
    amount: Money
    currency: str
    account_id: Id
    counterparty_account_id: Id | None
    narration: str | None
    depositor_name: str | None
    balance_after: Money | None
    journal_id: Id | None
    branch_code: str
    business_date: Day
    created_at: Instant
    created_by: Id
    created_by_email: str
    approved_by: Id | None
    approved_at: Instant | None
    rejected_by: Id | None
    rejected_at: Instant | None
    rejection_reason: str | None


class TransactionPage(Model):
    transactions: list[Transaction]
    has_more: bool
    next_cursor: Cursor | None


class ItemError(Model):
    code: str
    message: str
    details: list[ErrorDetail]


class BatchItem(Model):
    index: int
    status: str  # COMPLETED | FAILED | NOT_EXECUTED
    transaction: Transaction | msgspec.UnsetType = msgspec.UNSET
    error: ItemError | msgspec.UnsetType = msgspec.UNSET


class BatchResult(Model):
    results: list[BatchItem]
