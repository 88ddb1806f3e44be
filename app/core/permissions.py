"""Roles and scopes of `roles.md`: one table, one checker.

Routes declare what they need in their ``opt`` (``role`` and ``scope``); the guard
below enforces it, and the role-matrix tests read the same ``opt`` from the route
table, so a route cannot exist without its row.
"""

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from app.core.context import get_context
from app.core.detail_codes import DetailCode, detail
from app.core.errors import ApiError

ROLES: tuple[str, ...] = ("viewer", "teller", "officer", "manager", "admin")
ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}

_SCOPES_ADDED: dict[str, tuple[str, ...]] = {
    "viewer": ("customers:read", "accounts:read", "transactions:read", "gl:read", "loans:read"),
    "teller": ("transactions:write", "gl:write", "payments:initiate"),
    "officer": ("customers:write", "accounts:write", "payments:authorize", "loans:write"),
    "manager": ("loans:approve", "audit:read"),
    "admin": ("admin:full",),
}

ALL_SCOPES: tuple[str, ...] = tuple(s for role in ROLES for s in _SCOPES_ADDED[role])


def scopes_for_role(role: str) -> list[str]:
    """Every scope of ``role`` and of the roles below it, in a stable order."""
    rank = ROLE_RANK[role]
    return [s for r in ROLES[: rank + 1] for s in _SCOPES_ADDED[r]]


def highest_role(roles: tuple[str, ...] | list[str]) -> str:
    known = [r for r in roles if r in ROLE_RANK]
    if not known:
        return "none"
    return max(known, key=ROLE_RANK.__getitem__)


def has_role(roles: tuple[str, ...] | list[str], minimum: str) -> bool:
    top = highest_role(roles)
    return top != "none" and ROLE_RANK[top] >= ROLE_RANK[minimum]


def requires(role: str | None = None, scope: str | None = None, *also: str) -> dict[str, Any]:
    """The ``opt`` of a route: minimum role and scope (``None``: any signed-in caller).

    ``also``: further scopes the token must carry, for a composite read that shows what
    several scopes guard (``GET /views/...``); ``scope`` stays the one the route table
    and the role matrix name.
    """
    opt: dict[str, Any] = {"role": role, "scope": scope}
    if also:
        opt["also_scopes"] = also
    return opt


async def role_and_scope_guard(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Checks the route's minimum role, then its scope (the order of `api.md`)."""
    if "role" not in handler.opt:
        return  # open or token-exempt route (health, login, ...)
    principal = get_context(connection.scope).principal
    if principal is None:
        raise ApiError("UNAUTHORIZED", "Sign in: no bearer token.")
    role = handler.opt.get("role")
    scope = handler.opt.get("scope")
    if role is not None and not has_role(principal.roles, role):
        raise ApiError(
            "INSUFFICIENT_ROLE",
            f"This action needs the {role} role or higher.",
            [detail("role", DetailCode.INSUFFICIENT_ROLE, f"requires {role}", principal.role)],
        )
    for needed in (scope, *handler.opt.get("also_scopes", ())):
        if needed is not None and needed not in principal.scopes:
            raise ApiError(
                "INSUFFICIENT_SCOPE",
                f"This action needs the {needed} scope.",
                [detail("scope", DetailCode.INSUFFICIENT_SCOPE, f"requires {needed}")],
            )
