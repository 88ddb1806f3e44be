"""Single sign-on through the bank's identity provider: the browser's part of OpenID
Connect (authorization code with PKCE, ``state`` and ``nonce``), and RP-initiated logout.

* ``GET /login/sso`` asks the core for the tenant's provider, keeps a fresh ``state``,
  ``nonce`` and PKCE verifier server-side (the session store, ten minutes, single use)
  under a random ID that only this browser holds (an HttpOnly cookie), and sends the
  browser to the provider with Authlib's OAuth 2 client.
* ``GET /login/sso/callback`` takes that record back (once), checks ``state``, and hands
  the core the code with its verifier and the nonce; the core redeems the code with the
  tenant's client secret (which the console never sees), checks the ID token and issues
  the usual session. The console then starts its own session exactly as at a password
  sign-in.
* At sign-out the console ends its session and the core's, then sends the browser to the
  provider's ``end_session_endpoint`` (when it has one) with the spent ID token as hint.
"""

import secrets
import time
import warnings
from typing import Any
from urllib.parse import urlencode

import msgspec
import structlog
from litestar import Request, Response, get
from litestar.datastructures import Cookie
from litestar.status_codes import HTTP_303_SEE_OTHER

from app.client import (
    AuthResult,
    BankingAPIError,
    BankingAPIUnavailable,
    OidcProvider,
    ProviderSession,
    SsoSignIn,
)
from app.console.actionlog import SIGN_IN, SIGN_IN_FAILED, ActionLog, Actor
from app.console.auth.session import cookie_is_secure, current_session, start_session
from app.console.htmx import VARY
from app.console.security import client_ip, request_id, safe_next
from app.console.state import ConsoleState, console_state

with warnings.catch_warnings():
    from authlib.deprecate import AuthlibDeprecationWarning

    # Authlib 1.9 announces a future move of its httpx integration; the client is current.
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

logger = structlog.get_logger("branchdesk.console")

PUBLIC = {"public": True}
FLOW_SECONDS = 600
FLOW_PREFIX = "sso-flow:"
PROVIDER_CACHE_SECONDS = 60.0
CALLBACK_PATH = "/login/sso/callback"
SIGNED_OUT_PATH = "/login?signed_out=1"

# The core's refusals, in the words staff read on the sign-in page.
SSO_FAILURES: dict[str, str] = {
    "UNKNOWN_ISSUER": (
        "That sign-in came from a sign-in service this bank does not use. Start again with "
        "the button below."
    ),
    "INVALID_ID_TOKEN": (
        "The sign-in service's answer could not be checked (it may have expired). Start "
        "again with the button below."
    ),
    "AUTHORIZATION_CODE_REJECTED": (
        "That sign-in was already used or has expired. Start again with the button below."
    ),
    "ACCOUNT_LOCKED": (
        "This account is locked after too many failed sign-ins. Try again in 15 minutes or "
        "ask an admin to unlock it."
    ),
    "IDENTITY_PROVIDER_UNAVAILABLE": (
        "The bank's sign-in service is not answering. Try again in a moment, or sign in with "
        "your email and password."
    ),
    "RESOURCE_NOT_FOUND": "This bank has no single sign-on; sign in with your email and password.",
    "TENANT_NOT_FOUND": "We don't know that tenant. Check the tenant code and try again.",
    "TENANT_INACTIVE": "This bank's access is suspended. Contact your administrator.",
    "RATE_LIMIT_EXCEEDED": (
        "Too many sign-in attempts from this computer. Wait a few minutes, then try again."
    ),
}
FLOW_LOST = (
    "This sign-in could not be matched to one started here (it expired, was already used, "
    "or was started in another window). Start again with the button below."
)
STATE_MISMATCH = (
    "This sign-in's answer does not match the one this browser asked for, so it was refused. "
    "Start again with the button below."
)

_providers: dict[str, tuple[float, OidcProvider | None]] = {}


class SsoFlow(msgspec.Struct, kw_only=True, frozen=True):
    """A started sign-in, kept server-side (single use) until the provider sends the browser
    back: what to check its answer against and where to go after."""

    tenant: str
    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str
    next: str
    issuer: str


_FLOW = msgspec.json.Decoder(SsoFlow)


def _flow_of(raw: bytes | None) -> SsoFlow | None:
    if not raw:
        return None
    try:
        return _FLOW.decode(raw)
    except msgspec.ValidationError:  # a record of an older console: start again
        return None


def flow_cookie_name(secure: bool) -> str:
    return "__Host-bd_sso" if secure else "bd_sso"


def _cookie(console: ConsoleState, value: str, max_age: int) -> Cookie:
    secure = cookie_is_secure(console.settings.server.host, console.settings.server.production)
    return Cookie(
        key=flow_cookie_name(secure),
        value=value,
        max_age=max_age,
        expires=max_age if max_age else 0,
        path="/",
        secure=secure,
        httponly=True,
        # Lax: the provider's redirect back is a top-level GET from another site.
        samesite="lax",
    )


async def provider_for(
    request: Request[Any, Any, Any], tenant: str, *, fresh: bool = False
) -> OidcProvider | None:
    """The tenant's identity provider as the core describes it, or ``None`` (kept a minute
    per process: the sign-in page asks on every visit)."""
    console = console_state(request.app)
    key = f"{console.settings.console.banking_api_url}|{tenant}"
    kept = _providers.get(key)
    if not fresh and kept is not None and time.monotonic() - kept[0] < PROVIDER_CACHE_SECONDS:
        return kept[1]
    try:
        found: OidcProvider | None = await console.client.get(
            "/auth/oidc/provider",
            model=OidcProvider,
            tenant=tenant,
            request_id=request_id(request.scope),
            forwarded_for=client_ip(request.scope),
        )
    except BankingAPIUnavailable as exc:
        # The provider (or the core) is down: no button rather than a broken one, and the
        # sign-in page does not wait on it again for the next minute either.
        logger.warning("console.sso_provider_unavailable", tenant=tenant, code=exc.code)
        _providers[key] = (time.monotonic(), None)
        return None
    except BankingAPIError:
        found = None
    _providers[key] = (time.monotonic(), found)
    return found


def forget_provider(request: Request[Any, Any, Any], tenant: str) -> None:
    """Drop this process's copy of the tenant's provider (an admin changed it)."""
    console = console_state(request.app)
    _providers.pop(f"{console.settings.console.banking_api_url}|{tenant}", None)


def redirect_uri(request: Request[Any, Any, Any]) -> str:
    """Where the provider sends the browser back: ``CONSOLE_PUBLIC_URL`` when the console
    is behind a proxy that changes its address, else this request's own origin."""
    public = console_state(request.app).settings.console.public_url
    base = public.rstrip("/") if public else str(request.base_url).rstrip("/")
    return base + CALLBACK_PATH


def post_logout_uri(request: Request[Any, Any, Any]) -> str:
    public = console_state(request.app).settings.console.public_url
    base = public.rstrip("/") if public else str(request.base_url).rstrip("/")
    return base + SIGNED_OUT_PATH


def _see_other(location: str, cookies: list[Cookie] | None = None) -> Response[Any]:
    return Response(
        "",
        status_code=HTTP_303_SEE_OTHER,
        headers={**VARY, "Location": location},
        cookies=cookies or [],
    )


@get("/login/sso", opt=PUBLIC, name="login_sso")
async def start_sso(request: Request[Any, Any, Any]) -> Response[Any]:
    """Send the browser to the tenant's identity provider."""
    from app.console.auth.routes import sign_in_form

    wanted = request.query_params.get("next", "")
    if current_session(request) is not None:
        return _see_other(safe_next(wanted))
    console = console_state(request.app)
    tenant = (request.query_params.get("tenant") or "").strip()
    tenant = tenant or console.settings.console.banking_tenant_id
    provider = await provider_for(request, tenant, fresh=True)
    if provider is None:
        return await sign_in_form(
            request,
            tenant=tenant,
            next_path=wanted,
            error=SSO_FAILURES["RESOURCE_NOT_FOUND"],
            status_code=400,
        )
    flow_id = secrets.token_urlsafe(32)
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)[:96]
    callback = redirect_uri(request)
    await console.session_store.set(
        FLOW_PREFIX + flow_id,
        msgspec.json.encode(
            SsoFlow(
                tenant=tenant,
                state=state,
                nonce=nonce,
                code_verifier=verifier,
                redirect_uri=callback,
                next=safe_next(wanted),
                issuer=provider.issuer,
            )
        ),
        expires_in=FLOW_SECONDS,
    )
    client = AsyncOAuth2Client(
        client_id=provider.client_id,
        scope=provider.scopes or "openid email profile",
        redirect_uri=callback,
        code_challenge_method="S256",
    )
    url, _state = client.create_authorization_url(
        provider.authorization_endpoint, state=state, code_verifier=verifier, nonce=nonce
    )
    return _see_other(url, cookies=[_cookie(console, flow_id, FLOW_SECONDS)])


@get(CALLBACK_PATH, opt=PUBLIC, name="login_sso_callback")
async def finish_sso(request: Request[Any, Any, Any]) -> Response[Any]:
    """The provider's answer: checked here (state), then by the core (everything else)."""
    from app.console.auth.routes import fresh_csrf, sign_in_form

    console = console_state(request.app)
    secure = cookie_is_secure(console.settings.server.host, console.settings.server.production)
    flow_id = request.cookies.get(flow_cookie_name(secure), "")
    flow: SsoFlow | None = None
    if flow_id:
        raw = await console.session_store.get(FLOW_PREFIX + flow_id)
        # Single use: whatever happens next, this record is spent.
        await console.session_store.delete(FLOW_PREFIX + flow_id)
        flow = _flow_of(raw)
    forget = _cookie(console, "", 0)
    tenant = flow.tenant if flow else console.settings.console.banking_tenant_id
    log = ActionLog(console.database)

    async def refused(code: str, message: str, status: int = 400) -> Response[Any]:
        await log.record(
            request,
            action=SIGN_IN_FAILED,
            actor=Actor(tenant=tenant),
            outcome="failure",
            target="sso",
            error_code=code,
        )
        page = await sign_in_form(
            request,
            tenant=tenant,
            next_path=flow.next if flow else "",
            error=message,
            status_code=status,
        )
        page.cookies.append(forget)
        return page

    params = request.query_params
    if flow is None:
        return await refused("SSO_FLOW_UNKNOWN", FLOW_LOST)
    if not secrets.compare_digest(str(params.get("state", "")), flow.state):
        return await refused("SSO_STATE_MISMATCH", STATE_MISMATCH)
    if params.get("error"):
        # The provider said no (the person cancelled, or has no access to this app).
        described = str(params.get("error_description") or params.get("error"))[:200]
        return await refused(
            "SSO_PROVIDER_REFUSED",
            f"The bank's sign-in service did not sign you in ({described}). Start again, or "
            "ask IT.",
        )
    code = str(params.get("code") or "")
    if not code:
        return await refused("SSO_NO_CODE", FLOW_LOST)
    # The token request's JSON body (the client has models of answers only).
    body: dict[str, str] = {
        "code": code[:2048],
        "code_verifier": flow.code_verifier,
        "redirect_uri": flow.redirect_uri,
        "nonce": flow.nonce,
    }
    if params.get("iss"):
        body["iss"] = str(params.get("iss"))[:500]
    try:
        answer = await console.client.post(
            "/auth/oidc/token",
            json=body,
            tenant=tenant,
            request_id=request_id(request.scope),
            forwarded_for=client_ip(request.scope),
        )
    except BankingAPIUnavailable as exc:
        return await refused(exc.code, SSO_FAILURES["IDENTITY_PROVIDER_UNAVAILABLE"], 503)
    except BankingAPIError as exc:
        message = SSO_FAILURES.get(exc.code) or exc.message or FLOW_LOST
        return await refused(exc.code, message, 403 if exc.status == 403 else 400)
    result = AuthResult.model_validate(answer)
    signed_in = await start_session(request, result)
    provider = msgspec.convert(answer, SsoSignIn).identity_provider
    if provider is not None and provider.end_session_endpoint:
        # For the sign-out: where the provider ends its own session, and the hint it needs.
        request.session["sso"] = msgspec.to_builtins(provider)
    await log.record(
        request,
        action=SIGN_IN,
        actor=Actor(
            user_id=signed_in.user.id,
            email=signed_in.user.email,
            role=signed_in.user.role,
            tenant=signed_in.tenant.code,
        ),
        outcome="success",
        target=f"staff:{signed_in.user.email}",
    )
    return _see_other(flow.next or "/", cookies=[forget, fresh_csrf(console)])


def provider_session(kept: Any) -> ProviderSession | None:
    """The provider's session kept in the console's session at a single sign-on, or
    ``None`` (a password sign-in, or a session of an older console)."""
    try:
        return msgspec.convert(kept, ProviderSession)
    except msgspec.ValidationError:
        return None


def provider_logout_url(
    request: Request[Any, Any, Any], provider: ProviderSession | None
) -> str | None:
    """The provider's sign-out address for a session that began there (RP-initiated
    logout), or ``None``."""
    if provider is None or not provider.end_session_endpoint:
        return None
    query = {"post_logout_redirect_uri": post_logout_uri(request)}
    if provider.id_token_hint:
        query["id_token_hint"] = provider.id_token_hint
    endpoint = provider.end_session_endpoint
    return endpoint + ("&" if "?" in endpoint else "?") + urlencode(query)


sso_routes: list[Any] = [start_sso, finish_sso]
