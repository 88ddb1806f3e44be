"""``GET /views/accounts/{id}``: an account's page in one read.

The console's account page and its statement each showed the account (with its holds and
holder), a page of postings and a balance chart of the whole range; that was two or three
calls to the core, one of them reading every posting of the range again for the chart. Here
it is one read of three statements: the account with its holder's name, its active holds,
and the range's postings newest first, up to the chart's limit. The page of the statement
is the first ``limit`` of them (its cursor continues with ``GET /accounts/{id}/transactions``
and the same range); the chart's points and the range's totals come from the same rows.
Only a range with more postings than the chart shows costs two more statements (the
totals and the opening balance of the whole range, from the index on the account's
postings).
"""

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.accounts.models import Account, Hold
from app.core.accounts.service import account_detail_body, statement_line
from app.core.common import iso
from app.core.customers.models import Customer
from app.core.errors import ApiError
from app.core.http import encode_cursor
from app.core.ledger.models import Posting
from app.core.money import format_amount
from app.core.views.responses import AccountView, BalancePoint, RangeTotals

# The most postings a balance chart draws (newest first); the console's CHART_MAX_POSTINGS.
CHART_POINTS = 2000

# Built once, with bound parameters (see app.core.views.approvals): a range not given is
# the widest one, so one statement serves every request.
_ACCOUNT: Any = sa.bindparam("account_id")
_START: Any = sa.bindparam("start")
_END: Any = sa.bindparam("end")
EARLIEST, LATEST = date(1, 1, 1), date(9999, 12, 31)

_ACCOUNT_WITH_HOLDER = (
    sa.select(Account, col(Customer.display_name))
    .outerjoin(Customer, col(Customer.id) == col(Account.customer_id))
    .where(col(Account.id) == _ACCOUNT, col(Account.tenant_id) == sa.bindparam("tenant_id"))
)
_ACTIVE_HOLDS = (
    sa.select(Hold)
    .where(col(Hold.account_id) == _ACCOUNT, col(Hold.status) == "ACTIVE")
    .order_by(col(Hold.created_at).desc())
)
_IN_RANGE = (
    col(Posting.account_id) == _ACCOUNT,
    col(Posting.effective_date) >= _START,
    col(Posting.effective_date) <= _END,
)
_POSTINGS = (
    sa.select(
        col(Posting.id),
        col(Posting.journal_id),
        col(Posting.posted_at),
        col(Posting.effective_date),
        col(Posting.side),
        col(Posting.amount),
        col(Posting.balance_after),
        col(Posting.description),
    )
    .where(*_IN_RANGE)
    .order_by(col(Posting.id).desc())
    .limit(sa.bindparam("limit"))
)
_CREDIT = sa.case((col(Posting.side) == "C", col(Posting.amount)), else_=0)
_DEBIT = sa.case((col(Posting.side) == "C", 0), else_=col(Posting.amount))
_RANGE_TOTALS = sa.select(sa.func.count(), sa.func.sum(_CREDIT), sa.func.sum(_DEBIT)).where(
    *_IN_RANGE
)
_RANGE_OLDEST = (
    sa.select(col(Posting.side), col(Posting.amount), col(Posting.balance_after))
    .where(*_IN_RANGE)
    .order_by(col(Posting.id))
    .limit(1)
)


def _signed(side: str, amount: int) -> int:
    return amount if side == "C" else -amount


async def account_view(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    account_id: uuid.UUID,
    *,
    start: date | None,
    end: date | None,
    limit: int,
) -> AccountView:
    """The account (with holds and holder), the first ``limit`` postings of the range, the
    range's totals and the balance chart's points."""
    found = (
        await session.execute(
            _ACCOUNT_WITH_HOLDER, {"account_id": account_id, "tenant_id": tenant_id}
        )
    ).one_or_none()
    if found is None:
        raise ApiError("ACCOUNT_NOT_FOUND", "No such account.")
    account, customer_name = found
    currency = account.currency
    holds = await session.execute(_ACTIVE_HOLDS, {"account_id": account.id})
    body = account_detail_body(account, customer_name or "", holds.scalars().all())

    span = {"account_id": account.id, "start": start or EARLIEST, "end": end or LATEST}
    rows = (await session.execute(_POSTINGS, {**span, "limit": max(limit, CHART_POINTS) + 1})).all()
    page = rows[:limit]
    has_more = len(rows) > limit
    points = rows[:CHART_POINTS]
    complete = len(rows) <= CHART_POINTS
    if complete:
        totals = _totals_of(points)
    else:
        totals = await _range_totals(session, span, newest=rows[0])
    return AccountView(
        account=body,
        transactions=[statement_line(r, currency) for r in page],
        has_more=has_more,
        next_cursor=encode_cursor([str(page[-1].id)]) if has_more and page else None,
        totals=RangeTotals(
            count=totals["count"],
            credits=format_amount(totals["credits"], currency),
            debits=format_amount(totals["debits"], currency),
            opening_balance=format_amount(totals["opening"], currency),
            closing_balance=format_amount(totals["closing"], currency),
        ),
        balance_points=[
            BalancePoint(
                posted_at=iso(r.posted_at),
                balance_after=format_amount(r.balance_after or 0, currency),
                signed_amount=format_amount(_signed(r.side, r.amount), currency),
            )
            for r in points
        ],
        balance_points_complete=complete,
    )


def _totals_of(rows: Sequence[Any]) -> dict[str, int]:
    """Totals of every posting of the range (``rows``: all of them, newest first)."""
    credits = sum(r.amount for r in rows if r.side == "C")
    debits = sum(r.amount for r in rows if r.side != "C")
    if not rows:
        return {"count": 0, "credits": 0, "debits": 0, "opening": 0, "closing": 0}
    oldest, newest = rows[-1], rows[0]
    return {
        "count": len(rows),
        "credits": credits,
        "debits": debits,
        "opening": (oldest.balance_after or 0) - _signed(oldest.side, oldest.amount),
        "closing": newest.balance_after or 0,
    }


async def _range_totals(
    session: AsyncSession, span: dict[str, Any], *, newest: Any
) -> dict[str, int]:
    """Totals of a range with more postings than the chart reads: an aggregate, and the
    oldest posting for the opening balance."""
    count, credits, debits = (await session.execute(_RANGE_TOTALS, span)).one()
    oldest = (await session.execute(_RANGE_OLDEST, span)).one()
    return {
        "count": int(count),
        "credits": int(credits or 0),
        "debits": int(debits or 0),
        "opening": (oldest.balance_after or 0) - _signed(oldest.side, oldest.amount),
        "closing": newest.balance_after or 0,
    }
