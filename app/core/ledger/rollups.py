"""The worker's ``gl.roll_up`` job: daily GL sums of the postings, up to a safe horizon.

``gl_rollups`` holds, per tenant, effective date, GL account, currency and branch, the
net debit and the count of every posting with an ID up to the tenant's mark
(``gl_rollup_marks.through_id``). Each run moves each tenant's mark forward by at most
``postings_per_run`` IDs: it adds the postings in (mark, new mark] to their rows (an
upsert: a posting backdated into a day already rolled up just adds to that day's row)
and moves the mark, in one transaction. Readers (``app.core.ledger.balances``) add the
postings above the mark, so a balance is exact before, during and after any run.

Nothing here touches the posting path: postings take no lock for it and it waits on
none of theirs. The mark only ever stops at the safe horizon of the postings' IDs
(``app.core.horizon``): on PostgreSQL a posting with a lower ID can still be in flight
when a higher one has committed, and rolling past it would leave it out of every sum
for good (it would be neither in the rows nor above the mark).

One job at a time per tenant: on PostgreSQL a run takes an advisory lock (a second
worker skips the run) and the tenant's mark ``FOR UPDATE``; on SQLite writers are
serialized anyway.
"""

import uuid
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.horizon import SafeHorizon
from app.core.ledger.balances import NO_BRANCH, signed_amount
from app.core.ledger.models import GLRollup, GLRollupMark, Posting
from app.core.tenants.models import Tenant
from app.db import Database, utcnow

log = structlog.get_logger("branchdesk.ledger.rollups")

ROLLUP_LOCK_KEY = 0x676C_726F_6C6C  # "glroll": one roll-up at a time across processes
_ROLLUPS = GLRollup.__table__  # type: ignore[attr-defined]


class GLRollupJob:
    """Rolls postings up to the safe horizon; one instance per worker process."""

    def __init__(self, db: Database, *, postings_per_run: int = 50_000) -> None:
        self.db = db
        self.postings_per_run = postings_per_run
        self._horizon = SafeHorizon(
            db,
            Posting.__table__,  # type: ignore[attr-defined]
            job="gl_rollup",
            disabled_event="rollup_disabled",
        )

    async def horizon(self) -> int:
        """The highest posting ID below which every posting is final."""
        return await self._horizon.horizon()

    async def run_once(self) -> int:
        """Move every tenant's mark forward one step; returns the posting IDs covered."""
        horizon = await self.horizon()
        if not horizon:
            return 0
        async with self.db.session() as session:
            tenants = (await session.execute(sa.select(col(Tenant.id)))).scalars().all()
        covered = 0
        for tenant_id in tenants:
            covered += await self._roll_tenant(tenant_id, horizon)
        if covered:
            log.info("gl.rolled_up", ids=covered, horizon=horizon)
        return covered

    async def _roll_tenant(self, tenant_id: uuid.UUID, horizon: int) -> int:
        async with self.db.writer(), self.db.session() as session:
            if not self.db.is_sqlite:
                locked = await session.execute(
                    sa.text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": ROLLUP_LOCK_KEY}
                )
                if not locked.scalar_one():
                    return 0  # another worker is rolling up right now
            mark = await _locked_mark(session, tenant_id)
            if mark.through_id >= horizon:
                return 0
            start = mark.through_id or await _before_first_posting(session, tenant_id, horizon)
            end = min(horizon, start + self.postings_per_run)
            if end > start:
                await session.execute(self._upsert(tenant_id, start, end))
            covered = end - mark.through_id
            mark.through_id = end
            mark.rolled_at = utcnow()
            session.add(mark)
            await session.commit()
        return covered

    def _upsert(self, tenant_id: uuid.UUID, start: int, end: int) -> Any:
        """Add the postings with IDs in (start, end] to their days' rows."""
        branch = sa.func.coalesce(col(Posting.branch_code), NO_BRANCH)
        keys = (
            col(Posting.tenant_id),
            col(Posting.effective_date),
            col(Posting.gl_account_id),
            col(Posting.currency),
            branch,
        )
        sums = (
            sa.select(*keys, sa.func.sum(signed_amount()), sa.func.count())
            .where(
                col(Posting.tenant_id) == tenant_id,
                col(Posting.id) > start,
                col(Posting.id) <= end,
            )
            .group_by(*keys)
        )
        insert = (sqlite.insert if self.db.is_sqlite else postgresql.insert)(_ROLLUPS)
        statement = insert.from_select(
            [
                "tenant_id",
                "effective_date",
                "gl_account_id",
                "currency",
                "branch_code",
                "net_debit",
                "posting_count",
            ],
            sums,
        )
        return statement.on_conflict_do_update(
            index_elements=[
                "tenant_id",
                "effective_date",
                "gl_account_id",
                "currency",
                "branch_code",
            ],
            set_={
                "net_debit": _ROLLUPS.c.net_debit + statement.excluded.net_debit,
                "posting_count": _ROLLUPS.c.posting_count + statement.excluded.posting_count,
            },
        )


async def _locked_mark(session: AsyncSession, tenant_id: uuid.UUID) -> GLRollupMark:
    found = (
        await session.execute(
            sa.select(GLRollupMark)
            .where(col(GLRollupMark.tenant_id) == tenant_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if found is not None:
        mark: GLRollupMark = found
        return mark
    mark = GLRollupMark(tenant_id=tenant_id, through_id=0)
    session.add(mark)
    await session.flush()
    return mark


async def _before_first_posting(session: AsyncSession, tenant_id: uuid.UUID, horizon: int) -> int:
    """Where a tenant's first run starts: just before its first posting (the IDs below
    it are other tenants'), or at the horizon when it has none yet. Read once per tenant."""
    first = (
        await session.execute(
            sa.select(sa.func.min(col(Posting.id))).where(
                col(Posting.tenant_id) == tenant_id, col(Posting.id) <= horizon
            )
        )
    ).scalar_one_or_none()
    return horizon if first is None else int(first) - 1
