"""The daily standing-instruction job.

For one tenant and business date it runs every ACTIVE instruction due that day as an
internal or inter-branch transfer through ``TransactionService``, each in a savepoint
of the caller's transaction, so a refused transfer (insufficient funds, a frozen
account, ...) is recorded as a FAILED execution and leaves nothing else behind.

Nothing runs twice for a date: each instruction row is locked (``FOR UPDATE``) before its
execution for the date is looked up, and (instruction, business date) is a unique key
of the executions table — a second trigger, or a second worker process, waits for the
first to commit and then finds the execution there. Three consecutive failures
suspend an instruction; one whose end date has passed is COMPLETED.

The transfers are made by the system, not by whoever triggered the run: the
``SYSTEM_PRINCIPAL`` below (a fixed, documented user ID that no staff user has, with
the source account's branch) is the maker of every transaction and journal, and the
actor of every execution's audit record. The trigger itself is audited under the
admin who asked for it.
"""

import uuid
from dataclasses import replace
from datetime import date
from typing import Any

import msgspec
import sqlalchemy as sa
import structlog
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.accounts.models import Account
from app.core.audit import service as audit
from app.core.common import iso
from app.core.context import Principal, RequestContext, TenantRef
from app.core.errors import ApiError
from app.core.jobs import responses as answers
from app.core.jobs.models import JobRun
from app.core.periods.service import open_period_for
from app.core.standing.models import StandingInstruction, StandingInstructionExecution
from app.core.standing.schedule import is_due, next_due
from app.core.standing.service import execution_body, instruction_body
from app.core.tenants.models import Tenant
from app.core.tenants.service import business_date
from app.core.transactions.service import (
    INTER_BRANCH,
    TRANSFER,
    Movement,
    TransactionService,
    transaction_body,
)
from app.core.webhooks import outbox
from app.db import Database, is_retryable_conflict, utcnow

log = structlog.get_logger("branchdesk.jobs.standing")

JOB_TYPE = "STANDING_INSTRUCTIONS"
SUSPEND_AFTER = 3
# The system actor of every execution: never a staff user's ID (those are random UUID4s).
SYSTEM_USER_ID = uuid.UUID("00000000-0000-4000-8000-5714d1a90001")
SYSTEM_EMAIL = "standing-instructions@system.branchdesk"


def system_principal(tenant_id: uuid.UUID, branch_code: str) -> Principal:
    """The job acting for a tenant at a branch (the source account's)."""
    return Principal(
        user_id=SYSTEM_USER_ID,
        tenant_id=tenant_id,
        email=SYSTEM_EMAIL,
        name="Standing-instruction job",
        roles=("system",),
        scopes=frozenset(),
        branch_code=branch_code,
        session_id=SYSTEM_USER_ID,
        token_id="standing-instructions",
        expires_at=0,
        kind="system",
    )


def job_body(job: JobRun) -> answers.JobRun:
    return answers.JobRun(
        job_id=str(job.id),
        job_type=job.job_type,
        status=job.status,
        business_date=iso(job.business_date),
        instructions_executed=job.instructions_executed,
        instructions_failed=job.instructions_failed,
        instructions_skipped=job.instructions_skipped,
        error=job.error,
        triggered_by=str(job.triggered_by) if job.triggered_by else None,
        triggered_by_email=job.triggered_by_email,
        started_at=iso(job.started_at),
        completed_at=iso(job.completed_at),
    )


async def run_standing_instructions(
    session: AsyncSession,
    tenant: Tenant,
    on: date,
    *,
    request_id: str,
    client_ip: str = "127.0.0.1",
    triggered_by: Principal | None = None,
) -> JobRun:
    """Run every instruction due on ``on`` in the caller's transaction; the caller commits.

    Raises ``PERIOD_CLOSED`` / ``NO_OPEN_PERIOD`` (and runs nothing) when ``on`` is not in
    an open period.
    """
    await open_period_for(session, tenant.id, on)
    job = JobRun(
        tenant_id=tenant.id,
        job_type=JOB_TYPE,
        business_date=on,
        triggered_by=triggered_by.user_id if triggered_by else SYSTEM_USER_ID,
        triggered_by_email=triggered_by.email if triggered_by else SYSTEM_EMAIL,
    )
    session.add(job)
    await session.flush()
    ids = (
        (
            await session.execute(
                sa.select(col(StandingInstruction.id))
                .where(
                    col(StandingInstruction.tenant_id) == tenant.id,
                    col(StandingInstruction.status) == "ACTIVE",
                    col(StandingInstruction.start_date) <= on,
                )
                .order_by(col(StandingInstruction.id))
            )
        )
        .scalars()
        .all()
    )
    ref = TenantRef(tenant.id, tenant.code, tenant.name, tenant.is_active, tenant.timezone)
    base = RequestContext(request_id=request_id, client_ip=client_ip, tenant=ref)
    for instruction_id in ids:
        await _run_one(session, base, tenant, job, instruction_id, on)
    job.status = "COMPLETED"
    job.completed_at = utcnow()
    session.add(job)
    await session.flush()
    trigger_ctx = replace(base, principal=triggered_by or system_principal(tenant.id, "-"))
    audit.record(
        session,
        trigger_ctx,
        "job.standing_instructions_run",
        entity_type="job",
        entity_id=job.id,
        after=job_body(job),
    )
    return job


async def _run_one(
    session: AsyncSession,
    base: RequestContext,
    tenant: Tenant,
    job: JobRun,
    instruction_id: uuid.UUID,
    on: date,
) -> None:
    si = await session.get(
        StandingInstruction, instruction_id, with_for_update=True, populate_existing=True
    )
    if si is None or si.status != "ACTIVE":
        return  # changed since the list was read (another run suspended or completed it)
    if si.end_date is not None and si.end_date < on:
        _complete(session, base, si, on)
        return
    if not is_due(si.frequency, si.start_date, si.end_date, on):
        return
    done = await session.execute(
        sa.select(col(StandingInstructionExecution.id)).where(
            col(StandingInstructionExecution.instruction_id) == si.id,
            col(StandingInstructionExecution.business_date) == on,
        )
    )
    if done.first() is not None:
        job.instructions_skipped += 1
        return
    source = await session.get(Account, si.source_account_id)
    target = await session.get(Account, si.destination_account_id)
    assert source is not None and target is not None  # foreign keys
    ctx = replace(base, principal=system_principal(tenant.id, source.branch_code))
    movement = Movement(
        INTER_BRANCH if source.branch_code != target.branch_code else TRANSFER,
        si.amount,
        si.currency,
        source.id,
        target.id,
        f"{si.narration} ({si.reference})",
    )
    execution = StandingInstructionExecution(
        tenant_id=tenant.id,
        instruction_id=si.id,
        business_date=on,
        status="COMPLETED",
        amount=si.amount,
        currency=si.currency,
        job_id=job.id,
    )
    try:
        async with session.begin_nested():
            transaction = await TransactionService(session, ctx).execute(
                movement, on=on, pre_approved=True
            )
            await session.flush()
    except ApiError as refused:
        execution.status = "FAILED"
        execution.failure_code = refused.code
        execution.failure_reason = refused.message[:500]
        si.consecutive_failures += 1
        job.instructions_failed += 1
    else:
        execution.transaction_id = transaction.id
        si.consecutive_failures = 0
        si.last_executed_on = on
        job.instructions_executed += 1
    si = await session.get(StandingInstruction, instruction_id) or si  # after a rollback
    session.add(execution)
    si.updated_at = utcnow()
    session.add(si)
    await session.flush()
    # The event's payload is plain JSON (api.md, "Webhooks"): the execution, and the
    # transaction it made when it ran.
    body: dict[str, Any] = msgspec.to_builtins(execution_body(execution))
    if execution.status == "COMPLETED":
        body["transaction"] = msgspec.to_builtins(transaction_body(transaction))
        outbox.emit(session, tenant.id, "standing_instruction.executed", body, ctx.request_id)
    else:
        outbox.emit(session, tenant.id, "standing_instruction.failed", body, ctx.request_id)
    audit.record(
        session,
        ctx,
        f"standing_instruction.{'executed' if execution.status == 'COMPLETED' else 'failed'}",
        entity_type="standing_instruction",
        entity_id=si.id,
        outcome="success" if execution.status == "COMPLETED" else "failure",
        after=body,
    )
    if si.consecutive_failures >= SUSPEND_AFTER:
        before = instruction_body(si, on)
        si.status = "SUSPENDED"
        si.suspended_at = utcnow()
        session.add(si)
        after = instruction_body(si, on)
        audit.record(
            session,
            ctx,
            "standing_instruction.suspended",
            entity_type="standing_instruction",
            entity_id=si.id,
            before=before,
            after=after,
        )
        outbox.emit(
            session,
            tenant.id,
            "standing_instruction.suspended",
            msgspec.to_builtins(after),
            ctx.request_id,
        )
    elif (
        si.end_date is not None
        and next_due(si.frequency, si.start_date, si.end_date, date.fromordinal(on.toordinal() + 1))
        is None
    ):
        _complete(session, base, si, on)


def _complete(
    session: AsyncSession, base: RequestContext, si: StandingInstruction, on: date
) -> None:
    """Its last due date is behind it: COMPLETED."""
    before = instruction_body(si, on)
    si.status = "COMPLETED"
    si.completed_at = si.updated_at = utcnow()
    session.add(si)
    audit.record(
        session,
        replace(base, principal=system_principal(si.tenant_id, "-")),
        "standing_instruction.completed",
        entity_type="standing_instruction",
        entity_id=si.id,
        before=before,
        after=instruction_body(si, on),
    )


async def run_due_standing_instructions(db: Database, attempts: int = 3) -> int:
    """The worker's schedule: once per business date per active tenant. Returns runs made."""
    async with db.session() as session:
        tenants = list(
            (await session.execute(sa.select(Tenant).where(col(Tenant.is_active).is_(True))))
            .scalars()
            .all()
        )
    runs = 0
    for tenant in tenants:
        on = business_date(tenant)
        for attempt in range(1, attempts + 1):
            try:
                if await run_for_tenant(db, tenant, on):
                    runs += 1
                break
            except Exception as exc:
                if attempt < attempts and is_retryable_conflict(exc):
                    continue
                log.error("standing_instructions.run_failed", tenant=tenant.code, error=str(exc))
                break
    return runs


async def run_for_tenant(db: Database, tenant: Tenant, on: date) -> bool:
    async with db.writer(), db.session() as session:
        ran = await session.execute(
            sa.select(col(JobRun.id)).where(
                col(JobRun.tenant_id) == tenant.id,
                col(JobRun.job_type) == JOB_TYPE,
                col(JobRun.business_date) == on,
                col(JobRun.triggered_by) == SYSTEM_USER_ID,  # an admin's trigger is extra
            )
        )
        if ran.first() is not None:
            return False
        request_id = f"job-{uuid.uuid4().hex}"
        try:
            job = await run_standing_instructions(session, tenant, on, request_id=request_id)
        except ApiError as refused:  # no open period for the date: record it, once
            await session.rollback()
            job = JobRun(
                tenant_id=tenant.id,
                job_type=JOB_TYPE,
                business_date=on,
                status="FAILED",
                error=f"{refused.code}: {refused.message}"[:500],
                triggered_by=SYSTEM_USER_ID,
                triggered_by_email=SYSTEM_EMAIL,
                completed_at=utcnow(),
            )
            session.add(job)
        await session.commit()
        log.info(
            "standing_instructions.ran",
            tenant=tenant.code,
            business_date=on.isoformat(),
            status=job.status,
            executed=job.instructions_executed,
            failed=job.instructions_failed,
        )
        return True
