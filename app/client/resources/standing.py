"""Standing instructions and their runs (``/standing-instructions``)."""

from datetime import date

from .._parse import Money, Timestamp
from ._base import Resource

__all__ = ["StandingExecution", "StandingInstruction", "StandingInstructionView"]


class StandingInstruction(Resource, kw_only=True, frozen=True):
    """A repeating transfer; ``next_execution_date`` while it will still run."""

    plural = "standing_instructions"

    id: str
    reference: str
    source_account_id: str
    destination_account_id: str
    amount: Money
    currency: str
    frequency: str
    start_date: date
    end_date: date | None = None
    narration: str
    status: str
    consecutive_failures: int = 0
    last_executed_on: date | None = None
    next_execution_date: date | None = None
    created_by: str
    created_by_email: str | None = None
    created_at: Timestamp
    approved_by: str | None = None
    approved_by_email: str | None = None
    approved_at: Timestamp | None = None
    cancelled_by: str | None = None
    cancelled_at: Timestamp | None = None
    cancel_reason: str | None = None
    suspended_at: Timestamp | None = None
    completed_at: Timestamp | None = None


class StandingInstructionView(StandingInstruction, kw_only=True, frozen=True):
    """An instruction with its accounts' numbers and holders (the approvals queue)."""

    source_account_number: str | None = None
    source_account_name: str | None = None
    destination_account_number: str | None = None
    destination_account_name: str | None = None


class StandingExecution(Resource, kw_only=True, frozen=True):
    """One run of an instruction on a business date (``…/executions``)."""

    plural = "executions"

    id: str
    instruction_id: str
    business_date: date
    status: str
    amount: Money
    currency: str
    transaction_id: str | None = None
    failure_code: str | None = None
    failure_reason: str | None = None
    job_id: str | None = None
    executed_at: Timestamp
