"""Tenant and branch answers (api.md, "Tenant and branches")."""

from app.core.contract.shapes import Day, Id, Instant, Model, Money


class TenantSettings(Model):
    teller_approval_limit: Money
    allow_same_maker_checker: bool
    mfa_required_role: str


class Tenant(Model):
    id: Id
    code: str
    name: str
    base_currency: str
    timezone: str
    is_active: bool
    business_date: Day
    settings: TenantSettings


class Branch(Model):
    id: Id
    code: str
    name: str
    staff_count: int  # active staff users of the branch


class Branches(Model):
    branches: list[Branch]


class MappedGroup(Model):
    group: str
    role: str
    branch_id: str | None  # a branch code; null: the staff member's own or the default


class IdentityProvider(Model):
    """The bank's OpenID Connect provider; the client secret is never shown."""

    display_name: str
    issuer: str
    client_id: str
    client_secret_set: bool
    scopes: str  # space-separated, openid among them
    groups_claim: str
    email_claim: str
    require_verified_email: bool
    create_users: bool
    default_branch: str | None
    group_mappings: list[MappedGroup]
    enabled: bool
    updated_at: Instant | None
    updated_by: Id | None
