"""Cash and transfer bodies (amounts are parsed by app.core.money, never as floats)."""

from typing import Annotated, Any, Literal

import msgspec
from pydantic import BaseModel, ConfigDict, Field


class CashRequest(msgspec.Struct, forbid_unknown_fields=True):
    """A deposit or withdrawal (msgspec: every deposit and transfer is decoded here)."""

    account_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    amount: Any
    currency: Annotated[str, msgspec.Meta(min_length=3, max_length=3)]
    narration: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    depositor_name: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class TransferRequest(msgspec.Struct, forbid_unknown_fields=True):
    source_account_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    destination_account_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    amount: Any
    currency: Annotated[str, msgspec.Meta(min_length=3, max_length=3)]
    narration: Annotated[str, msgspec.Meta(max_length=500)] | None = None


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Literal["independent", "atomic"]
    transfers: list[dict[str, Any]] = Field(min_length=1, max_length=1000)


class RejectRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)
