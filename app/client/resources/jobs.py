"""Jobs (``POST /jobs/standing-instructions/trigger``)."""

from datetime import date

from .._parse import Timestamp
from ._base import Resource

__all__ = ["Job"]


class Job(Resource, kw_only=True, frozen=True):
    """A run of the standing-instructions job for one business date."""

    job_id: str
    job_type: str
    status: str
    business_date: date
    instructions_executed: int = 0
    instructions_failed: int = 0
    instructions_skipped: int = 0
    error: str | None = None
    triggered_by: str | None = None
    triggered_by_email: str | None = None
    started_at: Timestamp | None = None
    completed_at: Timestamp | None = None
