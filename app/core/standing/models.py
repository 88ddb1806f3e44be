"""Standing instructions and their executions."""

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db import UtcDateTime, new_id, utcnow


class StandingInstruction(SQLModel, table=True):
    """A recurring transfer: made by an officer, approved by a manager, run by the daily job."""

    __tablename__ = "standing_instructions"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "reference", name="uq_standing_instructions_ref"),
        sa.Index("ix_standing_instructions_tenant_created", "tenant_id", "created_at", "id"),
        sa.Index("ix_standing_instructions_tenant_status", "tenant_id", "status", "start_date"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id")
    reference: str = Field(max_length=20)
    source_account_id: uuid.UUID = Field(foreign_key="accounts.id")
    destination_account_id: uuid.UUID = Field(foreign_key="accounts.id")
    amount: int = Field(sa_type=sa.BigInteger)
    currency: str = Field(max_length=3)
    frequency: str = Field(max_length=8)  # DAILY WEEKLY MONTHLY
    start_date: date
    end_date: date | None = None
    narration: str = Field(max_length=500)
    # PENDING_APPROVAL ACTIVE SUSPENDED COMPLETED CANCELLED
    status: str = Field(default="PENDING_APPROVAL", max_length=20)
    consecutive_failures: int = 0
    last_executed_on: date | None = None
    created_by: uuid.UUID
    created_by_email: str = Field(max_length=254)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    approved_by: uuid.UUID | None = None
    approved_by_email: str | None = Field(default=None, max_length=254)
    approved_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    cancelled_by: uuid.UUID | None = None
    cancelled_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    cancel_reason: str | None = Field(default=None, max_length=500)
    suspended_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class StandingInstructionExecution(SQLModel, table=True):
    """One run of an instruction on one business date: at most one, ever (the unique key)."""

    __tablename__ = "standing_instruction_executions"
    __table_args__ = (
        sa.UniqueConstraint("instruction_id", "business_date", name="uq_si_execution_date"),
        sa.Index("ix_si_executions_instruction_created", "instruction_id", "created_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True)
    instruction_id: uuid.UUID = Field(foreign_key="standing_instructions.id")
    business_date: date
    status: str = Field(max_length=10)  # COMPLETED FAILED
    amount: int = Field(sa_type=sa.BigInteger)
    currency: str = Field(max_length=3)
    transaction_id: uuid.UUID | None = Field(default=None, foreign_key="transactions.id")
    failure_code: str | None = Field(default=None, max_length=40)
    failure_reason: str | None = Field(default=None, max_length=500)
    job_id: uuid.UUID | None = Field(default=None, foreign_key="job_runs.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
