"""/users/{id}/second-factor: a staff member's factor as admins see it, and its reset.

A reset removes the factor, its recovery codes and pending sign-in steps, and ends the
staff member's sessions (a lost or stolen phone is the usual reason); their next password
sign-in enrols a new factor where their role needs one. In production mode one admin
requests the reset and a second one approves it (maker-checker on the people behind the
callers, API keys included); elsewhere the request is approved as it is made. Requests,
approvals and cancellations are all audited.
"""

import uuid
from typing import Annotated, Any

import msgspec
import sqlalchemy as sa
from litestar import get, post
from litestar.status_codes import HTTP_200_OK
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.admin import responses as answers
from app.core.admin.service import get_user
from app.core.audit import service as audit
from app.core.auth.identity_models import FactorReset
from app.core.auth.mfa import SecondFactors
from app.core.auth.service import revoke_user_sessions
from app.core.common import iso
from app.core.context import Principal, RequestContext, TenantRef
from app.core.contract.bodies import Body, refuse
from app.core.detail_codes import DetailCode, detail
from app.core.errors import ApiError
from app.core.maker_checker import answerable_caller
from app.core.permissions import requires
from app.core.services import CoreServices
from app.core.tenants.service import load_tenant
from app.db import utcnow

ADMIN = {**requires("admin", "admin:full"), "idempotency_required": False}
PENDING = "PENDING_APPROVAL"


class FactorResetRequest(Body):
    reason: Annotated[str, msgspec.Meta(min_length=3, max_length=500)]

    def __post_init__(self) -> None:
        problems: list[dict[str, Any]] = []
        self.reason = self.reason.strip()
        if len(self.reason) < 3:
            problems.append(detail("reason", DetailCode.TOO_SHORT, "say why, in a few words"))
        refuse(problems)


def reset_body(reset: FactorReset) -> answers.FactorReset:
    return answers.FactorReset(
        id=str(reset.id),
        user_id=str(reset.user_id),
        status=reset.status,
        reason=reset.reason,
        requested_by=str(reset.requested_by),
        requested_at=iso(reset.requested_at),
        decided_by=str(reset.decided_by) if reset.decided_by else None,
        decided_at=iso(reset.decided_at),
    )


async def _pending(session: AsyncSession, user_id: uuid.UUID) -> FactorReset | None:
    return (
        await session.execute(
            sa.select(FactorReset)
            .where(col(FactorReset.user_id) == user_id, col(FactorReset.status) == PENDING)
            .with_for_update()
        )
    ).scalar_one_or_none()


async def _caller(session: AsyncSession, principal: Principal) -> uuid.UUID:
    person = await answerable_caller(session, principal)
    if person is None:
        raise ApiError(
            "SELF_APPROVAL_FORBIDDEN",
            "Nobody answers for this API key, so it cannot reset a second factor.",
        )
    return person


async def factor_status(
    services: CoreServices, session: AsyncSession, tenant_id: uuid.UUID, raw_id: str
) -> answers.SecondFactor:
    user = await get_user(session, tenant_id, raw_id)
    tenant = await load_tenant(session, tenant_id)
    pending = (
        await session.execute(
            sa.select(FactorReset).where(
                col(FactorReset.user_id) == user.id, col(FactorReset.status) == PENDING
            )
        )
    ).scalar_one_or_none()
    return await SecondFactors(session, services.settings.identity).status(
        tenant,
        user,
        pending_reset=reset_body(pending) if pending is not None else None,
        reset_needs_second_admin=services.settings.server.production,
    )


async def _complete(
    services: CoreServices,
    session: AsyncSession,
    ctx: RequestContext,
    reset: FactorReset,
    decided_by: uuid.UUID,
) -> None:
    reset.status = "COMPLETED"
    reset.decided_by = decided_by
    reset.decided_at = utcnow()
    session.add(reset)
    removed = await SecondFactors(session, services.settings.identity).remove(reset.user_id)
    revoked = await revoke_user_sessions(services, session, reset.user_id, "factor_reset")
    audit.record(
        session,
        ctx,
        "user.second_factor_reset",
        entity_type="staff_user",
        entity_id=reset.user_id,
        before={"enrolled": removed},
        after={
            "enrolled": False,
            "reset_id": str(reset.id),
            "requested_by": str(reset.requested_by),
            "approved_by": str(decided_by),
            "reason": reset.reason,
            "sessions_revoked": revoked,
        },
    )


async def request_reset(
    services: CoreServices,
    session: AsyncSession,
    ctx: RequestContext,
    principal: Principal,
    tenant_id: uuid.UUID,
    raw_id: str,
    reason: str,
) -> FactorReset:
    user = await get_user(session, tenant_id, raw_id)
    requester = await _caller(session, principal)
    if await _pending(session, user.id) is not None:
        raise ApiError(
            "INVALID_STATE",
            "A reset of this staff member's second factor is already waiting for a second "
            "admin; approve or cancel it.",
        )
    reset = FactorReset(
        tenant_id=tenant_id,
        user_id=user.id,
        reason=reason,
        status=PENDING,
        requested_by=requester,
    )
    session.add(reset)
    await session.flush()
    audit.record(
        session,
        ctx,
        "user.second_factor_reset_requested",
        entity_type="staff_user",
        entity_id=user.id,
        after={"reset_id": str(reset.id), "reason": reason},
    )
    if not services.settings.server.production:
        # Outside production one admin suffices; the record still names them.
        await _complete(services, session, ctx, reset, requester)
    return reset


async def decide_reset(
    services: CoreServices,
    session: AsyncSession,
    ctx: RequestContext,
    principal: Principal,
    tenant_id: uuid.UUID,
    raw_id: str,
    *,
    approve: bool,
) -> FactorReset:
    user = await get_user(session, tenant_id, raw_id)
    reset = await _pending(session, user.id)
    if reset is None:
        raise ApiError("INVALID_STATE", "No reset of this staff member's second factor is waiting.")
    decider = await _caller(session, principal)
    if not approve:
        reset.status = "CANCELLED"
        reset.decided_by = decider
        reset.decided_at = utcnow()
        session.add(reset)
        audit.record(
            session,
            ctx,
            "user.second_factor_reset_cancelled",
            entity_type="staff_user",
            entity_id=user.id,
            after={"reset_id": str(reset.id)},
        )
        return reset
    if decider == reset.requested_by:
        raise ApiError(
            "SELF_APPROVAL_FORBIDDEN",
            "You requested this reset; another admin must approve it.",
        )
    await _complete(services, session, ctx, reset, decider)
    return reset


@get("/users/{user_id:str}/second-factor", opt=ADMIN, summary="A user's second factor")
async def get_second_factor(
    user_id: str, session: AsyncSession, services: CoreServices, tenant: TenantRef
) -> answers.SecondFactor:
    return await factor_status(services, session, tenant.id, user_id)


@post(
    "/users/{user_id:str}/second-factor/reset",
    opt=ADMIN,
    status_code=HTTP_200_OK,
    summary="Reset a user's second factor (a second admin approves in production mode)",
)
async def post_reset(
    user_id: str,
    data: FactorResetRequest,
    ctx: RequestContext,
    session: AsyncSession,
    services: CoreServices,
    principal: Principal,
    tenant: TenantRef,
) -> answers.FactorReset:
    reset = await request_reset(services, session, ctx, principal, tenant.id, user_id, data.reason)
    return reset_body(reset)


@post(
    "/users/{user_id:str}/second-factor/reset/approve",
    opt=ADMIN,
    status_code=HTTP_200_OK,
    summary="Approve another admin's reset of a user's second factor",
)
async def post_reset_approve(
    user_id: str,
    ctx: RequestContext,
    session: AsyncSession,
    services: CoreServices,
    principal: Principal,
    tenant: TenantRef,
) -> answers.FactorReset:
    reset = await decide_reset(services, session, ctx, principal, tenant.id, user_id, approve=True)
    return reset_body(reset)


@post(
    "/users/{user_id:str}/second-factor/reset/cancel",
    opt=ADMIN,
    status_code=HTTP_200_OK,
    summary="Cancel a waiting reset of a user's second factor",
)
async def post_reset_cancel(
    user_id: str,
    ctx: RequestContext,
    session: AsyncSession,
    services: CoreServices,
    principal: Principal,
    tenant: TenantRef,
) -> answers.FactorReset:
    reset = await decide_reset(services, session, ctx, principal, tenant.id, user_id, approve=False)
    return reset_body(reset)


SECOND_FACTOR_HANDLERS = [get_second_factor, post_reset, post_reset_approve, post_reset_cancel]
