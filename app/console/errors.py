"""Errors as staff meet them: plain words, the way forward, never a stack trace."""

from typing import Any
from urllib.parse import urlencode

import structlog
from litestar import Request, Response, get
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
)
from litestar.status_codes import HTTP_303_SEE_OTHER
from litestar.types import ExceptionHandlersMap

from app.client import (
    BankingAPIError,
    BankingAPINotFound,
    BankingAPIPermissionError,
    BankingAPIRateLimited,
    BankingAPIUnavailable,
)
from app.console.auth.session import CoreSessionEnded, SessionExpired
from app.console.htmx import VARY, is_htmx, render
from app.console.permissions import ROLE_LABELS, MissingPermission
from app.console.security import request_id, safe_next

logger = structlog.get_logger("branchdesk.console")

UNAVAILABLE = "The banking service is not answering; nothing was charged. Try again."

# Core error codes in words a teller understands (fields get their own messages on forms).
CORE_MESSAGES: dict[str, str] = {
    "INSUFFICIENT_ROLE": "Your role does not allow this.",
    "INSUFFICIENT_SCOPE": "Your sign-in does not allow this.",
    "BRANCH_SCOPE": "This belongs to another branch; ask a manager.",
    "SELF_APPROVAL_FORBIDDEN": "You made this, so someone else must approve it.",
    "TENANT_MISMATCH": "This belongs to another bank.",
    "TENANT_INACTIVE": "This bank's access is suspended. Contact your administrator.",
    "ACCOUNT_LOCKED": (
        "This account is locked after too many failed sign-ins. "
        "Try again in 15 minutes or ask an admin to unlock it."
    ),
    "RATE_LIMIT_EXCEEDED": "Too many requests just now. Wait a minute and try again.",
    "RESOURCE_NOT_FOUND": "We could not find that.",
    "ACCOUNT_NOT_FOUND": "We could not find that account.",
    "CUSTOMER_NOT_FOUND": "We could not find that customer.",
    "JOURNAL_NOT_FOUND": "We could not find that journal.",
    "PERIOD_NOT_FOUND": "We could not find that fiscal period.",
    "ACCOUNT_FROZEN": "This account is frozen; nothing can be paid out of it.",
    "ACCOUNT_NOT_ACTIVE": "This account is not active.",
    "PERIOD_CLOSED": "That date falls in a closed fiscal period.",
    "NO_OPEN_PERIOD": "There is no open fiscal period for that date.",
    "INVALID_STATE": "Someone changed this in the meantime; reload and check.",
    "ALREADY_REVERSED": "This journal has already been reversed.",
    "IDEMPOTENCY_IN_PROGRESS": "This is still being processed; check again in a moment.",
    "IDEMPOTENCY_CONFLICT": "This form was already sent with different details; start again.",
    "INTERNAL_ERROR": "The banking service hit a problem; nothing was changed. Try again.",
}


def core_message(error: BankingAPIError) -> str:
    """Plain words for a core error."""
    if isinstance(error, BankingAPIUnavailable):
        return UNAVAILABLE
    return CORE_MESSAGES.get(error.code, "The banking service refused this request.")


def _login_redirect(request: Request[Any, Any, Any], **flags: str) -> Response[Any]:
    query: dict[str, str] = dict(flags)
    if request.method == "GET":
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        target = safe_next(here, default="")
        if target and target != "/":
            query["next"] = target
    location = "/login" + (f"?{urlencode(query)}" if query else "")
    if is_htmx(request):
        # An XHR would follow a 303 and swap the sign-in page into a fragment.
        return Response("", status_code=200, headers={**VARY, "HX-Redirect": location})
    return Response("", status_code=HTTP_303_SEE_OTHER, headers={**VARY, "Location": location})


def _error_page(
    request: Request[Any, Any, Any],
    status_code: int,
    title: str,
    message: str,
    *,
    detail: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    return render(
        request,
        "errors/error.html",
        {
            "status_code": status_code,
            "title": title,
            "message": message,
            "detail": detail,
            "error_request_id": request_id(request.scope),
        },
        status_code=status_code,
        headers=headers,
    )


def not_authorized(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, SessionExpired):
        return _login_redirect(request, expired="1")
    if isinstance(exc, CoreSessionEnded):
        return _login_redirect(request, ended="1")
    return _login_redirect(request)


def forbidden(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, MissingPermission):
        role = ROLE_LABELS[exc.required_role]
        article = "an" if role[0] in "AEIOU" else "a"
        return _error_page(
            request,
            403,
            "You don't have access to this",
            f"You need the {role} role for this; ask an admin.",
            detail=f"This page needs {article} {role} or higher.",
        )
    if isinstance(exc, PermissionDeniedException) and "CSRF" in str(exc.detail):
        return _error_page(
            request,
            403,
            "This form can't be sent",
            "The form expired or came from another site, so nothing was changed. "
            "Reload the page and try again.",
        )
    return _error_page(request, 403, "You don't have access to this", "Ask an admin for access.")


def not_found(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return _error_page(
        request,
        404,
        "Page not found",
        "There is no page at this address. Check the link, or go back to Home.",
    )


def method_not_allowed(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return _error_page(
        request, 405, "That can't be done here", "This address does not accept that action."
    )


def http_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status >= 500:
        return server_error(request, exc)
    return _error_page(
        request,
        status,
        "Something in the request was wrong",
        "The console could not understand that request. Go back and try again.",
    )


def banking_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    assert isinstance(exc, BankingAPIError)
    logger.warning(
        "console.core_error", code=exc.code, status=exc.status, core_request_id=exc.request_id
    )
    message = core_message(exc)
    if isinstance(exc, BankingAPIUnavailable):
        return _error_page(
            request,
            503,
            "The banking service is not answering",
            message,
            headers={"Retry-After": "5"},
        )
    if isinstance(exc, BankingAPIPermissionError):
        return _error_page(request, 403, "You don't have access to this", message)
    if isinstance(exc, BankingAPINotFound):
        return _error_page(request, 404, "Not found", message)
    if isinstance(exc, BankingAPIRateLimited):
        return _error_page(request, 429, "Slow down a little", message)
    return _error_page(request, 502, "The banking service refused this", message)


def server_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    logger.error(
        "console.unhandled_error",
        error=type(exc).__name__,
        path=request.url.path,
        request_id=request_id(request.scope),
        exc_info=exc,
    )
    try:
        return _error_page(
            request,
            500,
            "Something went wrong",
            "The console hit a problem it did not expect. Nothing was changed. "
            "Try again, and if it keeps happening, tell support the reference below.",
        )
    except Exception:
        # Even the error page failed to render: answer in plain text, still no trace.
        return Response(
            f"Something went wrong. Reference: {request_id(request.scope)}",
            status_code=500,
            media_type="text/plain",
        )


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    NotAuthorizedException: not_authorized,
    PermissionDeniedException: forbidden,
    NotFoundException: not_found,
    MethodNotAllowedException: method_not_allowed,
    BankingAPIError: banking_error,
    HTTPException: http_error,
    Exception: server_error,
}


@get(
    "/{path:path}",
    opt={"public": True},
    name="not_found",
    include_in_schema=False,
    sync_to_thread=False,
)
def unknown_page(path: str) -> None:
    """Anything no page claims: a 404 shown inside the signed-in shell when there is one.

    A route (rather than the router's own 404) lets the session guard run first, so a
    signed-in user keeps their navigation on the error page.
    """
    raise NotFoundException(f"no console page at /{path[:200].lstrip('/')}")
