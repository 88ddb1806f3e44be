"""Fiscal periods: which one a date falls in, whether it takes postings, creating them."""

import uuid
from datetime import date
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.audit import service as audit
from app.core.common import iso, parse_id
from app.core.context import RequestContext
from app.core.detail_codes import DetailCode, detail
from app.core.errors import ApiError
from app.core.pagination import keyset_slice
from app.core.periods import responses as answers
from app.core.periods.models import FiscalPeriod
from app.core.periods.schemas import PeriodCreate
from app.core.tenants.models import Tenant
from app.core.tenants.service import business_date
from app.db import is_unique_violation

STATUSES = ("open", "closed", "locked")


async def period_for(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    on: date,
    period_id: uuid.UUID | None = None,
    *,
    lock: bool = False,
) -> FiscalPeriod | None:
    """The period holding ``on``: a named one (period 13) or else its month's period.

    ``lock`` takes a shared lock on the period row (``FOR KEY SHARE`` on PostgreSQL;
    SQLite serializes writers anyway): postings hold it until they commit, and closing
    a period takes ``FOR UPDATE``, so a close waits for the postings in flight and a
    posting that waited on a close sees it closed — nothing slips in beside a snapshot.
    """
    query = sa.select(FiscalPeriod).where(col(FiscalPeriod.tenant_id) == tenant_id)
    if lock:
        # read=True: FOR KEY SHARE. Without it SQLAlchemy renders FOR NO KEY UPDATE, which
        # conflicts with itself and queued every posting of a period behind one row.
        query = query.with_for_update(read=True, key_share=True).execution_options(
            populate_existing=True
        )
    if period_id is not None:
        query = query.where(col(FiscalPeriod.id) == period_id)
    else:
        query = query.where(
            col(FiscalPeriod.start_date) <= on,
            col(FiscalPeriod.end_date) >= on,
            col(FiscalPeriod.period_number) <= 12,
        )
    return (await session.execute(query)).scalars().first()


async def open_period_for(
    session: AsyncSession, tenant_id: uuid.UUID, on: date, period_id: uuid.UUID | None = None
) -> FiscalPeriod:
    """The open period for a posting dated ``on``; PERIOD_CLOSED / NO_OPEN_PERIOD otherwise.

    Every posting path calls this in its own transaction (cash, transfers, approvals,
    journals, reversals, the year-end close, standing-instruction runs), and the period
    stays share-locked until that transaction ends.
    """
    period = await period_for(session, tenant_id, on, period_id, lock=True)
    if period is None:
        raise ApiError(
            "NO_OPEN_PERIOD",
            f"No fiscal period holds {on.isoformat()}; an admin must create the year's periods.",
            [
                detail(
                    "effective_date", DetailCode.UNKNOWN_PERIOD, "no fiscal period", on.isoformat()
                )
            ],
        )
    if period_id is not None and not (period.start_date <= on <= period.end_date):
        raise ApiError(
            "VALIDATION_ERROR",
            f"{on.isoformat()} is outside period {period.period_name}.",
            [detail("fiscal_period_id", DetailCode.INVALID, "date outside the period")],
        )
    _check_takes_postings(period.status, period.period_name, on)
    return period


async def check_open_period(session: AsyncSession, tenant_id: uuid.UUID, on: date) -> None:
    """:func:`open_period_for` (its month's period) without loading an ORM object: the
    same row, the same share lock until the transaction ends, the same refusals."""
    periods: sa.Table = FiscalPeriod.__table__  # type: ignore[attr-defined]
    query = (
        sa.select(periods.c.status, periods.c.period_name)
        .where(
            periods.c.tenant_id == tenant_id,
            periods.c.start_date <= on,
            periods.c.end_date >= on,
            periods.c.period_number <= 12,
        )
        .with_for_update(read=True, key_share=True)
    )
    check_period_row((await session.execute(query)).first(), on)


def check_period_row(row: Any, on: date) -> None:
    """Refuse unless ``row`` (the period's status and name, or None) takes postings on ``on``."""
    if row is None:
        raise ApiError(
            "NO_OPEN_PERIOD",
            f"No fiscal period holds {on.isoformat()}; an admin must create the year's periods.",
            [
                detail(
                    "effective_date", DetailCode.UNKNOWN_PERIOD, "no fiscal period", on.isoformat()
                )
            ],
        )
    _check_takes_postings(row[0], row[1], on)


def _check_takes_postings(status: str, name: str, on: date) -> None:
    if status != "open":
        raise ApiError(
            "PERIOD_CLOSED",
            f"Fiscal period {name} is {status}; nothing may be posted in it.",
            [
                detail(
                    "effective_date", DetailCode.PERIOD_CLOSED, f"period {status}", on.isoformat()
                )
            ],
        )


def month_periods(year: int) -> list[tuple[int, str, date, date]]:
    """Periods 1-12 by month, plus 13 (year-end adjustments) on the year's last day."""
    import calendar

    periods = []
    for month in range(1, 13):
        last = calendar.monthrange(year, month)[1]
        periods.append(
            (
                month,
                f"{calendar.month_name[month]} {year}",
                date(year, month, 1),
                date(year, month, last),
            )
        )
    periods.append((13, f"Year-end adjustments {year}", date(year, 12, 31), date(year, 12, 31)))
    return periods


def period_body(period: FiscalPeriod, *, with_snapshot: bool = False) -> answers.FiscalPeriod:
    """A period on the wire; ``with_snapshot`` adds its trial balance once closed."""
    snapshot_member: dict[str, Any] | msgspec.UnsetType | None = msgspec.UNSET
    if with_snapshot:
        snapshot = period.trial_balance_snapshot
        snapshot_member = (
            {
                "as_of": snapshot["as_of"],
                "taken_at": iso(period.closed_at),
                "lines": snapshot["lines"],
                "totals": snapshot["totals"],
            }
            if snapshot
            else None
        )
    return answers.FiscalPeriod(
        id=str(period.id),
        fiscal_year=period.fiscal_year,
        period_number=period.period_number,
        period_name=period.period_name,
        start_date=period.start_date.isoformat(),
        end_date=period.end_date.isoformat(),
        status=period.status,
        closed_by=str(period.closed_by) if period.closed_by else None,
        closed_by_email=period.closed_by_email,
        closed_at=iso(period.closed_at),
        locked_at=iso(period.locked_at),
        created_at=iso(period.created_at),
        trial_balance_snapshot=snapshot_member,
    )


async def get_period(session: AsyncSession, tenant_id: uuid.UUID, period_id: str) -> FiscalPeriod:
    """A period of the tenant, or 404 PERIOD_NOT_FOUND (another tenant's too)."""
    found = await session.get(FiscalPeriod, parse_id(period_id, "PERIOD_NOT_FOUND", "period"))
    if found is None or found.tenant_id != tenant_id:
        raise ApiError("PERIOD_NOT_FOUND", "No such fiscal period.")
    return found


async def current_period(session: AsyncSession, tenant: Tenant) -> FiscalPeriod:
    """The open period holding the tenant's business date."""
    today = business_date(tenant)
    period = await period_for(session, tenant.id, today)
    if period is None or period.status != "open":
        state = f" ({period.period_name} is {period.status})" if period else ""
        raise ApiError(
            "PERIOD_NOT_FOUND",
            f"No open fiscal period holds the business date {today.isoformat()}{state}.",
            [
                detail(
                    "business_date", DetailCode.PERIOD_CLOSED, "no open period", today.isoformat()
                )
            ],
        )
    return period


def parse_year(value: str) -> int:
    """A fiscal year from a path: four digits, 1900-9999."""
    if not (len(value) == 4 and value.isdigit() and 1900 <= int(value) <= 9999):
        raise ApiError(
            "VALIDATION_ERROR",
            "The fiscal year must be four digits (1900-9999).",
            [
                detail(
                    "fiscal_year", DetailCode.INVALID_FORMAT, "four digits, 1900-9999", value[:20]
                )
            ],
        )
    return int(value)


async def list_periods(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    fiscal_year: int | None,
    status: str | None,
    limit: int,
    cursor: str | None,
) -> answers.FiscalPeriodPage:
    """Newest year first, and within a year the highest period first (keyset)."""
    query = sa.select(FiscalPeriod).where(col(FiscalPeriod.tenant_id) == tenant_id)
    if fiscal_year is not None:
        query = query.where(col(FiscalPeriod.fiscal_year) == fiscal_year)
    if status:  # empty: no filter, as every list's other filters
        if status.lower() not in STATUSES:
            raise ApiError(
                "VALIDATION_ERROR",
                "status must be open, closed or locked.",
                [
                    detail(
                        "status", DetailCode.INVALID_CHOICE, "open, closed or locked", status[:20]
                    )
                ],
            )
        query = query.where(col(FiscalPeriod.status) == status.lower())
    page = await keyset_slice(
        session,
        query,
        [(col(FiscalPeriod.fiscal_year), "int"), (col(FiscalPeriod.period_number), "int")],
        limit=limit,
        cursor=cursor,
        render=period_body,
        value_of=lambda p: (p.fiscal_year, p.period_number),
    )
    return answers.FiscalPeriodPage(
        fiscal_periods=page.items, has_more=page.has_more, next_cursor=page.next_cursor
    )


def _overlap_error(other: FiscalPeriod) -> ApiError:
    return ApiError(
        "DUPLICATE_RESOURCE",
        f"The dates overlap {other.period_name} ({other.start_date} to {other.end_date}); "
        "periods 1-12 never overlap.",
        [
            {
                "field": "start_date",
                "code": DetailCode.OVERLAPS.value,
                "reason": "overlaps another period",
                "value": other.period_name,
                "period_id": str(other.id),
            }
        ],
    )


async def _overlapping(
    session: AsyncSession, tenant_id: uuid.UUID, start: date, end: date
) -> FiscalPeriod | None:
    """A period 1-12 of the tenant sharing a day with [start, end]."""
    row = await session.execute(
        sa.select(FiscalPeriod)
        .where(
            col(FiscalPeriod.tenant_id) == tenant_id,
            col(FiscalPeriod.period_number) <= 12,
            col(FiscalPeriod.start_date) <= end,
            col(FiscalPeriod.end_date) >= start,
        )
        .order_by(col(FiscalPeriod.start_date))
        .limit(1)
    )
    return row.scalars().first()


def _duplicate_error(year: int, number: int | None = None) -> ApiError:
    what = f"Period {number} of {year}" if number else f"Fiscal year {year}"
    return ApiError(
        "DUPLICATE_RESOURCE",
        f"{what} already exists.",
        [
            detail(
                "period_number" if number else "fiscal_year", DetailCode.DUPLICATE, "already exists"
            )
        ],
    )


async def _flush_new(session: AsyncSession, year: int, number: int | None = None) -> None:
    try:
        await session.flush()
    except sa.exc.IntegrityError as exc:  # a concurrent create won the race
        if is_unique_violation(exc):
            raise _duplicate_error(year, number) from exc
        raise


async def create_period(
    session: AsyncSession, ctx: RequestContext, tenant_id: uuid.UUID, data: PeriodCreate
) -> FiscalPeriod:
    """One period; 1-12 never overlap another 1-12 period, 13 is free to (year-end).
    ``PeriodCreate`` has checked its own rules (its dates, its name) as it was read."""
    taken = await session.execute(
        sa.select(col(FiscalPeriod.id)).where(
            col(FiscalPeriod.tenant_id) == tenant_id,
            col(FiscalPeriod.fiscal_year) == data.fiscal_year,
            col(FiscalPeriod.period_number) == data.period_number,
        )
    )
    if taken.first() is not None:
        raise _duplicate_error(data.fiscal_year, data.period_number)
    if data.period_number <= 12:
        other = await _overlapping(session, tenant_id, data.start_date, data.end_date)
        if other is not None:
            raise _overlap_error(other)
    period = FiscalPeriod(
        tenant_id=tenant_id,
        fiscal_year=data.fiscal_year,
        period_number=data.period_number,
        period_name=data.period_name,
        start_date=data.start_date,
        end_date=data.end_date,
    )
    session.add(period)
    await _flush_new(session, data.fiscal_year, data.period_number)
    audit.record(
        session,
        ctx,
        "period.created",
        entity_type="fiscal_period",
        entity_id=period.id,
        after=period_body(period),
    )
    return period


async def create_year(
    session: AsyncSession, ctx: RequestContext, tenant_id: uuid.UUID, year: int
) -> list[FiscalPeriod]:
    """Periods 1-12 by calendar month and 13 on 31 December, for a year that has none."""
    exists = await session.execute(
        sa.select(col(FiscalPeriod.id)).where(
            col(FiscalPeriod.tenant_id) == tenant_id, col(FiscalPeriod.fiscal_year) == year
        )
    )
    if exists.first() is not None:
        raise _duplicate_error(year)
    other = await _overlapping(session, tenant_id, date(year, 1, 1), date(year, 12, 31))
    if other is not None:
        raise _overlap_error(other)
    periods = [
        FiscalPeriod(
            tenant_id=tenant_id,
            fiscal_year=year,
            period_number=number,
            period_name=name,
            start_date=start,
            end_date=end,
        )
        for number, name, start, end in month_periods(year)
    ]
    session.add_all(periods)
    await _flush_new(session, year)
    audit.record(
        session,
        ctx,
        "period.year_created",
        entity_type="fiscal_year",
        entity_id=year,
        after={
            "fiscal_year": year,
            "periods": msgspec.to_builtins([period_body(p) for p in periods]),
        },
    )
    return periods
