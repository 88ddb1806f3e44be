"""Every core table, imported in one place for Alembic and the seed."""

from app.core.audit.models import AuditLog
from app.core.auth.models import ApiKey, AuthSession, RefreshToken, RevokedToken, StaffUser
from app.core.idempotency.models import IdempotencyRecord
from app.core.tenants.models import Branch, Tenant
from app.core.webhooks.models import OutboxEvent

__all__ = [
    "ApiKey",
    "AuditLog",
    "AuthSession",
    "Branch",
    "IdempotencyRecord",
    "OutboxEvent",
    "RefreshToken",
    "RevokedToken",
    "StaffUser",
    "Tenant",
]
