"""Cash and transfer bodies (amounts are parsed by app.core.money, never as floats)."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class CashRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: str = Field(min_length=1, max_length=64)
    amount: Any
    currency: str = Field(min_length=3, max_length=3)
    narration: str | None = Field(default=None, max_length=500)
    depositor_name: str | None = Field(default=None, max_length=200)


class TransferRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source_account_id: str = Field(min_length=1, max_length=64)
    destination_account_id: str = Field(min_length=1, max_length=64)
    amount: Any
    currency: str = Field(min_length=3, max_length=3)
    narration: str | None = Field(default=None, max_length=500)


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Literal["independent", "atomic"]
    transfers: list[dict[str, Any]] = Field(min_length=1, max_length=1000)


class RejectRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)
