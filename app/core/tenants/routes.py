"""/tenant and /branches."""

from typing import Any

from litestar import Router, get
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.context import TenantRef
from app.core.permissions import requires
from app.core.tenants.service import branch_body, list_branches, load_tenant, tenant_body


@get("/tenant", opt=requires(), summary="This tenant, its business date and settings")
async def get_tenant(session: AsyncSession, tenant: TenantRef) -> dict[str, Any]:
    return tenant_body(await load_tenant(session, tenant.id))


@get("/branches", opt=requires(), summary="The tenant's branches")
async def get_branches(session: AsyncSession, tenant: TenantRef) -> dict[str, Any]:
    return {"branches": [branch_body(b) for b in await list_branches(session, tenant.id)]}


tenant_routers = [Router(path="/", route_handlers=[get_tenant, get_branches], tags=["tenant"])]
