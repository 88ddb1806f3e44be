"""Fiscal periods as the console shows them, and the pre-close checklist: what blocks a close.

The core decides a close (``422 PERIOD_CLOSE_BLOCKED``, listing the blockers in
``details``) and says beforehand what it would refuse on (``GET /fiscal-periods/{id}/
close-blockers``, the same query), so an admin sees exactly what to handle, with a link
to each item, before pressing "Confirm close":

- journals of the period still ``PENDING`` or ``APPROVED`` (→ the journal's page);
- teller transactions of the period still ``PENDING_APPROVAL`` (→ the approvals item);
- earlier periods of the year still open (→ that period).
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import quote

from app.client import BankingAPIError, CloseBlocker, CloseBlockers, FiscalPeriod
from app.console.banking import CoreSession
from app.console.errors import core_message
from app.console.formatting import money, parse_day, short_date

STATUS_LABELS = {"open": "Open", "closed": "Closed", "locked": "Locked"}
PAGE_LIMIT = 200
MAX_PAGES = 10
YEAR_END_PERIOD = 13


@dataclass(frozen=True)
class Period:
    """One fiscal period (the core's ``/fiscal-periods`` item)."""

    id: str
    fiscal_year: int
    number: int
    name: str
    start: date
    end: date
    status: str
    closed_at: str | None = None
    closed_by: str | None = None

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status.capitalize())

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @property
    def is_year_end(self) -> bool:
        return self.number == YEAR_END_PERIOD

    @property
    def url(self) -> str:
        return f"/periods/{quote(self.id, safe='')}"

    def holds(self, day: date) -> bool:
        """Whether ``day`` falls in the period."""
        return self.start <= day <= self.end


def period_of(period: FiscalPeriod) -> Period:
    """The core's period as a :class:`Period`."""
    return Period(
        id=period.id,
        fiscal_year=period.fiscal_year,
        number=period.period_number,
        name=period.period_name,
        start=period.start_date,
        end=period.end_date,
        status=period.status.lower(),
        closed_at=period.closed_at.isoformat() if period.closed_at else None,
        closed_by=period.closed_by_email or period.closed_by,
    )


async def all_periods(core: CoreSession) -> list[Period]:
    """Every fiscal period of the tenant, by year and number."""
    periods: list[Period] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        params = {"limit": PAGE_LIMIT, "cursor": cursor}
        page = await core.get_page("/fiscal-periods", FiscalPeriod, params=params)
        periods.extend(period_of(p) for p in page.items)
        cursor = page.next_cursor
        if not cursor or not page.has_more:
            break
    return sorted(periods, key=lambda p: (p.fiscal_year, p.number))


def years_of(periods: Iterable[Period]) -> list[int]:
    return sorted({p.fiscal_year for p in periods})


# -- what blocks a close -------------------------------------------------------------------


@dataclass(frozen=True)
class Blocker:
    """One thing that stops a period from closing, and where to handle it."""

    kind: str  # "journal", "transaction", "period", "other"
    title: str
    detail: str
    url: str | None


@dataclass
class Checklist:
    """The pre-close checklist of one period."""

    period: Period
    journals: list[Blocker] = field(default_factory=list)
    transactions: list[Blocker] = field(default_factory=list)
    earlier_periods: list[Blocker] = field(default_factory=list)
    other: list[Blocker] = field(default_factory=list)
    # Checks the core could not answer (the close itself will still be decided by it).
    unchecked: list[str] = field(default_factory=list)
    truncated: bool = False

    @property
    def blockers(self) -> list[Blocker]:
        return [*self.earlier_periods, *self.journals, *self.transactions, *self.other]

    @property
    def ready(self) -> bool:
        """Nothing blocks the close that we know of."""
        return self.period.is_open and not self.blockers


JOURNAL_STATUS = {"PENDING": "waiting for approval", "APPROVED": "approved, not yet posted"}
# The core's kinds of blocker (codes.md) → the console's, and the code of each.
KINDS = {"journal": "journal", "teller_transaction": "transaction", "earlier_period": "period"}
CODES = {
    "journal_pending": "journal",
    "teller_transaction_pending": "teller_transaction",
    "earlier_period_open": "earlier_period",
}


def _url(kind: str, item_id: str) -> str | None:
    if not item_id:
        return None
    quoted = quote(item_id, safe="")
    return {
        "journal": f"/journals/{quoted}",
        "teller_transaction": f"/approvals/transactions/{quoted}",
        "earlier_period": f"/periods/{quoted}",
    }.get(kind)


def blocker_of(item: CloseBlocker) -> Blocker:
    """One item the core says keeps the period open, with a link to where it is handled."""
    when = f"dated {short_date(item.date)}" if item.date else ""
    amount = money(item.amount, item.currency) if item.amount is not None else ""
    if item.kind == "journal":
        title = f"Journal {item.reference or ''}".strip()
        if item.description:
            title = f"{title}: {item.description}"
        status = JOURNAL_STATUS.get(item.status, item.status.lower() or "not posted")
        detail = ", ".join(part for part in (status, when, amount) if part)
    elif item.kind == "teller_transaction":
        title = f"Transaction {item.reference or ''}".strip()
        detail = ", ".join(part for part in ("awaiting approval", amount, item.description) if part)
    elif item.kind == "earlier_period":
        title = item.reference or item.description or "An earlier period"
        detail = "still open: earlier periods of the year close first"
    else:
        title, detail = item.reference or item.kind, item.status.lower()
    return Blocker(KINDS.get(item.kind, "other"), title, detail, _url(item.kind, item.id))


async def checklist(core: CoreSession, period: Period) -> Checklist:
    """What blocks closing ``period``: the core's own list (``GET /fiscal-periods/{id}/
    close-blockers``, the query its close refuses on)."""
    result = Checklist(period=period)
    if not period.is_open:
        return result
    try:
        found = await core.get(
            f"/fiscal-periods/{quote(period.id, safe='')}/close-blockers", model=CloseBlockers
        )
    except BankingAPIError as exc:
        result.unchecked.append(
            f"What blocks the close could not be read just now ({core_message(exc)}); "
            "the close will check it anyway."
        )
        return result
    for item in found.close_blockers:
        blocker = blocker_of(item)
        {
            "journal": result.journals,
            "transaction": result.transactions,
            "period": result.earlier_periods,
        }.get(blocker.kind, result.other).append(blocker)
    return result


# -- the core's own list, from a refused close ------------------------------------------------


def blockers_from_details(details: Iterable[Mapping[str, Any]]) -> list[Blocker]:
    """The blockers a ``422 PERIOD_CLOSE_BLOCKED`` lists in ``details`` (``field``: the
    item's kind, ``code`` why, ``value`` its ID; codes.md), each with its link."""
    found: list[Blocker] = []
    for detail in details:
        kind = CODES.get(str(detail.get("code") or ""), str(detail.get("field") or ""))
        item = CloseBlocker(
            kind=kind,
            id=str(detail.get("value") or ""),
            reference=str(detail.get("reference") or "") or None,
            status=str(detail.get("status") or ""),
            date=parse_day(str(detail.get("date") or "")),
        )
        found.append(blocker_of(item))
    return found
