"""The journal answer of the API: one model for the list, the detail, actions and events.

Journals are rendered in batches (a page of the list, or one journal) with a fixed
number of queries whatever the page holds: lines, postings (system journals have no
drafted lines), GL accounts, customer accounts and their customers, staff e-mails
and the tenant's fiscal periods.
"""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.accounts.models import Account
from app.core.auth.models import StaffUser
from app.core.common import iso
from app.core.customers.models import Customer
from app.core.journals import responses as answers
from app.core.ledger.models import GLAccount, Journal, JournalLine, Posting
from app.core.money import format_amount
from app.core.periods.models import FiscalPeriod

SYSTEM_TYPES = frozenset({"CASH", "TRANSFER", "REVERSAL", "CLOSING"})


@dataclass(frozen=True)
class Entry:
    """A line as the body shows it: drafted (journal_lines) or, for system journals, posted."""

    line_no: int
    gl_account_id: uuid.UUID
    account_id: uuid.UUID | None
    side: str
    amount: int
    currency: str
    description: str | None


# The statements of a batch, built once with bound parameters (a batch's IDs as one
# expanding parameter): building a select per request, and a bind parameter per ID, cost
# more CPU than the database spent answering.
_IDS: Any = sa.bindparam("ids", expanding=True)
_TENANT: Any = sa.bindparam("tenant_id")
_ENTRY_COLUMNS = ("gl_account_id", "account_id", "side", "amount", "currency", "description")
_LINES = (
    sa.select(
        col(JournalLine.journal_id),
        col(JournalLine.line_no),
        *(getattr(JournalLine, c) for c in _ENTRY_COLUMNS),
    )
    .where(col(JournalLine.journal_id).in_(_IDS))
    .order_by(col(JournalLine.journal_id), col(JournalLine.line_no))
)
_POSTED_LINES = (
    sa.select(col(Posting.journal_id), *(getattr(Posting, c) for c in _ENTRY_COLUMNS))
    .where(col(Posting.journal_id).in_(_IDS))
    .order_by(col(Posting.journal_id), col(Posting.id))
)
_GL_ACCOUNTS = sa.select(
    col(GLAccount.id), col(GLAccount.code), col(GLAccount.name), col(GLAccount.role)
).where(col(GLAccount.id).in_(_IDS), col(GLAccount.tenant_id) == _TENANT)
_ACCOUNTS = (
    sa.select(col(Account.id), col(Account.account_number), col(Customer.display_name))
    .outerjoin(Customer, col(Customer.id) == col(Account.customer_id))
    .where(col(Account.id).in_(_IDS), col(Account.tenant_id) == _TENANT)
)
_EMAILS = sa.select(col(StaffUser.id), col(StaffUser.email)).where(
    col(StaffUser.tenant_id) == _TENANT, col(StaffUser.id).in_(_IDS)
)
_PERIODS = sa.select(
    col(FiscalPeriod.id),
    col(FiscalPeriod.fiscal_year),
    col(FiscalPeriod.period_number),
    col(FiscalPeriod.period_name),
    col(FiscalPeriod.status),
    col(FiscalPeriod.start_date),
    col(FiscalPeriod.end_date),
).where(col(FiscalPeriod.tenant_id) == _TENANT)


def _sums(source: Any) -> Any:
    return (
        sa.select(
            col(source.journal_id),
            col(source.currency),
            col(source.side),
            sa.func.sum(col(source.amount)),
        )
        .where(col(source.journal_id).in_(_IDS))
        .group_by(col(source.journal_id), col(source.currency), col(source.side))
    )


_LINE_SUMS = _sums(JournalLine)
_POSTED_SUMS = _sums(Posting)


async def _entries_of(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Entry]]:
    """Each journal's drafted lines; a system journal (no drafted lines) its postings."""
    entries: dict[uuid.UUID, list[Entry]] = defaultdict(list)
    for journal_id, *fields in (await session.execute(_LINES, {"ids": ids})).all():
        entries[journal_id].append(Entry(*fields))
    undrafted = [i for i in ids if i not in entries]
    if undrafted:
        posted = await session.execute(_POSTED_LINES, {"ids": undrafted})
        for journal_id, *fields in posted.all():
            found = entries[journal_id]
            found.append(Entry(len(found) + 1, *fields))
    return entries


async def _by_id(
    session: AsyncSession, statement: Any, ids: set[Any], tenant_id: uuid.UUID
) -> dict[uuid.UUID, Any]:
    if not ids:
        return {}
    rows = await session.execute(statement, {"ids": list(ids), "tenant_id": tenant_id})
    return {row.id: row for row in rows.all()}


async def render_journals(
    session: AsyncSession, tenant_id: uuid.UUID, journals: Sequence[Journal]
) -> list[answers.Journal]:
    """The answers of ``journals``, in their order.

    Columns, not ORM objects, for everything but the journals themselves: at a page of 25
    journals with their lines, building ORM objects was most of what the list cost.
    """
    if not journals:
        return []
    entries = await _entries_of(session, [j.id for j in journals])
    all_entries = [e for group in entries.values() for e in group]
    gls = await _by_id(session, _GL_ACCOUNTS, {e.gl_account_id for e in all_entries}, tenant_id)
    accounts = await _by_id(
        session, _ACCOUNTS, {e.account_id for e in all_entries if e.account_id}, tenant_id
    )
    emails = await _emails(session, tenant_id, journals)
    periods = await _periods(session, tenant_id)
    return [_body(j, entries.get(j.id, []), gls, accounts, emails, periods) for j in journals]


async def _periods(session: AsyncSession, tenant_id: uuid.UUID) -> list[Any]:
    """The tenant's fiscal periods (what :func:`_period_of` picks a journal's from)."""
    return list((await session.execute(_PERIODS, {"tenant_id": tenant_id})).all())


async def _emails(
    session: AsyncSession, tenant_id: uuid.UUID, journals: Sequence[Journal]
) -> dict[uuid.UUID, str]:
    """The e-mails of the staff who approved, posted, rejected or reversed ``journals``."""
    user_ids = {
        user
        for j in journals
        for user in (j.approved_by, j.posted_by, j.rejected_by, j.reversed_by)
        if user is not None
    }
    return {
        user_id: row.email
        for user_id, row in (await _by_id(session, _EMAILS, user_ids, tenant_id)).items()
    }


async def render_journal_summaries(
    session: AsyncSession, tenant_id: uuid.UUID, journals: Sequence[Journal]
) -> list[answers.Journal]:
    """``journals`` as a list shows them: the answer without ``entries`` and
    ``fiscal_period`` (their ``totals`` summed by the database). Three or four statements
    for a page of 200, whatever their lines."""
    if not journals:
        return []
    ids = [j.id for j in journals]
    sums: dict[uuid.UUID, dict[str, list[int]]] = defaultdict(dict)
    for journal_id, currency, side, total in (
        await session.execute(_LINE_SUMS, {"ids": ids})
    ).all():
        sums[journal_id].setdefault(currency, [0, 0])[0 if side == "D" else 1] += int(total)
    undrafted = [i for i in ids if i not in sums]
    if undrafted:
        posted = await session.execute(_POSTED_SUMS, {"ids": undrafted})
        for journal_id, currency, side, total in posted.all():
            sums[journal_id].setdefault(currency, [0, 0])[0 if side == "D" else 1] += int(total)
    emails = await _emails(session, tenant_id, journals)
    periods = await _periods(session, tenant_id)
    return [
        _journal(
            journal,
            emails,
            _period_of(journal, periods),
            _totals_of(sums.get(journal.id, {})),
        )
        for journal in journals
    ]


async def render_journal(
    session: AsyncSession, tenant_id: uuid.UUID, journal: Journal
) -> answers.Journal:
    return (await render_journals(session, tenant_id, [journal]))[0]


def _period_of(journal: Journal, periods: list[Any]) -> Any:
    """The journal's named period, or the month period holding its effective date."""
    for period in periods:
        if journal.fiscal_period_id is not None:
            if period.id == journal.fiscal_period_id:
                return period
        elif (
            period.period_number <= 12
            and period.start_date <= journal.effective_date <= period.end_date
        ):
            return period
    return None


def _entry_body(
    entry: Entry,
    gls: dict[uuid.UUID, Any],
    accounts: dict[uuid.UUID, Any],
    system: bool,
) -> answers.JournalLine:
    gl = gls.get(entry.gl_account_id)
    account = accounts.get(entry.account_id) if entry.account_id else None
    return answers.JournalLine(
        line_no=entry.line_no,
        account_id=str(entry.account_id or entry.gl_account_id),
        account_kind="customer" if entry.account_id else "gl",
        account_number=account.account_number if account else None,
        account_name=(
            (account.display_name if account else None)
            if entry.account_id
            else (gl.name if gl else None)
        ),
        gl_account_id=str(entry.gl_account_id),
        gl_account_code=gl.code if gl else None,
        gl_account_name=gl.name if gl else None,
        entry_type="debit" if entry.side == "D" else "credit",
        amount=format_amount(entry.amount, entry.currency),
        currency_code=entry.currency,
        description=entry.description,
        # Lines the system adds (inter-branch clearing of a manual journal; every line of
        # a system journal), as opposed to the lines staff drafted.
        automatic=system or (gl is not None and gl.role == "clearing" and not entry.account_id),
    )


def _totals(entries: list[Entry]) -> list[answers.JournalTotal]:
    sums: dict[str, list[int]] = {}
    for entry in entries:
        sums.setdefault(entry.currency, [0, 0])[0 if entry.side == "D" else 1] += entry.amount
    return _totals_of(sums)


def _totals_of(sums: dict[str, list[int]]) -> list[answers.JournalTotal]:
    """Debits and credits by currency (``{currency: [debit, credit]}``), by currency."""
    return [
        answers.JournalTotal(
            currency_code=currency,
            debit=format_amount(debit, currency),
            credit=format_amount(credit, currency),
        )
        for currency, (debit, credit) in sorted(sums.items())
    ]


def _id(value: uuid.UUID | None) -> str | None:
    return str(value) if value is not None else None


def _journal(
    journal: Journal,
    emails: dict[uuid.UUID, str],
    period: Any,
    totals: list[answers.JournalTotal],
    *,
    fiscal_period: answers.JournalPeriod | msgspec.UnsetType | None = msgspec.UNSET,
    entries: list[answers.JournalLine] | msgspec.UnsetType = msgspec.UNSET,
) -> answers.Journal:
    """A journal's answer; a journal read whole adds its period and lines."""

    def email(user: uuid.UUID | None) -> str | None:
        return emails.get(user) if user is not None else None

    return answers.Journal(
        id=str(journal.id),
        journal_number=journal.journal_number,
        journal_type=journal.journal_type,
        status=journal.status,
        is_system=journal.journal_type in SYSTEM_TYPES,
        description=journal.description,
        transaction_date=iso(journal.transaction_date),
        effective_date=iso(journal.effective_date),
        fiscal_period_id=_id(period.id if period else journal.fiscal_period_id),
        source_reference=journal.source_reference,
        branch_code=journal.branch_code,
        created_by=str(journal.created_by),
        created_by_email=journal.created_by_email,
        created_at=iso(journal.created_at),
        approved_by=_id(journal.approved_by),
        approved_by_email=email(journal.approved_by),
        approved_at=iso(journal.approved_at),
        posted_by=_id(journal.posted_by),
        posted_by_email=email(journal.posted_by),
        posted_at=iso(journal.posted_at),
        rejected_by=_id(journal.rejected_by),
        rejected_by_email=email(journal.rejected_by),
        rejected_at=iso(journal.rejected_at),
        rejection_reason=journal.rejection_reason,
        reversed_by=_id(journal.reversed_by),
        reversed_by_email=email(journal.reversed_by),
        reversed_at=iso(journal.reversed_at),
        reversal_reason=journal.reversal_reason,
        reversal_journal_id=_id(journal.reversal_journal_id),
        reverses_journal_id=_id(journal.reverses_journal_id),
        totals=totals,
        fiscal_period=fiscal_period,
        entries=entries,
    )


def _body(
    journal: Journal,
    entries: list[Entry],
    gls: dict[uuid.UUID, Any],
    accounts: dict[uuid.UUID, Any],
    emails: dict[uuid.UUID, str],
    periods: list[Any],
) -> answers.Journal:
    period = _period_of(journal, periods)
    system = journal.journal_type in SYSTEM_TYPES
    return _journal(
        journal,
        emails,
        period,
        _totals(entries),
        fiscal_period=(
            answers.JournalPeriod(
                id=str(period.id),
                fiscal_year=period.fiscal_year,
                period_number=period.period_number,
                period_name=period.period_name,
                status=period.status,
            )
            if period
            else None
        ),
        entries=[_entry_body(e, gls, accounts, system) for e in entries],
    )
