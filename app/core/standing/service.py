"""Standing instructions: made by an officer, approved by a manager who did not make them.

The daily run lives in ``app.core.jobs.standing``; this module owns the instruction's
own life: create, approve, cancel, read.
"""

import uuid
from datetime import date, timedelta
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.accounts.models import Account
from app.core.audit import service as audit
from app.core.common import check_branch_scope, iso, parse_id
from app.core.context import RequestContext
from app.core.detail_codes import DetailCode, detail
from app.core.errors import ApiError
from app.core.ledger.numbers import next_value
from app.core.maker_checker import check_not_maker, same_person_may_check
from app.core.money import format_amount, parse_amount
from app.core.pagination import keyset_slice
from app.core.standing import responses as answers
from app.core.standing.models import StandingInstruction, StandingInstructionExecution
from app.core.standing.schedule import next_due
from app.core.standing.schemas import StandingInstructionCreate
from app.core.tenants.models import Tenant
from app.core.tenants.service import business_date, load_tenant
from app.core.webhooks import outbox
from app.db import utcnow

STATUSES = ("PENDING_APPROVAL", "ACTIVE", "SUSPENDED", "COMPLETED", "CANCELLED")
CANCELLABLE = {"PENDING_APPROVAL", "ACTIVE", "SUSPENDED"}
CLOSED_STATUSES = {"CLOSED", "BLOCKED"}


def instruction_body(
    si: StandingInstruction, today: date | None = None
) -> answers.StandingInstruction:
    """An instruction on the wire; ``next_execution_date`` when it will still run."""
    upcoming = None
    if si.status in {"PENDING_APPROVAL", "ACTIVE"}:
        since = si.last_executed_on + timedelta(days=1) if si.last_executed_on else si.start_date
        upcoming = next_due(si.frequency, si.start_date, si.end_date, max(since, today or since))
    return answers.StandingInstruction(
        id=str(si.id),
        reference=si.reference,
        source_account_id=str(si.source_account_id),
        destination_account_id=str(si.destination_account_id),
        amount=format_amount(si.amount, si.currency),
        currency=si.currency,
        frequency=si.frequency,
        start_date=iso(si.start_date),
        end_date=iso(si.end_date),
        narration=si.narration,
        status=si.status,
        consecutive_failures=si.consecutive_failures,
        last_executed_on=iso(si.last_executed_on),
        next_execution_date=iso(upcoming),
        created_by=str(si.created_by),
        created_by_email=si.created_by_email,
        created_at=iso(si.created_at),
        approved_by=str(si.approved_by) if si.approved_by else None,
        approved_by_email=si.approved_by_email,
        approved_at=iso(si.approved_at),
        cancelled_by=str(si.cancelled_by) if si.cancelled_by else None,
        cancelled_at=iso(si.cancelled_at),
        cancel_reason=si.cancel_reason,
        suspended_at=iso(si.suspended_at),
        completed_at=iso(si.completed_at),
    )


def execution_body(e: StandingInstructionExecution) -> answers.Execution:
    return answers.Execution(
        id=str(e.id),
        instruction_id=str(e.instruction_id),
        business_date=iso(e.business_date),
        status=e.status,
        amount=format_amount(e.amount, e.currency),
        currency=e.currency,
        transaction_id=str(e.transaction_id) if e.transaction_id else None,
        failure_code=e.failure_code,
        failure_reason=e.failure_reason,
        job_id=str(e.job_id) if e.job_id else None,
        executed_at=iso(e.created_at),
    )


def _bad(field: str, code: DetailCode, reason: str, value: Any = None) -> ApiError:
    shown = None if value is None else str(value)
    return ApiError(
        "VALIDATION_ERROR", f"Check {field}: {reason}.", [detail(field, code, reason, shown)]
    )


async def _account(
    session: AsyncSession, tenant_id: uuid.UUID, account_id: uuid.UUID, field: str
) -> Account:
    account = await session.get(Account, account_id)
    if account is None or account.tenant_id != tenant_id:
        raise ApiError(
            "ACCOUNT_NOT_FOUND",
            "No such account.",
            [detail(field, DetailCode.UNKNOWN_ACCOUNT, "not found", str(account_id))],
        )
    return account


async def create_instruction(
    session: AsyncSession, ctx: RequestContext, data: StandingInstructionCreate
) -> tuple[StandingInstruction, date]:
    """Validate (400, then 404, branch scope, rules) and store it PENDING_APPROVAL."""
    assert ctx.principal is not None and ctx.tenant is not None
    tenant = await load_tenant(session, ctx.tenant.id)
    today = business_date(tenant)
    currency = data.currency.upper()
    amount = parse_amount(data.amount, currency)
    if data.start_date < today:
        raise _bad(
            "start_date",
            DetailCode.IN_PAST,
            f"in the past (the business date is {today})",
            data.start_date,
        )
    source_id = parse_id(data.source_account_id, "ACCOUNT_NOT_FOUND", "account")
    target_id = parse_id(data.destination_account_id, "ACCOUNT_NOT_FOUND", "account")
    if source_id == target_id:
        raise ApiError(
            "SAME_ACCOUNT",
            "Source and destination are the same account.",
            [detail("destination_account_id", DetailCode.SAME_ACCOUNT, "same as source")],
        )
    source = await _account(session, tenant.id, source_id, "source_account_id")
    target = await _account(session, tenant.id, target_id, "destination_account_id")
    check_branch_scope(ctx.principal, source.branch_code)
    for account, field in ((source, "source_account_id"), (target, "destination_account_id")):
        if account.currency != currency:
            raise ApiError(
                "CURRENCY_MISMATCH",
                f"Account {account.account_number} holds {account.currency}, not {currency}.",
                [
                    detail(
                        field,
                        DetailCode.CURRENCY_MISMATCH,
                        f"account currency is {account.currency}",
                    )
                ],
            )
        if account.status in CLOSED_STATUSES:
            raise ApiError(
                "ACCOUNT_NOT_ACTIVE",
                f"Account {account.account_number} is {account.status.lower()}.",
                [detail(field, DetailCode.ACCOUNT_NOT_ACTIVE, f"account {account.status.lower()}")],
            )
    instruction = StandingInstruction(
        tenant_id=tenant.id,
        reference=f"SI{await next_value(session, tenant.id, 'standing_instruction'):08d}",
        source_account_id=source.id,
        destination_account_id=target.id,
        amount=amount,
        currency=currency,
        frequency=data.frequency,
        start_date=data.start_date,
        end_date=data.end_date,
        narration=data.narration,  # trimmed by the body
        created_by=ctx.principal.user_id,
        created_by_email=ctx.principal.email,
    )
    session.add(instruction)
    await session.flush()
    body = instruction_body(instruction, today)
    audit.record(
        session,
        ctx,
        "standing_instruction.created",
        entity_type="standing_instruction",
        entity_id=instruction.id,
        after=body,
    )
    # Waiting for a manager: the approvals queues of every console update on this event.
    outbox.emit(
        session,
        ctx.tenant.id,
        "standing_instruction.created",
        msgspec.to_builtins(body),
        ctx.request_id,
    )
    return instruction, today


async def get_instruction(
    session: AsyncSession, tenant_id: uuid.UUID, instruction_id: str, *, lock: bool = False
) -> StandingInstruction:
    """The tenant's instruction or 404 (another tenant's is a 404 too)."""
    found = await session.get(
        StandingInstruction,
        parse_id(instruction_id, what="standing instruction"),
        with_for_update=lock,
        populate_existing=lock,
    )
    if found is None or found.tenant_id != tenant_id:
        raise ApiError("RESOURCE_NOT_FOUND", "No such standing instruction.")
    return found


async def approve_instruction(
    session: AsyncSession, ctx: RequestContext, instruction_id: str, *, production: bool = True
) -> tuple[StandingInstruction, date]:
    """PENDING_APPROVAL → ACTIVE, by a manager who is not its creator (nor answers to the
    same person: an API key is its creator's). Production mode ignores the tenant's
    same-maker-checker setting."""
    assert ctx.principal is not None and ctx.tenant is not None
    si = await get_instruction(session, ctx.tenant.id, instruction_id, lock=True)
    tenant = await load_tenant(session, ctx.tenant.id)
    await check_not_maker(
        session,
        ctx.principal,
        si.created_by,
        same_person_allowed=same_person_may_check(tenant, production=production),
        refusal="You created this standing instruction; another manager must approve it.",
    )
    if si.status != "PENDING_APPROVAL":
        raise ApiError(
            "INVALID_STATE", f"This standing instruction is {si.status.lower()}, not pending."
        )
    today = business_date(tenant)
    before = instruction_body(si, today)
    si.status = "ACTIVE"
    si.approved_by = ctx.principal.user_id
    si.approved_by_email = ctx.principal.email
    si.approved_at = si.updated_at = utcnow()
    session.add(si)
    after = instruction_body(si, today)
    audit.record(
        session,
        ctx,
        "standing_instruction.approved",
        entity_type="standing_instruction",
        entity_id=si.id,
        before=before,
        after=after,
    )
    outbox.emit(
        session,
        tenant.id,
        "standing_instruction.approved",
        msgspec.to_builtins(after),
        ctx.request_id,
    )
    return si, today


async def cancel_instruction(
    session: AsyncSession, ctx: RequestContext, instruction_id: str, reason: str | None
) -> tuple[StandingInstruction, date]:
    """Stop it for good (pending, active or suspended); officers only in their branch."""
    assert ctx.principal is not None and ctx.tenant is not None
    si = await get_instruction(session, ctx.tenant.id, instruction_id, lock=True)
    source = await session.get(Account, si.source_account_id)
    if source is not None:
        check_branch_scope(ctx.principal, source.branch_code)
    if si.status not in CANCELLABLE:
        raise ApiError("INVALID_STATE", f"This standing instruction is {si.status.lower()}.")
    tenant: Tenant = await load_tenant(session, ctx.tenant.id)
    today = business_date(tenant)
    before = instruction_body(si, today)
    si.status = "CANCELLED"
    si.cancelled_by = ctx.principal.user_id
    si.cancelled_at = si.updated_at = utcnow()
    si.cancel_reason = (reason or "").strip() or None
    session.add(si)
    after = instruction_body(si, today)
    audit.record(
        session,
        ctx,
        "standing_instruction.cancelled",
        entity_type="standing_instruction",
        entity_id=si.id,
        before=before,
        after=after,
    )
    outbox.emit(
        session,
        tenant.id,
        "standing_instruction.cancelled",
        msgspec.to_builtins(after),
        ctx.request_id,
    )
    return si, today


async def list_instructions(
    session: AsyncSession,
    tenant: Tenant,
    *,
    status: str | None,
    account_id: uuid.UUID | None,
    frequency: str | None,
    created_by: uuid.UUID | None,
    limit: int,
    cursor: str | None,
) -> answers.StandingInstructionPage:
    query = sa.select(StandingInstruction).where(col(StandingInstruction.tenant_id) == tenant.id)
    if status:
        if status.upper() not in STATUSES:
            raise _bad(
                "status", DetailCode.INVALID_CHOICE, "one of " + ", ".join(STATUSES), status[:30]
            )
        query = query.where(col(StandingInstruction.status) == status.upper())
    if frequency:
        if frequency.upper() not in ("DAILY", "WEEKLY", "MONTHLY"):
            raise _bad(
                "frequency", DetailCode.INVALID_CHOICE, "DAILY, WEEKLY or MONTHLY", frequency[:30]
            )
        query = query.where(col(StandingInstruction.frequency) == frequency.upper())
    if account_id:
        query = query.where(
            sa.or_(
                col(StandingInstruction.source_account_id) == account_id,
                col(StandingInstruction.destination_account_id) == account_id,
            )
        )
    if created_by:
        query = query.where(col(StandingInstruction.created_by) == created_by)
    today = business_date(tenant)
    page = await keyset_slice(
        session,
        query,
        [(col(StandingInstruction.created_at), "datetime"), (col(StandingInstruction.id), "uuid")],
        limit=limit,
        cursor=cursor,
        render=lambda si: instruction_body(si, today),
        value_of=lambda si: (si.created_at, si.id),
    )
    return answers.StandingInstructionPage(
        standing_instructions=page.items, has_more=page.has_more, next_cursor=page.next_cursor
    )


async def list_executions(
    session: AsyncSession,
    instruction: StandingInstruction,
    *,
    status: str | None,
    limit: int,
    cursor: str | None,
) -> answers.ExecutionPage:
    query = sa.select(StandingInstructionExecution).where(
        col(StandingInstructionExecution.instruction_id) == instruction.id
    )
    if status:
        if status.upper() not in ("COMPLETED", "FAILED"):
            raise _bad("status", DetailCode.INVALID_CHOICE, "COMPLETED or FAILED", status[:30])
        query = query.where(col(StandingInstructionExecution.status) == status.upper())
    page = await keyset_slice(
        session,
        query,
        [
            (col(StandingInstructionExecution.created_at), "datetime"),
            (col(StandingInstructionExecution.id), "uuid"),
        ],
        limit=limit,
        cursor=cursor,
        render=execution_body,
        value_of=lambda e: (e.created_at, e.id),
    )
    return answers.ExecutionPage(
        executions=page.items, has_more=page.has_more, next_cursor=page.next_cursor
    )
