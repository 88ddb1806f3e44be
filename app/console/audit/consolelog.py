"""Reading the console's action log: one tenant's rows, filtered, newest first, keyset pages.

The log is the console's own table, so it is read here directly (never through the core);
every query is scoped to the signed-in staff member's tenant.
"""

import base64
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from app.console.audit.filters import ConsoleLogFilters, day_end, day_start
from app.console.models import ConsoleActionLog
from app.db import Database

PAGE_SIZE = 50
EXPORT_BATCH = 500


@dataclass(frozen=True)
class LogPage:
    rows: list[ConsoleActionLog]
    next_cursor: str | None


def encode_cursor(row: ConsoleActionLog) -> str:
    raw = f"{row.at.isoformat()}|{row.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(value: str | None) -> tuple[datetime, uuid.UUID] | None:
    """The position a cursor names; ``None`` for a missing or foreign one (start again)."""
    if not value or len(value) > 200:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        at, _, row_id = raw.partition("|")
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:
            return None
        return moment, uuid.UUID(row_id)
    except (ValueError, UnicodeDecodeError):
        return None


def _like(text: str) -> str:
    """``text`` as a literal inside a LIKE pattern (``\\`` escapes)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _conditions(
    tenant: str, filters: ConsoleLogFilters, timezone: str | None
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [col(ConsoleActionLog.tenant) == tenant]
    if filters.user:
        try:
            conditions.append(col(ConsoleActionLog.user_id) == str(uuid.UUID(filters.user)))
        except ValueError:
            pattern = f"%{_like(filters.user.lower())}%"
            conditions.append(
                sa.func.lower(col(ConsoleActionLog.user_email)).like(pattern, escape="\\")
            )
    if filters.action.endswith(".*"):
        prefix = _like(filters.action[:-1])
        conditions.append(col(ConsoleActionLog.action).like(f"{prefix}%", escape="\\"))
    elif filters.action:
        conditions.append(col(ConsoleActionLog.action) == filters.action)
    if filters.outcome:
        conditions.append(col(ConsoleActionLog.outcome) == filters.outcome)
    if filters.request_id:
        conditions.append(col(ConsoleActionLog.request_id) == filters.request_id)
    if filters.dates.start:
        conditions.append(col(ConsoleActionLog.at) >= day_start(filters.dates.start, timezone))
    if filters.dates.end:
        conditions.append(col(ConsoleActionLog.at) <= day_end(filters.dates.end, timezone))
    return conditions


def _after(position: tuple[datetime, uuid.UUID]) -> ColumnElement[bool]:
    at, row_id = position
    return sa.or_(
        col(ConsoleActionLog.at) < at,
        sa.and_(col(ConsoleActionLog.at) == at, col(ConsoleActionLog.id) < row_id),
    )


def _newest_first() -> tuple[ColumnElement[datetime], ColumnElement[uuid.UUID]]:
    return col(ConsoleActionLog.at).desc(), col(ConsoleActionLog.id).desc()


async def log_page(
    database: Database,
    tenant: str,
    filters: ConsoleLogFilters,
    timezone: str | None,
    *,
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
) -> LogPage:
    """One page of ``tenant``'s rows matching ``filters``, newest first."""
    conditions = _conditions(tenant, filters, timezone)
    position = decode_cursor(cursor)
    if position is not None:
        conditions.append(_after(position))
    query = sa.select(ConsoleActionLog).where(*conditions).order_by(*_newest_first())
    async with database.session() as session:
        rows = list((await session.execute(query.limit(limit + 1))).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return LogPage(rows, encode_cursor(rows[-1]) if more and rows else None)


async def every_row(
    database: Database, tenant: str, filters: ConsoleLogFilters, timezone: str | None
) -> AsyncIterator[ConsoleActionLog]:
    """Every matching row, newest first, read in keyset batches (for the CSV export)."""
    cursor: str | None = None
    while True:
        page = await log_page(
            database, tenant, filters, timezone, cursor=cursor, limit=EXPORT_BATCH
        )
        for row in page.rows:
            yield row
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


async def rows_for_request(
    database: Database, tenant: str, request_id: str
) -> Sequence[ConsoleActionLog]:
    """What the console logged under ``request_id`` (oldest first: the order it happened)."""
    query = (
        sa.select(ConsoleActionLog)
        .where(
            col(ConsoleActionLog.tenant) == tenant,
            col(ConsoleActionLog.request_id) == request_id,
        )
        .order_by(col(ConsoleActionLog.at), col(ConsoleActionLog.id))
        .limit(200)
    )
    async with database.session() as session:
        return list((await session.execute(query)).scalars())


async def logged_requests(database: Database, tenant: str, request_ids: Iterable[str]) -> set[str]:
    """Which of ``request_ids`` the console logged something under (one query)."""
    wanted = sorted({r for r in request_ids if r})
    if not wanted:
        return set()
    query = (
        sa.select(col(ConsoleActionLog.request_id))
        .where(
            col(ConsoleActionLog.tenant) == tenant,
            col(ConsoleActionLog.request_id).in_(wanted),
        )
        .distinct()
    )
    async with database.session() as session:
        return {str(r) for r in (await session.execute(query)).scalars() if r}
