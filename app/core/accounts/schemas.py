"""Account request bodies (amounts stay text until the money parser reads them)."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

AccountType = Literal["SAVINGS", "CURRENT", "FIXED_DEPOSIT", "DOMICILIARY", "JOINT", "CORPORATE"]


class AccountOpen(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: str = Field(min_length=1, max_length=64)
    account_type: AccountType
    currency: str = Field(min_length=3, max_length=3)
    product_code: str = Field(min_length=1, max_length=20)
    branch_code: str = Field(min_length=1, max_length=10)
    alias: str | None = Field(default=None, max_length=100)
    initial_deposit: Any = None


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


class HoldCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Any
    reason: str = Field(min_length=1, max_length=500)
    expires_at: datetime | None = None
