"""Fiscal periods."""

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db import UtcDateTime, new_id, utcnow


class FiscalPeriod(SQLModel, table=True):
    __tablename__ = "fiscal_periods"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "fiscal_year", "period_number", name="uq_period_number"),
        sa.Index("ix_fiscal_periods_tenant_dates", "tenant_id", "start_date", "end_date"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id")
    fiscal_year: int
    period_number: int
    period_name: str = Field(max_length=40)
    start_date: date
    end_date: date
    status: str = Field(default="open", max_length=8)  # open closed locked
    closed_by: uuid.UUID | None = None
    closed_by_email: str | None = Field(default=None, max_length=254)
    closed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    locked_by: uuid.UUID | None = None
    locked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # Taken at close: the net debits per (GL account, currency, branch) of every posting
    # dated on or before end_date (see app/core/reports/balances.py).
    trial_balance_snapshot: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
