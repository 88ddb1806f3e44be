"""/users and /api-keys: staff and machine clients, administered by the tenant's admins."""

from litestar import Router, delete, get, patch, post
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.admin import service
from app.core.admin.responses import (
    ApiKey,
    ApiKeyPage,
    Revoked,
    StaffPage,
    StaffSummary,
    StaffUser,
)
from app.core.admin.schemas import ApiKeyCreate, UserCreate, UserUpdate
from app.core.admin.second_factor import SECOND_FACTOR_HANDLERS
from app.core.context import Principal, RequestContext, TenantRef
from app.core.http import PageLimit, page_limit
from app.core.idempotency.shown_once import shown_once
from app.core.permissions import requires
from app.core.services import CoreServices

ADMIN = {**requires("admin", "admin:full"), "idempotency_required": False}


@get("/users", opt=ADMIN, summary="The tenant's staff users")
async def get_users(
    session: AsyncSession,
    tenant: TenantRef,
    limit: PageLimit = None,
    cursor: str | None = None,
    q: str | None = None,
    role: str | None = None,
    branch_id: str | None = None,
    active: bool | None = None,
) -> StaffPage:
    users, has_more, next_cursor = await service.list_users(
        session,
        tenant.id,
        limit=page_limit(limit),
        cursor=cursor,
        q=q,
        role=role,
        branch_id=branch_id,
        active=active,
    )
    return StaffPage(
        users=[service.user_body(u) for u in users], has_more=has_more, next_cursor=next_cursor
    )


@get("/users/summary", opt=ADMIN, summary="How many staff are active, inactive and locked")
async def get_users_summary(session: AsyncSession, tenant: TenantRef) -> StaffSummary:
    return await service.users_summary(session, tenant.id)


@post("/users", opt=ADMIN, status_code=HTTP_201_CREATED, summary="Create a staff user")
async def post_user(
    data: UserCreate, ctx: RequestContext, session: AsyncSession, tenant: TenantRef
) -> StaffUser:
    return service.user_body(await service.create_user(session, ctx, tenant.id, data))


@get("/users/{user_id:str}", opt=ADMIN, summary="One staff user")
async def get_user(user_id: str, session: AsyncSession, tenant: TenantRef) -> StaffUser:
    return service.user_body(await service.get_user(session, tenant.id, user_id))


@patch("/users/{user_id:str}", opt=ADMIN, summary="Change a user's name, roles, branch or state")
async def patch_user(
    user_id: str,
    data: UserUpdate,
    ctx: RequestContext,
    session: AsyncSession,
    services: CoreServices,
    principal: Principal,
    tenant: TenantRef,
) -> StaffUser:
    user = await service.update_user(services, session, ctx, principal, tenant.id, user_id, data)
    return service.user_body(user)


@post(
    "/users/{user_id:str}/unlock",
    opt=ADMIN,
    status_code=HTTP_200_OK,
    summary="Clear a user's failed sign-ins and lock",
)
async def unlock_user(
    user_id: str, ctx: RequestContext, session: AsyncSession, tenant: TenantRef
) -> StaffUser:
    return service.user_body(await service.unlock_user(session, ctx, tenant.id, user_id))


@post(
    "/users/{user_id:str}/revoke-sessions",
    opt=ADMIN,
    status_code=HTTP_200_OK,
    summary="Sign a user out everywhere",
)
async def revoke_user_sessions(
    user_id: str,
    ctx: RequestContext,
    session: AsyncSession,
    services: CoreServices,
    tenant: TenantRef,
) -> Revoked:
    return Revoked(
        revoked=await service.revoke_sessions(services, session, ctx, tenant.id, user_id)
    )


@get("/api-keys", opt=ADMIN, summary="The tenant's API keys")
async def get_api_keys(
    session: AsyncSession,
    tenant: TenantRef,
    limit: PageLimit = None,
    cursor: str | None = None,
) -> ApiKeyPage:
    keys, has_more, next_cursor = await service.list_api_keys(
        session, tenant.id, limit=page_limit(limit), cursor=cursor
    )
    return ApiKeyPage(
        api_keys=[service.api_key_body(k) for k in keys], has_more=has_more, next_cursor=next_cursor
    )


@post(
    "/api-keys",
    opt=ADMIN,
    status_code=HTTP_201_CREATED,
    summary="Create an API key (its secret is shown once)",
)
async def post_api_key(
    data: ApiKeyCreate,
    ctx: RequestContext,
    session: AsyncSession,
    principal: Principal,
    tenant: TenantRef,
) -> ApiKey:
    key, secret = await service.create_api_key(session, ctx, principal, tenant.id, data)
    shown_once(ctx, "api_key")  # never kept for an idempotent replay
    return service.api_key_body(key, secret)


@delete(
    "/api-keys/{key_id:str}",
    opt=ADMIN,
    status_code=HTTP_204_NO_CONTENT,
    summary="Revoke an API key and its tokens",
)
async def delete_api_key(
    key_id: str,
    ctx: RequestContext,
    session: AsyncSession,
    services: CoreServices,
    tenant: TenantRef,
) -> None:
    await service.revoke_api_key(services, session, ctx, tenant.id, key_id)


admin_routers = [
    Router(
        path="/",
        route_handlers=[
            get_users,
            get_users_summary,
            post_user,
            get_user,
            patch_user,
            unlock_user,
            revoke_user_sessions,
            *SECOND_FACTOR_HANDLERS,
        ],
        tags=["staff"],
    ),
    Router(
        path="/",
        route_handlers=[get_api_keys, post_api_key, delete_api_key],
        tags=["api-keys"],
    ),
]
