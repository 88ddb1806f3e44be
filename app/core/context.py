"""What the middleware chain learns about a request, kept in the ASGI scope."""

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.unit import UnitOfWork

SCOPE_KEY = "cba"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, read from a verified access token."""

    user_id: uuid.UUID
    tenant_id: uuid.UUID
    email: str
    name: str
    roles: tuple[str, ...]
    scopes: frozenset[str]
    branch_code: str
    session_id: uuid.UUID
    token_id: str
    expires_at: int
    kind: str = "user"  # "user" or "api_key"
    # The staff user answerable for what this caller does: the user for staff; an API
    # key's creator (its token's ``owner_id``) for a key. ``None`` for a key whose
    # owner is unknown (made by a seed or a system) or whose token predates the claim:
    # maker-checker then looks the owner up (``app.core.maker_checker``).
    owner_id: uuid.UUID | None = None

    @property
    def is_api_key(self) -> bool:
        return self.kind == "api_key"

    @property
    def role(self) -> str:
        from app.core.permissions import highest_role

        return highest_role(self.roles)


@dataclass(frozen=True)
class TenantRef:
    id: uuid.UUID
    code: str
    name: str
    is_active: bool
    # The tenant's business day runs in this zone (kept with the briefly cached tenant:
    # a movement knows today's date before its first statement).
    timezone: str = "UTC"


@dataclass
class RequestContext:
    request_id: str
    client_ip: str
    principal: Principal | None = None
    tenant: TenantRef | None = None
    idempotency_key: str | None = None
    unit: UnitOfWork | None = None  # set by the chain's last stage
    user_agent: str = ""
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def session(self) -> AsyncSession | None:
        """The unit of work's ORM session, opened on first use (None on open paths)."""
        return self.unit.session if self.unit is not None else None


def get_context(scope: Any) -> RequestContext:
    ctx: RequestContext = scope[SCOPE_KEY]
    return ctx
