"""Standing instruction answers (api.md, "Standing instructions")."""

from app.core.contract.shapes import Cursor, Day, Id, Instant, Model, Money


class StandingInstruction(Model):
    id: Id
    reference: str
    source_account_id: Id
    destination_account_id: Id
    amount: Money
    currency: str
    frequency: str
    start_date: Day
    end_date: Day | None
    narration: str
    status: str
    consecutive_failures: int
    last_executed_on: Day | None
    next_execution_date: Day | None  # while it will still run
    created_by: Id
    created_by_email: str
    created_at: Instant
    approved_by: Id | None
    approved_by_email: str | None
    approved_at: Instant | None
    cancelled_by: Id | None
    cancelled_at: Instant | None
    cancel_reason: str | None
    suspended_at: Instant | None
    completed_at: Instant | None


class StandingInstructionPage(Model):
    standing_instructions: list[StandingInstruction]
    has_more: bool
    next_cursor: Cursor | None


class Execution(Model):
    id: Id
    instruction_id: Id
    business_date: Day
    status: str
    amount: Money
    currency: str
    transaction_id: Id | None
    failure_code: str | None
    failure_reason: str | None
    job_id: Id | None
    executed_at: Instant


class ExecutionPage(Model):
    executions: list[Execution]
    has_more: bool
    next_cursor: Cursor | None
