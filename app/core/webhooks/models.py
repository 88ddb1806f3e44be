"""The outbox: events written in the same transaction as the change that caused them."""

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db import UtcDateTime, utcnow


class OutboxEvent(SQLModel, table=True):
    __tablename__ = "outbox_events"
    __table_args__ = (sa.Index("ix_outbox_events_tenant_created", "tenant_id", "created_at"),)

    id: str = Field(primary_key=True, max_length=40)  # "evt_<hex>"
    tenant_id: uuid.UUID = Field(index=True)
    type: str = Field(max_length=60)
    data: dict[str, Any] = Field(sa_type=sa.JSON)
    request_id: str | None = Field(default=None, max_length=128)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    dispatched_at: datetime | None = Field(default=None, sa_type=UtcDateTime, index=True)
