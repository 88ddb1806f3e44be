"""Typed models of what the core answers (msgspec Structs; field names as on the wire).

Import them from ``app.client``. Money is :class:`~app.client.Money` (a ``Decimal``), dates
are ``date``, timestamps aware ``datetime``; unknown fields are ignored.
"""

from .accounts import (
    Account,
    AccountView,
    BalancePoint,
    Hold,
    Statement,
    StatementLine,
    StatementTotals,
)
from .approvals import ApprovalQueue, ApprovalsView, Waiting
from .customers import Customer
from .journals import Journal, JournalLine, JournalPeriod, JournalTotal
from .page import Page
from .standing import StandingExecution, StandingInstruction, StandingInstructionView
from .tenant import Branch, Product, Tenant, TenantSettings
from .transactions import Transaction, TransactionView

__all__ = [
    "Account",
    "AccountView",
    "ApprovalQueue",
    "ApprovalsView",
    "BalancePoint",
    "Branch",
    "Customer",
    "Hold",
    "Journal",
    "JournalLine",
    "JournalPeriod",
    "JournalTotal",
    "Page",
    "Product",
    "StandingExecution",
    "StandingInstruction",
    "StandingInstructionView",
    "Statement",
    "StatementLine",
    "StatementTotals",
    "Tenant",
    "TenantSettings",
    "Transaction",
    "TransactionView",
    "Waiting",
]
