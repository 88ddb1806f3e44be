"""Stage 6: resolve X-Tenant-ID (UUID or code) and match it against the token."""

import time
import uuid

import sqlalchemy as sa
import structlog
from sqlmodel import col

from app.core.context import TenantRef
from app.core.detail_codes import DetailCode, detail
from app.core.errors import ApiError
from app.core.middleware._asgi import (
    ASGIApp,
    Receive,
    Scope,
    Send,
    context_of,
    header,
    is_open_path,
    send_error,
)
from app.core.tenants.models import Tenant
from app.db import Database

log = structlog.get_logger("branchdesk.core.tenant")


class TenantDirectory:
    """Looks tenants up by ID or code, with a short cache (tenants change rarely)."""

    def __init__(self, db: Database, ttl_seconds: float = 5.0) -> None:
        self.db = db
        self.ttl = ttl_seconds
        self._cache: dict[str, tuple[float, TenantRef | None]] = {}

    async def resolve(self, identifier: str) -> TenantRef | None:
        cached = self._cache.get(identifier)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            condition = col(Tenant.id) == uuid.UUID(identifier)
        except ValueError:
            condition = col(Tenant.code) == identifier
        async with self.db.session() as session:
            row = (await session.execute(sa.select(Tenant).where(condition))).scalar_one_or_none()
        ref = TenantRef(row.id, row.code, row.name, row.is_active, row.timezone) if row else None
        self._cache[identifier] = (now + self.ttl, ref)
        return ref

    def forget(self) -> None:
        self._cache.clear()


class TenantMiddleware:
    def __init__(self, app: ASGIApp, directory: TenantDirectory, prefix: str) -> None:
        self.app = app
        self.directory = directory
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_open_path(scope["path"], self.prefix):
            await self.app(scope, receive, send)
            return
        ctx = context_of(scope)
        identifier = (header(scope, b"x-tenant-id") or "").strip()
        if not identifier:
            await send_error(
                scope,
                send,
                ApiError(
                    "TENANT_REQUIRED",
                    "Send the X-Tenant-ID header (tenant UUID or code).",
                    [detail("X-Tenant-ID", DetailCode.REQUIRED, "required")],
                ),
            )
            return
        if len(identifier) > 64:
            await send_error(scope, send, ApiError("TENANT_NOT_FOUND", "No such tenant."))
            return
        try:
            tenant = await self.directory.resolve(identifier)
        except Exception as exc:
            log.error("tenant.lookup_failed", error=str(exc))
            await send_error(
                scope,
                send,
                ApiError(
                    "SERVICE_UNAVAILABLE",
                    "The database is unreachable; try again shortly.",
                    headers={"Retry-After": "5"},
                ),
            )
            return
        if tenant is None:
            await send_error(
                scope,
                send,
                ApiError(
                    "TENANT_NOT_FOUND",
                    f"No tenant {identifier!r}.",
                    [
                        detail(
                            "X-Tenant-ID", DetailCode.UNKNOWN_TENANT, "unknown tenant", identifier
                        )
                    ],
                ),
            )
            return
        if not tenant.is_active:
            await send_error(scope, send, ApiError("TENANT_INACTIVE", "This tenant is inactive."))
            return
        if ctx.principal is not None and ctx.principal.tenant_id != tenant.id:
            await send_error(
                scope,
                send,
                ApiError(
                    "TENANT_MISMATCH", "The token belongs to another tenant than X-Tenant-ID."
                ),
            )
            return
        ctx.tenant = tenant
        await self.app(scope, receive, send)
