"""Writing events to the outbox (delivery is the worker's job)."""

import uuid
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.webhooks.events import KNOWN_EVENT_TYPES
from app.core.webhooks.models import OutboxEvent
from app.db import utcnow


def emit(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    event_type: str,
    data: dict[str, Any],
    request_id: str | None = None,
) -> OutboxEvent:
    """Add an event to the caller's transaction: it exists exactly when the change does.

    The type must be one of ``EVENT_TYPES`` (app/core/webhooks/events.py): a type no
    subscription can name would never be delivered, so it is refused here, loudly.
    """
    event = OutboxEvent(**event_values(tenant_id, event_type, data, request_id))
    session.add(event)
    return event


def event_values(
    tenant_id: uuid.UUID,
    event_type: str,
    data: dict[str, Any],
    request_id: str | None = None,
) -> dict[str, Any]:
    """The column values of one event (for callers inserting many at once); the type is
    checked here, so both ways of writing refuse an unknown one."""
    if event_type not in KNOWN_EVENT_TYPES:
        raise ValueError(
            f"unknown webhook event type {event_type!r}: add it to EVENT_TYPES "
            "(app/core/webhooks/events.py) and to api.md's list"
        )
    return {
        "id": f"evt_{uuid.uuid4().hex}",
        "tenant_id": tenant_id,
        "type": event_type,
        "data": data,
        "request_id": request_id,
        "created_at": utcnow(),
        "dispatched_at": None,
    }
