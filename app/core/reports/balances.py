"""Ledger totals for the reports, exact and fast as the ledger grows.

Every figure is a sum of postings. To keep that cheap at millions of postings, a sum
"as of" a date starts from the trial-balance snapshot of the latest closed period that
no later posting can change, and adds only the postings dated after it (read through
the covering index ``ix_postings_report_cover``). A snapshot is usable only when every
period starting on or before its end was already closed when it was taken: then no
posting dated on or before that end can exist that the snapshot has not counted
(postings need an open period, and closed periods never reopen).
"""

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.ledger.models import GLAccount, Journal, Posting
from app.core.periods.models import FiscalPeriod

SNAPSHOT_VERSION = 1

# (GL account, currency, branch code) -> Σ debits − Σ credits
Key = tuple[uuid.UUID, str, str | None]


def _signed() -> sa.ColumnElement[Any]:
    return sa.case((col(Posting.side) == "D", col(Posting.amount)), else_=-col(Posting.amount))


async def net_by_key(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    after: date | None = None,
    through: date | None = None,
    gl_account_ids: list[uuid.UUID] | None = None,
    exclude_journal_type: str | None = None,
) -> dict[Key, int]:
    """Net debits of the postings dated in (after, through], per account, currency, branch."""
    query = (
        sa.select(
            col(Posting.gl_account_id),
            col(Posting.currency),
            col(Posting.branch_code),
            sa.func.sum(_signed()),
        )
        .where(col(Posting.tenant_id) == tenant_id)
        .group_by(col(Posting.gl_account_id), col(Posting.currency), col(Posting.branch_code))
    )
    if after is not None:
        query = query.where(col(Posting.effective_date) > after)
    if through is not None:
        query = query.where(col(Posting.effective_date) <= through)
    if gl_account_ids is not None:
        query = query.where(col(Posting.gl_account_id).in_(gl_account_ids))
    if exclude_journal_type is not None:
        closing = sa.select(col(Journal.id)).where(
            col(Journal.tenant_id) == tenant_id,
            col(Journal.journal_type) == exclude_journal_type,
        )
        query = query.where(col(Posting.journal_id).not_in(closing))
    rows = (await session.execute(query)).tuples().all()
    return {(gl, currency, branch): int(total or 0) for gl, currency, branch, total in rows}


def usable_snapshot(periods: list[FiscalPeriod], as_of: date) -> FiscalPeriod | None:
    """The closed period whose snapshot can start a sum as of ``as_of`` (latest first)."""
    closed = [
        p
        for p in periods
        if p.status != "open"
        and p.closed_at is not None
        and p.end_date <= as_of
        and p.trial_balance_snapshot
        and p.trial_balance_snapshot.get("version") == SNAPSHOT_VERSION
    ]
    closed.sort(key=lambda p: (p.end_date, p.closed_at), reverse=True)
    for candidate in closed:
        assert candidate.closed_at is not None
        if all(
            q.status != "open" and q.closed_at is not None and q.closed_at <= candidate.closed_at
            for q in periods
            if q.start_date <= candidate.end_date
        ):
            return candidate
    return None


def _snapshot_rows(period: FiscalPeriod) -> dict[Key, int]:
    assert period.trial_balance_snapshot is not None
    return {
        (uuid.UUID(gl), currency, branch): int(net)
        for gl, currency, branch, net in period.trial_balance_snapshot["rows"]
    }


async def tenant_periods(session: AsyncSession, tenant_id: uuid.UUID) -> list[FiscalPeriod]:
    rows = await session.execute(
        sa.select(FiscalPeriod).where(col(FiscalPeriod.tenant_id) == tenant_id)
    )
    return list(rows.scalars().all())


async def net_as_of(session: AsyncSession, tenant_id: uuid.UUID, as_of: date) -> dict[Key, int]:
    """Net debits of every posting dated on or before ``as_of``: snapshot + what came after."""
    base = usable_snapshot(await tenant_periods(session, tenant_id), as_of)
    if base is None:
        return await net_by_key(session, tenant_id, through=as_of)
    totals = _snapshot_rows(base)
    for key, net in (
        await net_by_key(session, tenant_id, after=base.end_date, through=as_of)
    ).items():
        totals[key] = totals.get(key, 0) + net
    return totals


@dataclass
class TrialBalanceLine:
    account: GLAccount
    currency: str
    net_debit: int


async def gl_accounts(session: AsyncSession, tenant_id: uuid.UUID) -> dict[uuid.UUID, GLAccount]:
    rows = await session.execute(sa.select(GLAccount).where(col(GLAccount.tenant_id) == tenant_id))
    return {a.id: a for a in rows.scalars().all()}


def collapse(
    totals: dict[Key, int], *, branch_code: str | None = None
) -> dict[tuple[uuid.UUID, str], int]:
    """Per (account, currency), over every branch or only ``branch_code``'s postings."""
    result: dict[tuple[uuid.UUID, str], int] = defaultdict(int)
    for (gl, currency, branch), net in totals.items():
        if branch_code is not None and (branch or "").lower() != branch_code.lower():
            continue
        result[(gl, currency)] += net
    return dict(result)


def trial_balance_lines(
    totals: dict[tuple[uuid.UUID, str], int], accounts: dict[uuid.UUID, GLAccount]
) -> list[TrialBalanceLine]:
    """Every account with a balance, in code order (a zero balance is no line)."""
    lines = [
        TrialBalanceLine(accounts[gl], currency, net)
        for (gl, currency), net in totals.items()
        if net != 0 and gl in accounts
    ]
    lines.sort(key=lambda line: (line.currency, line.account.code))
    return lines


def snapshot_body(
    as_of: date, totals: dict[Key, int], accounts: dict[uuid.UUID, GLAccount]
) -> dict[str, Any]:
    """What a closed period keeps: the raw sums (to start later reports) and a readable
    trial balance per currency (what the console shows)."""
    from app.core.money import format_amount

    lines = trial_balance_lines(collapse(totals), accounts)
    per_currency: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    rendered = []
    for line in lines:
        debit = max(line.net_debit, 0)
        credit = max(-line.net_debit, 0)
        per_currency[line.currency][0] += debit
        per_currency[line.currency][1] += credit
        rendered.append(
            {
                "gl_account_id": str(line.account.id),
                "code": line.account.code,
                "name": line.account.name,
                "category": line.account.category,
                "currency": line.currency,
                "debit": format_amount(debit, line.currency),
                "credit": format_amount(credit, line.currency),
            }
        )
    return {
        "version": SNAPSHOT_VERSION,
        "as_of": as_of.isoformat(),
        "rows": [
            [str(gl), currency, branch, net]
            for (gl, currency, branch), net in sorted(
                totals.items(), key=lambda kv: (str(kv[0][0]), kv[0][1], kv[0][2] or "")
            )
            if net != 0
        ],
        "lines": rendered,
        "totals": [
            {
                "currency": currency,
                "total_debit": format_amount(debit, currency),
                "total_credit": format_amount(credit, currency),
            }
            for currency, (debit, credit) in sorted(per_currency.items())
        ],
    }
