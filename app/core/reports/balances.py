"""Ledger totals for the reports, exact and fast as the ledger grows.

Every figure is a sum of postings, read through the GL roll-ups
(``app.core.ledger.balances.gl_net``: the worker's daily sums plus the postings since
its last run), so it costs the accounts × days it covers, not the ledger's size. A sum
"as of" a date also starts from the trial-balance snapshot of the latest closed period
that no later posting can change, and adds only what is dated after it: then it reads
the roll-up rows of the open days only, however many years the ledger holds. A
snapshot is usable only when every period starting on or before its end was already
closed when it was taken: then no posting dated on or before that end can exist that
the snapshot has not counted (postings need an open period, and closed periods never
reopen).
"""

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.ledger.balances import gl_net
from app.core.ledger.models import GLAccount
from app.core.periods.models import FiscalPeriod

SNAPSHOT_VERSION = 1

# (GL account, currency, branch code) -> Σ debits − Σ credits
Key = tuple[uuid.UUID, str, str | None]


async def net_by_key(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    after: date | None = None,
    through: date | None = None,
    gl_account_ids: list[uuid.UUID] | None = None,
) -> dict[Key, int]:
    """Net debits of the postings dated in (after, through], per account, currency, branch."""
    totals = await gl_net(
        session,
        tenant_id,
        by=("gl_account_id", "currency", "branch_code"),
        since=after + timedelta(days=1) if after is not None else None,
        through=through,
        gl_account_ids=gl_account_ids,
    )
    return {(gl, currency, branch): net for (gl, currency, branch), net in totals.items()}


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
