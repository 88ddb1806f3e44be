"""The append-only audit trail."""

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db import UtcDateTime, utcnow


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_logs"
    __table_args__ = (
        sa.Index("ix_audit_logs_tenant_at", "tenant_id", "at"),
        sa.Index("ix_audit_logs_request_id", "request_id"),
    )

    # A growing integer, so the sealing job can seal contiguous ranges.
    id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
    )
    tenant_id: uuid.UUID | None = Field(default=None, index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    actor_id: uuid.UUID | None = None
    actor_email: str | None = Field(default=None, max_length=254)
    action: str = Field(max_length=80, index=True)
    entity_type: str | None = Field(default=None, max_length=60)
    entity_id: str | None = Field(default=None, max_length=80)
    request_id: str | None = Field(default=None, max_length=128)
    ip: str | None = Field(default=None, max_length=64)
    outcome: str = Field(default="success", max_length=20)
    before: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    after: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
