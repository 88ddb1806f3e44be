"""Webhook subscriptions and their deliveries (``/webhooks``)."""

from .._parse import Timestamp
from ._base import Resource

__all__ = ["Webhook", "WebhookAttempt", "WebhookDelivery"]


class Webhook(Resource, kw_only=True, frozen=True):
    """A subscription; ``secret`` only in the answer that created (or replaced) it."""

    plural = "webhooks"

    id: str
    name: str
    url: str
    events: list[str] = []
    is_active: bool
    created_by: str | None = None
    created_at: Timestamp
    updated_at: Timestamp | None = None
    secret: str | None = None

    def __repr__(self) -> str:
        # The signing secret never reaches a log line.
        return f"Webhook(id={self.id!r}, name={self.name!r}, url={self.url!r})"


class WebhookAttempt(Resource, kw_only=True, frozen=True):
    """One try at delivering: the receiver's status or the error."""

    number: int
    attempted_at: Timestamp
    status_code: int | None = None
    error: str | None = None
    duration_ms: int | None = None


class WebhookDelivery(Resource, kw_only=True, frozen=True):
    """One event on its way to one subscription, with its attempts (oldest first)."""

    plural = "deliveries"

    id: str
    webhook_id: str
    event_id: str
    event_type: str
    status: str
    attempt_count: int = 0
    next_attempt_at: Timestamp | None = None
    last_attempt_at: Timestamp | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    delivered_at: Timestamp | None = None
    created_at: Timestamp
    attempts: list[WebhookAttempt] = []
