"""GL balances, derived from the postings (never a stored row every posting must lock).

Every GL figure is Σ debits − Σ credits of postings, read as the worker's daily
roll-ups (``gl_rollups``: every posting with an ID up to the tenant's mark) plus the
postings above the mark, which the primary key finds directly. So a read costs the
roll-up rows it covers (accounts × days) and the few postings since the last roll-up,
not the whole ledger; and it is exact whatever the job has done, because the rows and
the mark change together in one transaction of the job (``app.core.ledger.rollups``).

The mark is read first so that the postings part can be planned as the short range it
is; the sum then reads the mark again in its own statement (one snapshot). If the job
moved the mark in between, the sum would count the postings it just rolled up twice,
so it is thrown away and taken again with the new mark (the job runs every few
seconds at most, so once is nearly always enough).
"""

import uuid
from collections.abc import Collection, Sequence
from datetime import date
from typing import Any, Literal

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.ledger.chart import DEBIT_NORMAL
from app.core.ledger.models import GLAccount, GLRollup, GLRollupMark, Posting

Dimension = Literal["gl_account_id", "currency", "branch_code", "effective_date"]
NO_BRANCH = ""  # how the roll-ups key postings of no branch
_ATTEMPTS = 5


def signed_amount() -> sa.ColumnElement[Any]:
    """A posting's amount as a net debit: debits +, credits −."""
    return sa.case((col(Posting.side) == "D", col(Posting.amount)), else_=-col(Posting.amount))


def _above(watermark: int) -> sa.ColumnElement[bool]:
    """Postings above the mark, with the mark written into the SQL: bound as a parameter,
    a prepared statement's generic plan would guess a third of the ledger is above it
    and scan; as a literal, the planner sees the short range it is."""
    return col(Posting.id) > sa.literal(watermark, sa.BigInteger, literal_execute=True)


def _mark_of(tenant_id: uuid.UUID) -> Any:
    return (
        sa.select(col(GLRollupMark.through_id))
        .where(col(GLRollupMark.tenant_id) == tenant_id)
        .scalar_subquery()
    )


async def rolled_up_through(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    """The tenant's roll-up mark: every posting with an ID up to it is in ``gl_rollups``."""
    found = (await session.execute(sa.select(_mark_of(tenant_id)))).scalar_one_or_none()
    return int(found or 0)


def _conditions(
    model: type[GLRollup] | type[Posting],
    *,
    since: date | None,
    through: date | None,
    gl_account_ids: Collection[uuid.UUID] | None,
    currency: str | None,
    branch_code: str | None,
) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if since is not None:
        conditions.append(col(model.effective_date) >= since)
    if through is not None:
        conditions.append(col(model.effective_date) <= through)
    if gl_account_ids is not None:
        conditions.append(col(model.gl_account_id).in_(list(gl_account_ids)))
    if currency is not None:
        conditions.append(col(model.currency) == currency)
    if branch_code is not None:
        conditions.append(col(model.branch_code) == branch_code)
    return conditions


def _postings(tenant_id: uuid.UUID, filters: dict[str, Any], sign: int = 1) -> sa.Select[Any]:
    return sa.select(
        col(Posting.gl_account_id).label("gl_account_id"),
        col(Posting.currency).label("currency"),
        col(Posting.branch_code).label("branch_code"),
        col(Posting.effective_date).label("effective_date"),
        (signed_amount() * sign).label("net"),
    ).where(col(Posting.tenant_id) == tenant_id, *_conditions(Posting, **filters))


def _rows_to_sum(
    tenant_id: uuid.UUID, watermark: int | None, filters: dict[str, Any], excluding: Any
) -> Any:
    """The roll-up rows and the postings above ``watermark`` (``None``: every posting),
    less the postings of the journals ``excluding`` selects."""
    parts = []
    if watermark is None:
        parts.append(_postings(tenant_id, filters))
    else:
        parts.append(
            sa.select(
                col(GLRollup.gl_account_id).label("gl_account_id"),
                col(GLRollup.currency).label("currency"),
                sa.func.nullif(col(GLRollup.branch_code), NO_BRANCH).label("branch_code"),
                col(GLRollup.effective_date).label("effective_date"),
                col(GLRollup.net_debit).label("net"),
            ).where(col(GLRollup.tenant_id) == tenant_id, *_conditions(GLRollup, **filters))
        )
        parts.append(_postings(tenant_id, filters).where(_above(watermark)))
    if excluding is not None:
        # Counted once above whatever their IDs; taken out once here, in the same snapshot.
        parts.append(
            _postings(tenant_id, filters, -1).where(col(Posting.journal_id).in_(excluding))
        )
    if len(parts) == 1:
        return parts[0].subquery()
    return sa.union_all(*parts).subquery()


async def gl_net(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    by: Sequence[Dimension] = ("gl_account_id",),
    since: date | None = None,
    through: date | None = None,
    gl_account_ids: Collection[uuid.UUID] | None = None,
    currency: str | None = None,
    branch_code: str | None = None,
    excluding_journals: Any = None,
) -> dict[tuple[Any, ...], int]:
    """Σ debits − Σ credits of the tenant's postings, grouped ``by`` the dimensions named.

    ``since`` and ``through`` bound the effective date (both included); the other
    filters match exactly; ``excluding_journals`` (a select of journal IDs) leaves those
    journals' postings out. A key with no postings is absent; one whose postings cancel
    out may be present with 0. ``branch_code`` is ``None`` in a key for postings of no
    branch.
    """
    filters: dict[str, Any] = {
        "since": since,
        "through": through,
        "gl_account_ids": gl_account_ids,
        "currency": currency,
        "branch_code": branch_code,
    }
    watermark: int | None = await rolled_up_through(session, tenant_id)
    for _attempt in range(_ATTEMPTS):
        assert watermark is not None
        union = _rows_to_sum(tenant_id, watermark, filters, excluding_journals)
        keys = [union.c[name] for name in by]
        rows = (
            await session.execute(
                sa.select(*keys, sa.func.sum(union.c.net), _mark_of(tenant_id)).group_by(*keys)
            )
        ).all()
        seen = int(rows[0][-1] or 0) if rows else watermark
        if seen == watermark:
            return {tuple(row[:-2]): int(row[-2] or 0) for row in rows}
        watermark = seen  # the job moved the mark between the two statements: again
    # The job kept moving (it never should this fast): the postings alone are exact too.
    union = _rows_to_sum(tenant_id, None, filters, excluding_journals)
    keys = [union.c[name] for name in by]
    rows = (await session.execute(sa.select(*keys, sa.func.sum(union.c.net)).group_by(*keys))).all()
    return {tuple(row[:-1]): int(row[-1] or 0) for row in rows}


async def balances_after(
    session: AsyncSession, tenant_id: uuid.UUID, gl_account_id: uuid.UUID, posting_ids: list[int]
) -> dict[int, int]:
    """The GL account's net debit (every currency) up to and including each posting.

    The account's total (roll-ups + postings above the mark) less the postings newer
    than each one: the cost is the postings from the oldest one asked for to the newest,
    so the first pages of a long history are as cheap as a short one's.
    """
    if not posting_ids:
        return {}
    oldest = min(posting_ids)
    watermark = await rolled_up_through(session, tenant_id)
    of_account = col(Posting.gl_account_id) == gl_account_id
    newer = (
        sa.select(
            col(Posting.id).label("id"),
            sa.func.sum(signed_amount())
            .over(order_by=col(Posting.id).desc(), rows=(None, -1))
            .label("newer"),
        )
        .where(of_account, col(Posting.id) >= oldest)
        .subquery()
    )
    for _attempt in range(_ATTEMPTS):
        rolled = (
            sa.select(sa.func.coalesce(sa.func.sum(col(GLRollup.net_debit)), 0))
            .where(
                col(GLRollup.tenant_id) == tenant_id,
                col(GLRollup.gl_account_id) == gl_account_id,
            )
            .scalar_subquery()
        )
        above = (
            sa.select(sa.func.coalesce(sa.func.sum(signed_amount()), 0))
            .where(of_account, _above(watermark))
            .scalar_subquery()
        )
        rows = (
            await session.execute(
                sa.select(
                    newer.c.id,
                    rolled + above - sa.func.coalesce(newer.c.newer, 0),
                    _mark_of(tenant_id),
                ).where(newer.c.id.in_(posting_ids))
            )
        ).all()
        seen = int(rows[0][2] or 0) if rows else watermark
        if seen == watermark:
            return {int(row[0]): int(row[1]) for row in rows}
        watermark = seen
    # The job kept moving: sum the account's postings up to each one instead.
    everything = (
        sa.select(
            col(Posting.id).label("id"),
            sa.func.sum(signed_amount()).over(order_by=col(Posting.id)).label("running"),
        )
        .where(of_account)
        .subquery()
    )
    rows = (
        await session.execute(
            sa.select(everything.c.id, everything.c.running).where(everything.c.id.in_(posting_ids))
        )
    ).all()
    return {int(row[0]): int(row[1]) for row in rows}


async def net_debits_by_gl(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    as_of: date | None = None,
    since: date | None = None,
    branch_code: str | None = None,
    gl_account_ids: Collection[uuid.UUID] | None = None,
) -> dict[uuid.UUID, int]:
    """Σ debits − Σ credits per GL account over every currency (positive: a debit balance)."""
    totals = await gl_net(
        session,
        tenant_id,
        since=since,
        through=as_of,
        branch_code=branch_code,
        gl_account_ids=gl_account_ids,
    )
    return {gl_id: net for (gl_id,), net in totals.items()}


def normal_balance(account: GLAccount, net_debit: int) -> int:
    """The balance in the account's normal orientation (credit-normal accounts flip)."""
    return net_debit if account.category in DEBIT_NORMAL else -net_debit
