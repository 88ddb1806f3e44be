"""Request bodies of /users and /api-keys."""

from typing import Annotated, Any, Literal

import msgspec

from app.core.contract.bodies import Body, Flag, refuse
from app.core.detail_codes import DetailCode, detail
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


class UserUpdate(Body):
    """`PATCH /users/{id}`: only the members sent change (each may be left out, not null)."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    roles: Roles | msgspec.UnsetType = msgspec.UNSET
    branch_id: BranchCode | msgspec.UnsetType = msgspec.UNSET
    is_active: Flag | msgspec.UnsetType = msgspec.UNSET

    def __post_init__(self) -> None:
        if isinstance(self.name, str):
            self.name = self.name.strip()
        if isinstance(self.roles, list):
            self.roles = _roles(self.roles)


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
