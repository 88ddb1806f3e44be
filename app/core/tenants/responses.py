"""Tenant and branch answers (api.md, "Tenant and branches")."""

from app.core.contract.shapes import Day, Id, Model, Money


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
