"""/auth: login, API-key token, refresh, logout, me."""

from litestar import Router, get, post
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.auth.identity_routes import IDENTITY_HANDLERS
from app.core.auth.responses import Caller, TokenPair
from app.core.auth.schemas import ApiKeyTokenRequest, LoginRequest, RefreshRequest
from app.core.auth.service import AuthService, tenant_ref_body
from app.core.context import Principal, RequestContext, TenantRef
from app.core.permissions import requires
from app.core.services import CoreServices


@post("/login", status_code=HTTP_200_OK, summary="Staff sign-in")
async def login(
    data: LoginRequest,
    ctx: RequestContext,
    session: AsyncSession,
    services: CoreServices,
    tenant: TenantRef,
) -> TokenPair:
    return await AuthService(services, session, ctx).login(tenant, data.email, data.password)


@post("/token", status_code=HTTP_200_OK, summary="Exchange an API key for tokens")
async def api_key_token(
    data: ApiKeyTokenRequest,
    ctx: RequestContext,
    session: AsyncSession,
    services: CoreServices,
    tenant: TenantRef,
) -> TokenPair:
    return await AuthService(services, session, ctx).api_key_token(tenant, data.api_key)


@post("/refresh", status_code=HTTP_200_OK, summary="Rotate the refresh token")
async def refresh(
    data: RefreshRequest,
    ctx: RequestContext,
    session: AsyncSession,
    services: CoreServices,
    tenant: TenantRef,
) -> TokenPair:
    return await AuthService(services, session, ctx).refresh(tenant, data.refresh_token)


@post("/logout", status_code=HTTP_204_NO_CONTENT, opt=requires(), summary="Revoke this session")
async def logout(ctx: RequestContext, session: AsyncSession, services: CoreServices) -> None:
    await AuthService(services, session, ctx).logout()


@get("/me", opt=requires(), summary="The caller")
async def me(principal: Principal, tenant: TenantRef) -> Caller:
    return Caller(
        id=str(principal.user_id),
        email=principal.email,
        name=principal.name,
        roles=list(principal.roles),
        scopes=sorted(principal.scopes),
        branch_id=principal.branch_code,
        session_id=str(principal.session_id),
        kind=principal.kind,
        tenant=tenant_ref_body(tenant),
    )


auth_router = Router(
    path="/auth",
    route_handlers=[login, api_key_token, refresh, logout, me, *IDENTITY_HANDLERS],
    tags=["auth"],
)
