"""Audit trail answers (api.md, "Reports and audit")."""

from typing import Any

from app.core.contract.shapes import Cursor, Id, Instant, Model


class AuditRecord(Model):
    id: int
    at: Instant
    actor_id: Id | None
    actor_email: str | None
    action: str
    entity_type: str | None
    entity_id: str | None
    request_id: str | None
    ip: str | None
    outcome: str
    before: dict[str, Any] | None  # the entity's state before (null when absent)
    after: dict[str, Any] | None


class AuditPage(Model):
    audit_logs: list[AuditRecord]
    has_more: bool
    next_cursor: Cursor | None


class AuditVerification(Model):
    valid: bool
    records: int
    seals: int
    sealed_through_id: int | None  # the last record a seal covers (null: none sealed yet)
    first_broken_id: int | None  # the first record that differs from its seal
