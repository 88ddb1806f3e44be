"""Journal request bodies (amounts stay text until the money parser reads them)."""

from datetime import date
from typing import Annotated, Any, Literal

import msgspec

from app.core.contract.bodies import Body, refuse, trimmed

ManualJournalType = Literal["GENERAL", "ADJUSTMENT", "ACCRUAL", "REVENUE", "EXPENSE"]
MAX_ENTRIES = 500

Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class JournalEntry(Body):
    """One line: a GL account or a customer account, debited or credited."""

    account_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    amount: Any
    entry_type: Literal["debit", "credit"]
    currency_code: Annotated[str, msgspec.Meta(min_length=3, max_length=3)]
    description: Annotated[str, msgspec.Meta(max_length=500)] | None = None

    def __post_init__(self) -> None:
        self.currency_code = self.currency_code.upper()


class JournalCreate(Body):
    """The vendor's body of ``POST /journals`` (dates exactly YYYY-MM-DD)."""

    journal_type: ManualJournalType
    description: Reason
    transaction_date: date
    effective_date: date
    entries: Annotated[list[JournalEntry], msgspec.Meta(min_length=2, max_length=MAX_ENTRIES)]
    fiscal_period_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    source_reference: Annotated[str, msgspec.Meta(max_length=100)] | None = None

    def __post_init__(self) -> None:
        problems: list[dict[str, Any]] = []
        self.description = trimmed("description", self.description, problems) or ""
        refuse(problems)


class ReasonRequest(Body):
    """``{reason}``: required to reject or reverse a journal."""

    reason: Reason

    def __post_init__(self) -> None:
        problems: list[dict[str, Any]] = []
        self.reason = trimmed("reason", self.reason, problems) or ""
        refuse(problems)
