"""/auth/oidc (single sign-on) and /auth/mfa (the second factor's sign-in steps).

None of these take an access token: they are the steps that lead to one. The single
sign-on and code routes are sign-in routes for the rate limiter (failures count per
address) and take the writer only around their writes.
"""

from litestar import get, post
from litestar.status_codes import HTTP_200_OK
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.auth.identity_schemas import (
    MfaEnrolConfirmRequest,
    MfaEnrolRequest,
    MfaVerifyRequest,
    OidcTokenRequest,
)
from app.core.auth.mfa_sign_in import MfaSignIn
from app.core.auth.responses import (
    EnrolledSession,
    MfaEnrolment,
    OidcProvider,
    SsoSession,
    VerifiedSession,
)
from app.core.auth.sso import SingleSignOn
from app.core.context import RequestContext, TenantRef
from app.core.idempotency.shown_once import shown_once
from app.core.services import CoreServices


@get("/oidc/provider", summary="The tenant's identity provider, to start single sign-on")
async def oidc_provider(
    ctx: RequestContext, session: AsyncSession, services: CoreServices, tenant: TenantRef
) -> OidcProvider:
    return await SingleSignOn(services, session, ctx).provider_config(tenant)


@post(
    "/oidc/token",
    status_code=HTTP_200_OK,
    summary="Exchange the provider's answer (a code, or an ID token) for a session",
)
async def oidc_token(
    data: OidcTokenRequest,
    ctx: RequestContext,
    session: AsyncSession,
    services: CoreServices,
    tenant: TenantRef,
) -> SsoSession:
    result = await SingleSignOn(services, session, ctx).sign_in(
        tenant,
        nonce=data.nonce,
        id_token=data.id_token,
        code=data.code,
        code_verifier=data.code_verifier,
        redirect_uri=data.redirect_uri,
        issuer=data.iss,
    )
    shown_once(ctx, "access_token", "refresh_token", "identity_provider")
    return result


@post("/mfa/verify", status_code=HTTP_200_OK, summary="Finish a sign-in with its second factor")
async def mfa_verify(
    data: MfaVerifyRequest,
    ctx: RequestContext,
    session: AsyncSession,
    services: CoreServices,
    tenant: TenantRef,
) -> VerifiedSession:
    return await MfaSignIn(services, session, ctx).verify(
        tenant, data.challenge, data.code, data.recovery_code
    )


@post("/mfa/enrol", status_code=HTTP_200_OK, summary="Start adding an authenticator app")
async def mfa_enrol(
    data: MfaEnrolRequest,
    ctx: RequestContext,
    session: AsyncSession,
    services: CoreServices,
    tenant: TenantRef,
) -> MfaEnrolment:
    return await MfaSignIn(services, session, ctx).start_enrolment(tenant, data.challenge)


@post(
    "/mfa/enrol/confirm",
    status_code=HTTP_200_OK,
    summary="Confirm the authenticator with its first code; finish the sign-in",
)
async def mfa_enrol_confirm(
    data: MfaEnrolConfirmRequest,
    ctx: RequestContext,
    session: AsyncSession,
    services: CoreServices,
    tenant: TenantRef,
) -> EnrolledSession:
    return await MfaSignIn(services, session, ctx).confirm_enrolment(
        tenant, data.challenge, data.code
    )


IDENTITY_HANDLERS = [oidc_provider, oidc_token, mfa_verify, mfa_enrol, mfa_enrol_confirm]
