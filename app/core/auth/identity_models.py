"""Staff identity: a tenant's identity provider, second factors, their challenges and resets."""

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db import UtcDateTime, new_id, utcnow


class IdentityProvider(SQLModel, table=True):
    """The one OpenID Connect provider a tenant signs its staff in through.

    ``group_mappings`` is a list of ``{"group", "role", "branch_id"}``: a member of
    ``group`` gets ``role`` (and, where given, is placed at ``branch_id``). The client
    secret is sealed (``app.core.auth.sealing``) and never leaves the core except towards
    the provider's token endpoint.
    """

    __tablename__ = "identity_providers"

    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", primary_key=True)
    display_name: str = Field(max_length=80)
    issuer: str = Field(max_length=500)
    client_id: str = Field(max_length=255)
    client_secret: str = Field(max_length=600)  # sealed
    scopes: str = Field(default="openid email profile", max_length=255)
    groups_claim: str = Field(default="groups", max_length=100)
    email_claim: str = Field(default="email", max_length=100)
    require_verified_email: bool = True
    create_users: bool = False
    default_branch: str | None = Field(default=None, max_length=10)
    group_mappings: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    enabled: bool = True
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_by: uuid.UUID | None = None


class SecondFactor(SQLModel, table=True):
    """A staff member's TOTP factor: pending until its first code confirms it.

    ``last_used_step`` is the time step of the last code accepted: a code of that step or
    an earlier one is refused, so a code seen over someone's shoulder is worth nothing.
    """

    __tablename__ = "staff_second_factors"

    user_id: uuid.UUID = Field(foreign_key="staff_users.id", primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True)
    secret: str = Field(max_length=200)  # sealed
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    confirmed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    last_used_step: int | None = Field(default=None, sa_type=sa.BigInteger)


class RecoveryCode(SQLModel, table=True):
    """One single-use recovery code, kept as its SHA-256 digest only."""

    __tablename__ = "staff_recovery_codes"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "code_hash", name="uq_staff_recovery_codes_code"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="staff_users.id", index=True)
    code_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class MfaChallenge(SQLModel, table=True):
    """A sign-in waiting for its second factor (``verify``) or for the factor's enrolment
    (``enrol``): the password was right; the challenge, not the password, carries the
    sign-in to its next step. Short-lived, single use, and spent after a few wrong codes.
    """

    __tablename__ = "mfa_challenges"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True)
    user_id: uuid.UUID = Field(foreign_key="staff_users.id", index=True)
    purpose: str = Field(max_length=10)  # "verify" or "enrol"
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    attempts: int = 0


class FactorReset(SQLModel, table=True):
    """An admin's request to remove a staff member's second factor.

    In production mode a second admin approves it (maker-checker); elsewhere it is
    approved as it is made. Either way both people are on record.
    """

    __tablename__ = "staff_factor_resets"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True)
    user_id: uuid.UUID = Field(foreign_key="staff_users.id", index=True)
    reason: str = Field(max_length=500)
    status: str = Field(max_length=20)  # PENDING_APPROVAL, COMPLETED, CANCELLED
    requested_by: uuid.UUID
    requested_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    decided_by: uuid.UUID | None = None
    decided_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
