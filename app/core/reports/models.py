"""Indexes the reports read through (no tables of their own).

Declared here rather than beside the tables so the reports own what they need: the
trial balance, balance sheet and income statement aggregate postings by date range,
and every column they read is in the index, so PostgreSQL answers from the index
alone (an index-only scan) instead of visiting the heap of a growing ledger.
"""

import sqlalchemy as sa

from app.core.ledger.models import Posting
from app.core.transactions.models import Transaction

_postings = Posting.__table__.c  # type: ignore[attr-defined]
_transactions = Transaction.__table__.c  # type: ignore[attr-defined]

POSTINGS_BY_DATE_COVERING = sa.Index(
    "ix_postings_report_cover",
    _postings.tenant_id,
    _postings.effective_date,
    _postings.gl_account_id,
    _postings.currency,
    _postings.branch_code,
    _postings.side,
    _postings.amount,
)

TRANSACTIONS_BY_DATE = sa.Index(
    "ix_transactions_tenant_date_branch",
    _transactions.tenant_id,
    _transactions.business_date,
    _transactions.branch_code,
)
