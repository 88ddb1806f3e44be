"""Runs of the background jobs (the daily standing-instruction job for now)."""

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db import UtcDateTime, new_id, utcnow


class JobRun(SQLModel, table=True):
    __tablename__ = "job_runs"
    __table_args__ = (
        sa.Index("ix_job_runs_tenant_type_date", "tenant_id", "job_type", "business_date"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id")
    job_type: str = Field(max_length=30)  # STANDING_INSTRUCTIONS
    business_date: date
    status: str = Field(default="RUNNING", max_length=12)  # RUNNING COMPLETED FAILED
    instructions_executed: int = 0
    instructions_failed: int = 0
    instructions_skipped: int = 0
    error: str | None = Field(default=None, max_length=500)
    triggered_by: uuid.UUID | None = None
    triggered_by_email: str | None = Field(default=None, max_length=254)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
