"""Request bodies of /users and /api-keys."""

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator

from app.core.detail_codes import DetailCode, refusal
from app.core.permissions import ROLE_RANK, scopes_for_role

Role = Literal["viewer", "teller", "officer", "manager", "admin"]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 12


def _roles(value: list[str]) -> list[str]:
    """Each role once, lowest first (the order the token lists them)."""
    return sorted(set(value), key=ROLE_RANK.__getitem__)


def _name(value: str) -> str:
    value = value.strip()
    if not value:
        raise refusal(DetailCode.REQUIRED, "must not be blank")
    return value


def _json_bool(value: Any) -> Any:
    # Litestar validates bodies with strict=False, which overrides StrictBool: check here.
    if value is not None and not isinstance(value, bool):
        raise refusal(DetailCode.INVALID_FORMAT, "must be true or false")
    return value


JsonBool = Annotated[bool, BeforeValidator(_json_bool)]


def _not_null(value: Any) -> Any:
    if value is None:
        raise refusal(DetailCode.REQUIRED, "may be left out but not null")
    return value


class UserCreate(BaseModel):
    """`POST /users`: a staff member; ``branch_id`` is a branch code."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=254)
    name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=MIN_PASSWORD, max_length=1024)
    roles: list[Role] = Field(min_length=1, max_length=5)
    branch_id: str = Field(min_length=1, max_length=10)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        value = value.strip().lower()
        if not _EMAIL.match(value):
            raise refusal(DetailCode.INVALID_FORMAT, "must be an email address")
        return value

    _clean_name = field_validator("name")(_name)
    _clean_roles = field_validator("roles")(_roles)


class UserUpdate(BaseModel):
    """`PATCH /users/{id}`: only the fields sent change."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    roles: list[Role] | None = Field(default=None, min_length=1, max_length=5)
    branch_id: str | None = Field(default=None, min_length=1, max_length=10)
    is_active: JsonBool | None = None

    _reject_null = field_validator("name", "roles", "branch_id", "is_active", mode="before")(
        _not_null
    )

    @field_validator("name")
    @classmethod
    def _clean_name(cls, value: str | None) -> str | None:
        return None if value is None else _name(value)

    @field_validator("roles")
    @classmethod
    def _clean_roles(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _roles(value)


class ApiKeyCreate(BaseModel):
    """`POST /api-keys`: ``scopes`` default to every scope of ``role``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    role: Role
    scopes: list[str] | None = Field(default=None, min_length=1, max_length=64)

    _clean_name = field_validator("name")(_name)
    _reject_null = field_validator("scopes", mode="before")(_not_null)

    @field_validator("scopes")
    @classmethod
    def _within_role(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        role = info.data.get("role")
        if value is None or role is None:
            return value
        allowed = scopes_for_role(role)
        outside = sorted(set(value) - set(allowed))
        if outside:
            raise refusal(
                DetailCode.SCOPE_NOT_IN_ROLE,
                f"not scopes of the {role} role: {', '.join(outside)}",
            )
        return [s for s in allowed if s in value]
