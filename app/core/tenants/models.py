"""Tenants (banks) and their branches."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db import UtcDateTime, new_id, utcnow


class Tenant(SQLModel, table=True):
    __tablename__ = "tenants"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    code: str = Field(max_length=40, unique=True, index=True)
    name: str = Field(max_length=200)
    base_currency: str = Field(max_length=3)
    timezone: str = Field(max_length=64)
    is_active: bool = True
    teller_approval_limit: int = Field(sa_type=sa.BigInteger)  # minor units
    allow_same_maker_checker: bool = False
    # Staff whose highest role is this one or above need a second factor to sign in with a
    # password; "none": nobody does. A new bank starts at officer (issue 14): officers are
    # the first who can approve money.
    mfa_required_role: str = Field(default="officer", max_length=20)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class Branch(SQLModel, table=True):
    __tablename__ = "branches"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "code", name="uq_branches_tenant_code"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True)
    code: str = Field(max_length=10)
    name: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
