"""Customers (``GET /customers``, ``/customers/{id}`` with its accounts)."""

from datetime import date

from .._parse import Timestamp
from ._base import Resource
from .accounts import Account

__all__ = ["Customer"]


class Customer(Resource, kw_only=True, frozen=True):
    """A customer; ``accounts`` come with a single read (``GET /customers/{id}``)."""

    plural = "customers"

    id: str
    customer_number: str
    customer_type: str
    first_name: str | None = None
    last_name: str | None = None
    company_name: str | None = None
    display_name: str
    email: str | None = None
    phone: str | None = None
    date_of_birth: date | None = None
    address: str | None = None
    branch_code: str
    created_at: Timestamp
    accounts: list[Account] = []
