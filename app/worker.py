"""Background work: idempotency purge, the daily standing-instruction run; more to come.

Runs as ``branchdesk worker`` in production, and inside the one process in embedded mode.
"""

import asyncio
import contextlib

import structlog

from app.core.idempotency.store import IdempotencyStore
from app.core.jobs.standing import run_due_standing_instructions
from app.db import Database
from app.settings import Settings

log = structlog.get_logger("branchdesk.worker")


async def run_once(db: Database) -> None:
    purged = await IdempotencyStore(db).purge_expired()
    if purged:
        log.info("idempotency.purged", count=purged)
    await run_due_standing_instructions(db)


async def run_worker(settings: Settings, interval_seconds: float = 60.0) -> None:
    db = Database(settings.database)
    try:
        while True:
            try:
                await run_once(db)
            except Exception as exc:
                log.error("worker.cycle_failed", error=str(exc))
            await asyncio.sleep(interval_seconds)
    finally:
        await db.dispose()


@contextlib.asynccontextmanager
async def in_process_worker(db: Database):  # type: ignore[no-untyped-def]
    """The embedded default's worker: a task beside the web app."""

    async def loop() -> None:
        while True:
            try:
                await run_once(db)
            except Exception as exc:
                log.error("worker.cycle_failed", error=str(exc))
            await asyncio.sleep(60)

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
