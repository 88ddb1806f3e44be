"""Journal request bodies (amounts stay text until the money parser reads them)."""

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from app.core.detail_codes import DetailCode, refusal

ManualJournalType = Literal["GENERAL", "ADJUSTMENT", "ACCRUAL", "REVENUE", "EXPENSE"]
MAX_ENTRIES = 500

_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _iso_date(value: Any) -> Any:
    """Exactly YYYY-MM-DD: no timestamps, week dates or day counts (pydantic's lax mode)."""
    if not isinstance(value, str) or not _DATE.match(value):
        raise refusal(DetailCode.INVALID_FORMAT, "must be a date as YYYY-MM-DD")
    return date.fromisoformat(value)  # a ValueError (2026-02-30) becomes a field error


IsoDate = Annotated[date, BeforeValidator(_iso_date)]


def _text(value: str) -> str:
    value = value.strip()
    if not value:
        raise refusal(DetailCode.REQUIRED, "must not be blank")
    return value


class JournalEntry(BaseModel):
    """One line: a GL account or a customer account, debited or credited."""

    model_config = ConfigDict(extra="forbid")

    account_id: str = Field(min_length=1, max_length=64)
    amount: Any
    entry_type: Literal["debit", "credit"]
    currency_code: str = Field(min_length=3, max_length=3)
    description: str | None = Field(default=None, max_length=500)

    @field_validator("currency_code")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()


class JournalCreate(BaseModel):
    """The vendor's body of ``POST /journals``."""

    model_config = ConfigDict(extra="forbid")

    journal_type: ManualJournalType
    description: str = Field(min_length=1, max_length=500)
    transaction_date: IsoDate
    effective_date: IsoDate
    fiscal_period_id: str | None = Field(default=None, max_length=64)
    source_reference: str | None = Field(default=None, max_length=100)
    entries: list[JournalEntry] = Field(min_length=2, max_length=MAX_ENTRIES)

    _clean_description = field_validator("description")(_text)


class ReasonRequest(BaseModel):
    """``{reason}``: required to reject or reverse a journal."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)

    _clean_reason = field_validator("reason")(_text)
