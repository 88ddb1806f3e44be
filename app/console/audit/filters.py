"""The Audit page's filters: read from the query string, checked, and turned into a core
query (the trail) or SQL (the console's action log).

Dates are the tenant's calendar days (what a manager means by "on 1 December"); the core
is asked for the UTC instants that day spans.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from app.console.formatting import parse_day as day_of
from app.console.formatting import zone_of
from app.console.writes import FormErrors

REQUEST_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")
ACTION = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*(\.\*)?$")
ENTITY_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
TRAIL_OUTCOMES = (("success", "Success"), ("failure", "Failure"), ("locked", "Locked"),
                  ("revoked", "Revoked"))  # fmt: skip
CONSOLE_OUTCOMES = (
    ("success", "Success"),
    ("failure", "Failure"),
    ("pending", "Awaiting approval"),
)
DATE_HINT = "Enter a date like 2026-12-01."


def parse_day(raw: str) -> date | None:
    """A ``YYYY-MM-DD`` date (exactly that), or ``None`` when it is not one."""
    return day_of(raw) if len(raw) == 10 else None


def day_start(day: date, timezone: str | None) -> datetime:
    """The first instant of ``day`` in the tenant's timezone, in UTC."""
    return datetime.combine(day, time.min, tzinfo=zone_of(timezone)).astimezone(UTC)


def day_end(day: date, timezone: str | None) -> datetime:
    """The last instant of ``day`` in the tenant's timezone, in UTC."""
    return datetime.combine(day, time.max, tzinfo=zone_of(timezone)).astimezone(UTC)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _text(params: Mapping[str, Any], name: str, limit: int) -> str:
    return str(params.get(name) or "").strip()[:limit]


@dataclass
class DateSpan:
    """A ``from``/``to`` pair of tenant days, either end optional."""

    raw_from: str = ""
    raw_to: str = ""
    start: date | None = None
    end: date | None = None

    @classmethod
    def read(cls, params: Mapping[str, Any], errors: FormErrors) -> "DateSpan":
        span = cls(_text(params, "from", 10), _text(params, "to", 10))
        if span.raw_from:
            span.start = parse_day(span.raw_from)
            if span.start is None:
                errors["from"] = DATE_HINT
        if span.raw_to:
            span.end = parse_day(span.raw_to)
            if span.end is None:
                errors["to"] = DATE_HINT
        if span.start and span.end and span.start > span.end:
            errors["to"] = "The end date is before the start date."
        return span


@dataclass
class TrailFilters:
    """Filters of the core's audit trail (``GET /audit-logs``)."""

    actor: str = ""
    action: str = ""
    entity_type: str = ""
    entity_id: str = ""
    request_id: str = ""
    outcome: str = ""
    dates: DateSpan = field(default_factory=DateSpan)
    errors: FormErrors = field(default_factory=FormErrors)

    @classmethod
    def read(cls, params: Mapping[str, Any]) -> "TrailFilters":
        errors = FormErrors()
        found = cls(
            actor=_text(params, "actor", 254),
            action=_text(params, "action", 80).lower(),
            entity_type=_text(params, "entity_type", 60).lower(),
            entity_id=_text(params, "entity_id", 80),
            request_id=_text(params, "request_id", 128),
            outcome=_text(params, "outcome", 20),
            errors=errors,
        )
        found.dates = DateSpan.read(params, errors)
        if found.actor and any(ch.isspace() for ch in found.actor):
            errors["actor"] = "Enter one staff member's email address or user ID."
        if found.action and not ACTION.match(found.action):
            errors["action"] = "Enter an action like journal.posted, or journal.* for all of them."
        if found.entity_type and not ENTITY_TYPE.match(found.entity_type):
            errors["entity_type"] = "Enter a record type like journal or account."
        if found.request_id and not REQUEST_ID.match(found.request_id):
            errors["request_id"] = "A request ID has only letters, digits and . _ : -"
        if found.outcome and found.outcome not in dict(TRAIL_OUTCOMES):
            errors["outcome"] = "Choose one of the outcomes listed."
        return found

    def query(self) -> dict[str, str]:
        """The filters as the page's own query string (for links and "Load more")."""
        values = {
            "actor": self.actor,
            "action": self.action,
            "entity_type": self.entity_type,
            "entity_id": self.entity_id,
            "request_id": self.request_id,
            "outcome": self.outcome,
            "from": self.dates.raw_from,
            "to": self.dates.raw_to,
        }
        return {k: v for k, v in values.items() if v}

    def core_params(self, timezone: str | None) -> dict[str, str]:
        """The filters as ``GET /audit-logs`` takes them (tenant days as UTC instants)."""
        params = {k: v for k, v in self.query().items() if k not in {"from", "to"}}
        if self.dates.start:
            params["from"] = rfc3339(day_start(self.dates.start, timezone))
        if self.dates.end:
            params["to"] = rfc3339(day_end(self.dates.end, timezone))
        return params


@dataclass
class ConsoleLogFilters:
    """Filters of the console's action log."""

    user: str = ""
    action: str = ""
    outcome: str = ""
    request_id: str = ""
    dates: DateSpan = field(default_factory=DateSpan)
    errors: FormErrors = field(default_factory=FormErrors)

    @classmethod
    def read(cls, params: Mapping[str, Any]) -> "ConsoleLogFilters":
        errors = FormErrors()
        found = cls(
            user=_text(params, "user", 254),
            action=_text(params, "action", 80).lower(),
            outcome=_text(params, "outcome", 20),
            request_id=_text(params, "request_id", 128),
            errors=errors,
        )
        found.dates = DateSpan.read(params, errors)
        if found.action and not ACTION.match(found.action):
            errors["action"] = "Enter an action like auth.sign_in, or teller.* for all of them."
        if found.outcome and found.outcome not in dict(CONSOLE_OUTCOMES):
            errors["outcome"] = "Choose one of the outcomes listed."
        if found.request_id and not REQUEST_ID.match(found.request_id):
            errors["request_id"] = "A request ID has only letters, digits and . _ : -"
        return found

    def query(self) -> dict[str, str]:
        values = {
            "user": self.user,
            "action": self.action,
            "outcome": self.outcome,
            "request_id": self.request_id,
            "from": self.dates.raw_from,
            "to": self.dates.raw_to,
        }
        return {k: v for k, v in values.items() if v}


def core_reason(field_name: str, reason: str) -> str:
    """A core ``VALIDATION_ERROR`` detail for a filter, in a sentence."""
    label = {
        "actor": "Actor",
        "action": "Action",
        "entity_type": "Record type",
        "entity_id": "Record ID",
        "request_id": "Request ID",
        "outcome": "Outcome",
        "from": "From",
        "to": "To",
    }.get(field_name, field_name)
    if reason.startswith("must"):
        return f"{label} {reason}."
    return f"{label} must be {reason}."
