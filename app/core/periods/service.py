"""Which fiscal period a date falls in, and whether it takes postings."""

import uuid
from datetime import date

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.errors import ApiError
from app.core.periods.models import FiscalPeriod


async def period_for(
    session: AsyncSession, tenant_id: uuid.UUID, on: date, period_id: uuid.UUID | None = None
) -> FiscalPeriod | None:
    """The period holding ``on``: a named one (period 13) or else its month's period."""
    query = sa.select(FiscalPeriod).where(col(FiscalPeriod.tenant_id) == tenant_id)
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
    """The open period for a posting dated ``on``; PERIOD_CLOSED / NO_OPEN_PERIOD otherwise."""
    period = await period_for(session, tenant_id, on, period_id)
    if period is None:
        raise ApiError(
            "NO_OPEN_PERIOD",
            f"No fiscal period holds {on.isoformat()}; an admin must create the year's periods.",
            [{"field": "effective_date", "reason": "no fiscal period", "value": on.isoformat()}],
        )
    if period_id is not None and not (period.start_date <= on <= period.end_date):
        raise ApiError(
            "VALIDATION_ERROR",
            f"{on.isoformat()} is outside period {period.period_name}.",
            [{"field": "fiscal_period_id", "reason": "date outside the period"}],
        )
    if period.status != "open":
        raise ApiError(
            "PERIOD_CLOSED",
            f"Fiscal period {period.period_name} is {period.status}; nothing may be posted in it.",
            [
                {
                    "field": "effective_date",
                    "reason": f"period {period.status}",
                    "value": on.isoformat(),
                }
            ],
        )
    return period


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
