"""Tenant and branch rules."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.audit import service as audit
from app.core.auth.models import StaffUser
from app.core.context import RequestContext
from app.core.detail_codes import DetailCode, detail
from app.core.errors import ApiError
from app.core.tenants import responses as answers
from app.core.tenants.models import Branch, Tenant
from app.core.tenants.schemas import BranchCreate, TenantSettingsUpdate
from app.db import is_unique_violation, utcnow

MINOR_DIGITS = 2  # NGN (the sandbox's base currency), like USD, EUR and GBP


def business_date(tenant: Tenant, now: datetime | None = None) -> date:
    """The calendar date in the tenant's timezone."""
    return (now or utcnow()).astimezone(ZoneInfo(tenant.timezone)).date()


def minor_to_str(amount: int, digits: int = 2) -> str:
    return str((Decimal(amount) / (Decimal(10) ** digits)).quantize(Decimal(1).scaleb(-digits)))


def to_minor(amount: Decimal, digits: int = MINOR_DIGITS) -> int:
    """Minor units of an amount already validated to at most ``digits`` decimals."""
    return int(amount.scaleb(digits))


async def load_tenant(session: AsyncSession, tenant_id: uuid.UUID) -> Tenant:
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise ApiError("TENANT_NOT_FOUND", "No such tenant.")
    return tenant


def tenant_settings(tenant: Tenant) -> answers.TenantSettings:
    return answers.TenantSettings(
        teller_approval_limit=minor_to_str(tenant.teller_approval_limit),
        allow_same_maker_checker=tenant.allow_same_maker_checker,
        mfa_required_role=tenant.mfa_required_role,
    )


def tenant_body(tenant: Tenant) -> answers.Tenant:
    return answers.Tenant(
        id=str(tenant.id),
        code=tenant.code,
        name=tenant.name,
        base_currency=tenant.base_currency,
        timezone=tenant.timezone,
        is_active=tenant.is_active,
        business_date=business_date(tenant).isoformat(),
        settings=tenant_settings(tenant),
    )


async def update_settings(
    session: AsyncSession,
    ctx: RequestContext,
    tenant_id: uuid.UUID,
    change: TenantSettingsUpdate,
    *,
    production: bool = True,
) -> Tenant:
    """Apply the settings sent; audited with the settings before and after.

    ``allow_same_maker_checker`` lets one person make and check: a sandbox's convenience,
    never a bank's. In production mode turning it on is refused (and the attempt kept
    on record); turning it off is always allowed.
    """
    tenant = await load_tenant(session, tenant_id)
    if production and change.allow_same_maker_checker:
        await _refuse_same_maker_checker(session, ctx, tenant)
    before = tenant_settings(tenant)
    limit = change.approval_limit
    if limit is not None:
        tenant.teller_approval_limit = to_minor(limit)
    if not isinstance(change.allow_same_maker_checker, msgspec.UnsetType):
        tenant.allow_same_maker_checker = change.allow_same_maker_checker
    if not isinstance(change.mfa_required_role, msgspec.UnsetType):
        tenant.mfa_required_role = change.mfa_required_role
    after = tenant_settings(tenant)
    if after != before:
        session.add(tenant)
        audit.record(
            session,
            ctx,
            "tenant.settings_updated",
            entity_type="tenant",
            entity_id=tenant.id,
            before=before,
            after=after,
        )
    return tenant


async def _refuse_same_maker_checker(
    session: AsyncSession, ctx: RequestContext, tenant: Tenant
) -> None:
    """Record the refused attempt (committed: the request fails) and refuse it."""
    audit.record(
        session,
        ctx,
        "tenant.settings_refused",
        entity_type="tenant",
        entity_id=tenant.id,
        outcome="refused",
        before={"allow_same_maker_checker": tenant.allow_same_maker_checker},
        after={"allow_same_maker_checker": True},
    )
    await session.commit()
    raise ApiError(
        "VALIDATION_ERROR",
        "allow_same_maker_checker cannot be turned on in production mode: every "
        "approval needs a second person.",
        [
            {
                "field": "allow_same_maker_checker",
                "code": DetailCode.NOT_IN_PRODUCTION.value,
                "reason": "refused in production mode",
                "value": True,
            }
        ],
    )


async def list_branches(session: AsyncSession, tenant_id: uuid.UUID) -> list[Branch]:
    rows = await session.execute(
        sa.select(Branch).where(col(Branch.tenant_id) == tenant_id).order_by(col(Branch.code))
    )
    return list(rows.scalars().all())


async def find_branch(session: AsyncSession, tenant_id: uuid.UUID, code: str) -> Branch | None:
    """The tenant's branch with this code (codes compare case-insensitively)."""
    row = await session.execute(
        sa.select(Branch).where(
            col(Branch.tenant_id) == tenant_id,
            sa.func.lower(col(Branch.code)) == code.lower(),
        )
    )
    return row.scalars().first()


def branch_body(branch: Branch, staff_count: int) -> answers.Branch:
    """A branch with its active staff (counted when read: see :func:`staff_counts`)."""
    return answers.Branch(
        id=str(branch.id), code=branch.code, name=branch.name, staff_count=staff_count
    )


def branch_record(branch: Branch) -> dict[str, Any]:
    """What the audit record keeps of a branch (its state, without the staff count)."""
    return {"id": str(branch.id), "code": branch.code, "name": branch.name}


async def staff_counts(session: AsyncSession, tenant_id: uuid.UUID) -> dict[str, int]:
    """Active staff per branch code (a branch with none is absent)."""
    rows = await session.execute(
        sa.select(col(StaffUser.branch_code), sa.func.count())
        .where(col(StaffUser.tenant_id) == tenant_id, col(StaffUser.is_active).is_(True))
        .group_by(col(StaffUser.branch_code))
    )
    return {str(code): int(count) for code, count in rows.all()}


def _duplicate_branch(code: str) -> ApiError:
    return ApiError(
        "DUPLICATE_RESOURCE",
        f"A branch with code {code} already exists.",
        [detail("code", DetailCode.DUPLICATE, "already exists", code)],
    )


async def create_branch(
    session: AsyncSession, ctx: RequestContext, tenant_id: uuid.UUID, data: BranchCreate
) -> Branch:
    """A new branch of the tenant, unique by code, audited as ``branch.created``."""
    if await find_branch(session, tenant_id, data.code) is not None:
        raise _duplicate_branch(data.code)
    branch = Branch(tenant_id=tenant_id, code=data.code, name=data.name)
    session.add(branch)
    try:
        await session.flush()
    except sa.exc.IntegrityError as exc:  # a concurrent create won the race
        if is_unique_violation(exc):
            raise _duplicate_branch(data.code) from exc
        raise
    await on_branch_created(session, tenant_id, branch)
    audit.record(
        session,
        ctx,
        "branch.created",
        entity_type="branch",
        entity_id=branch.id,
        after=branch_record(branch),
    )
    return branch


async def on_branch_created(session: AsyncSession, tenant_id: uuid.UUID, branch: Branch) -> None:
    """A new branch gets its teller-cash and inter-branch clearing GL accounts, in the same
    transaction as the branch (api.md, "Tenant, branches, staff")."""
    from app.core.ledger.chart import ensure_branch_accounts, ensure_chart

    tenant = await load_tenant(session, tenant_id)
    await ensure_chart(session, tenant_id, tenant.base_currency)
    await ensure_branch_accounts(session, tenant_id, branch.code, branch.name, tenant.base_currency)
