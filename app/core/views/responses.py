"""Composite reads' answers (api.md, "Views"): each made of the models of its parts."""

from app.core.accounts.responses import AccountDetail, StatementLine
from app.core.contract.shapes import Cursor, Id, Instant, Model, Money
from app.core.journals.responses import Journal
from app.core.standing.responses import StandingInstruction
from app.core.transactions.responses import Transaction


class RangeTotals(Model):
    count: int
    credits: Money
    debits: Money
    opening_balance: Money
    closing_balance: Money


class BalancePoint(Model):
    posted_at: Instant
    balance_after: Money
    signed_amount: Money


class AccountView(Model):
    account: AccountDetail
    transactions: list[StatementLine]  # the statement's first page, newest first
    has_more: bool
    next_cursor: Cursor | None  # continues with GET /accounts/{id}/transactions
    totals: RangeTotals
    balance_points: list[BalancePoint]
    balance_points_complete: bool  # false when the range has more postings than the chart


class LabelledTransaction(Transaction, kw_only=True):
    """A transaction with its accounts' numbers and holders (a receipt)."""

    account_number: str | None
    customer_name: str | None
    counterparty_account_number: str | None
    counterparty_customer_name: str | None


class LabelledInstruction(StandingInstruction, kw_only=True):
    source_account_number: str | None
    source_account_name: str | None
    destination_account_number: str | None
    destination_account_name: str | None


class JournalSection(Model):
    items: list[Journal]  # as a list shows them: totals, no lines
    has_more: bool


class TransactionSection(Model):
    items: list[LabelledTransaction]
    has_more: bool


class InstructionSection(Model):
    items: list[LabelledInstruction]
    has_more: bool


class Waiting(Model):
    """How many items wait for a checker, by the ID of the staff member who made them."""

    journals: dict[Id, int]
    transactions: dict[Id, int]
    standing_instructions: dict[Id, int]


class ApprovalsView(Model):
    journals_pending: JournalSection
    journals_approved: JournalSection
    transactions_pending: TransactionSection
    standing_instructions_pending: InstructionSection
    waiting: Waiting
