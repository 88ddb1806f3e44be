"""Tenant and branch rules."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.errors import ApiError
from app.core.tenants.models import Branch, Tenant
from app.db import utcnow


def business_date(tenant: Tenant, now: datetime | None = None) -> date:
    """The calendar date in the tenant's timezone."""
    return (now or utcnow()).astimezone(ZoneInfo(tenant.timezone)).date()


def minor_to_str(amount: int, digits: int = 2) -> str:
    return str((Decimal(amount) / (Decimal(10) ** digits)).quantize(Decimal(1).scaleb(-digits)))


async def load_tenant(session: AsyncSession, tenant_id: uuid.UUID) -> Tenant:
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise ApiError("TENANT_NOT_FOUND", "No such tenant.")
    return tenant


def tenant_body(tenant: Tenant) -> dict[str, Any]:
    return {
        "id": str(tenant.id),
        "code": tenant.code,
        "name": tenant.name,
        "base_currency": tenant.base_currency,
        "timezone": tenant.timezone,
        "is_active": tenant.is_active,
        "business_date": business_date(tenant).isoformat(),
        "settings": {
            "teller_approval_limit": minor_to_str(tenant.teller_approval_limit),
            "allow_same_maker_checker": tenant.allow_same_maker_checker,
        },
    }


async def list_branches(session: AsyncSession, tenant_id: uuid.UUID) -> list[Branch]:
    rows = await session.execute(
        sa.select(Branch).where(Branch.tenant_id == tenant_id).order_by(Branch.code)  # type: ignore[arg-type]
    )
    return list(rows.scalars().all())


def branch_body(branch: Branch) -> dict[str, Any]:
    return {"id": str(branch.id), "code": branch.code, "name": branch.name}
