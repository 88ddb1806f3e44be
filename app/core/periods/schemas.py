"""Fiscal-period request bodies."""

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class PeriodCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period_number: int = Field(ge=1, le=13)
    period_name: str = Field(min_length=1, max_length=40)
    fiscal_year: int = Field(ge=1900, le=9999)
    start_date: date
    end_date: date
