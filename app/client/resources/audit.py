"""The audit trail (``GET /audit-logs``, ``/audit-logs/verify``)."""

from typing import Any

from .._parse import Timestamp
from ._base import Resource

__all__ = ["AuditEvent", "AuditVerification"]


class AuditEvent(Resource, kw_only=True, frozen=True):
    """One append-only record: who did what to which entity, and the state around it.

    ``before``/``after`` are the entity's recorded state, shaped by the entity's kind.
    """

    plural = "audit_logs"

    id: int
    at: Timestamp
    actor_id: str | None = None
    actor_email: str | None = None
    action: str
    entity_type: str | None = None
    entity_id: str | None = None
    request_id: str | None = None
    ip: str | None = None
    outcome: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


class AuditVerification(Resource, kw_only=True, frozen=True):
    """The seals re-computed: ``valid`` unless ``first_broken_id`` names a record."""

    valid: bool
    records: int
    seals: int = 0
    sealed_through_id: int | None = None
    first_broken_id: int | None = None
