"""Background work: one loop per job, each on its own interval (settings, `docs/operations.md`).

- ``idempotency.purge``: keys older than 24 hours go.
- ``webhooks.deliver``: outbox fan-out and delivery, polled about every second so an
  event reaches its receivers within seconds; while there is a backlog it works without
  pausing until the backlog is gone (app/core/webhooks/delivery.py).
- ``audit.seal``: seals over the audit trail up to the safe horizon
  (app/core/audit/sealing.py).
- ``gl.roll_up``: daily GL sums of the postings up to the safe horizon, which every GL
  balance read starts from (app/core/ledger/rollups.py).
- ``standing_instructions.run``: each tenant's instructions due on its business date, once
  per date (app/core/jobs/standing.py; a rerun or a second worker executes nothing twice).

Runs as ``branchdesk worker`` (its own process; several may run at once), and inside the
one process in the embedded default. A job that fails is logged and runs again at its
next interval; it never stops the others.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import structlog

from app.core.audit.sealing import AuditSealer
from app.core.auth.purge import purge_expired_sign_in_rows
from app.core.idempotency.store import IdempotencyStore
from app.core.jobs.standing import run_due_standing_instructions
from app.core.ledger.rollups import GLRollupJob
from app.core.webhooks.delivery import WebhookDispatcher
from app.db import Database
from app.settings import Settings

log = structlog.get_logger("branchdesk.worker")


@dataclass(frozen=True)
class Job:
    """A coroutine the worker runs every ``interval_seconds`` (the first run at once)."""

    name: str
    interval_seconds: float
    run: Callable[[], Awaitable[object]]
    close: Callable[[], Awaitable[None]] | None = None


async def purge_idempotency(db: Database) -> None:
    purged = await IdempotencyStore(db).purge_expired()
    if purged:
        log.info("idempotency.purged", count=purged)


async def purge_sign_in_rows(db: Database) -> None:
    purged = await purge_expired_sign_in_rows(db)
    if any(purged.values()):
        log.info("auth.purged", **purged)


def build_jobs(db: Database, settings: Settings) -> list[Job]:
    """The worker's jobs. A new schedule (standing instructions) is one more ``Job`` here."""
    dispatcher = WebhookDispatcher(
        db, settings.webhooks, poll_seconds=settings.worker.delivery_poll_seconds
    )
    sealer = AuditSealer(db, records_per_seal=settings.worker.seal_records_per_seal)
    return [
        Job(
            "idempotency.purge",
            settings.worker.purge_interval_seconds,
            lambda: purge_idempotency(db),
        ),
        Job(
            "auth.purge",
            settings.worker.purge_interval_seconds,
            lambda: purge_sign_in_rows(db),
        ),
        Job(
            "webhooks.deliver",
            settings.worker.delivery_poll_seconds,
            dispatcher.run,
            close=dispatcher.aclose,
        ),
        Job("audit.seal", settings.worker.seal_interval_seconds, sealer.run_once),
        Job(
            "gl.roll_up",
            settings.worker.rollup_interval_seconds,
            GLRollupJob(db, postings_per_run=settings.worker.rollup_postings_per_run).run_once,
        ),
        Job(
            "standing_instructions.run",
            settings.worker.standing_interval_seconds,
            lambda: run_due_standing_instructions(db),
        ),
    ]


async def _every(job: Job) -> None:
    while True:
        try:
            await job.run()
        except Exception as exc:
            log.error("worker.job_failed", job=job.name, error=str(exc))
        await asyncio.sleep(job.interval_seconds)


async def run_jobs(jobs: list[Job]) -> None:
    """Run every job on its own loop until cancelled, then let each one close."""
    try:
        await asyncio.gather(*(_every(job) for job in jobs))
    finally:
        for job in jobs:
            if job.close is not None:
                with contextlib.suppress(Exception):
                    await job.close()


async def run_worker(settings: Settings) -> None:
    """``branchdesk worker``: the jobs in a process of their own."""
    db = Database(settings.database)
    jobs = build_jobs(db, settings)
    log.info("worker.started", jobs=[job.name for job in jobs])
    try:
        await run_jobs(jobs)
    finally:
        await db.dispose()


@contextlib.asynccontextmanager
async def in_process_worker(db: Database, settings: Settings) -> AsyncIterator[None]:
    """The embedded default's worker: the same jobs, as a task beside the web app."""
    task = asyncio.create_task(run_jobs(build_jobs(db, settings)))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
