"""Helpers for the journal and GL-account API tests.

Fiscal periods other than this year's open months are set up directly in the database
(the periods API is another issue's, and a close cannot be undone through it): a far
past year (1990) gets a closed December and an open period 13, and the current month's
period can be closed for the length of one ``with`` block and reopened after it.
"""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import httpx
import sqlalchemy as sa
from sqlmodel import col

from app.core.audit.models import AuditLog
from app.core.ledger.models import GLAccount, Journal, JournalLine, Posting
from app.core.periods.models import FiscalPeriod
from app.core.tenants.models import Tenant
from app.core.webhooks.models import OutboxEvent
from app.db import utcnow
from tests.integration.api.ledger_helpers import expect, gl_nodes, h, unique
from tests.support import TokenCache

PAST_YEAR = 1990  # a closed December and an open period 13 (see the module docstring)
NO_PERIOD_DATE = date(1989, 6, 15)  # no fiscal period holds it


def line(
    account_id: str,
    amount: Any,
    entry_type: str,
    currency: str = "NGN",
    description: str | None = None,
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "account_id": account_id,
        "amount": amount,
        "entry_type": entry_type,
        "currency_code": currency,
    }
    if description is not None:
        entry["description"] = description
    return entry


async def business_day(api: httpx.AsyncClient, tokens: TokenCache) -> date:
    body = expect(await api.get("/tenant", headers=await h(tokens, "viewer")), 200)
    return date.fromisoformat(body["business_date"])


async def journal_body(
    api: httpx.AsyncClient, tokens: TokenCache, entries: list[dict[str, Any]], **fields: Any
) -> dict[str, Any]:
    today = (await business_day(api, tokens)).isoformat()
    body: dict[str, Any] = {
        "journal_type": "GENERAL",
        "description": f"Test journal {unique()}",
        "transaction_date": today,
        "effective_date": today,
        "entries": entries,
    }
    body.update(fields)
    return body


async def draft(
    api: httpx.AsyncClient,
    tokens: TokenCache,
    entries: list[dict[str, Any]],
    who: str = "teller",
    key: bool | str = True,
    **fields: Any,
) -> httpx.Response:
    body = await journal_body(api, tokens, entries, **fields)
    return await api.post("/journals", json=body, headers=await h(tokens, who, key=key))


async def act(
    api: httpx.AsyncClient,
    tokens: TokenCache,
    journal_id: str,
    action: str,
    who: str = "officer",
    reason: str | None = None,
    key: bool | str = False,
) -> httpx.Response:
    """approve / reject / post / reverse (reverse carries a fresh key unless given one)."""
    body = {"reason": reason} if reason is not None else None
    if action == "reverse" and key is False:
        key = True
    return await api.post(
        f"/journals/{journal_id}/{action}", json=body, headers=await h(tokens, who, key=key)
    )


async def get_journal(api: httpx.AsyncClient, tokens: TokenCache, journal_id: str) -> Any:
    return expect(await api.get(f"/journals/{journal_id}", headers=await h(tokens, "viewer")), 200)


async def posted(
    api: httpx.AsyncClient,
    tokens: TokenCache,
    entries: list[dict[str, Any]],
    maker: str = "teller",
    checker: str = "officer",
    **fields: Any,
) -> dict[str, Any]:
    """A journal drafted by ``maker``, approved and posted by ``checker``."""
    created = expect(await draft(api, tokens, entries, who=maker, **fields), 201)
    expect(await act(api, tokens, created["id"], "approve", checker), 200)
    result: dict[str, Any] = expect(await act(api, tokens, created["id"], "post", checker), 200)
    return result


async def gl(api: httpx.AsyncClient, tokens: TokenCache) -> dict[str, dict[str, Any]]:
    return await gl_nodes(api, tokens)


async def new_gl_account(
    api: httpx.AsyncClient,
    tokens: TokenCache,
    parent_code: str = "5000",
    category: str = "EXPENSE",
    who: str = "officer",
    **fields: Any,
) -> dict[str, Any]:
    parent = (await gl(api, tokens))[parent_code]
    body = {
        "code": unique(f"{parent_code[0]}9-"),
        "name": f"Test account {unique()}",
        "category": category,
        "parent_id": parent["id"],
        **fields,
    }
    result: dict[str, Any] = expect(
        await api.post("/gl/accounts", json=body, headers=await h(tokens, who)), 201
    )
    return result


async def gl_balance(api: httpx.AsyncClient, tokens: TokenCache, gl_id: str) -> str:
    body = expect(await api.get(f"/gl/accounts/{gl_id}", headers=await h(tokens, "viewer")), 200)
    balance: str = body["balance"]
    return balance


# ---- the database, for what the API does not (yet) let a test arrange or observe -------


async def tenant_id(core_app: Any, code: str = "demo_bank") -> uuid.UUID:
    async with core_app.state.services.db.session() as session:
        found: uuid.UUID = (
            await session.execute(sa.select(col(Tenant.id)).where(col(Tenant.code) == code))
        ).scalar_one()
        return found


async def ledger_counts(core_app: Any) -> dict[str, int]:
    """Rows that any effect of a journal or GL request would add (sign-ins aside: the
    token cache signs a role in on its first use, wherever that falls)."""
    counts = {}
    async with core_app.state.services.db.session() as session:
        for name, model in (
            ("journals", Journal),
            ("journal_lines", JournalLine),
            ("postings", Posting),
            ("gl_accounts", GLAccount),
            ("outbox_events", OutboxEvent),
        ):
            counts[name] = (
                await session.execute(sa.select(sa.func.count()).select_from(model))
            ).scalar_one()
        counts["audit_logs"] = (
            await session.execute(
                sa.select(sa.func.count())
                .select_from(AuditLog)
                .where(sa.not_(col(AuditLog.action).startswith("auth.")))
            )
        ).scalar_one()
    return counts


async def audit_actions(core_app: Any, entity_id: str) -> list[tuple[str, Any, Any]]:
    """(action, before, after) of an entity's audit records, oldest first."""
    async with core_app.state.services.db.session() as session:
        rows = await session.execute(
            sa.select(col(AuditLog.action), col(AuditLog.before), col(AuditLog.after))
            .where(col(AuditLog.entity_id) == entity_id)
            .order_by(col(AuditLog.id))
        )
        return [tuple(r) for r in rows.all()]  # type: ignore[misc]


async def outbox_events(core_app: Any, journal_id: str) -> list[tuple[str, dict[str, Any]]]:
    """(type, data) of the journal.* events about one journal, oldest first."""
    async with core_app.state.services.db.session() as session:
        rows = await session.execute(
            sa.select(col(OutboxEvent.type), col(OutboxEvent.data))
            .where(col(OutboxEvent.type).startswith("journal."))
            .order_by(col(OutboxEvent.created_at))
        )
        return [(t, d) for t, d in rows.tuples().all() if d.get("id") == journal_id]


async def past_year_periods(core_app: Any) -> dict[int, str]:
    """Period 12 (closed) and 13 (open) of PAST_YEAR for demo_bank: {number: id}."""
    tid = await tenant_id(core_app)
    db = core_app.state.services.db
    async with db.writer(), db.session() as session:
        rows = (
            (
                await session.execute(
                    sa.select(FiscalPeriod).where(
                        col(FiscalPeriod.tenant_id) == tid,
                        col(FiscalPeriod.fiscal_year) == PAST_YEAR,
                    )
                )
            )
            .scalars()
            .all()
        )
        have = {p.period_number: p for p in rows}
        if 12 not in have:
            have[12] = FiscalPeriod(
                tenant_id=tid,
                fiscal_year=PAST_YEAR,
                period_number=12,
                period_name=f"December {PAST_YEAR}",
                start_date=date(PAST_YEAR, 12, 1),
                end_date=date(PAST_YEAR, 12, 31),
                status="closed",
                closed_at=utcnow(),
            )
            session.add(have[12])
        if 13 not in have:
            have[13] = FiscalPeriod(
                tenant_id=tid,
                fiscal_year=PAST_YEAR,
                period_number=13,
                period_name=f"Year-end adjustments {PAST_YEAR}",
                start_date=date(PAST_YEAR, 12, 31),
                end_date=date(PAST_YEAR, 12, 31),
            )
            session.add(have[13])
        await session.commit()
        return {number: str(p.id) for number, p in have.items()}


async def set_period_status(core_app: Any, period_id: str, status: str) -> None:
    db = core_app.state.services.db
    async with db.writer(), db.session() as session:
        await session.execute(
            sa.update(FiscalPeriod)
            .where(col(FiscalPeriod.id) == uuid.UUID(period_id))
            .values(status=status, closed_at=None if status == "open" else utcnow())
        )
        await session.commit()


@asynccontextmanager
async def current_period_closed(
    core_app: Any, api: httpx.AsyncClient, tokens: TokenCache
) -> AsyncIterator[str]:
    """The period holding the business date is closed inside the block, reopened after."""
    today = await business_day(api, tokens)
    tid = await tenant_id(core_app)
    async with core_app.state.services.db.session() as session:
        period_id = str(
            (
                await session.execute(
                    sa.select(col(FiscalPeriod.id)).where(
                        col(FiscalPeriod.tenant_id) == tid,
                        col(FiscalPeriod.period_number) <= 12,
                        col(FiscalPeriod.start_date) <= today,
                        col(FiscalPeriod.end_date) >= today,
                    )
                )
            ).scalar_one()
        )
    await set_period_status(core_app, period_id, "closed")
    try:
        yield period_id
    finally:
        await set_period_status(core_app, period_id, "open")


@asynccontextmanager
async def tenant_setting(
    api: httpx.AsyncClient, tokens: TokenCache, **settings: Any
) -> AsyncIterator[None]:
    """Tenant settings changed (by the admin, through the API) for the block only."""
    admin = await h(tokens, "admin")
    before = expect(await api.get("/tenant", headers=admin), 200)["settings"]
    expect(await api.put("/tenant/settings", json=settings, headers=admin), 200)
    try:
        yield
    finally:
        restore = {k: before[k] for k in settings}
        expect(await api.put("/tenant/settings", json=restore, headers=admin), 200)
