"""What a money movement reads and writes, on either database.

:class:`TransactionService` asks a :class:`LedgerStore` for the few things a movement
needs — the accounts locked, the tenant's terms, the open period, today's withdrawals, a
system GL account, and finally the rows written — and keeps every rule to itself. Two
stores answer:

- :class:`SessionLedger` on the request's ORM session (SQLite, batches, approvals,
  the standing-instruction job, an account's initial deposit);
- :class:`PgLedger` on the request's raw asyncpg connection (PostgreSQL's single
  movements: the path P1 measures), with the same statements compiled once (``app.pg``).
"""

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

import asyncpg
import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from app import pg
from app.core.errors import ApiError
from app.core.ledger import chart
from app.core.ledger.models import GLAccount
from app.core.ledger.posting import (
    ACCOUNTS,
    HOLDS,
    LOCKED_COLUMNS,
    LedgerWrites,
    LockedAccount,
    lock_account_rows,
)
from app.core.periods.models import FiscalPeriod
from app.core.periods.service import check_open_period, check_period_row
from app.core.tenants.models import Tenant
from app.core.transactions.models import Transaction

_TENANTS: sa.Table = Tenant.__table__  # type: ignore[attr-defined]
_PERIODS: sa.Table = FiscalPeriod.__table__  # type: ignore[attr-defined]
_TRANSACTIONS: sa.Table = Transaction.__table__  # type: ignore[attr-defined]
_GL: sa.Table = GLAccount.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class TenantTerms:
    """What a movement reads of its tenant (one statement, no ORM)."""

    timezone: str
    teller_approval_limit: int


@dataclass(frozen=True)
class MovementReads:
    """Everything one movement reads before its rules run."""

    accounts: dict[uuid.UUID, LockedAccount]
    terms: TenantTerms | None  # None when an account is missing (a 404 comes first)
    period: tuple[str, str] | None  # the period of ``on``: (status, name), share-locked


class LedgerStore(Protocol):
    async def lock_for_movement(
        self, tenant_id: uuid.UUID, ids: list[uuid.UUID], on: date
    ) -> MovementReads:
        """The accounts locked (ID order), the tenant's terms and ``on``'s period
        share-locked (so a period close waits for this posting)."""
        ...

    async def lock_accounts(
        self, tenant_id: uuid.UUID, ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, LockedAccount]:
        """Lock the customer accounts (in ID order, so no deadlocks)."""
        ...

    async def release_expired_holds(self, account_id: uuid.UUID, now: datetime) -> int:
        """Mark the account's holds past their expiry EXPIRED; the amount they held."""
        ...

    async def tenant_terms(self, tenant_id: uuid.UUID) -> TenantTerms: ...

    async def check_open_period(self, tenant_id: uuid.UUID, on: date) -> None:
        """Refuse unless ``on`` falls in an open period; share-lock that period."""
        ...

    async def withdrawn_today(self, account_id: uuid.UUID, today: date) -> int: ...

    async def system_account_id(self, tenant_id: uuid.UUID, code: str) -> uuid.UUID: ...

    async def write(self, writes: LedgerWrites) -> None:
        """Write what the movement collected, and start ``writes`` afresh."""
        ...


_TERMS = sa.select(_TENANTS.c.timezone, _TENANTS.c.teller_approval_limit).where(
    _TENANTS.c.id == sa.bindparam("tenant_id", type_=_TENANTS.c.id.type)
)
# (An UPDATE keeps column names for its SET values: its parameters are named otherwise.)
_EXPIRE_HOLDS = (
    sa.update(HOLDS)
    .where(
        HOLDS.c.account_id == sa.bindparam("holder_id", type_=HOLDS.c.account_id.type),
        HOLDS.c.status == "ACTIVE",
        HOLDS.c.expires_at.is_not(None),
        HOLDS.c.expires_at <= sa.bindparam("as_of", type_=HOLDS.c.expires_at.type),
    )
    .values(status="EXPIRED", released_at=sa.bindparam("as_of", type_=HOLDS.c.released_at.type))
    .returning(HOLDS.c.amount)
)
_WITHDRAWN = sa.select(sa.func.coalesce(sa.func.sum(_TRANSACTIONS.c.amount), 0)).where(
    _TRANSACTIONS.c.account_id == sa.bindparam("account_id", type_=_TRANSACTIONS.c.account_id.type),
    _TRANSACTIONS.c.type == "WITHDRAWAL",
    _TRANSACTIONS.c.business_date
    == sa.bindparam("today", type_=_TRANSACTIONS.c.business_date.type),
    # Two equalities, not IN: an IN list is expanded per execution, and these statements
    # are compiled once.
    sa.or_(_TRANSACTIONS.c.status == "COMPLETED", _TRANSACTIONS.c.status == "PENDING_APPROVAL"),
)


class SessionLedger:
    """The store on an ORM session (each call one Core statement in its transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_for_movement(
        self, tenant_id: uuid.UUID, ids: list[uuid.UUID], on: date
    ) -> MovementReads:
        accounts = await self.lock_accounts(tenant_id, ids)
        if len(accounts) < len(set(ids)):
            return MovementReads(accounts, None, None)
        terms = await self.tenant_terms(tenant_id)
        row = (await self.session.execute(_PERIOD, {"tenant_id": tenant_id, "on": on})).first()
        return MovementReads(accounts, terms, (row[0], row[1]) if row else None)

    async def lock_accounts(
        self, tenant_id: uuid.UUID, ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, LockedAccount]:
        return await lock_account_rows(self.session, tenant_id, ids)

    async def release_expired_holds(self, account_id: uuid.UUID, now: datetime) -> int:
        rows = (
            await self.session.execute(_EXPIRE_HOLDS, {"holder_id": account_id, "as_of": now})
        ).all()
        return sum(int(row[0]) for row in rows)

    async def tenant_terms(self, tenant_id: uuid.UUID) -> TenantTerms:
        row = (await self.session.execute(_TERMS, {"tenant_id": tenant_id})).one()
        return TenantTerms(row[0], int(row[1]))

    async def check_open_period(self, tenant_id: uuid.UUID, on: date) -> None:
        await check_open_period(self.session, tenant_id, on)

    async def withdrawn_today(self, account_id: uuid.UUID, today: date) -> int:
        result = await self.session.execute(_WITHDRAWN, {"account_id": account_id, "today": today})
        return int(result.scalar_one())

    async def system_account_id(self, tenant_id: uuid.UUID, code: str) -> uuid.UUID:
        return await chart.system_account_id(self.session, tenant_id, code)

    async def write(self, writes: LedgerWrites) -> None:
        await writes.flush(self.session)


_LOCK = (
    sa.select(*LOCKED_COLUMNS)
    .where(
        ACCOUNTS.c.tenant_id == sa.bindparam("tenant_id", type_=ACCOUNTS.c.tenant_id.type),
        ACCOUNTS.c.id == sa.any_(sa.bindparam("ids", type_=sa.ARRAY(ACCOUNTS.c.id.type))),
    )
    .order_by(ACCOUNTS.c.id)
    .with_for_update()
)
_PERIOD = (
    sa.select(_PERIODS.c.status, _PERIODS.c.period_name)
    .where(
        _PERIODS.c.tenant_id == sa.bindparam("tenant_id", type_=_PERIODS.c.tenant_id.type),
        _PERIODS.c.start_date <= sa.bindparam("on", type_=_PERIODS.c.start_date.type),
        _PERIODS.c.end_date >= sa.bindparam("on", type_=_PERIODS.c.end_date.type),
        _PERIODS.c.period_number <= 12,
    )
    .with_for_update(read=True, key_share=True)
)
_PERIOD_CTE = _PERIOD.cte("movement_period")
# One round trip for what a movement reads: the accounts locked FOR UPDATE, the tenant's
# terms, and the period share-locked in a CTE (executed even though only scalar
# subqueries read it).
_LOCK_FOR_MOVEMENT = (
    sa.select(
        *LOCKED_COLUMNS,
        sa.select(_TENANTS.c.teller_approval_limit)
        .where(_TENANTS.c.id == sa.bindparam("tenant_id", type_=_TENANTS.c.id.type))
        .scalar_subquery()
        .label("approval_limit"),
        sa.select(_TENANTS.c.timezone)
        .where(_TENANTS.c.id == sa.bindparam("tenant_id", type_=_TENANTS.c.id.type))
        .scalar_subquery()
        .label("timezone"),
        sa.select(_PERIOD_CTE.c.status).scalar_subquery().label("period_status"),
        sa.select(_PERIOD_CTE.c.period_name).scalar_subquery().label("period_name"),
    )
    .where(
        ACCOUNTS.c.tenant_id == sa.bindparam("tenant_id", type_=ACCOUNTS.c.tenant_id.type),
        ACCOUNTS.c.id == sa.any_(sa.bindparam("ids", type_=sa.ARRAY(ACCOUNTS.c.id.type))),
    )
    .order_by(ACCOUNTS.c.id)
    .with_for_update(of=ACCOUNTS)
)
_SYSTEM_ACCOUNT = sa.select(_GL.c.id).where(
    _GL.c.tenant_id == sa.bindparam("tenant_id", type_=_GL.c.tenant_id.type),
    _GL.c.code == sa.bindparam("code", type_=_GL.c.code.type),
)


class PgLedger:
    """The store on a raw asyncpg connection, in the request's transaction."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection

    async def lock_for_movement(
        self, tenant_id: uuid.UUID, ids: list[uuid.UUID], on: date
    ) -> MovementReads:
        rows = await pg.fetch(
            self.connection,
            _LOCK_FOR_MOVEMENT,
            {"tenant_id": tenant_id, "ids": sorted(set(ids)), "on": on},
        )
        accounts = {row[0]: LockedAccount(*row[:-4]) for row in rows}
        if not rows:
            return MovementReads(accounts, None, None)
        last = rows[0]
        terms = TenantTerms(last["timezone"], int(last["approval_limit"]))
        status = last["period_status"]
        return MovementReads(
            accounts, terms, (status, last["period_name"]) if status is not None else None
        )

    async def lock_accounts(
        self, tenant_id: uuid.UUID, ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, LockedAccount]:
        rows = await pg.fetch(
            self.connection, _LOCK, {"tenant_id": tenant_id, "ids": sorted(set(ids))}
        )
        return {row[0]: LockedAccount(*row) for row in rows}

    async def release_expired_holds(self, account_id: uuid.UUID, now: datetime) -> int:
        rows = await pg.fetch(
            self.connection, _EXPIRE_HOLDS, {"holder_id": account_id, "as_of": now}
        )
        return sum(int(row[0]) for row in rows)

    async def tenant_terms(self, tenant_id: uuid.UUID) -> TenantTerms:
        row = await pg.fetchrow(self.connection, _TERMS, {"tenant_id": tenant_id})
        assert row is not None
        return TenantTerms(row[0], int(row[1]))

    async def check_open_period(self, tenant_id: uuid.UUID, on: date) -> None:
        row = await pg.fetchrow(self.connection, _PERIOD, {"tenant_id": tenant_id, "on": on})
        check_period_row(row, on)

    async def withdrawn_today(self, account_id: uuid.UUID, today: date) -> int:
        row = await pg.fetchrow(
            self.connection, _WITHDRAWN, {"account_id": account_id, "today": today}
        )
        return int(row[0]) if row is not None else 0

    async def system_account_id(self, tenant_id: uuid.UUID, code: str) -> uuid.UUID:
        cached = chart.known_system_account(tenant_id, code)
        if cached is not None:
            return cached
        row = await pg.fetchrow(
            self.connection, _SYSTEM_ACCOUNT, {"tenant_id": tenant_id, "code": code}
        )
        if row is None:
            raise ApiError("GL_ACCOUNT_NOT_FOUND", f"GL account {code} is missing from the chart.")
        return chart.remember_system_account(tenant_id, code, row[0])

    async def write(self, writes: LedgerWrites) -> None:
        await writes.flush_raw(self.connection)
