"""Typed response models for what the console reads (pydantic v2).

Unknown fields are ignored so the API can grow without breaking the console. Money is never
a float: amounts stay decimal strings as they came on the wire.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["AuthResult", "Me", "StaffUser", "TenantRef", "TokenPair", "TokenSet"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class StaffUser(_Model):
    """A staff member as the API describes them (``branch_id`` is the branch code)."""

    id: str
    email: str
    name: str
    roles: list[str] = Field(default_factory=list)
    branch_id: str


class TenantRef(_Model):
    """The tenant (bank) a session belongs to."""

    id: str
    code: str
    name: str


class TokenSet(_Model):
    """What a staff session stores: the token pair and when the access token expires."""

    access_token: str = Field(repr=False)
    refresh_token: str = Field(repr=False)
    expires_at: datetime

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        # Naive datetimes would make "expires within the margin" compare wrongly.
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)

    def expires_within(self, seconds: float, *, now: datetime | None = None) -> bool:
        """Whether the access token expires within ``seconds`` from ``now``."""
        return self.expires_at - (now or datetime.now(UTC)) <= timedelta(seconds=seconds)


class TokenPair(_Model):
    """A fresh token pair (``POST /auth/refresh``); ``expires_at`` is computed at receipt."""

    access_token: str = Field(repr=False)
    refresh_token: str = Field(repr=False)
    token_type: str = "Bearer"
    expires_in: int
    expires_at: datetime

    @model_validator(mode="before")
    @classmethod
    def _expires_at(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("expires_at") is None and "expires_in" in data:
            data = {
                **data,
                "expires_at": datetime.now(UTC) + timedelta(seconds=int(data["expires_in"])),
            }
        return data

    def token_set(self) -> TokenSet:
        """The part a session stores."""
        return TokenSet(
            access_token=self.access_token,
            refresh_token=self.refresh_token,
            expires_at=self.expires_at,
        )


class AuthResult(TokenPair):
    """A successful login (``POST /auth/login`` or ``/auth/token``)."""

    user: StaffUser
    tenant: TenantRef


class Me(_Model):
    """``GET /auth/me``: the caller, their roles and scopes, and the tenant.

    Accepts the user's fields flat or nested under ``"user"``.
    """

    id: str
    email: str
    name: str
    roles: list[str] = Field(default_factory=list)
    branch_id: str
    scopes: list[str] = Field(default_factory=list)
    tenant: TenantRef
    session_id: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _flatten_user(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("user"), dict):
            user = data["user"]
            # Roles may live on the user or beside it; the outer fields win when both exist.
            data = {**user, **{k: v for k, v in data.items() if k != "user"}}
        return data

    @property
    def user(self) -> StaffUser:
        """The caller as a :class:`StaffUser`."""
        return StaffUser(
            id=self.id, email=self.email, name=self.name, roles=self.roles, branch_id=self.branch_id
        )
