"""What route handlers share: dependencies, guards, cursors and response helpers."""

import base64
import binascii
import json
from typing import Annotated, Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.handlers.base import BaseRouteHandler
from litestar.params import Parameter
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.context import Principal, RequestContext, TenantRef, get_context
from app.core.detail_codes import DetailCode, detail
from app.core.errors import ApiError
from app.core.services import CoreServices
from app.core.unit import UnitOfWork

DEFAULT_PAGE = 50
MAX_PAGE = 200

# The page size of every list, as the document states it (``page_limit`` enforces it,
# with the contract's error).
PageLimit = Annotated[
    int | None,
    Parameter(
        description=f"Items per page, 1-{MAX_PAGE} (default {DEFAULT_PAGE})",
        schema_extra={"minimum": 1, "maximum": MAX_PAGE},
    ),
]


# A date filter as the routes read it (``parse_date``): YYYY-MM-DD, or empty for none.
DAY_FILTER: dict[str, Any] = {
    "anyOf": [{"type": "string", "format": "date"}, {"type": "string", "maxLength": 0}]
}


# A time filter (the audit log's): a date, an RFC 3339 time, or empty for none.
INSTANT_FILTER: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "format": "date"},
        {"type": "string", "format": "date-time"},
        {"type": "string", "maxLength": 0},
    ]
}


def one_of(*values: str) -> Any:
    """A query parameter that takes one of ``values`` (documented; the route checks)."""
    return Parameter(schema_extra={"enum": [*values, ""]})  # empty: no filter


def provide_context(request: Request[Any, Any, Any]) -> RequestContext:
    return get_context(request.scope)


def provide_unit(request: Request[Any, Any, Any]) -> UnitOfWork:
    unit = get_context(request.scope).unit
    if unit is None:  # only open paths run without one, and they take none
        raise ApiError("INTERNAL_ERROR", "No unit of work for this request.")
    return unit


def provide_session(request: Request[Any, Any, Any]) -> AsyncSession:
    return provide_unit(request).session


def provide_services(request: Request[Any, Any, Any]) -> CoreServices:
    services: CoreServices = request.app.state.services
    return services


def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    principal = get_context(request.scope).principal
    if principal is None:
        raise ApiError("UNAUTHORIZED", "Sign in: no bearer token.")
    return principal


def provide_tenant(request: Request[Any, Any, Any]) -> TenantRef:
    tenant = get_context(request.scope).tenant
    if tenant is None:
        raise ApiError("TENANT_REQUIRED", "Send the X-Tenant-ID header.")
    return tenant


DEPENDENCIES = {
    "ctx": Provide(provide_context, sync_to_thread=False),
    "session": Provide(provide_session, sync_to_thread=False),
    "unit": Provide(provide_unit, sync_to_thread=False),
    "services": Provide(provide_services, sync_to_thread=False),
    "principal": Provide(provide_principal, sync_to_thread=False),
    "tenant": Provide(provide_tenant, sync_to_thread=False),
}


async def idempotency_key_guard(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Money-moving writes need a key; checked after role and scope, before the body."""
    if (
        handler.opt.get("idempotency_required")
        and not get_context(connection.scope).idempotency_key
    ):
        raise ApiError(
            "IDEMPOTENCY_KEY_REQUIRED",
            "This write moves money: send an Idempotency-Key header.",
            [detail("Idempotency-Key", DetailCode.REQUIRED, "required")],
        )


def page_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_PAGE
    if limit < 1 or limit > MAX_PAGE:
        raise ApiError(
            "VALIDATION_ERROR",
            f"limit must be between 1 and {MAX_PAGE}.",
            [detail("limit", DetailCode.OUT_OF_RANGE, f"between 1 and {MAX_PAGE}", limit)],
        )
    return limit


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, size: int) -> list[Any] | None:
    """The keyset values of an opaque cursor; ``INVALID_FORMAT`` when it is not ours."""
    if cursor is None or cursor == "":
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        values = None
    if not isinstance(values, list) or len(values) != size:
        raise ApiError(
            "INVALID_FORMAT",
            "The cursor is not one this API issued.",
            [detail("cursor", DetailCode.INVALID_FORMAT, "malformed")],
        )
    return values
