"""Standing-instruction bodies (amounts stay text until the money parser reads them)."""

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class StandingInstructionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source_account_id: str = Field(min_length=1, max_length=64)
    destination_account_id: str = Field(min_length=1, max_length=64)
    amount: Any
    currency: str = Field(min_length=3, max_length=3)
    frequency: Literal["DAILY", "WEEKLY", "MONTHLY"]
    start_date: date
    end_date: date | None = None
    narration: str = Field(min_length=1, max_length=500)


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=500)


class TriggerRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    business_date: date | None = None
