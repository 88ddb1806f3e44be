"""What keeps a period from closing: one query, read by the close and by
``GET /fiscal-periods/{id}/close-blockers`` (issue 12: the rule lives once, in the core).

A period closes when no earlier period of its year is open, no journal of it is pending or
approved but not posted, and (periods 1-12) no teller transaction dated in it awaits
approval. The close refuses with ``PERIOD_CLOSE_BLOCKED`` listing exactly these items; the
read endpoint lists the same ones beforehand.
"""

import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.detail_codes import DetailCode
from app.core.ledger.models import Journal, JournalLine
from app.core.money import format_amount
from app.core.periods import responses as answers
from app.core.periods.models import FiscalPeriod
from app.core.transactions.models import Transaction

# Enough for a person to act on, per kind; the count says how many there are in all.
MAX_LISTED = 100

EARLIER_PERIOD = "earlier_period"
JOURNAL = "journal"
TELLER_TRANSACTION = "teller_transaction"

_CODES = {
    EARLIER_PERIOD: DetailCode.EARLIER_PERIOD_OPEN,
    JOURNAL: DetailCode.JOURNAL_PENDING,
    TELLER_TRANSACTION: DetailCode.TELLER_TRANSACTION_PENDING,
}
# The error's items named their kind ``entity_type`` before issue 12; kept for its readers.
_ENTITY_TYPES = {
    EARLIER_PERIOD: "fiscal_period",
    JOURNAL: "journal",
    TELLER_TRANSACTION: "transaction",
}


@dataclass(frozen=True, slots=True)
class CloseBlocker:
    """One item that must be settled before the period closes."""

    kind: str  # earlier_period | journal | teller_transaction
    id: str
    reference: str | None
    status: str
    reason: str  # English, for the error's ``details``
    description: str | None = None
    amount: str | None = None
    currency: str | None = None
    date: str | None = None

    def detail(self) -> dict[str, Any]:
        """As an item of ``PERIOD_CLOSE_BLOCKED``'s ``details`` (codes.md)."""
        return {
            "field": self.kind,
            "code": _CODES[self.kind].value,
            "reason": self.reason,
            "value": self.id,
            "entity_type": _ENTITY_TYPES[self.kind],
            "entity_id": self.id,
            "reference": self.reference,
            "status": self.status,
            "date": self.date,
        }

    def body(self) -> answers.CloseBlocker:
        """As an item of the read endpoint's ``close_blockers``."""
        return answers.CloseBlocker(
            kind=self.kind,
            id=self.id,
            reference=self.reference,
            status=self.status,
            description=self.description,
            amount=self.amount,
            currency=self.currency,
            date=self.date,
        )


def _in_period(period: FiscalPeriod) -> sa.ColumnElement[bool]:
    """Journals of the period: those naming it, and (for 1-12) those dated in it."""
    named = col(Journal.fiscal_period_id) == period.id
    if period.period_number > 12:
        return named
    return sa.or_(
        named,
        sa.and_(
            col(Journal.fiscal_period_id).is_(None),
            col(Journal.effective_date) >= period.start_date,
            col(Journal.effective_date) <= period.end_date,
        ),
    )


async def _count(session: AsyncSession, model: Any, condition: sa.ColumnElement[bool]) -> int:
    query = sa.select(sa.func.count()).select_from(model).where(condition)
    return int((await session.execute(query)).scalar_one())


async def _earlier_periods(session: AsyncSession, period: FiscalPeriod) -> list[CloseBlocker]:
    earlier = (
        await session.execute(
            sa.select(FiscalPeriod)
            .where(
                col(FiscalPeriod.tenant_id) == period.tenant_id,
                col(FiscalPeriod.fiscal_year) == period.fiscal_year,
                col(FiscalPeriod.period_number) < period.period_number,
                col(FiscalPeriod.status) == "open",
            )
            .order_by(col(FiscalPeriod.period_number))
        )
    ).scalars()
    return [
        CloseBlocker(
            kind=EARLIER_PERIOD,
            id=str(p.id),
            reference=p.period_name,
            status=p.status,
            reason="earlier period still open",
            description=p.period_name,
            date=p.start_date.isoformat(),
        )
        for p in earlier
    ]


async def _debit_totals(
    session: AsyncSession, journal_ids: list[uuid.UUID]
) -> dict[uuid.UUID, dict[str, int]]:
    """Each journal's drafted debits by currency (what it will move once posted)."""
    totals: dict[uuid.UUID, dict[str, int]] = defaultdict(dict)
    if not journal_ids:
        return totals
    rows = await session.execute(
        sa.select(
            col(JournalLine.journal_id),
            col(JournalLine.currency),
            sa.func.sum(col(JournalLine.amount)),
        )
        .where(col(JournalLine.journal_id).in_(journal_ids), col(JournalLine.side) == "D")
        .group_by(col(JournalLine.journal_id), col(JournalLine.currency))
    )
    for journal_id, currency, total in rows.all():
        totals[journal_id][currency] = int(total)
    return totals


async def _journals(session: AsyncSession, period: FiscalPeriod) -> tuple[list[CloseBlocker], int]:
    waiting = sa.and_(
        col(Journal.tenant_id) == period.tenant_id,
        col(Journal.status).in_(["PENDING", "APPROVED"]),
        _in_period(period),
    )
    total = await _count(session, Journal, waiting)
    journals = list(
        (
            await session.execute(
                sa.select(Journal)
                .where(waiting)
                .order_by(col(Journal.effective_date), col(Journal.journal_number))
                .limit(MAX_LISTED)
            )
        ).scalars()
    )
    debits = await _debit_totals(session, [j.id for j in journals])
    blockers = []
    for j in journals:
        by_currency = debits.get(j.id, {})
        # One amount only when the journal moves one currency; a mixed one names none.
        single = next(iter(by_currency.items())) if len(by_currency) == 1 else None
        blockers.append(
            CloseBlocker(
                kind=JOURNAL,
                id=str(j.id),
                reference=j.journal_number,
                status=j.status,
                reason=f"journal {j.status.lower()}, not posted",
                description=j.description,
                amount=format_amount(single[1], single[0]) if single else None,
                currency=single[0] if single else None,
                date=j.effective_date.isoformat(),
            )
        )
    return blockers, total


async def _teller_transactions(
    session: AsyncSession, period: FiscalPeriod
) -> tuple[list[CloseBlocker], int]:
    if period.period_number > 12:
        return [], 0  # teller transactions fall in a month's period, never in period 13
    pending = sa.and_(
        col(Transaction.tenant_id) == period.tenant_id,
        col(Transaction.status) == "PENDING_APPROVAL",
        col(Transaction.business_date) >= period.start_date,
        col(Transaction.business_date) <= period.end_date,
    )
    total = await _count(session, Transaction, pending)
    rows = (
        await session.execute(
            sa.select(Transaction)
            .where(pending)
            .order_by(col(Transaction.created_at))
            .limit(MAX_LISTED)
        )
    ).scalars()
    blockers = [
        CloseBlocker(
            kind=TELLER_TRANSACTION,
            id=str(t.id),
            reference=t.transaction_ref,
            status=t.status,
            reason="transaction awaiting approval",
            description=t.narration,
            amount=format_amount(t.amount, t.currency),
            currency=t.currency,
            date=t.business_date.isoformat(),
        )
        for t in rows
    ]
    return blockers, total


async def close_blockers(
    session: AsyncSession, period: FiscalPeriod
) -> tuple[list[CloseBlocker], int]:
    """What keeps ``period`` open (at most ``MAX_LISTED`` of each kind), and how many
    items there are in all."""
    earlier = await _earlier_periods(session, period)
    journals, journal_count = await _journals(session, period)
    transactions, transaction_count = await _teller_transactions(session, period)
    return [*earlier, *journals, *transactions], len(earlier) + journal_count + transaction_count


def close_blockers_body(
    period: FiscalPeriod, blockers: list[CloseBlocker], total: int
) -> answers.CloseBlockers:
    """The read endpoint's answer: whether the close would go through, and why not."""
    return answers.CloseBlockers(
        period_id=str(period.id),
        can_close=period.status == "open" and total == 0,
        blocker_count=total,
        close_blockers=[b.body() for b in blockers],
    )
