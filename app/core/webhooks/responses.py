"""Webhook answers (api.md, "Webhooks")."""

import msgspec

from app.core.contract.shapes import Cursor, Id, Instant, Model


class Webhook(Model):
    id: Id
    name: str
    url: str
    events: list[str]
    is_active: bool
    created_by: Id | None
    created_at: Instant
    updated_at: Instant | None
    secret: str | msgspec.UnsetType = msgspec.UNSET  # the creation's answer only


class WebhookPage(Model):
    webhooks: list[Webhook]
    has_more: bool
    next_cursor: Cursor | None


class Attempt(Model):
    number: int
    attempted_at: Instant | None
    status_code: int | None
    error: str | None
    duration_ms: int | None


class Delivery(Model):
    id: Id
    webhook_id: Id
    event_id: str
    event_type: str
    status: str
    attempt_count: int
    next_attempt_at: Instant | None
    last_attempt_at: Instant | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: Instant | None
    created_at: Instant
    attempts: list[Attempt]


class DeliveryPage(Model):
    deliveries: list[Delivery]
    has_more: bool
    next_cursor: Cursor | None
