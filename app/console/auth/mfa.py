"""The second factor at the console's sign-in: the code page, enrolment with a QR code,
and the recovery codes shown once.

When the core answers a right password with ``MFA_REQUIRED`` (or
``MFA_ENROLMENT_REQUIRED``), the console keeps only the core's short-lived challenge,
server-side (the session store) under a random ID that only this browser holds (an
HttpOnly cookie). The password is never kept: the challenge carries the sign-in on. During
an enrolment the new seed is kept beside it, so a reload shows the same QR code; both go
when the sign-in finishes or the challenge expires.

The QR code is drawn as inline SVG by segno (the console's CSP forbids inline script, not
inline SVG), with the seed also written out for typing into an app by hand.
"""

import secrets
from typing import Any

import msgspec
import segno
from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.status_codes import HTTP_303_SEE_OTHER
from markupsafe import Markup

from app.client import (
    AuthResult,
    BankingAPIError,
    BankingAPIUnavailable,
    EnrolledSignIn,
    MfaEnrolment,
)
from app.console.actionlog import SIGN_IN, SIGN_IN_FAILED, ActionLog, Actor
from app.console.auth.session import SignedIn, cookie_is_secure, current_session, start_session
from app.console.htmx import VARY, render
from app.console.security import client_ip, request_id, safe_next
from app.console.state import ConsoleState, console_state

PUBLIC = {"public": True}
STEP_PREFIX = "mfa-step:"
UNAVAILABLE = "The banking service is not answering. Try again in a moment."
STEP_LOST = "Your sign-in step expired or was already used. Sign in again."

CODE_FAILURES: dict[str, str] = {
    "INVALID_MFA_CODE": "That code is not right. Check your authenticator app and try again.",
    "MFA_CODE_REUSED": (
        "That code was already used. Wait for the next code in your app (a new one every "
        "30 seconds) and enter it."
    ),
}
RECOVERY_FAILURE = "That recovery code is not right, or was already used. Check it and try again."


class MfaStep(msgspec.Struct, kw_only=True, frozen=True):
    """A sign-in waiting for its second factor, kept server-side under the step's ID: the
    core's challenge, whose sign-in it is, and (during an enrolment) the seed shown."""

    challenge: str
    tenant: str
    email: str
    next: str
    enrol: bool
    secret: str | None = None
    otpauth_uri: str | None = None


class _Challenge(msgspec.Struct, kw_only=True, frozen=True):
    challenge: str = ""
    expires_in: int = 300


class _ChallengeRefusal(msgspec.Struct, kw_only=True, frozen=True):
    """The body of the core's ``MFA_REQUIRED`` (or ``MFA_ENROLMENT_REQUIRED``) refusal."""

    mfa: _Challenge = msgspec.field(default_factory=_Challenge)


_STEP = msgspec.json.Decoder(MfaStep)


def step_cookie_name(secure: bool) -> str:
    return "__Host-bd_mfa" if secure else "bd_mfa"


def _secure(console: ConsoleState) -> bool:
    return cookie_is_secure(console.settings.server.host, console.settings.server.production)


def _cookie(console: ConsoleState, value: str, max_age: int) -> Cookie:
    return Cookie(
        key=step_cookie_name(_secure(console)),
        value=value,
        max_age=max_age,
        expires=max_age if max_age else 0,
        path="/",
        secure=_secure(console),
        httponly=True,
        samesite="lax",
    )


def _see_other(location: str, cookies: list[Cookie] | None = None) -> Response[Any]:
    return Response(
        "",
        status_code=HTTP_303_SEE_OTHER,
        headers={**VARY, "Location": location},
        cookies=cookies or [],
    )


async def begin_step(
    request: Request[Any, Any, Any],
    error: BankingAPIError,
    *,
    email: str,
    tenant: str,
    next_path: str,
) -> Response[Any]:
    """After a right password: keep the core's challenge and go to the code (or enrolment)
    page."""
    console = console_state(request.app)
    try:
        mfa = msgspec.convert(error.body or {}, _ChallengeRefusal).mfa
    except msgspec.ValidationError:
        mfa = _Challenge()
    step_id = secrets.token_urlsafe(32)
    enrol = error.code == "MFA_ENROLMENT_REQUIRED"
    step = MfaStep(
        challenge=mfa.challenge,
        tenant=tenant,
        email=email,
        next=safe_next(next_path),
        enrol=enrol,
    )
    await console.session_store.set(
        STEP_PREFIX + step_id, msgspec.json.encode(step), expires_in=mfa.expires_in or 300
    )
    target = "/login/mfa/enrol" if enrol else "/login/mfa"
    return _see_other(target, cookies=[_cookie(console, step_id, mfa.expires_in or 300)])


async def _step(request: Request[Any, Any, Any]) -> tuple[str, MfaStep] | None:
    console = console_state(request.app)
    step_id = request.cookies.get(step_cookie_name(_secure(console)), "")
    if not step_id:
        return None
    raw = await console.session_store.get(STEP_PREFIX + step_id)
    if raw is None:
        return None
    try:
        return step_id, _STEP.decode(raw)
    except msgspec.DecodeError:  # a step of an older console: sign in again
        return None


async def _save(request: Request[Any, Any, Any], step_id: str, step: MfaStep) -> None:
    console = console_state(request.app)
    await console.session_store.set(
        STEP_PREFIX + step_id, msgspec.json.encode(step), expires_in=300
    )


async def _forget(request: Request[Any, Any, Any], step_id: str) -> Cookie:
    console = console_state(request.app)
    await console.session_store.delete(STEP_PREFIX + step_id)
    return _cookie(console, "", 0)


def _lost(request: Request[Any, Any, Any]) -> Response[Any]:
    if current_session(request) is not None:
        return _see_other("/")
    return _see_other("/login?step_expired=1", cookies=[_cookie(console_state(request.app), "", 0)])


def qr_svg(uri: str) -> Markup:
    """The ``otpauth://`` URI as an inline SVG QR code (segno; no script, no image file)."""
    qr = segno.make(uri, error="m")
    svg = qr.svg_inline(scale=5, border=2, dark="#111827", light="#ffffff", title="QR code")
    return Markup(svg)  # noqa: S704  (drawn by segno from our own URI, never user markup)


def grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


async def _signed_in(
    request: Request[Any, Any, Any], step_id: str, step: MfaStep, answer: Any
) -> tuple[SignedIn, Cookie]:
    result = AuthResult.model_validate(answer)
    signed_in = await start_session(request, result)
    await ActionLog(console_state(request.app).database).record(
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
    return signed_in, await _forget(request, step_id)


async def _failed(request: Request[Any, Any, Any], step: MfaStep, code: str) -> None:
    await ActionLog(console_state(request.app).database).record(
        request,
        action=SIGN_IN_FAILED,
        actor=Actor(email=step.email or None, tenant=step.tenant),
        outcome="failure",
        target=f"staff:{step.email}",
        error_code=code,
    )


def _code_page(
    request: Request[Any, Any, Any],
    step: MfaStep,
    *,
    recovery: bool,
    error: str | None = None,
    status_code: int = 200,
) -> Response[Any]:
    return render(
        request,
        "auth/mfa.html",
        {"email": step.email, "recovery": recovery, "error": error},
        block=None,
        status_code=status_code,
    )


@get("/login/mfa", opt=PUBLIC, name="login_mfa")
async def code_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """Ask for the authenticator's code (or a recovery code)."""
    found = await _step(request)
    if found is None or found[1].enrol:
        return _lost(request)
    recovery = request.query_params.get("recovery") == "1"
    return _code_page(request, found[1], recovery=recovery)


@post("/login/mfa", opt=PUBLIC, name="login_mfa_submit")
async def check_code(request: Request[Any, Any, Any]) -> Response[Any]:
    """Send the code to the core; on success start the session."""
    from app.console.auth.routes import fresh_csrf

    found = await _step(request)
    if found is None or found[1].enrol:
        return _lost(request)
    step_id, step = found
    form = await request.form()
    code = "".join(str(form.get("code") or "").split())[:20]
    recovery_code = str(form.get("recovery_code") or "").strip()[:40]
    recovery = bool(recovery_code) or form.get("recovery") == "1"
    if not code and not recovery_code:
        message = "Enter your recovery code." if recovery else "Enter the 6-digit code."
        return _code_page(request, step, recovery=recovery, error=message, status_code=400)
    # The check's JSON body (the client has models of answers only).
    body = {
        "challenge": step.challenge,
        "recovery_code" if recovery_code else "code": recovery_code or code,
    }
    console = console_state(request.app)
    try:
        answer = await console.client.post(
            "/auth/mfa/verify",
            json=body,
            tenant=step.tenant,
            request_id=request_id(request.scope),
            forwarded_for=client_ip(request.scope),
        )
    except BankingAPIUnavailable as exc:
        await _failed(request, step, exc.code)
        return _code_page(request, step, recovery=recovery, error=UNAVAILABLE, status_code=503)
    except BankingAPIError as exc:
        await _failed(request, step, exc.code)
        if exc.code in CODE_FAILURES:
            message = RECOVERY_FAILURE if recovery_code else CODE_FAILURES[exc.code]
            return _code_page(request, step, recovery=recovery, error=message, status_code=401)
        forget = await _forget(request, step_id)
        flag = "locked" if exc.code == "ACCOUNT_LOCKED" else "step_expired"
        return _see_other(f"/login?{flag}=1", cookies=[forget])
    _signed, forget = await _signed_in(request, step_id, step, answer)
    return _see_other(step.next or "/", cookies=[forget, fresh_csrf(console)])


async def _enrolment(
    request: Request[Any, Any, Any], step_id: str, step: MfaStep
) -> MfaStep | BankingAPIError:
    """The seed to show: asked of the core once per challenge, then kept with the step."""
    if step.secret and step.otpauth_uri:
        return step
    console = console_state(request.app)
    try:
        started = await console.client.post(
            "/auth/mfa/enrol",
            model=MfaEnrolment,
            json={"challenge": step.challenge},
            tenant=step.tenant,
            request_id=request_id(request.scope),
            forwarded_for=client_ip(request.scope),
        )
    except BankingAPIError as exc:
        return exc
    step = msgspec.structs.replace(step, secret=started.secret, otpauth_uri=started.otpauth_uri)
    await _save(request, step_id, step)
    return step


def _enrol_page(
    request: Request[Any, Any, Any],
    step: MfaStep,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response[Any]:
    return render(
        request,
        "auth/mfa_enrol.html",
        {
            "email": step.email,
            "qr": qr_svg(step.otpauth_uri or ""),
            "secret": grouped(step.secret or ""),
            "error": error,
        },
        block=None,
        status_code=status_code,
    )


@get("/login/mfa/enrol", opt=PUBLIC, name="login_mfa_enrol")
async def enrol_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """Add an authenticator app: the QR code, the key written out, and the first code."""
    found = await _step(request)
    if found is None or not found[1].enrol:
        return _lost(request)
    step_id, step = found
    enrolment = await _enrolment(request, step_id, step)
    if isinstance(enrolment, BankingAPIError):
        forget = await _forget(request, step_id)
        return _see_other("/login?step_expired=1", cookies=[forget])
    return _enrol_page(request, enrolment)


@post("/login/mfa/enrol", opt=PUBLIC, name="login_mfa_enrol_submit")
async def confirm_enrolment(request: Request[Any, Any, Any]) -> Response[Any]:
    """The app's first code turns the factor on; the recovery codes are shown this once."""
    found = await _step(request)
    if found is None or not found[1].enrol or not found[1].secret:
        return _lost(request)
    step_id, step = found
    form = await request.form()
    code = "".join(str(form.get("code") or "").split())[:20]
    if not code:
        return _enrol_page(
            request, step, error="Enter the 6-digit code your app shows.", status_code=400
        )
    console = console_state(request.app)
    try:
        answer = await console.client.post(
            "/auth/mfa/enrol/confirm",
            json={"challenge": step.challenge, "code": code},
            tenant=step.tenant,
            request_id=request_id(request.scope),
            forwarded_for=client_ip(request.scope),
        )
    except BankingAPIUnavailable as exc:
        await _failed(request, step, exc.code)
        return _enrol_page(request, step, error=UNAVAILABLE, status_code=503)
    except BankingAPIError as exc:
        await _failed(request, step, exc.code)
        if exc.code in CODE_FAILURES:
            return _enrol_page(request, step, error=CODE_FAILURES[exc.code], status_code=401)
        forget = await _forget(request, step_id)
        flag = "locked" if exc.code == "ACCOUNT_LOCKED" else "step_expired"
        return _see_other(f"/login?{flag}=1", cookies=[forget])
    from app.console.auth.routes import fresh_csrf

    _signed, forget = await _signed_in(request, step_id, step, answer)
    codes = msgspec.convert(answer, EnrolledSignIn).recovery_codes
    # Shown in this answer only: never stored by the console, never shown again.
    page = render(
        request,
        "auth/recovery_codes.html",
        {"codes": codes, "next_path": step.next or "/"},
        block=None,
    )
    page.cookies.extend([forget, fresh_csrf(console)])
    return page


mfa_routes: list[Any] = [code_page, check_code, enrol_page, confirm_enrolment]
