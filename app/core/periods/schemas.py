"""Fiscal-period request bodies."""

from datetime import date
from typing import Annotated, Any

import msgspec

from app.core.contract.bodies import Body, refuse, trimmed
from app.core.detail_codes import DetailCode, detail


class PeriodCreate(Body):
    """One period; its dates in order, at most a year apart, near its fiscal year."""

    period_number: Annotated[int, msgspec.Meta(ge=1, le=13)]
    period_name: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    fiscal_year: Annotated[int, msgspec.Meta(ge=1900, le=9999)]
    start_date: date
    end_date: date

    def __post_init__(self) -> None:
        problems: list[dict[str, Any]] = []
        if self.end_date < self.start_date:
            problems.append(detail("end_date", DetailCode.INVALID, "before start_date"))
        elif (self.end_date - self.start_date).days > 366:
            problems.append(
                detail("end_date", DetailCode.TOO_LONG, "a period spans at most a year")
            )
        if abs(self.start_date.year - self.fiscal_year) > 1:
            problems.append(detail("start_date", DetailCode.INVALID, "not near the fiscal year"))
        self.period_name = trimmed("period_name", self.period_name, problems) or ""
        refuse(problems)
