"""Staff users and API keys (``/users``, ``/users/summary``, ``/api-keys``)."""

from .._parse import Timestamp
from ._base import Resource

__all__ = ["ApiKey", "RevokedSessions", "User", "UsersSummary"]


class User(Resource, kw_only=True, frozen=True):
    """A staff user as an admin sees them (``branch_id`` is the branch code)."""

    plural = "users"

    id: str
    email: str
    name: str
    roles: list[str] = []
    branch_id: str
    is_active: bool
    locked_until: Timestamp | None = None
    failed_login_count: int = 0
    last_login_at: Timestamp | None = None
    created_at: Timestamp


class UsersSummary(Resource, kw_only=True, frozen=True):
    """``GET /users/summary``: how many staff are active, inactive and locked."""

    active: int
    inactive: int
    locked: int
    total: int


class ApiKey(Resource, kw_only=True, frozen=True):
    """An API key; ``api_key`` (the secret) only in the answer that created it."""

    plural = "api_keys"

    id: str
    name: str
    role: str
    scopes: list[str] = []
    prefix: str
    branch_id: str | None = None
    created_by: str | None = None
    created_at: Timestamp
    revoked_at: Timestamp | None = None
    api_key: str | None = None

    def __repr__(self) -> str:
        # The key itself never reaches a log line.
        return f"ApiKey(id={self.id!r}, name={self.name!r}, role={self.role!r})"


class RevokedSessions(Resource, kw_only=True, frozen=True):
    """``POST /users/{id}/revoke-sessions``: how many sessions were ended."""

    revoked: int
