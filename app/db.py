"""Engines, sessions and the few column types both apps share.

SQLite (the embedded default) serializes writers in-process with one lock and
waits on the file lock across processes (``busy_timeout``); PostgreSQL relies on
row locks taken by the services.
"""

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from app.pg import CONNECTION_ERRORS, RETRYABLE_ERRORS, PgPool
from app.settings import DatabaseSettings


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (what every timestamp column stores)."""
    return datetime.now(UTC)


def new_id() -> uuid.UUID:
    """A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits.

    Rows are written in time order, so their primary keys (and the foreign keys that point
    at them) land at the right-hand edge of their B-tree indexes instead of on a random
    page each: fewer pages touched per insert on the ledger's busiest tables. The creation
    time it reveals is in every row's ``created_at`` already; nothing secret is an ID.
    """
    random_bits = int.from_bytes(os.urandom(10), "big")
    value = (
        (time.time_ns() // 1_000_000) << 80
        | 0x7 << 76  # version 7
        | ((random_bits >> 62) & 0xFFF) << 64  # 12 random bits
        | 0b10 << 62  # the RFC 4122 variant
        | random_bits & ((1 << 62) - 1)  # 62 random bits
    )
    return uuid.UUID(int=value)


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite drops zones)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use app.db.utcnow()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Database:
    """One engine and session factory per process."""

    def __init__(self, settings: DatabaseSettings, *, application_name: str = "branchdesk") -> None:
        """``application_name`` labels this process's connections in ``pg_stat_activity``."""
        self.settings = settings
        self.is_sqlite = settings.is_sqlite
        kwargs: dict[str, Any] = {"echo": settings.echo}
        if self.is_sqlite:
            ensure_private_sqlite_file(settings.url)
            kwargs["connect_args"] = {"timeout": 30}
        else:
            # No ping on checkout (a round trip per request): a connection the server
            # dropped fails its first statement, and the unit of work runs again once.
            kwargs.update(
                pool_size=settings.pool_size,
                max_overflow=settings.pool_size,
                pool_recycle=1800,
                connect_args={"server_settings": {"application_name": application_name}},
            )
        self.engine: AsyncEngine = create_async_engine(settings.url, **kwargs)
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        self.sessionmaker = async_sessionmaker(
            self.engine, class_=AsyncSession, expire_on_commit=False
        )
        # One writer at a time inside this process: SQLite has a single write lock, and
        # queueing here is fairer and cheaper than spinning on SQLITE_BUSY.
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        # The writer's sessions begin IMMEDIATE: they take SQLite's write lock at BEGIN (and
        # wait for it up to busy_timeout) instead of reading first and failing at once when
        # another process wrote in the meantime (a deferred transaction cannot upgrade a
        # stale snapshot: SQLITE_BUSY without waiting).
        self._immediate = (
            async_sessionmaker(
                self.engine.execution_options(sqlite_immediate=True),
                class_=AsyncSession,
                expire_on_commit=False,
            )
            if self.is_sqlite
            else None
        )
        self._writer_task: asyncio.Task[Any] | None = None
        # PostgreSQL's raw connections, for the paths every request takes (app.pg).
        self.pg: PgPool | None = (
            None
            if self.is_sqlite
            else PgPool(settings.url, settings.pool_size, application_name=application_name)
        )

    def session(self) -> AsyncSession:
        if self._immediate is not None and self._writer_task is not None:
            if asyncio.current_task() is self._writer_task:
                return self._immediate()
        return self.sessionmaker()

    @asynccontextmanager
    async def writer(self) -> AsyncIterator[None]:
        """Serialize writers on SQLite (``BEGIN IMMEDIATE``); a no-op on PostgreSQL."""
        if self._write_lock is None:
            yield
            return
        async with self._write_lock:
            self._writer_task = asyncio.current_task()
            try:
                yield
            finally:
                self._writer_task = None

    async def dispose(self) -> None:
        if self.pg is not None:
            await self.pg.close()
        await self.engine.dispose()


def ensure_private_sqlite_file(url: str) -> None:
    """Create the SQLite database file readable by this user only, before SQLite opens it.

    SQLite creates its ``-wal`` and ``-shm`` files with the database file's mode, so they
    are private from their first byte too. Files an older version made are tightened.
    """
    raw = url.split(":///", 1)[1] if ":///" in url else ""
    if not raw or raw.startswith(":memory:") or raw.startswith("file:"):
        return
    path = Path(raw.split("?", 1)[0])
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except FileNotFoundError:  # no such folder: SQLite says so when it connects
        return
    for existing in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            existing.chmod(0o600)
        except FileNotFoundError:
            pass


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from pysqlite so BEGIN is emitted when we say so.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Deleted rows are overwritten, not left in free pages: a purged idempotency
        # record or a rotated secret does not linger in the file (security review).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def is_unique_violation(exc: BaseException) -> bool:
    """True for a unique/primary-key violation on either database."""
    if not isinstance(exc, sa.exc.IntegrityError):
        return False
    text = str(exc.orig).lower()
    return "unique" in text or "duplicate key" in text


def is_retryable_conflict(exc: BaseException) -> bool:
    """Deadlocks and serialization failures (retried by the services, never a 500)."""
    if isinstance(exc, RETRYABLE_ERRORS):
        return True
    if not isinstance(exc, sa.exc.DBAPIError):
        return False
    text = str(exc.orig).lower()
    return any(
        marker in text
        for marker in ("deadlock detected", "could not serialize", "database is locked")
    )


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps: DBAPI errors' ``orig`` and ``__cause__``, a few deep."""
    found: list[BaseException] = []
    pending: list[BaseException | None] = [exc]
    while pending and len(found) < 8:
        current = pending.pop()
        if current is None or any(current is seen for seen in found):
            continue
        found.append(current)
        orig = getattr(current, "orig", None)
        pending += [current.__cause__, orig if isinstance(orig, BaseException) else None]
    return found


def is_connection_lost(exc: BaseException) -> bool:
    """The database connection broke (server restarted, backend terminated, network cut):
    nothing of the transaction survived, and a fresh connection may well work."""
    if is_retryable_conflict(exc):
        return False
    if any(isinstance(cause, CONNECTION_ERRORS) for cause in _causes(exc)):
        # SQLAlchemy wraps a refused connect ("the database system is shutting down",
        # asyncpg's CannotConnectNowError) as a plain DBAPIError: the cause says it all.
        return True
    if isinstance(exc, sa.exc.DBAPIError):
        return bool(exc.connection_invalidated) or isinstance(
            exc, sa.exc.OperationalError | sa.exc.InterfaceError
        )
    return False
