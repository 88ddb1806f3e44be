"""Staff and API key answers (api.md, "Staff and API keys")."""

import msgspec

from app.core.contract.shapes import Cursor, Id, Instant, Model


class StaffUser(Model):
    id: Id
    email: str
    name: str
    roles: list[str]
    branch_id: str
    is_active: bool
    locked_until: Instant | None
    failed_login_count: int
    last_login_at: Instant | None
    created_at: Instant


class StaffPage(Model):
    users: list[StaffUser]
    has_more: bool
    next_cursor: Cursor | None


class StaffSummary(Model):
    active: int
    inactive: int
    locked: int  # a lock still running, active or not: overlaps the two above
    total: int


class Revoked(Model):
    revoked: int


class ApiKey(Model):
    id: Id
    name: str
    role: str
    scopes: list[str]
    prefix: str
    branch_id: str
    created_by: Id | None
    created_at: Instant
    revoked_at: Instant | None
    api_key: str | msgspec.UnsetType = msgspec.UNSET  # the secret, in the creation's answer only


class ApiKeyPage(Model):
    api_keys: list[ApiKey]
    has_more: bool
    next_cursor: Cursor | None


class FactorReset(Model):
    id: Id
    user_id: Id
    status: str  # PENDING_APPROVAL | COMPLETED | CANCELLED
    reason: str
    requested_by: Id
    requested_at: Instant
    decided_by: Id | None
    decided_at: Instant | None


class SecondFactor(Model):
    enrolled: bool
    enrolled_at: Instant | None
    required: bool  # the staff member's roles need one to sign in with a password
    required_from_role: str
    recovery_codes_left: int
    pending_reset: FactorReset | None
    reset_needs_second_admin: bool  # production: another admin approves a reset
