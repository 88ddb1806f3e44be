"""/audit-logs: the tenant's audit trail, and the verification of its seals."""

from typing import Annotated
from zoneinfo import ZoneInfo

from litestar import Router, get
from litestar.params import Parameter
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.audit.models import AuditLog
from app.core.audit.responses import AuditPage, AuditVerification
from app.core.audit.sealing import verify_chain
from app.core.audit.service import audit_log_body, parse_filters, trail_query
from app.core.context import TenantRef
from app.core.http import INSTANT_FILTER, PageLimit, page_limit
from app.core.pagination import keyset_slice
from app.core.permissions import requires
from app.core.tenants.service import load_tenant

AUDIT_READ = requires("manager", "audit:read")


@get("/audit-logs", opt=AUDIT_READ, summary="The tenant's audit trail, newest first")
async def get_audit_logs(
    session: AsyncSession,
    tenant: TenantRef,
    actor: str | None = None,
    action: str | None = None,
    entity_type: str | None = None,
    entity_id: str | None = None,
    request_id: str | None = None,
    outcome: str | None = None,
    from_: Annotated[str | None, Parameter(query="from", schema_extra=INSTANT_FILTER)] = None,
    to: Annotated[str | None, Parameter(schema_extra=INSTANT_FILTER)] = None,
    limit: PageLimit = None,
    cursor: str | None = None,
) -> AuditPage:
    timezone = ZoneInfo((await load_tenant(session, tenant.id)).timezone)
    filters = parse_filters(
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        request_id=request_id,
        outcome=outcome,
        from_=from_,
        to=to,
        zone=timezone,
    )
    page = await keyset_slice(
        session,
        trail_query(tenant.id, filters),
        [(col(AuditLog.id), "int")],
        limit=page_limit(limit),
        cursor=cursor,
        render=audit_log_body,
        value_of=lambda entry: (entry.id,),
    )
    return AuditPage(audit_logs=page.items, has_more=page.has_more, next_cursor=page.next_cursor)


@get(
    "/audit-logs/verify",
    opt=AUDIT_READ,
    summary="Recompute the tenant's audit seals and name the first broken record",
)
async def verify_audit_logs(session: AsyncSession, tenant: TenantRef) -> AuditVerification:
    return (await verify_chain(session, tenant.id)).body()


audit_router = Router(path="/", route_handlers=[get_audit_logs, verify_audit_logs], tags=["audit"])
