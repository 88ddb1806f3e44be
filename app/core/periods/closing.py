"""Closing a period, and closing a year into retained earnings (`ledger.md`).

Closing takes the period row ``FOR UPDATE``: postings hold a shared lock on their
period until they commit (``open_period_for``), so the snapshot below counts every
posting that made it in, and no posting dated in the period commits after it.
"""

import uuid
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.audit import service as audit
from app.core.context import RequestContext
from app.core.detail_codes import DetailCode, detail
from app.core.errors import ApiError
from app.core.ledger.models import GLAccount, Journal
from app.core.ledger.numbers import journal_number
from app.core.ledger.posting import CREDIT, DEBIT, Leg, post_journal
from app.core.money import format_amount
from app.core.periods import responses as answers
from app.core.periods.blockers import CloseBlocker, close_blockers
from app.core.periods.models import FiscalPeriod
from app.core.periods.service import open_period_for, period_body
from app.core.reports.balances import gl_accounts, net_as_of, net_by_key, snapshot_body
from app.core.tenants.models import Tenant
from app.core.tenants.service import business_date
from app.core.webhooks import outbox
from app.db import utcnow

CLOSING = "CLOSING"


async def _locked_period(
    session: AsyncSession, tenant_id: uuid.UUID, period_id: uuid.UUID
) -> FiscalPeriod:
    found = (
        await session.execute(
            sa.select(FiscalPeriod)
            .where(col(FiscalPeriod.id) == period_id, col(FiscalPeriod.tenant_id) == tenant_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if found is None:
        raise ApiError("PERIOD_NOT_FOUND", "No such fiscal period.")
    period: FiscalPeriod = found
    return period


def _blocked(period: FiscalPeriod, blockers: list[CloseBlocker], total: int) -> ApiError:
    shown = "" if total <= len(blockers) else f" ({len(blockers)} listed)"
    return ApiError(
        "PERIOD_CLOSE_BLOCKED",
        f"{period.period_name} cannot be closed: {total} item(s) must be settled first{shown}.",
        [b.detail() for b in blockers],
        extra={"blocker_count": total},
    )


async def _snapshot_and_close(
    session: AsyncSession, ctx: RequestContext, period: FiscalPeriod
) -> None:
    assert ctx.principal is not None
    before = period_body(period)
    totals = await net_as_of(session, period.tenant_id, period.end_date)
    period.trial_balance_snapshot = snapshot_body(
        period.end_date, totals, await gl_accounts(session, period.tenant_id)
    )
    period.status = "closed"
    period.closed_by = ctx.principal.user_id
    period.closed_by_email = ctx.principal.email
    period.closed_at = utcnow()
    session.add(period)
    await session.flush()
    after = period_body(period)
    audit.record(
        session,
        ctx,
        "period.closed",
        entity_type="fiscal_period",
        entity_id=period.id,
        before=before,
        after=after,
    )
    outbox.emit(
        session, period.tenant_id, "period.closed", msgspec.to_builtins(after), ctx.request_id
    )


async def close_period(
    session: AsyncSession, ctx: RequestContext, tenant_id: uuid.UUID, period_id: uuid.UUID
) -> FiscalPeriod:
    """Close one period for good, storing its trial-balance snapshot."""
    period = await _locked_period(session, tenant_id, period_id)
    if period.status != "open":
        raise ApiError(
            "INVALID_STATE",
            f"{period.period_name} is already {period.status}.",
            [detail("status", DetailCode.INVALID_STATE, "not open", period.status)],
        )
    blockers, total = await close_blockers(session, period)
    if total:
        raise _blocked(period, blockers, total)
    await _snapshot_and_close(session, ctx, period)
    return period


async def _retained_earnings(session: AsyncSession, tenant_id: uuid.UUID) -> GLAccount:
    found = (
        (
            await session.execute(
                sa.select(GLAccount).where(
                    col(GLAccount.tenant_id) == tenant_id,
                    sa.or_(
                        col(GLAccount.role) == "retained_earnings", col(GLAccount.code) == "3200"
                    ),
                    col(GLAccount.is_header).is_(False),
                )
            )
        )
        .scalars()
        .first()
    )
    if found is None:
        raise ApiError("GL_ACCOUNT_NOT_FOUND", "The chart has no 3200 Retained earnings account.")
    account: GLAccount = found
    return account


def closing_legs(
    totals: dict[tuple[uuid.UUID, str, str | None], int],
    accounts: dict[uuid.UUID, GLAccount],
    retained: GLAccount,
) -> list[Leg]:
    """Zero every revenue and expense balance against retained earnings, per branch and
    currency, so each branch's books stay balanced too."""
    legs: list[Leg] = []
    into_retained: dict[tuple[str, str | None], int] = defaultdict(int)
    for (gl, currency, branch), net in sorted(
        totals.items(), key=lambda kv: (accounts[kv[0][0]].code, kv[0][1], kv[0][2] or "")
    ):
        account = accounts[gl]
        if account.category not in {"REVENUE", "EXPENSE"} or net == 0:
            continue
        side = CREDIT if net > 0 else DEBIT  # the opposite of its balance
        note = f"Year-end close of {account.code} {account.name}"
        legs.append(Leg(gl, side, abs(net), currency, branch_code=branch, description=note))
        into_retained[(currency, branch)] += net
    for (currency, branch), net in sorted(
        into_retained.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")
    ):
        if net == 0:
            continue
        side = DEBIT if net > 0 else CREDIT  # a loss (net debit) reduces retained earnings
        legs.append(
            Leg(
                retained.id,
                side,
                abs(net),
                currency,
                branch_code=branch,
                description="Year's net income to retained earnings",
            )
        )
    return legs


async def close_year(
    session: AsyncSession, ctx: RequestContext, tenant: Tenant, year: int
) -> answers.ClosedYear:
    """Periods 1-12 closed: post the closing journal into 13, close 13, lock the year."""
    assert ctx.principal is not None
    periods = list(
        (
            await session.execute(
                sa.select(FiscalPeriod)
                .where(
                    col(FiscalPeriod.tenant_id) == tenant.id,
                    col(FiscalPeriod.fiscal_year) == year,
                )
                .order_by(col(FiscalPeriod.period_number))
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        )
        .scalars()
        .all()
    )
    if not periods:
        raise ApiError("PERIOD_NOT_FOUND", f"Fiscal year {year} has no periods.")
    adjustments = next((p for p in periods if p.period_number == 13), None)
    if adjustments is None:
        raise ApiError(
            "PERIOD_NOT_FOUND",
            f"Fiscal year {year} has no period 13 (year-end adjustments); create it first.",
        )
    if adjustments.status != "open":
        raise ApiError(
            "INVALID_STATE",
            f"Fiscal year {year} is already closed.",
            [detail("fiscal_year", DetailCode.INVALID_STATE, f"period 13 {adjustments.status}")],
        )
    blockers, total = await close_blockers(session, adjustments)
    if total:
        raise _blocked(adjustments, blockers, total)
    months = [p for p in periods if p.period_number <= 12]
    start = min(p.start_date for p in months) if months else adjustments.start_date
    end = max(p.end_date for p in months) if months else adjustments.end_date
    accounts = await gl_accounts(session, tenant.id)
    income_ids = [a.id for a in accounts.values() if a.category in {"REVENUE", "EXPENSE"}]
    totals = await net_by_key(
        session,
        tenant.id,
        after=start - timedelta(days=1),
        through=max(end, adjustments.end_date),
        gl_account_ids=income_ids,
    )
    legs = closing_legs(totals, accounts, await _retained_earnings(session, tenant.id))
    journal = None
    if legs:
        journal = await _post_closing_journal(session, ctx, tenant, adjustments, legs, year)
    await _snapshot_and_close(session, ctx, adjustments)
    now = utcnow()
    for period in periods:
        period.status = "locked"
        period.locked_at = now
        period.locked_by = ctx.principal.user_id
        session.add(period)
    await session.flush()
    body = answers.ClosedYear(
        fiscal_year=year,
        status="locked",
        closing_journal_id=str(journal.id) if journal else None,
        closing_journal_number=journal.journal_number if journal else None,
        net_income=[
            answers.NetIncome(currency=currency, amount=format_amount(-net, currency))
            for currency, net in sorted(_net_income(totals, accounts).items())
        ],
        fiscal_periods=[period_body(p) for p in periods],
    )
    kept: dict[str, Any] = msgspec.to_builtins(body)
    audit.record(
        session,
        ctx,
        "period.year_closed",
        entity_type="fiscal_year",
        entity_id=year,
        after={k: v for k, v in kept.items() if k != "fiscal_periods"},
    )
    return body


def _net_income(
    totals: dict[tuple[uuid.UUID, str, str | None], int], accounts: dict[uuid.UUID, GLAccount]
) -> dict[str, int]:
    """Net debits of revenue and expenses per currency (negative: a profit)."""
    result: dict[str, int] = defaultdict(int)
    for (gl, currency, _branch), net in totals.items():
        if accounts[gl].category in {"REVENUE", "EXPENSE"}:
            result[currency] += net
    return dict(result)


async def _post_closing_journal(
    session: AsyncSession,
    ctx: RequestContext,
    tenant: Tenant,
    adjustments: FiscalPeriod,
    legs: list[Leg],
    year: int,
) -> Journal:
    assert ctx.principal is not None
    on: date = adjustments.end_date
    await open_period_for(session, tenant.id, on, adjustments.id)
    today = business_date(tenant)
    journal = Journal(
        tenant_id=tenant.id,
        journal_number=journal_number(on),
        journal_type=CLOSING,
        status="APPROVED",
        description=f"Year-end close {year}: revenue and expenses to retained earnings",
        transaction_date=today,
        effective_date=on,
        fiscal_period_id=adjustments.id,
        source_reference=f"YEAR-END-{year}",
        created_by=ctx.principal.user_id,
        created_by_email=ctx.principal.email,
        approved_by=ctx.principal.user_id,
        approved_at=utcnow(),
        posted_by=ctx.principal.user_id,
    )
    session.add(journal)
    await post_journal(session, journal, legs, {}, effective_date=on)
    await session.flush()
    data = {
        "id": str(journal.id),
        "journal_number": journal.journal_number,
        "journal_type": CLOSING,
        "status": journal.status,
        "effective_date": on.isoformat(),
        "fiscal_period_id": str(adjustments.id),
    }
    audit.record(
        session, ctx, "journal.posted", entity_type="journal", entity_id=journal.id, after=data
    )
    outbox.emit(session, tenant.id, "journal.posted", data, ctx.request_id)
    return journal
