"""Tampering with the audit trail as a DBA would, for the tests that must detect it."""

import contextlib
from collections.abc import AsyncIterator

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import Database


@contextlib.asynccontextmanager
async def as_dba(db: Database) -> AsyncIterator[AsyncConnection]:
    """A connection that gets past the append-only triggers, as a DBA would.

    PostgreSQL: ``session_replication_role = replica`` (triggers do not fire) in this
    connection only. SQLite has no such switch: drop the triggers, put them back after,
    in a transaction that takes the write lock at BEGIN (another process — a live server's
    worker — may be writing the same file).
    """
    async with db.engine.connect() as conn:
        if db.is_sqlite:
            await conn.execution_options(sqlite_immediate=True)
            triggers = (
                await conn.execute(
                    sa.text(
                        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                        "AND tbl_name IN ('audit_logs', 'audit_seals')"
                    )
                )
            ).all()
            assert len(triggers) == 4
            for name, _sql in triggers:
                await conn.execute(sa.text(f"DROP TRIGGER {name}"))
            try:
                yield conn
            finally:
                for _name, sql in triggers:
                    await conn.execute(sa.text(sql))
                await conn.commit()
        else:
            await conn.execute(sa.text("SET session_replication_role = replica"))
            try:
                yield conn
                await conn.commit()
            finally:
                await conn.execute(sa.text("RESET session_replication_role"))
                await conn.commit()
