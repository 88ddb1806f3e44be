"""The outbox: events written in the same transaction as the change that caused them."""

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db import UtcDateTime, new_id, utcnow


class OutboxEvent(SQLModel, table=True):
    __tablename__ = "outbox_events"
    __table_args__ = (
        sa.Index("ix_outbox_events_tenant_created", "tenant_id", "created_at"),
        # The fan-out looks only for events not dispatched yet (core_0010).
        sa.Index(
            "ix_outbox_events_dispatched_at",
            "dispatched_at",
            postgresql_where=sa.text("dispatched_at IS NULL"),
            sqlite_where=sa.text("dispatched_at IS NULL"),
        ),
    )

    id: str = Field(primary_key=True, max_length=40)  # "evt_<hex>"
    tenant_id: uuid.UUID  # ix_outbox_events_tenant_created leads with it
    type: str = Field(max_length=60)
    data: dict[str, Any] = Field(sa_type=sa.JSON)
    request_id: str | None = Field(default=None, max_length=128)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    dispatched_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class WebhookSubscription(SQLModel, table=True):
    """A receiver of the tenant's events: a URL, the types it wants, its signing secret."""

    __tablename__ = "webhook_subscriptions"
    __table_args__ = (
        sa.Index("ix_webhook_subscriptions_tenant_created", "tenant_id", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id")
    name: str = Field(max_length=200)
    url: str = Field(max_length=2000)
    # Kept, not hashed: every delivery is signed with it (HMAC needs the key itself).
    secret: str = Field(max_length=200)
    events: list[str] = Field(sa_type=sa.JSON)
    is_active: bool = True
    created_by: uuid.UUID | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    # A deleted subscription keeps its delivery log; it is gone for the API.
    deleted_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class WebhookDelivery(SQLModel, table=True):
    """One event for one subscription: delivered at least once, or given up on.

    ``claim_token`` and ``next_attempt_at`` form a lease: a worker claims a due delivery
    by pushing ``next_attempt_at`` past its HTTP timeout, so no other worker takes it
    while the attempt runs; a worker that dies simply lets the lease run out.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("subscription_id", "event_id", name="uq_webhook_deliveries_event"),
        sa.Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        sa.Index("ix_webhook_deliveries_subscription", "subscription_id", "created_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID
    subscription_id: uuid.UUID = Field(foreign_key="webhook_subscriptions.id")
    event_id: str = Field(foreign_key="outbox_events.id", max_length=40)
    event_type: str = Field(max_length=60)
    status: str = Field(default="PENDING", max_length=12)  # PENDING DELIVERED FAILED CANCELLED
    attempt_count: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    claim_token: uuid.UUID | None = None
    last_attempt_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    delivered_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class WebhookAttempt(SQLModel, table=True):
    """The log of one HTTP attempt of a delivery."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (sa.Index("ix_webhook_attempts_delivery", "delivery_id", "number"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    delivery_id: uuid.UUID = Field(foreign_key="webhook_deliveries.id")
    number: int
    attempted_at: datetime = Field(sa_type=UtcDateTime)
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=500)
    duration_ms: int
