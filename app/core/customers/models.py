"""Customers (the bank's clients)."""

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db import UtcDateTime, new_id, utcnow


class Customer(SQLModel, table=True):
    __tablename__ = "customers"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "customer_number", name="uq_customers_number"),
        sa.Index("ix_customers_tenant_created", "tenant_id", "created_at", "id"),
        sa.Index("ix_customers_tenant_search", "tenant_id", "search_name"),
        # GET /accounts?q= and GET /customers?q= match by substring (migration core_0007).
        sa.Index(
            "ix_customers_search_trgm",
            "search_name",
            postgresql_using="gin",
            postgresql_ops={"search_name": "gin_trgm_ops"},
        ),
        sa.Index(
            "ix_customers_phone_trgm",
            "phone",
            postgresql_using="gin",
            postgresql_ops={"phone": "gin_trgm_ops"},
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id")
    customer_number: str = Field(max_length=20)
    customer_type: str = Field(max_length=12)  # INDIVIDUAL CORPORATE
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    company_name: str | None = Field(default=None, max_length=200)
    display_name: str = Field(max_length=200)
    search_name: str = Field(max_length=200)  # lower-cased display name, for search
    email: str | None = Field(default=None, max_length=254, index=True)
    phone: str | None = Field(default=None, max_length=30, index=True)
    date_of_birth: date | None = None
    address: str | None = Field(default=None, max_length=500)
    branch_code: str = Field(max_length=10)
    created_by: uuid.UUID | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
