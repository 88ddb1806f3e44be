"""Customer accounts, their holds and statements (``/accounts``, ``/views/accounts``)."""

from datetime import date

from .._parse import Money, Timestamp
from ._base import Resource

__all__ = [
    "Account",
    "AccountView",
    "BalancePoint",
    "Hold",
    "Statement",
    "StatementLine",
    "StatementTotals",
]


class Hold(Resource, kw_only=True, frozen=True):
    """Money set aside on an account; it lowers ``available_balance`` while ``ACTIVE``."""

    plural = "holds"

    id: str
    account_id: str
    amount: Money
    reason: str
    status: str
    expires_at: Timestamp | None = None
    transaction_id: str | None = None
    created_at: Timestamp
    released_at: Timestamp | None = None


class Account(Resource, kw_only=True, frozen=True):
    """An account with its balances (``GET /accounts``, ``/accounts/{id}``).

    ``customer_name`` comes with lists and single reads, not where the account is nested
    in its customer; ``holds`` only with a single read.
    """

    plural = "accounts"

    id: str
    account_number: str
    customer_id: str
    product_code: str
    account_type: str
    currency: str
    branch_code: str
    alias: str | None = None
    status: str
    status_reason: str | None = None
    ledger_balance: Money
    available_balance: Money
    hold_amount: Money
    overdraft_limit: Money
    daily_withdrawal_limit: Money | None = None
    created_at: Timestamp
    closed_at: Timestamp | None = None
    customer_name: str | None = None
    holds: list[Hold] = []


class StatementLine(Resource, kw_only=True, frozen=True):
    """One posting on an account's statement, with the running balance after it."""

    plural = "transactions"

    id: int
    journal_id: str
    posted_at: Timestamp
    effective_date: date
    entry_type: str
    amount: Money
    signed_amount: Money
    currency: str
    balance_after: Money
    description: str | None = None


class Statement(Resource, kw_only=True, frozen=True):
    """``GET /accounts/{id}/transactions``: a page of postings and the account."""

    transactions: list[StatementLine]
    has_more: bool = False
    next_cursor: str | None = None
    account: Account


class StatementTotals(Resource, kw_only=True, frozen=True):
    """The statement's totals over the chosen dates."""

    count: int
    credits: Money
    debits: Money
    opening_balance: Money
    closing_balance: Money


class BalancePoint(Resource, kw_only=True, frozen=True):
    """A point of the balance chart."""

    posted_at: Timestamp
    balance_after: Money
    signed_amount: Money


class AccountView(Resource, kw_only=True, frozen=True):
    """``GET /views/accounts/{id}``: the account page in one call."""

    account: Account
    transactions: list[StatementLine]
    has_more: bool = False
    next_cursor: str | None = None
    totals: StatementTotals
    balance_points: list[BalancePoint] = []
    balance_points_complete: bool = True
