"""GL balances, derived from the postings (never a stored row every posting must lock)."""

import uuid
from datetime import date

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.ledger.chart import DEBIT_NORMAL
from app.core.ledger.models import GLAccount, Posting


async def net_debits_by_gl(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    as_of: date | None = None,
    since: date | None = None,
    branch_code: str | None = None,
) -> dict[uuid.UUID, int]:
    """Σ debits − Σ credits per GL account (positive: a debit balance)."""
    signed = sa.case((col(Posting.side) == "D", col(Posting.amount)), else_=-col(Posting.amount))
    query = (
        sa.select(col(Posting.gl_account_id), sa.func.sum(signed))
        .where(col(Posting.tenant_id) == tenant_id)
        .group_by(col(Posting.gl_account_id))
    )
    if as_of is not None:
        query = query.where(col(Posting.effective_date) <= as_of)
    if since is not None:
        query = query.where(col(Posting.effective_date) >= since)
    if branch_code is not None:
        query = query.where(col(Posting.branch_code) == branch_code)
    rows = await session.execute(query)
    return {gl_id: int(total or 0) for gl_id, total in rows.tuples().all()}


def normal_balance(account: GLAccount, net_debit: int) -> int:
    """The balance in the account's normal orientation (credit-normal accounts flip)."""
    return net_debit if account.category in DEBIT_NORMAL else -net_debit
