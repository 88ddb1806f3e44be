"""/tenant and /branches."""

from litestar import Router, get, post, put
from litestar.status_codes import HTTP_201_CREATED
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.context import RequestContext, TenantRef
from app.core.permissions import requires
from app.core.services import CoreServices
from app.core.tenants.identity_provider import IDENTITY_PROVIDER_HANDLERS
from app.core.tenants.responses import Branch, Branches, Tenant
from app.core.tenants.schemas import BranchCreate, TenantSettingsUpdate
from app.core.tenants.service import (
    branch_body,
    create_branch,
    list_branches,
    load_tenant,
    staff_counts,
    tenant_body,
    update_settings,
)

ADMIN = {**requires("admin", "admin:full"), "idempotency_required": False}
ANY_SIGNED_IN = {**requires(), "idempotency_required": False}


@get("/tenant", opt=ANY_SIGNED_IN, summary="This tenant, its business date and settings")
async def get_tenant(session: AsyncSession, tenant: TenantRef) -> Tenant:
    return tenant_body(await load_tenant(session, tenant.id))


@put("/tenant/settings", opt=ADMIN, summary="Change the tenant's settings")
async def put_tenant_settings(
    data: TenantSettingsUpdate,
    ctx: RequestContext,
    session: AsyncSession,
    tenant: TenantRef,
    services: CoreServices,
) -> Tenant:
    return tenant_body(
        await update_settings(
            session, ctx, tenant.id, data, production=services.settings.server.production
        )
    )


@get("/branches", opt=ANY_SIGNED_IN, summary="The tenant's branches")
async def get_branches(session: AsyncSession, tenant: TenantRef) -> Branches:
    branches = await list_branches(session, tenant.id)
    staff = await staff_counts(session, tenant.id)
    return Branches(branches=[branch_body(b, staff.get(b.code, 0)) for b in branches])


@post("/branches", opt=ADMIN, status_code=HTTP_201_CREATED, summary="Open a branch")
async def post_branch(
    data: BranchCreate, ctx: RequestContext, session: AsyncSession, tenant: TenantRef
) -> Branch:
    # A new branch has no staff yet; the item has the shape of the list's.
    return branch_body(await create_branch(session, ctx, tenant.id, data), 0)


tenant_routers = [
    Router(
        path="/",
        route_handlers=[
            get_tenant,
            put_tenant_settings,
            get_branches,
            post_branch,
            *IDENTITY_PROVIDER_HANDLERS,
        ],
        tags=["tenant"],
    )
]
