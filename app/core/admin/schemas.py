"""Request bodies of /users and /api-keys."""

from typing import Annotated, Any, Literal

import msgspec
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from app.core.contract.bodies import Body, refuse
from app.core.detail_codes import DetailCode, detail, refusal
from app.core.permissions import ROLE_RANK, scopes_for_role

Role = Literal["viewer", "teller", "officer", "manager", "admin"]
MIN_PASSWORD = 12

# A name: not blank (the type says so, so every bad field is named at once); kept trimmed.
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"\S")]
Email = Annotated[str, msgspec.Meta(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Roles = Annotated[list[Role], msgspec.Meta(min_length=1, max_length=5)]
BranchCode = Annotated[str, msgspec.Meta(min_length=1, max_length=10)]


def _roles(value: list[Role]) -> list[Role]:
    """Each role once, lowest first (the order the token lists them)."""
    return sorted(set(value), key=ROLE_RANK.__getitem__)


class UserCreate(Body):
    """`POST /users`: a staff member; ``branch_id`` is a branch code."""

    email: Email
    name: Name
    password: Annotated[str, msgspec.Meta(min_length=MIN_PASSWORD, max_length=1024)]
    roles: Roles
    branch_id: BranchCode

    def __post_init__(self) -> None:
        self.email = self.email.lower()
        self.name = self.name.strip()
        self.roles = _roles(self.roles)


def _json_bool(value: Any) -> Any:
    if value is not None and not isinstance(value, bool):
        raise refusal(DetailCode.INVALID_FORMAT, "must be true or false")
    return value


def _not_null(value: Any) -> Any:
    if value is None:
        raise refusal(DetailCode.REQUIRED, "may be left out but not null")
    return value


def _name(value: str) -> str:
    value = value.strip()
    if not value:
        raise refusal(DetailCode.REQUIRED, "must not be blank")
    return value


class UserUpdate(BaseModel):
    """`PATCH /users/{id}`: only the fields sent change.

    (pydantic until a Body can refuse a JSON boolean's look-alikes: Litestar converts
    bodies with ``strict=False``, which reads ``0``, ``1`` and ``"true"`` as booleans, and
    ``is_active`` must be ``true`` or ``false`` while every bad field is still named.)
    """

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    roles: list[Role] | None = Field(default=None, min_length=1, max_length=5)
    branch_id: str | None = Field(default=None, min_length=1, max_length=10)
    is_active: Annotated[bool, BeforeValidator(_json_bool)] | None = None

    _reject_null = field_validator("name", "roles", "branch_id", "is_active", mode="before")(
        _not_null
    )

    @field_validator("name")
    @classmethod
    def _clean_name(cls, value: str | None) -> str | None:
        return None if value is None else _name(value)

    @field_validator("roles")
    @classmethod
    def _clean_roles(cls, value: list[Role] | None) -> list[Role] | None:
        return None if value is None else _roles(value)


class ApiKeyCreate(Body):
    """`POST /api-keys`: ``scopes`` default to every scope of ``role``."""

    name: Name
    role: Role
    scopes: Annotated[list[str], msgspec.Meta(min_length=1, max_length=64)] | msgspec.UnsetType = (
        msgspec.UNSET
    )

    def __post_init__(self) -> None:
        self.name = self.name.strip()
        if isinstance(self.scopes, msgspec.UnsetType):
            return
        problems: list[dict[str, Any]] = []
        allowed = scopes_for_role(self.role)
        outside = sorted(set(self.scopes) - set(allowed))
        if outside:
            problems.append(
                detail(
                    "scopes",
                    DetailCode.SCOPE_NOT_IN_ROLE,
                    f"not scopes of the {self.role} role: {', '.join(outside)}",
                )
            )
        refuse(problems)
        self.scopes = [s for s in allowed if s in self.scopes]
