"""Account request bodies (amounts stay text until the money parser reads them)."""

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from app.core.contract.bodies import Body

AccountType = Literal["SAVINGS", "CURRENT", "FIXED_DEPOSIT", "DOMICILIARY", "JOINT", "CORPORATE"]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
# RFC 3339 (msgspec reads one without an offset too; the service refuses that as not future).
Instant = Annotated[datetime, msgspec.Meta(extra_json_schema={"format": "date-time"})]


class AccountOpen(Body):
    customer_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    account_type: AccountType
    currency: Annotated[str, msgspec.Meta(min_length=3, max_length=3)]
    product_code: Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
    branch_code: Annotated[str, msgspec.Meta(min_length=1, max_length=10)]
    alias: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    initial_deposit: Any = None


class StatusChange(Body):
    reason: Reason


class HoldCreate(Body):
    amount: Any
    reason: Reason
    expires_at: Instant | None = None
