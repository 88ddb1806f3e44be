"""The chart of accounts and its postings (``/gl/accounts``)."""

from datetime import date

from .._parse import Money, Timestamp
from ._base import Resource

__all__ = ["Chart", "GLAccount", "GLEntry"]


class GLAccount(Resource, kw_only=True, frozen=True):
    """A GL account with its balance; in the chart (``GET /gl/accounts``) a node with its
    ``children``, a single read without them."""

    plural = "gl_accounts"

    id: str
    code: str
    name: str
    category: str
    parent_id: str | None = None
    is_header: bool
    allow_manual_entries: bool
    currency_code: str
    branch_code: str | None = None
    is_active: bool = True
    role: str | None = None
    balance: Money
    children: list["GLAccount"] = []


class Chart(Resource, kw_only=True, frozen=True):
    """``GET /gl/accounts``: the whole chart as a tree (roots first), not paginated."""

    gl_accounts: list[GLAccount]


class GLEntry(Resource, kw_only=True, frozen=True):
    """A posting to a GL account, with the running balance after it (``…/entries``)."""

    plural = "entries"

    id: int
    journal_id: str
    effective_date: date
    posted_at: Timestamp
    entry_type: str
    amount: Money
    currency: str
    branch_code: str | None = None
    description: str | None = None
    balance_after: Money
