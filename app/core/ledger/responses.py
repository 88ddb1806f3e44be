"""General ledger answers (api.md, "General ledger and journals")."""

from app.core.contract.shapes import Cursor, Day, Id, Instant, Model, Money


class GLAccount(Model):
    id: Id
    code: str
    name: str
    category: str
    parent_id: Id | None
    is_header: bool
    allow_manual_entries: bool
    currency_code: str
    branch_code: str | None
    is_active: bool
    role: str | None
    balance: Money  # in the account's normal direction


class GLNode(GLAccount, kw_only=True):
    children: list["GLNode"]


class Chart(Model):
    gl_accounts: list[GLNode]


class GLEntry(Model):
    id: int
    journal_id: Id
    effective_date: Day
    posted_at: Instant
    entry_type: str
    amount: Money
    currency: str
    branch_code: str | None
    description: str | None
    balance_after: Money


class GLEntryPage(Model):
    entries: list[GLEntry]
    has_more: bool
    next_cursor: Cursor | None
