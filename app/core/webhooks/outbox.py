"""Writing events to the outbox (delivery is the worker's job)."""

import uuid
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.webhooks.models import OutboxEvent


def emit(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    event_type: str,
    data: dict[str, Any],
    request_id: str | None = None,
) -> OutboxEvent:
    """Add an event to the caller's transaction: it exists exactly when the change does."""
    event = OutboxEvent(
        id=f"evt_{uuid.uuid4().hex}",
        tenant_id=tenant_id,
        type=event_type,
        data=data,
        request_id=request_id,
    )
    session.add(event)
    return event
