"""The tenant (bank), its branches and products (``GET /tenant``, ``/branches``, ``/products``)."""

from datetime import date

from .._parse import Money
from ._base import Resource

__all__ = ["Branch", "Product", "Tenant", "TenantSettings"]


class TenantSettings(Resource, kw_only=True, frozen=True):
    """The settings an admin changes with ``PUT /tenant/settings``."""

    teller_approval_limit: Money
    allow_same_maker_checker: bool
    mfa_required_role: str = "none"


class Tenant(Resource, kw_only=True, frozen=True):
    """``GET /tenant``: ``business_date`` is the calendar date in the tenant's timezone."""

    id: str
    code: str
    name: str
    base_currency: str
    timezone: str
    is_active: bool
    business_date: date
    settings: TenantSettings


class Branch(Resource, kw_only=True, frozen=True):
    """A branch; ``staff_count`` is its active staff (``GET /branches``)."""

    plural = "branches"

    id: str
    code: str
    name: str
    staff_count: int | None = None


class Product(Resource, kw_only=True, frozen=True):
    """An account product (``GET /products``): fixes the account's type and control GL."""

    plural = "products"

    code: str
    name: str
    account_type: str
    currencies: list[str] = []
