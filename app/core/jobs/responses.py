"""Job answers (api.md, "Jobs")."""

from app.core.contract.shapes import Day, Id, Instant, Model


class JobRun(Model):
    job_id: Id
    job_type: str
    status: str
    business_date: Day
    instructions_executed: int
    instructions_failed: int
    instructions_skipped: int
    error: str | None
    triggered_by: Id | None
    triggered_by_email: str | None
    started_at: Instant
    completed_at: Instant | None
