"""Journal request bodies (amounts stay text until the money parser reads them)."""

from datetime import date
from typing import Annotated, Any, Literal

import msgspec

from app.core.contract.bodies import Body, trimmed
from app.core.detail_codes import DetailCode, detail
from app.core.ledger.schemas import refuse_body

ManualJournalType = Literal["GENERAL", "ADJUSTMENT", "ACCRUAL", "REVENUE", "EXPENSE"]
MAX_ENTRIES = 500

Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


# A line's members every line must have. (until every_problem names a nested field's path:
# msgspec's "missing required field" inside ``entries`` comes out as the bare member, so
# the line's members default to UNSET and JournalCreate names a missing one as
# ``entries.<n>.<member>``; RULES in app/core/contract/requests.py keeps them required
# in the document.)
ENTRY_REQUIRED = ("account_id", "amount", "entry_type", "currency_code")


class JournalEntry(Body):
    """One line: a GL account or a customer account, debited or credited."""

    account_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    amount: Any = msgspec.UNSET
    entry_type: Literal["debit", "credit"] | msgspec.UnsetType = msgspec.UNSET
    currency_code: Annotated[str, msgspec.Meta(min_length=3, max_length=3)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    description: Annotated[str, msgspec.Meta(max_length=500)] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.currency_code, str):
            self.currency_code = self.currency_code.upper()

    def missing(self) -> list[str]:
        """The members every line must have that this one lacks."""
        return [name for name in ENTRY_REQUIRED if getattr(self, name) is msgspec.UNSET]

    # What the service reads once JournalCreate has checked that nothing is missing.
    @property
    def account(self) -> str:
        assert isinstance(self.account_id, str)
        return self.account_id

    @property
    def side(self) -> str:
        assert isinstance(self.entry_type, str)
        return self.entry_type

    @property
    def currency(self) -> str:
        assert isinstance(self.currency_code, str)
        return self.currency_code


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
        for index, entry in enumerate(self.entries):
            problems += [
                detail(f"entries.{index}.{name}", DetailCode.REQUIRED, "required")
                for name in entry.missing()
            ]
        refuse_body(problems)


class ReasonRequest(Body):
    """``{reason}``: required to reject or reverse a journal."""

    reason: Reason

    def __post_init__(self) -> None:
        problems: list[dict[str, Any]] = []
        self.reason = trimmed("reason", self.reason, problems) or ""
        refuse_body(problems)
