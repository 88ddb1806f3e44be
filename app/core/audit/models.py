"""The append-only audit trail and the seals that make tampering evident."""

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db import UtcDateTime, utcnow

# A BIGINT that autoincrements on both databases (SQLite only does it for INTEGER keys).
_GROWING_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_logs"
    __table_args__ = (
        sa.Index("ix_audit_logs_tenant_at", "tenant_id", "at"),
        sa.Index("ix_audit_logs_request_id", "request_id"),
        # The trail newest first, and the sealing job's per-tenant ranges.
        sa.Index("ix_audit_logs_tenant_id_id", "tenant_id", "id"),
        # "What happened to this account/journal/user" (the console's history panels).
        sa.Index("ix_audit_logs_tenant_entity", "tenant_id", "entity_type", "entity_id"),
    )

    # A growing integer, so the sealing job can seal contiguous ranges.
    id: int | None = Field(
        default=None,
        sa_column=sa.Column(_GROWING_ID, primary_key=True, autoincrement=True),
    )
    # Indexed through (tenant_id, id) and (tenant_id, at) above.
    tenant_id: uuid.UUID | None = None
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


class AuditSeal(SQLModel, table=True):
    """One link of a tenant's seal chain: the hash of a contiguous range of its records.

    ``hash`` = SHA-256(``previous_hash`` + the canonical form of each record from
    ``from_id`` to ``to_id``). ``record_digests`` lists each sealed record's ID with a
    short digest of its canonical form, so verification can name the first record that
    changed or went missing (the chain hash alone only says that a range is broken).
    Append-only like the records (a trigger refuses UPDATE and DELETE).
    """

    __tablename__ = "audit_seals"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "from_id", name="uq_audit_seals_tenant_from"),
        sa.Index("ix_audit_seals_tenant_to", "tenant_id", "to_id"),
    )

    id: int | None = Field(
        default=None,
        sa_column=sa.Column(_GROWING_ID, primary_key=True, autoincrement=True),
    )
    # None: the chain of records that belong to no tenant.
    tenant_id: uuid.UUID | None = None
    from_id: int = Field(sa_type=sa.BigInteger)
    to_id: int = Field(sa_type=sa.BigInteger)
    record_count: int
    previous_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
    record_digests: list[list[Any]] = Field(sa_type=sa.JSON)
    sealed_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
