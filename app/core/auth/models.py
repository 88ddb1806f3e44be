"""Staff users, API keys, sign-in sessions and their refresh tokens."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db import UtcDateTime, new_id, utcnow


class StaffUser(SQLModel, table=True):
    __tablename__ = "staff_users"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "email", name="uq_staff_users_email"),
        sa.UniqueConstraint(
            "tenant_id", "idp_issuer", "idp_subject", name="uq_staff_users_idp_subject"
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True)
    email: str = Field(max_length=254)
    name: str = Field(max_length=200)
    password_hash: str = Field(max_length=255)
    roles: list[str] = Field(sa_type=sa.JSON)
    branch_code: str = Field(max_length=10)
    is_active: bool = True
    failed_login_count: int = 0
    first_failed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    locked_until: datetime | None = Field(default=None, sa_type=UtcDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    # The identity at the tenant's provider this user is bound to (issuer and subject), set
    # at their first single sign-on: a later sign-in must be the same person, even if the
    # provider gives their e-mail address to someone else.
    idp_issuer: str | None = Field(default=None, max_length=255)
    idp_subject: str | None = Field(default=None, max_length=255)


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True)
    name: str = Field(max_length=200)
    role: str = Field(max_length=20)
    scopes: list[str] = Field(sa_type=sa.JSON)
    prefix: str = Field(max_length=16, index=True)
    key_hash: str = Field(max_length=64, unique=True)
    branch_code: str = Field(max_length=10)
    created_by: uuid.UUID | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class AuthSession(SQLModel, table=True):
    """One sign-in: its access tokens carry this ID, so revoking it revokes them.

    ``expires_at`` slides: each refresh moves it one refresh-token TTL on, never past
    ``absolute_expires_at``, which is fixed at sign-in. Every token the session issues was
    issued before ``expires_at``, so once ``expires_at`` plus one access-token life has
    passed nothing of the session is alive.
    """

    __tablename__ = "auth_sessions"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True)
    user_id: uuid.UUID | None = Field(default=None, index=True)
    api_key_id: uuid.UUID | None = Field(default=None, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime)
    absolute_expires_at: datetime = Field(sa_type=UtcDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    revoked_reason: str | None = Field(default=None, max_length=64)
    ip: str | None = Field(default=None, max_length=64)


class RefreshToken(SQLModel, table=True):
    """Refresh tokens are single use: a spent one presented again revokes its session."""

    __tablename__ = "refresh_tokens"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    session_id: uuid.UUID = Field(foreign_key="auth_sessions.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime)
    spent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class RevokedToken(SQLModel, table=True):
    """The embedded-mode blacklist (Redis holds it in production)."""

    __tablename__ = "revoked_tokens"

    key: str = Field(primary_key=True, max_length=80)
    expires_at: datetime = Field(sa_type=UtcDateTime, index=True)
