"""The console's own tables (its own migration branch; no core table is referenced)."""

import uuid
from datetime import datetime
from typing import Any, TypeAlias

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db import UtcDateTime, new_id, utcnow


class ConsoleActionLog(SQLModel, table=True):
    """Every sign-in, failed sign-in, sign-out and write the console sends."""

    __tablename__ = "console_action_log"
    __table_args__ = (
        sa.Index("ix_console_action_log_tenant_at", "tenant", "at"),
        sa.Index("ix_console_action_log_request_id", "request_id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    user_id: str | None = Field(default=None, max_length=64)
    user_email: str | None = Field(default=None, max_length=254)
    role: str | None = Field(default=None, max_length=20)
    tenant: str | None = Field(default=None, max_length=64)
    action: str = Field(max_length=80)
    target: str | None = Field(default=None, max_length=200)
    request_id: str | None = Field(default=None, max_length=128)
    idempotency_key: str | None = Field(default=None, max_length=255)
    outcome: str = Field(max_length=20)
    error_code: str | None = Field(default=None, max_length=60)
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=255)


# A webhook event's JSON as the core signed and sent it, kept whole in a JSON column (any
# event type, any version of its data). The console reads only its envelope from it: the
# ID, the type and the tenant (app/console/live/receiver.py, LiveEvent).
EventPayload: TypeAlias = dict[str, Any]


class ConsoleWebhookEvent(SQLModel, table=True):
    """One event the core delivered to ``POST /webhooks/cba``, stored once.

    The unique ``event_id`` is the receiver's dedup: two console processes receiving the
    same delivery race on the insert, and exactly one of them stores and pushes it.
    """

    __tablename__ = "console_webhook_events"
    __table_args__ = (
        sa.UniqueConstraint("event_id", name="uq_console_webhook_events_event_id"),
        sa.Index("ix_console_webhook_events_tenant_received", "tenant_id", "received_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    event_id: str = Field(max_length=100)
    type: str = Field(max_length=80)
    tenant_id: str | None = Field(default=None, max_length=64)
    tenant_code: str | None = Field(default=None, max_length=64)
    payload: EventPayload = Field(sa_type=sa.JSON)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
