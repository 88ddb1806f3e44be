"""core_0008 on existing sessions: an absolute end for each, a sliding expiry that is true.

Before core_0008 a session's ``expires_at`` never moved while refresh kept it alive; the
upgrade must leave every session that can still refresh findable by revocation, and end
the ones older than the absolute lifetime.
"""

import asyncio
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from alembic import command
from sqlalchemy.ext.asyncio import create_async_engine

from app.db import UtcDateTime, utcnow
from tests.integration.migrations.test_migrations import alembic_config, empty_database

__all__ = ["empty_database"]  # the fixture, shared with the other migration tests

TENANTS = sa.table(
    "tenants",
    sa.column("id", sa.Uuid()),
    sa.column("code", sa.String()),
    sa.column("name", sa.String()),
    sa.column("base_currency", sa.String()),
    sa.column("timezone", sa.String()),
    sa.column("is_active", sa.Boolean()),
    sa.column("teller_approval_limit", sa.BigInteger()),
    sa.column("allow_same_maker_checker", sa.Boolean()),
    sa.column("created_at", UtcDateTime()),
)
SESSIONS_BEFORE = sa.table(
    "auth_sessions",
    sa.column("id", sa.Uuid()),
    sa.column("tenant_id", sa.Uuid()),
    sa.column("user_id", sa.Uuid()),
    sa.column("created_at", UtcDateTime()),
    sa.column("expires_at", UtcDateTime()),
)
SESSIONS = sa.table(
    "auth_sessions",
    sa.column("id", sa.Uuid()),
    sa.column("tenant_id", sa.Uuid()),
    sa.column("user_id", sa.Uuid()),
    sa.column("created_at", UtcDateTime()),
    sa.column("expires_at", UtcDateTime()),
    sa.column("absolute_expires_at", UtcDateTime()),
)
REFRESH = sa.table(
    "refresh_tokens",
    sa.column("id", sa.Uuid()),
    sa.column("session_id", sa.Uuid()),
    sa.column("token_hash", sa.String()),
    sa.column("created_at", UtcDateTime()),
    sa.column("expires_at", UtcDateTime()),
    sa.column("spent_at", UtcDateTime()),
)


async def _insert(url: str, now: datetime) -> dict[str, uuid.UUID]:
    tenant = uuid.uuid4()
    ids = {"kept_alive": uuid.uuid4(), "too_old": uuid.uuid4()}
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(
            TENANTS.insert().values(
                id=tenant,
                code="mig",
                name="Migration Bank",
                base_currency="NGN",
                timezone="Africa/Lagos",
                is_active=True,
                teller_approval_limit=0,
                allow_same_maker_checker=False,
                created_at=now,
            )
        )
        # Signed in 2 h ago with a 60-s refresh TTL, refreshed ever since: its row still
        # says it expired 2 h ago, its newest refresh token is good for 50 s more.
        # And one signed in 3 days ago, kept alive the same way.
        for name, age, live_for in (("kept_alive", 2, 50), ("too_old", 72, 86400)):
            created = now - timedelta(hours=age)
            await conn.execute(
                SESSIONS_BEFORE.insert().values(
                    id=ids[name],
                    tenant_id=tenant,
                    user_id=uuid.uuid4(),
                    created_at=created,
                    expires_at=created + timedelta(seconds=60),
                )
            )
            for spent, expires in ((True, now - timedelta(seconds=10)), (False, now)):
                await conn.execute(
                    REFRESH.insert().values(
                        id=uuid.uuid4(),
                        session_id=ids[name],
                        token_hash=uuid.uuid4().hex,
                        created_at=now - timedelta(seconds=10),
                        expires_at=expires + timedelta(seconds=live_for),
                        spent_at=now if spent else None,
                    )
                )
    await engine.dispose()
    return ids


async def _sessions(url: str) -> dict[uuid.UUID, tuple[datetime, datetime]]:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(SESSIONS.c.id, SESSIONS.c.expires_at, SESSIONS.c.absolute_expires_at)
        )
        found = {row.id: (row.expires_at, row.absolute_expires_at) for row in rows}
    await engine.dispose()
    return found


def close(a: datetime, b: datetime) -> bool:
    return abs((a - b).total_seconds()) <= 1


def test_existing_sessions_get_true_lifetimes(empty_database: str) -> None:
    config = alembic_config(empty_database)
    command.upgrade(config, "core_0007")
    now = utcnow()
    ids = asyncio.run(_insert(empty_database, now))
    command.upgrade(config, "heads")
    sessions = asyncio.run(_sessions(empty_database))

    expires, absolute = sessions[ids["kept_alive"]]
    assert close(absolute, now - timedelta(hours=2) + timedelta(days=1))
    assert close(expires, now + timedelta(seconds=50))  # its newest refresh token's

    expires, absolute = sessions[ids["too_old"]]
    assert close(absolute, now - timedelta(hours=72) + timedelta(days=1))
    assert close(expires, absolute)  # over: sign in again
