"""Appending audit records, in the caller's transaction."""

import uuid
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.audit.models import AuditLog
from app.core.context import RequestContext


def record(
    session: AsyncSession,
    ctx: RequestContext,
    action: str,
    *,
    entity_type: str | None = None,
    entity_id: object | None = None,
    outcome: str = "success",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    tenant_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    actor_email: str | None = None,
) -> AuditLog:
    """Append one record: who (from the token unless given), what, to what, and how it went."""
    principal = ctx.principal
    entry = AuditLog(
        tenant_id=tenant_id or (ctx.tenant.id if ctx.tenant else None),
        actor_id=actor_id or (principal.user_id if principal else None),
        actor_email=actor_email or (principal.email if principal else None),
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id) if entity_id is not None else None,
        request_id=ctx.request_id,
        ip=ctx.client_ip,
        outcome=outcome,
        before=before,
        after=after,
    )
    session.add(entry)
    return entry
