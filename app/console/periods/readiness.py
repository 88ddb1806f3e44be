"""Home's period-close readiness for admins: the current period, and what blocks closing it
and the period before it (each with a link to its checklist)."""

import asyncio
from dataclasses import dataclass

from app.client import BankingAPIError, BankingAPINotFound, FiscalPeriod
from app.console.banking import CoreSession
from app.console.errors import core_message
from app.console.periods.checklist import (
    YEAR_END_PERIOD,
    Checklist,
    Period,
    all_periods,
    checklist,
    period_of,
)


@dataclass
class Readiness:
    """The current period and the checklists of the current and previous periods."""

    current: Period | None
    checks: list[Checklist]
    note: str | None = None


async def close_readiness(core: CoreSession, currency: str) -> Readiness:
    """What blocks closing the current period and the one before it."""
    try:
        periods = await all_periods(core)
        current = period_of(await core.get("/fiscal-periods/current", model=FiscalPeriod))
    except BankingAPINotFound:
        return Readiness(None, [], "No open period holds today's business date.")
    except BankingAPIError as exc:
        return Readiness(None, [], core_message(exc))
    months = sorted(
        (p for p in periods if p.number < YEAR_END_PERIOD), key=lambda p: (p.start, p.number)
    )
    earlier = [p for p in months if p.start < current.start]
    previous = earlier[-1] if earlier else None
    wanted = [p for p in (previous, current) if p is not None and p.is_open]
    checks = await asyncio.gather(*(checklist(core, p) for p in wanted))
    note = None
    if previous is not None and not previous.is_open:
        note = f"{previous.name} is already {previous.status_label.lower()}."
    return Readiness(current, list(checks), note)
