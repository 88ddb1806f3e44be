"""Fiscal periods as the console shows them, and the pre-close checklist: what blocks a close.

The core decides a close (``422 PERIOD_CLOSE_BLOCKED``, listing the blockers in
``details``); the checklist reads the same facts beforehand, so an admin sees exactly what
to handle, with a link to each item, before pressing "Confirm close":

- journals of the period still ``PENDING`` or ``APPROVED`` (→ the journal's page);
- teller transactions of the period still ``PENDING_APPROVAL`` (→ the approvals item);
- earlier periods of the year still open (→ that period).
"""

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import quote

from app.client import BankingAPIError, BankingAPINotFound, FiscalPeriod
from app.console.banking import CoreSession
from app.console.formatting import money, short_date

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
    start: date | None
    end: date | None
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
        return self.start is not None and self.end is not None and self.start <= day <= self.end


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


def journal_blocker(journal: Mapping[str, Any], currency: str) -> Blocker:
    """A journal that still waits (pending or approved) as a blocker."""
    journal_id = str(journal.get("id") or "")
    number = str(
        journal.get("journal_number")
        or journal.get("reference")
        or journal.get("journal_ref")
        or ""
    )
    status = str(journal.get("status") or "").upper()
    description = str(journal.get("description") or "")
    totals = [t for t in journal.get("totals") or [] if isinstance(t, Mapping)]
    parts = [JOURNAL_STATUS.get(status, status.lower() or "not posted")]
    if journal.get("effective_date"):
        parts.append(f"dated {short_date(journal.get('effective_date'))}")
    for total in totals[:2]:
        parts.append(money(total.get("debit"), str(total.get("currency_code") or currency)))
    if journal.get("created_by_email"):
        parts.append(f"made by {journal['created_by_email']}")
    title = f"Journal {number}" if number else "Journal"
    if description:
        title = f"{title}: {description}"
    return Blocker(
        kind="journal",
        title=title,
        detail=", ".join(parts),
        url=f"/journals/{quote(journal_id, safe='')}" if journal_id else None,
    )


def transaction_blocker(transaction: Mapping[str, Any]) -> Blocker:
    """A teller transaction awaiting approval as a blocker."""
    transaction_id = str(transaction.get("id") or "")
    ref = str(transaction.get("transaction_ref") or transaction_id[:8])
    kind = str(transaction.get("type") or "transaction").replace("_", " ").lower()
    currency = str(transaction.get("currency") or "NGN")
    parts = ["awaiting approval", money(transaction.get("amount"), currency)]
    if transaction.get("created_by_email"):
        parts.append(f"made by {transaction['created_by_email']}")
    return Blocker(
        kind="transaction",
        title=f"{kind.capitalize()} {ref}",
        detail=", ".join(parts),
        url=f"/approvals/transactions/{quote(transaction_id, safe='')}" if transaction_id else None,
    )


def period_blocker(period: Period) -> Blocker:
    """An earlier period still open as a blocker."""
    return Blocker(
        kind="period",
        title=period.name,
        detail="still open: earlier periods of the year close first",
        url=period.url,
    )


async def _list(
    core: CoreSession, path: str, noun: str, params: dict[str, Any]
) -> tuple[list[dict[str, Any]], bool]:
    """Every item of a list call (a few pages at most); ``(items, truncated)``."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        body = await core.get(path, params={**params, "limit": PAGE_LIMIT, "cursor": cursor})
        items.extend(i for i in body.get(noun) or [] if isinstance(i, dict))
        cursor = body.get("next_cursor")
        if not body.get("has_more") or not cursor:
            return items, False
    return items, True


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _in_period(item: Mapping[str, Any], period: Period, *date_fields: str) -> bool:
    named = item.get("fiscal_period_id")
    if named:
        return str(named) == period.id
    if period.is_year_end:
        return False  # only a journal naming period 13 belongs to it
    for name in date_fields:
        day = _day(item.get(name)) if item.get(name) else None
        if day is not None:
            return period.holds(day)
    return True  # the core filtered by the period's dates already


async def _journals(core: CoreSession, period: Period, currency: str) -> list[Blocker]:
    assert period.start is not None and period.end is not None
    span = {"from": period.start.isoformat(), "to": period.end.isoformat()}
    found: list[Blocker] = []
    for status in ("PENDING", "APPROVED"):
        items, _ = await _list(core, "/journals", "journals", {**span, "status": status})
        found.extend(
            journal_blocker(j, currency)
            for j in items
            if str(j.get("status") or status).upper() == status
            and _in_period(j, period, "effective_date", "transaction_date")
        )
    return found


async def _transactions(core: CoreSession, period: Period) -> list[Blocker]:
    assert period.start is not None and period.end is not None
    if period.is_year_end:
        return []  # teller transactions resolve to the month's period, never to period 13
    items, _ = await _list(
        core,
        "/transactions",
        "transactions",
        {
            "status": "PENDING_APPROVAL",
            "from": period.start.isoformat(),
            "to": period.end.isoformat(),
        },
    )
    return [
        transaction_blocker(t)
        for t in items
        if t.get("status") == "PENDING_APPROVAL"
        and _in_period(t, period, "business_date", "created_at")
    ]


async def checklist(
    core: CoreSession, period: Period, year: list[Period], currency: str
) -> Checklist:
    """What blocks closing ``period`` (``year``: every period of its fiscal year)."""
    result = Checklist(period=period)
    if not period.is_open or period.start is None or period.end is None:
        return result
    result.earlier_periods = [
        period_blocker(p)
        for p in year
        if p.is_open and p.number < period.number and p.number < YEAR_END_PERIOD
    ]
    journals, transactions = await asyncio.gather(
        _journals(core, period, currency), _transactions(core, period), return_exceptions=True
    )
    if isinstance(journals, BaseException):
        if not isinstance(journals, BankingAPIError):
            raise journals
        result.unchecked.append(_unchecked("journals", journals))
    else:
        result.journals = journals
    if isinstance(transactions, BaseException):
        if not isinstance(transactions, BankingAPIError):
            raise transactions
        result.unchecked.append(_unchecked("teller transactions", transactions))
    else:
        result.transactions = transactions
    return result


def _unchecked(what: str, error: BankingAPIError) -> str:
    if isinstance(error, BankingAPINotFound):
        return f"The banking service does not list {what} yet, so they were not checked."
    return f"Pending {what} could not be checked just now; the close will check them anyway."


# -- the core's own list, from a refused close ------------------------------------------------


def _first(detail: Mapping[str, Any], *names: str) -> str:
    for name in names:
        if detail.get(name):
            return str(detail[name])
    return ""


def blockers_from_details(details: Iterable[Mapping[str, Any]], currency: str) -> list[Blocker]:
    """The blockers a ``422 PERIOD_CLOSE_BLOCKED`` lists in ``details``, each with its link."""
    found: list[Blocker] = []
    for detail in details:
        kind = _first(detail, "type", "entity_type", "kind", "field").lower()
        reason = _first(detail, "reason", "message")
        ident = _first(
            detail, "id", "entity_id", "journal_id", "transaction_id", "period_id", "value"
        )
        label = _first(
            detail, "reference", "journal_number", "transaction_ref", "period_name", "ref", "name"
        )
        if "journal" in kind:
            found.append(
                Blocker(
                    "journal",
                    f"Journal {label}".strip(),
                    reason or "not posted yet",
                    f"/journals/{quote(ident, safe='')}" if ident else None,
                )
            )
        elif "transaction" in kind:
            found.append(
                Blocker(
                    "transaction",
                    f"Transaction {label}".strip(),
                    reason or "awaiting approval",
                    f"/approvals/transactions/{quote(ident, safe='')}" if ident else None,
                )
            )
        elif "period" in kind:
            found.append(
                Blocker(
                    "period",
                    label or "An earlier period",
                    reason or "still open",
                    f"/periods/{quote(ident, safe='')}" if ident else None,
                )
            )
        else:
            found.append(Blocker("other", label or kind or "Something", reason, None))
    return found
