"""Sign in (``GET``/``POST /login``) and sign out (``POST /logout``)."""

import re
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, Response, Router, get, post
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.status_codes import HTTP_303_SEE_OTHER

from app.client import BankingAPIError, BankingAPIUnavailable
from app.console.actionlog import SIGN_IN, SIGN_IN_FAILED, SIGN_OUT, ActionLog, Actor
from app.console.auth.session import (
    cookie_is_secure,
    csrf_cookie_name,
    current_session,
    end_session,
    start_session,
)
from app.console.htmx import VARY, render
from app.console.security import client_ip, request_id, safe_next
from app.console.state import ConsoleState, console_state

PUBLIC = {"public": True}

_TENANT = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
_EMAIL = re.compile(r"^[^@\s]{1,128}@[^@\s]{1,126}$")

# (HTTP status of the re-rendered form, what the staff member reads)
SIGN_IN_FAILURES: dict[str, tuple[int, str]] = {
    "INVALID_CREDENTIALS": (
        401,
        "That email and password don't match. Check them and try again.",
    ),
    "ACCOUNT_LOCKED": (
        403,
        "This account is locked after too many failed sign-ins. "
        "Try again in 15 minutes or ask an admin to unlock it.",
    ),
    "RATE_LIMIT_EXCEEDED": (
        429,
        "Too many sign-in attempts from this computer. Wait a few minutes, then try again.",
    ),
    "TENANT_NOT_FOUND": (400, "We don't know that tenant. Check the tenant code and try again."),
    "TENANT_INACTIVE": (403, "This bank's access is suspended. Contact your administrator."),
    "VALIDATION_ERROR": (400, "Enter your email address, your password and the tenant code."),
}
UNAVAILABLE_SIGN_IN = "The banking service is not answering. Try again in a moment."
GENERIC_FAILURE = "Sign-in did not work. Try again, or ask an admin."

NOTICES = {
    "expired": "Your session expired. Sign in again to carry on where you left off.",
    "ended": "Your sign-in ended at the banking service. Sign in again to carry on.",
    "signed_out": "You have signed out.",
    "step_expired": "Your sign-in step expired or was already used. Sign in again.",
    "locked": (
        "This account is locked after too many wrong codes. Try again in 15 minutes or ask "
        "an admin to unlock it."
    ),
}


@dataclass
class SignInForm:
    """The sign-in form's fields."""

    email: str = ""
    password: str = ""
    tenant: str = ""
    next: str = ""


def _redirect(location: str, *, cookies: list[Cookie] | None = None) -> Response[Any]:
    return Response(
        "",
        status_code=HTTP_303_SEE_OTHER,
        headers={**VARY, "Location": location},
        cookies=cookies or [],
    )


def fresh_csrf(console: ConsoleState) -> Cookie:
    """Drop the CSRF cookie so the next page mints a new token for the new session."""
    secure = cookie_is_secure(console.settings.server.host, console.settings.server.production)
    return Cookie(
        key=csrf_cookie_name(secure),
        value="",
        max_age=0,
        expires=0,
        path="/",
        secure=secure,
        httponly=True,
        samesite="lax",
    )


_fresh_csrf = fresh_csrf


async def sign_in_form(
    request: Request[Any, Any, Any],
    *,
    email: str = "",
    tenant: str = "",
    next_path: str = "",
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response[Any]:
    """The sign-in page; with "Sign in with <provider>" when the tenant has one."""
    from app.console.auth.sso import provider_for

    console = console_state(request.app)
    tenant = tenant or console.settings.console.banking_tenant_id
    provider = await provider_for(request, tenant) if _TENANT.match(tenant) else None
    next_value = safe_next(next_path, default="")
    sso_query = {"tenant": tenant, **({"next": next_value} if next_value else {})}
    return render(
        request,
        "auth/login.html",
        {
            "email": email,
            "tenant": tenant,
            "next_path": next_value,
            "error": error,
            "notice": notice,
            "sso_name": provider.display_name if provider else None,
            "sso_url": "/login/sso?" + urlencode(sso_query),
        },
        block=None,
        status_code=status_code,
    )


@get("/login", opt=PUBLIC, name="login")
async def sign_in_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """The sign-in form (or straight on, for someone already signed in)."""
    wanted = request.query_params.get("next", "")
    if current_session(request) is not None:
        return _redirect(safe_next(wanted))
    notice = next((text for flag, text in NOTICES.items() if request.query_params.get(flag)), None)
    tenant = (request.query_params.get("tenant") or "").strip()[:64]
    return await sign_in_form(request, tenant=tenant, next_path=wanted, notice=notice)


@post("/login", opt=PUBLIC, name="login_submit")
async def sign_in(
    request: Request[Any, Any, Any],
    data: Annotated[SignInForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Response[Any]:
    """Check the credentials with the core; on success start a fresh session."""
    console = console_state(request.app)
    log = ActionLog(console.database)
    email = data.email.strip()
    tenant = data.tenant.strip() or console.settings.console.banking_tenant_id
    rid = request_id(request.scope)

    async def failed(code: str, status: int, message: str) -> Response[Any]:
        await log.record(
            request,
            action=SIGN_IN_FAILED,
            actor=Actor(email=email or None, tenant=tenant),
            outcome="failure",
            target=f"staff:{email}" if email else None,
            error_code=code,
        )
        return await sign_in_form(
            request,
            email=email,
            tenant=tenant,
            next_path=data.next,
            error=message,
            status_code=status,
        )

    if not email or not data.password or not _TENANT.match(tenant) or not _EMAIL.match(email):
        status, message = SIGN_IN_FAILURES["VALIDATION_ERROR"]
        return await failed("VALIDATION_ERROR", status, message)
    try:
        result = await console.client.login(
            email,
            data.password,
            tenant=tenant,
            request_id=rid,
            forwarded_for=client_ip(request.scope),
        )
    except BankingAPIUnavailable as exc:
        return await failed(exc.code, 503, UNAVAILABLE_SIGN_IN)
    except BankingAPIError as exc:
        if exc.code in {"MFA_REQUIRED", "MFA_ENROLMENT_REQUIRED"}:
            # The password was right; the second factor finishes the sign-in (issue 14).
            # Only the core's challenge is kept, never the password.
            from app.console.auth.mfa import begin_step

            return await begin_step(request, exc, email=email, tenant=tenant, next_path=data.next)
        status, message = SIGN_IN_FAILURES.get(exc.code, (400, GENERIC_FAILURE))
        return await failed(exc.code, status, message)

    signed_in = await start_session(request, result)
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
    return _redirect(safe_next(data.next), cookies=[_fresh_csrf(console)])


@post("/logout", opt=PUBLIC, name="logout")
async def sign_out(request: Request[Any, Any, Any]) -> Response[Any]:
    """End the session here and at the core (its tokens are revoked at once)."""
    console = console_state(request.app)
    signed_in = current_session(request)
    if signed_in is None:
        return _redirect("/login")
    rid = request_id(request.scope)
    # A session that began at the bank's identity provider ends there too (RP-initiated
    # logout): read before the console's session is cleared.
    from app.console.auth.sso import provider_logout_url, provider_session

    session_data = request.scope.get("session")
    provider = provider_session(session_data.get("sso") if isinstance(session_data, dict) else None)
    provider_url = provider_logout_url(request, provider)
    await end_session(request, revoke=True, request_id=rid)
    await ActionLog(console.database).record(
        request,
        action=SIGN_OUT,
        actor=Actor(
            user_id=signed_in.user.id,
            email=signed_in.user.email,
            role=signed_in.user.role,
            tenant=signed_in.tenant.code,
        ),
        outcome="success",
        target=f"staff:{signed_in.user.email}",
    )
    if provider_url is not None:
        # A page, not a redirect: the console's CSP (form-action 'self') stops a form's
        # redirect to another site; the page goes on to the provider by itself.
        page = render(
            request,
            "auth/signed_out.html",
            {
                "provider_url": provider_url,
                "provider_name": (provider.display_name if provider else "")
                or "your bank's sign-in service",
            },
            block=None,
        )
        page.cookies.append(_fresh_csrf(console))
        return page
    return _redirect("/login?" + urlencode({"signed_out": "1"}), cookies=[_fresh_csrf(console)])


def _identity_routes() -> list[Any]:
    from app.console.auth.mfa import mfa_routes
    from app.console.auth.sso import sso_routes

    return [*sso_routes, *mfa_routes]


auth_router = Router(
    path="/", route_handlers=[sign_in_page, sign_in, sign_out, *_identity_routes()]
)
