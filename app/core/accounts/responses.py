"""Account answers (api.md, "Accounts")."""

import msgspec

from app.core.contract.shapes import Cursor, Day, Id, Instant, Model, Money
from app.core.transactions.responses import Transaction


class Account(Model):
    id: Id
    account_number: str
    customer_id: Id
    product_code: str
    account_type: str
    currency: str
    branch_code: str
    alias: str | None
    status: str
    status_reason: str | None
    ledger_balance: Money
    available_balance: Money
    hold_amount: Money
    overdraft_limit: Money
    daily_withdrawal_limit: Money | None
    created_at: Instant
    closed_at: Instant | None
    customer_name: str | msgspec.UnsetType = msgspec.UNSET  # reads of one account


class OpenedAccount(Account):
    # Present when the opening took an initial deposit.
    initial_deposit_transaction: Transaction | msgspec.UnsetType = msgspec.UNSET


class Hold(Model):
    id: Id
    account_id: Id
    amount: Money
    reason: str
    status: str
    expires_at: Instant | None
    transaction_id: Id | None
    created_at: Instant
    released_at: Instant | None


class AccountDetail(Account, kw_only=True):
    holds: list[Hold]


class AccountPage(Model):
    accounts: list[Account]
    has_more: bool
    next_cursor: Cursor | None


class StatementLine(Model):
    id: int
    journal_id: Id
    posted_at: Instant
    effective_date: Day
    entry_type: str
    amount: Money
    signed_amount: Money
    currency: str
    balance_after: Money
    description: str | None


class Statement(Model):
    transactions: list[StatementLine]
    has_more: bool
    next_cursor: Cursor | None
    account: Account


class Product(Model):
    code: str
    name: str
    account_type: str
    currencies: list[str]


class Products(Model):
    products: list[Product]
