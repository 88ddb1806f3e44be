"""The safe horizon of a table with a growing ID: the highest ID below which every row is final.

Jobs that summarise a table in ID order (the audit sealing, the GL roll-ups) may only
go as far as IDs that can no longer change: a row left out of a range because it was
not committed yet would be missed for good.

On SQLite writers are serialized, so every committed ID is final: a row still being
written gets an ID above every committed one. On PostgreSQL IDs come from a sequence
and commit out of order: a transaction can take ID 100, stay open, and commit after ID
101 did. So each run takes a *mark*: the sequence's last handed-out value L and the
server clock t, read in one statement. Every ID up to L was handed out before t, by a
transaction that began before t. Once no client transaction that began at or before t
is still running (``pg_stat_activity``), every ID up to L is final: committed or rolled
back for good. Marks not yet safe are kept and checked again on the next run, so under
steady load the horizon trails by about one run's interval. This needs the sequence's
cache to be 1 (PostgreSQL's default: a backend's cached values could otherwise be used
after the mark); the horizon stays at 0 otherwise, and says so in the log.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
import structlog
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import Database

log = structlog.get_logger("branchdesk.horizon")

_MAX_PENDING_MARKS = 8
HORIZON_PATIENCE = timedelta(minutes=5)


@dataclass(frozen=True)
class Mark:
    """The sequence's last handed-out ID at a moment of the database's clock."""

    last_id: int
    at: datetime


class SafeHorizon:
    """Tracks the safe horizon of ``table.id`` for one job (one instance per worker process).

    ``job`` names the job in the log events (``<job>.horizon_waiting``,
    ``<job>.<disabled_event>``), so an operator knows which job waits.
    """

    def __init__(
        self, db: Database, table: sa.Table, *, job: str, disabled_event: str = "disabled"
    ) -> None:
        self.db = db
        self.table = table
        self.job = job
        self.disabled_event = disabled_event
        self._marks: list[Mark] = []
        self._known_safe = 0  # once safe, always safe
        self._sequence_checked = False

    async def horizon(self) -> int:
        """The highest ID below which every row is final (0: nothing is safe yet)."""
        async with self.db.session() as session:
            if self.db.is_sqlite:
                top = await session.execute(sa.select(sa.func.max(self.table.c.id)))
                return int(top.scalar_one() or 0)
            if not await self._sequence_is_uncached(session):
                return 0
            row = (
                await session.execute(
                    sa.text(
                        "SELECT pg_sequence_last_value("
                        "pg_get_serial_sequence(:table, 'id')::regclass), clock_timestamp()"
                    ),
                    {"table": self.table.name},
                )
            ).one()
            await session.commit()  # a fresh transaction: pg_stat_activity is read once per one
            if row[0] is not None:
                self._marks.append(Mark(int(row[0]), row[1]))
            oldest = (
                await session.execute(
                    sa.text(
                        "SELECT min(xact_start) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                        "AND backend_type = 'client backend' AND xact_start IS NOT NULL"
                    )
                )
            ).scalar_one()
            await session.commit()
        safe = [m for m in self._marks if oldest is None or oldest > m.at]
        if not safe and self._marks and row[1] - self._marks[0].at > HORIZON_PATIENCE:
            log.warning(
                f"{self.job}.horizon_waiting",
                reason="a transaction open since before the oldest mark holds the job back",
                oldest_transaction_start=oldest.isoformat() if oldest else None,
            )
        if not safe:
            if len(self._marks) > _MAX_PENDING_MARKS:
                # Keep the oldest (the next to become safe) and the newest ones.
                self._marks = [self._marks[0], *self._marks[-(_MAX_PENDING_MARKS - 1) :]]
            return self._known_safe
        newest_safe = max(safe, key=lambda m: m.at)
        self._marks = [m for m in self._marks if m.at > newest_safe.at]
        self._known_safe = max(self._known_safe, newest_safe.last_id)
        return self._known_safe

    async def _sequence_is_uncached(self, session: AsyncSession) -> bool:
        if self._sequence_checked:
            return True
        cache = (
            await session.execute(
                sa.text(
                    "SELECT seqcache FROM pg_sequence WHERE seqrelid = "
                    "pg_get_serial_sequence(:table, 'id')::regclass"
                ),
                {"table": self.table.name},
            )
        ).scalar_one()
        if int(cache) != 1:
            log.error(
                f"{self.job}.{self.disabled_event}",
                reason=f"the {self.table.name} ID sequence caches values; set its CACHE to 1",
                cache=int(cache),
            )
            return False
        self._sequence_checked = True
        return True
