"""Who may do what in the console: one table, one checker, guards and navigation built on it.

Permissions are dotted ``area.action`` strings (NetBox's ``app.action_model``). Roles are
cumulative (``viewer < teller < officer < manager < admin``): each role holds the permissions
it adds in :data:`ROLE_GRANTS` plus everything of the roles below it, exactly as
``roles.md`` lays out scopes. The same :func:`can` decides route guards, the navigation and
every button, so nothing is shown that the server would refuse.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from litestar import Litestar
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.handlers.http_handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute

Role = Literal["viewer", "teller", "officer", "manager", "admin"]

ROLES: tuple[Role, ...] = ("viewer", "teller", "officer", "manager", "admin")
ROLE_RANK: Mapping[str, int] = {role: rank for rank, role in enumerate(ROLES)}
ROLE_LABELS: Mapping[str, str] = {
    "viewer": "Viewer",
    "teller": "Teller",
    "officer": "Officer",
    "manager": "Manager",
    "admin": "Admin",
}

# The one table: what each role adds to the roles below it (console.md "Pages", roles.md).
ROLE_GRANTS: Mapping[Role, frozenset[str]] = {
    "viewer": frozenset(
        {
            "home.view",
            "customers.view",
            "accounts.view",
            "accounts.statement",
            "journals.view",
            "standing.view",
            "periods.view",
            "reports.view",
        }
    ),
    "teller": frozenset(
        {
            "teller.deposit",
            "teller.withdrawal",
            "teller.my_day",
            "journals.compose",
        }
    ),
    "officer": frozenset(
        {
            "customers.create",
            "accounts.write",
            "transfers.internal",
            "approvals.view",
            "approvals.decide",
            "journals.post",
            "standing.write",
        }
    ),
    "manager": frozenset(
        {
            "transfers.inter_branch",
            "journals.reverse",
            "standing.approve",
            "audit.view",
        }
    ),
    "admin": frozenset(
        {
            "periods.manage",
            "admin.view",
            "admin.manage",
        }
    ),
}


def _cumulative() -> dict[str, frozenset[str]]:
    held: set[str] = set()
    result: dict[str, frozenset[str]] = {}
    for role in ROLES:
        held |= ROLE_GRANTS[role]
        result[role] = frozenset(held)
    return result


PERMISSIONS_BY_ROLE: Mapping[str, frozenset[str]] = _cumulative()
ALL_PERMISSIONS: frozenset[str] = PERMISSIONS_BY_ROLE["admin"]


class HasRoles(Protocol):
    """Anything that carries a staff member's roles (the signed-in user)."""

    @property
    def roles(self) -> list[str]: ...


def highest_role(roles: Iterable[str]) -> Role | None:
    """The highest known role in ``roles`` (unknown role names are ignored)."""
    known = [r for r in roles if r in ROLE_RANK]
    if not known:
        return None
    return ROLES[max(ROLE_RANK[r] for r in known)]


def min_role(permission: str) -> Role:
    """The lowest role holding ``permission``.

    Raises:
        KeyError: The permission is not in the table (a typo must fail loudly).
    """
    for role in ROLES:
        if permission in PERMISSIONS_BY_ROLE[role]:
            return role
    raise KeyError(f"unknown console permission {permission!r}")


def can(user: HasRoles | None, permission: str) -> bool:
    """Whether ``user`` holds ``permission``. Anonymous users hold nothing."""
    if permission not in ALL_PERMISSIONS:
        raise KeyError(f"unknown console permission {permission!r}")
    if user is None:
        return False
    role = highest_role(user.roles)
    return role is not None and permission in PERMISSIONS_BY_ROLE[role]


# -- navigation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class NavItem:
    """One entry of the left navigation; shown when its page exists and the user ``can()``."""

    label: str
    path: str
    permission: str
    area: str
    available: bool

    @property
    def min_role(self) -> Role:
        return min_role(self.permission)


# In the order console.md fixes. Flip ``available`` when the page lands.
NAV_ITEMS: tuple[NavItem, ...] = (
    NavItem("Home", "/", "home.view", "Overview", available=True),
    NavItem("Customers", "/customers", "customers.view", "Customers and accounts", True),
    NavItem("Accounts", "/accounts", "accounts.view", "Customers and accounts", True),
    NavItem("Deposit", "/teller/deposit", "teller.deposit", "Teller", True),
    NavItem("Withdrawal", "/teller/withdrawal", "teller.withdrawal", "Teller", True),
    NavItem("My day", "/teller/my-day", "teller.my_day", "Teller", True),
    NavItem("Transfers", "/transfers", "transfers.internal", "Ledger", True),
    NavItem("Journals", "/journals", "journals.view", "Ledger", True),
    NavItem("Approvals", "/approvals", "approvals.view", "Ledger", True),
    NavItem("Standing instructions", "/standing", "standing.view", "Ledger", True),
    NavItem("Fiscal periods", "/periods", "periods.view", "Finance", True),
    NavItem("Reports", "/reports", "reports.view", "Finance", True),
    NavItem("Audit", "/audit", "audit.view", "Oversight", True),
    NavItem("Admin", "/admin", "admin.view", "Oversight", True),
)


def nav_for(user: HasRoles | None) -> list[NavItem]:
    """The navigation ``user`` sees: available pages they may use, in table order."""
    return [item for item in NAV_ITEMS if item.available and can(user, item.permission)]


def nav_sections(user: HasRoles | None) -> list[tuple[str, list[NavItem]]]:
    """:func:`nav_for` grouped by area, keeping the order."""
    sections: list[tuple[str, list[NavItem]]] = []
    for item in nav_for(user):
        if not sections or sections[-1][0] != item.area:
            sections.append((item.area, []))
        sections[-1][1].append(item)
    return sections


def upcoming_for(user: HasRoles | None) -> list[NavItem]:
    """Pages ``user``'s role will use that are not built yet (said honestly on Home)."""
    return [item for item in NAV_ITEMS if not item.available and can(user, item.permission)]


# -- route guards ---------------------------------------------------------------------------


class MissingPermission(PermissionDeniedException):
    """The signed-in user's role lacks the route's permission."""

    def __init__(self, permission: str) -> None:
        self.permission = permission
        self.required_role = min_role(permission)
        super().__init__(detail=f"needs the {self.required_role} role")


def route_permission(handler: BaseRouteHandler) -> str | None:
    """The permission a handler declares in ``opt``; ``None`` for public handlers.

    Raises:
        RuntimeError: The handler declares neither (every console route must say).
    """
    if handler.opt.get("public"):
        return None
    if isinstance(handler, HTTPRouteHandler) and handler.http_methods <= {"OPTIONS", "HEAD"}:
        return None  # Litestar's automatic OPTIONS answers reveal nothing
    permission = handler.opt.get("permission")
    if not isinstance(permission, str):
        raise RuntimeError(f"console route {handler} declares no permission in opt")
    min_role(permission)  # unknown permissions fail at start-up, not on first use
    return permission


def check_permission(user: HasRoles | None, handler: BaseRouteHandler) -> None:
    """Raise unless ``user`` may call ``handler`` (used by the app-wide guard).

    Raises:
        NotAuthorizedException: Nobody is signed in.
        MissingPermission: The user's role is too low.
    """
    permission = route_permission(handler)
    if permission is None:
        return
    if user is None:
        raise NotAuthorizedException("sign in first")
    if not can(user, permission):
        raise MissingPermission(permission)


@dataclass(frozen=True)
class RouteRule:
    """One row of the console's route table (the role matrix is generated from it)."""

    method: str
    path: str
    permission: str | None
    min_role: Role | None

    @property
    def public(self) -> bool:
        return self.permission is None


def route_table(app: Litestar) -> list[RouteRule]:
    """Every console route with its permission and minimum role, static files excluded."""
    rules: list[RouteRule] = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not isinstance(handler, HTTPRouteHandler) or handler.opt.get("static"):
                continue
            permission = route_permission(handler)
            for method in sorted(handler.http_methods):
                if method in {"HEAD", "OPTIONS"}:
                    continue
                rules.append(
                    RouteRule(
                        method=method,
                        path=route.path,
                        permission=permission,
                        min_role=min_role(permission) if permission else None,
                    )
                )
    return sorted(rules, key=lambda r: (r.path, r.method))
