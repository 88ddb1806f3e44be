"""Litestar exception handlers: every error leaves in the contract's shape."""

from typing import Any

import asyncpg
import msgspec
import sqlalchemy as sa
import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
    SerializationException,
    ValidationException,
)

from app.core.context import SCOPE_KEY, RequestContext
from app.core.contract.bodies import BodyRefused, refusal
from app.core.detail_codes import DetailCode, detail, from_msgspec
from app.core.errors import ApiError, error_body, field_problem
from app.core.validation import every_problem
from app.db import is_connection_lost, is_retryable_conflict

log = structlog.get_logger("branchdesk.core.errors")


def _request_id(request: Request[Any, Any, Any]) -> str | None:
    ctx: RequestContext | None = request.scope.get(SCOPE_KEY)  # type: ignore[call-overload,assignment]
    return ctx.request_id if ctx is not None else None


def _respond(request: Request[Any, Any, Any], error: ApiError) -> Response[Any]:
    return Response(
        content=error_body(
            error.code, error.message, _request_id(request), error.details, error.extra
        ),
        status_code=error.status,
        media_type=MediaType.JSON,
        headers=error.headers,
    )


def handle_api_error(request: Request[Any, Any, Any], exc: ApiError) -> Response[Any]:
    return _respond(request, exc)


def handle_body_refused(request: Request[Any, Any, Any], exc: BodyRefused) -> Response[Any]:
    """A body's own rule refused it as it was decoded. A nested body's rule names its member
    from inside (``currency_code``); going through the body again names it from the top
    (``entries.1.currency_code``), beside every other problem."""
    details = _every_problem(request)
    return _respond(request, refusal(details) if details else exc)


def handle_validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    detail_text = str(exc.detail or "")
    lowered = detail_text.lower()
    if "malformed" in lowered or ("json" in lowered and not exc.extra):
        return _respond(
            request,
            ApiError(
                "INVALID_FORMAT",
                "The request body is not valid JSON.",
                [detail("body", DetailCode.MALFORMED_JSON, "malformed JSON")],
            ),
        )
    details: list[dict[str, Any]] = _every_problem(request) or []
    for item in exc.extra if isinstance(exc.extra, list) and not details else []:
        if not isinstance(item, dict):
            continue
        field = str(item.get("key") or item.get("source") or "body")
        reason = str(item.get("message") or "invalid")
        if field == "data":
            problem = field_problem(reason)  # a msgspec body names the field in its message
            no_body = "got `null`" in reason or not reason.startswith(("Expected", "Object"))
            if problem["field"] == "body" and no_body:
                problem = detail("body", DetailCode.REQUIRED, "required")  # no body where due
        else:  # a query or path parameter
            problem = detail(field, from_msgspec(reason), reason)
        details.append(problem)
    if not details:
        details = [detail("body", DetailCode.INVALID, detail_text or "invalid")]
    return _respond(request, refusal(details))


def _every_problem(request: Request[Any, Any, Any]) -> list[dict[str, Any]] | None:
    """For a msgspec body: every bad field (msgspec stops at the first)."""
    ctx: RequestContext | None = request.scope.get(SCOPE_KEY)  # type: ignore[call-overload,assignment]
    body = ctx.notes.get("request_body") if ctx is not None else None
    data = request.route_handler.parsed_fn_signature.parameters.get("data")
    struct = data.annotation if data is not None else None
    if not body or not (isinstance(struct, type) and issubclass(struct, msgspec.Struct)):
        return None
    return every_problem(struct, body)


def handle_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if isinstance(exc, NotFoundException):
        error = ApiError("RESOURCE_NOT_FOUND", "No such resource.")
    elif isinstance(exc, MethodNotAllowedException):
        error = ApiError(
            "METHOD_NOT_ALLOWED",
            f"{request.method} is not allowed here.",
            headers={k: v for k, v in (exc.headers or {}).items()},
        )
    elif exc.status_code == 415:
        error = ApiError("UNSUPPORTED_MEDIA_TYPE", "Send request bodies as application/json.")
    elif exc.status_code == 413:
        error = ApiError("PAYLOAD_TOO_LARGE", "Request bodies are limited to 1 MiB.")
    elif exc.status_code == 401:
        error = ApiError("UNAUTHORIZED", "Sign in.")
    elif exc.status_code == 403:
        error = ApiError("FORBIDDEN", "Not allowed.")
    elif exc.status_code == 400 and isinstance(exc.__cause__, SerializationException):
        error = ApiError(
            "INVALID_FORMAT",
            f"The request body is not valid JSON ({exc.detail}).",
            [detail("body", DetailCode.MALFORMED_JSON, "malformed JSON")],
        )
    elif exc.status_code == 400:
        error = ApiError("VALIDATION_ERROR", str(exc.detail or "Bad request."))
    elif exc.status_code == 503:
        error = ApiError("SERVICE_UNAVAILABLE", "Try again shortly.", headers={"Retry-After": "2"})
    else:
        log.error("http.unexpected_status", status=exc.status_code, detail=exc.detail)
        error = ApiError("INTERNAL_ERROR", "Something went wrong on our side.")
    return _respond(request, error)


def _note(request: Request[Any, Any, Any], name: str) -> None:
    ctx: RequestContext | None = request.scope.get(SCOPE_KEY)  # type: ignore[call-overload,assignment]
    if ctx is not None:
        ctx.notes[name] = True


def handle_database(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Database trouble, from SQLAlchemy or from a raw asyncpg connection (``app.pg``)."""
    if is_retryable_conflict(exc):
        # The unit of work reruns the request from scratch; this answer is only the fallback.
        _note(request, "retryable_conflict")
        return _respond(
            request,
            ApiError(
                "SERVICE_UNAVAILABLE",
                "The ledger was busy; try again.",
                headers={"Retry-After": "1"},
            ),
        )
    if is_connection_lost(exc):
        # The unit of work runs the request once more on a fresh connection; this answer
        # goes out only when that fails too.
        _note(request, "connection_lost")
        log.warning("database.connection_lost", error=str(exc))
        return _respond(
            request,
            ApiError(
                "SERVICE_UNAVAILABLE",
                "The database is unreachable; try again shortly.",
                headers={"Retry-After": "2"},
            ),
        )
    return handle_unexpected(request, exc)


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("request.failed", error_type=type(exc).__name__)
    return _respond(
        request,
        ApiError("INTERNAL_ERROR", "Something went wrong on our side; nothing was changed."),
    )


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    ApiError: handle_api_error,
    BodyRefused: handle_body_refused,
    ValidationException: handle_validation,
    HTTPException: handle_http,
    sa.exc.DBAPIError: handle_database,
    asyncpg.PostgresError: handle_database,
    asyncpg.InterfaceError: handle_database,
    # What an idle connection whose backend was terminated raises on its next statement
    # ("another operation is in progress"): a lost connection like the others, so the
    # request reruns on a fresh one instead of answering 500 (fault suite, issue 13).
    asyncpg.exceptions._base.InternalClientError: handle_database,
    ConnectionError: handle_database,
    Exception: handle_unexpected,
}
