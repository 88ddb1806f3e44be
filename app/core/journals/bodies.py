"""The journal body of the API: one shape for the list, the detail, actions and events.

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

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.accounts.models import Account
from app.core.auth.models import StaffUser
from app.core.common import iso
from app.core.customers.models import Customer
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


async def render_journals(
    session: AsyncSession, tenant_id: uuid.UUID, journals: Sequence[Journal]
) -> list[dict[str, Any]]:
    """The bodies of ``journals``, in their order."""
    if not journals:
        return []
    ids = [j.id for j in journals]
    entries: dict[uuid.UUID, list[Entry]] = defaultdict(list)
    rows = await session.execute(
        sa.select(JournalLine)
        .where(col(JournalLine.journal_id).in_(ids))
        .order_by(col(JournalLine.journal_id), col(JournalLine.line_no))
    )
    for line in rows.scalars().all():
        entries[line.journal_id].append(
            Entry(
                line.line_no,
                line.gl_account_id,
                line.account_id,
                line.side,
                line.amount,
                line.currency,
                line.description,
            )
        )
    undrafted = [i for i in ids if i not in entries]
    if undrafted:
        postings = await session.execute(
            sa.select(Posting)
            .where(col(Posting.journal_id).in_(undrafted))
            .order_by(col(Posting.journal_id), col(Posting.id))
        )
        for posting in postings.scalars().all():
            found = entries[posting.journal_id]
            found.append(
                Entry(
                    len(found) + 1,
                    posting.gl_account_id,
                    posting.account_id,
                    posting.side,
                    posting.amount,
                    posting.currency,
                    posting.description,
                )
            )
    all_entries = [e for group in entries.values() for e in group]
    gls = await _by_id(
        session, GLAccount, {e.gl_account_id for e in all_entries}, GLAccount.tenant_id, tenant_id
    )
    accounts = await _by_id(
        session,
        Account,
        {e.account_id for e in all_entries if e.account_id},
        Account.tenant_id,
        tenant_id,
    )
    customers = await _by_id(
        session,
        Customer,
        {a.customer_id for a in accounts.values()},
        Customer.tenant_id,
        tenant_id,
    )
    user_ids = {
        user
        for j in journals
        for user in (j.approved_by, j.posted_by, j.rejected_by, j.reversed_by)
        if user is not None
    }
    emails: dict[uuid.UUID, str] = {}
    if user_ids:
        found_users = await session.execute(
            sa.select(col(StaffUser.id), col(StaffUser.email)).where(
                col(StaffUser.tenant_id) == tenant_id, col(StaffUser.id).in_(user_ids)
            )
        )
        emails = dict(found_users.tuples().all())
    periods = list(
        (
            await session.execute(
                sa.select(FiscalPeriod).where(col(FiscalPeriod.tenant_id) == tenant_id)
            )
        )
        .scalars()
        .all()
    )
    return [
        _body(j, entries.get(j.id, []), gls, accounts, customers, emails, periods) for j in journals
    ]


async def render_journal(
    session: AsyncSession, tenant_id: uuid.UUID, journal: Journal
) -> dict[str, Any]:
    return (await render_journals(session, tenant_id, [journal]))[0]


async def _by_id(
    session: AsyncSession, model: Any, ids: set[uuid.UUID], tenant_column: Any, tenant_id: uuid.UUID
) -> dict[uuid.UUID, Any]:
    if not ids:
        return {}
    rows = await session.execute(
        sa.select(model).where(col(model.id).in_(ids), tenant_column == tenant_id)
    )
    return {row.id: row for row in rows.scalars().all()}


def _period_of(journal: Journal, periods: list[FiscalPeriod]) -> FiscalPeriod | None:
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
    gls: dict[uuid.UUID, GLAccount],
    accounts: dict[uuid.UUID, Account],
    customers: dict[uuid.UUID, Customer],
    system: bool,
) -> dict[str, Any]:
    gl = gls.get(entry.gl_account_id)
    account = accounts.get(entry.account_id) if entry.account_id else None
    customer = customers.get(account.customer_id) if account else None
    return {
        "line_no": entry.line_no,
        "account_id": str(entry.account_id or entry.gl_account_id),
        "account_kind": "customer" if entry.account_id else "gl",
        "account_number": account.account_number if account else None,
        "account_name": (
            (customer.display_name if customer else None) if account else (gl.name if gl else None)
        ),
        "gl_account_id": str(entry.gl_account_id),
        "gl_account_code": gl.code if gl else None,
        "gl_account_name": gl.name if gl else None,
        "entry_type": "debit" if entry.side == "D" else "credit",
        "amount": format_amount(entry.amount, entry.currency),
        "currency_code": entry.currency,
        "description": entry.description,
        # Lines the system adds (inter-branch clearing of a manual journal; every line of
        # a system journal), as opposed to the lines staff drafted.
        "automatic": system or (gl is not None and gl.role == "clearing" and not entry.account_id),
    }


def _totals(entries: list[Entry]) -> list[dict[str, Any]]:
    sums: dict[str, list[int]] = {}
    for entry in entries:
        sums.setdefault(entry.currency, [0, 0])[0 if entry.side == "D" else 1] += entry.amount
    return [
        {
            "currency_code": currency,
            "debit": format_amount(debit, currency),
            "credit": format_amount(credit, currency),
        }
        for currency, (debit, credit) in sorted(sums.items())
    ]


def _id(value: uuid.UUID | None) -> str | None:
    return str(value) if value is not None else None


def _body(
    journal: Journal,
    entries: list[Entry],
    gls: dict[uuid.UUID, GLAccount],
    accounts: dict[uuid.UUID, Account],
    customers: dict[uuid.UUID, Customer],
    emails: dict[uuid.UUID, str],
    periods: list[FiscalPeriod],
) -> dict[str, Any]:
    period = _period_of(journal, periods)
    system = journal.journal_type in SYSTEM_TYPES

    def email(user: uuid.UUID | None) -> str | None:
        return emails.get(user) if user is not None else None

    return {
        "id": str(journal.id),
        "journal_number": journal.journal_number,
        "journal_type": journal.journal_type,
        "status": journal.status,
        "is_system": system,
        "description": journal.description,
        "transaction_date": iso(journal.transaction_date),
        "effective_date": iso(journal.effective_date),
        "fiscal_period_id": _id(period.id if period else journal.fiscal_period_id),
        "fiscal_period": (
            {
                "id": str(period.id),
                "fiscal_year": period.fiscal_year,
                "period_number": period.period_number,
                "period_name": period.period_name,
                "status": period.status,
            }
            if period
            else None
        ),
        "source_reference": journal.source_reference,
        "branch_code": journal.branch_code,
        "entries": [_entry_body(e, gls, accounts, customers, system) for e in entries],
        "totals": _totals(entries),
        "created_by": str(journal.created_by),
        "created_by_email": journal.created_by_email,
        "created_at": iso(journal.created_at),
        "approved_by": _id(journal.approved_by),
        "approved_by_email": email(journal.approved_by),
        "approved_at": iso(journal.approved_at),
        "posted_by": _id(journal.posted_by),
        "posted_by_email": email(journal.posted_by),
        "posted_at": iso(journal.posted_at),
        "rejected_by": _id(journal.rejected_by),
        "rejected_by_email": email(journal.rejected_by),
        "rejected_at": iso(journal.rejected_at),
        "rejection_reason": journal.rejection_reason,
        "reversed_by": _id(journal.reversed_by),
        "reversed_by_email": email(journal.reversed_by),
        "reversed_at": iso(journal.reversed_at),
        "reversal_reason": journal.reversal_reason,
        "reversal_journal_id": _id(journal.reversal_journal_id),
        "reverses_journal_id": _id(journal.reverses_journal_id),
    }
