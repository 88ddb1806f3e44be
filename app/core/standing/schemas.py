"""Standing-instruction bodies (amounts stay text until the money parser reads them)."""

from datetime import date
from typing import Annotated, Any, Literal

import msgspec

from app.core.contract.bodies import Body, refuse, trimmed
from app.core.detail_codes import DetailCode, detail


class StandingInstructionCreate(Body):
    """The dates against the business date, the accounts and the currency: the service."""

    source_account_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    destination_account_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    amount: Any
    currency: Annotated[str, msgspec.Meta(min_length=3, max_length=3)]
    frequency: Literal["DAILY", "WEEKLY", "MONTHLY"]
    start_date: date
    narration: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    end_date: date | None = None

    def __post_init__(self) -> None:
        problems: list[dict[str, Any]] = []
        if self.end_date is not None and self.end_date < self.start_date:
            problems.append(
                detail(
                    "end_date", DetailCode.INVALID, "before start_date", self.end_date.isoformat()
                )
            )
        self.narration = trimmed("narration", self.narration, problems) or ""
        refuse(problems)


class CancelRequest(Body):
    reason: Annotated[str, msgspec.Meta(max_length=500)] | None = None


class TriggerRequest(Body):
    business_date: date | None = None
