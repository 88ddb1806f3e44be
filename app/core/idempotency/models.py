"""Idempotency records: a claim, then the stored response of the executed request."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db import UtcDateTime, new_id, utcnow


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_records"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "principal_id", "key", name="uq_idempotency_scope"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID
    principal_id: uuid.UUID
    key: str = Field(max_length=255)
    request_hash: str = Field(max_length=64)
    state: str = Field(max_length=12)  # in_progress | completed
    locked_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    # On PostgreSQL, the database session whose request holds the claim ("<pid>@<its start
    # as epoch seconds>"): when that session is gone (its process was killed, its backend
    # terminated) the claim is retaken at once rather than after LOCK_TIMEOUT.
    claimed_by: str | None = Field(default=None, max_length=64)
    response_status: int | None = None
    response_headers: dict[str, str] | None = Field(default=None, sa_type=sa.JSON)
    response_body: bytes | None = Field(default=None, sa_type=sa.LargeBinary)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
