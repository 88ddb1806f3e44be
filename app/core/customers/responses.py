"""Customer answers (api.md, "Customers")."""

from app.core.accounts.responses import Account
from app.core.contract.shapes import Cursor, Day, Id, Instant, Model


class Customer(Model):
    id: Id
    customer_number: str
    customer_type: str
    first_name: str | None
    last_name: str | None
    company_name: str | None
    display_name: str
    email: str | None
    phone: str | None
    date_of_birth: Day | None
    address: str | None
    branch_code: str
    created_at: Instant


class CustomerDetail(Customer):
    accounts: list[Account]


class CustomerPage(Model):
    customers: list[Customer]
    has_more: bool
    next_cursor: Cursor | None
